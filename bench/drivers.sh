#!/usr/bin/env bash
# What the driver costs a read (issue 17): GET by id and a `$top=100` page against json-server 0.17.4, the floor of
# the design (bench/floor.rs: sqlx, which runs each statement on a thread of the connection's own) and the same
# reads through rusqlite on the actix worker's own thread (bench/floor_rusqlite.rs), in interleaved rounds; prints
# each run and each floor's ratio to json-server per round. The server on core 0, wrk -t1 -c64 on core 1.
# Usage: bench/drivers.sh [ROUNDS] [SECONDS]   (default 3 rounds of 10 s). Needs Node.js with npm, wrk and sqlite3.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3} secs=${2:-10}
cargo build --release --quiet --bin cloudpc-emulator --example floor --example floor-rusqlite
target=${CARGO_TARGET_DIR:-$PWD/target}
bin=$target/release/cloudpc-emulator
work=$(mktemp -d)
# shellcheck source=bench/lib.sh
. bench/lib.sh
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
run() { taskset -c 1 wrk -t1 -c64 -d"${secs}s" "$@" | awk '/Requests\/sec/ {print $2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
peer_install
for round in $(seq "$rounds"); do
  peer_start 1000
  peer_get=$(run -s bench/lua/get.lua "$url/deviceImages" -- 1000)
  peer_list=$(run "$url/deviceImages?_limit=100")
  peer_stop
  echo "round $round: json-server GET by id $peer_get/s, list $peer_list/s"
  for floor in floor floor-rusqlite; do
    fill "$work/i.db" 1000
    serve "$target/release/examples/$floor" "$work/i.db" 127.0.0.1:0
    get=$(run -s bench/lua/get.lua "$url$PATH_IMAGES" -- 1000)
    list=$(run "$url$PATH_IMAGES?\$top=100")
    stop
    echo "round $round: $floor GET by id $get/s ($(ratio "$get" "$peer_get")x json-server)," \
      "list $list/s ($(ratio "$list" "$peer_list")x)"
  done
done
