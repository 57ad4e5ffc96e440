#!/usr/bin/env bash
# The emulator's benchmark (issues 8 and 17). Release build; the server pinned to core 0 and wrk to core 1; 64
# connections, 10 s per run, 3 runs per workload; prints the median req/s, p50 and p99 of each workload and counts
# every non-2xx answer as an error. Measured in the same run, through the same wrk scripts: the fixed-answer ceiling
# (bench/fixed.rs), the floor of the design (bench/floor.rs) and the peer, json-server 0.17.4; then the emulator's
# ratios to the peer and to the floor. Then the scale run: the same POST and GET against 1,000,000 images, the peak
# RSS, and the cold start to the `listening on` line on that database.
# Usage: bench/run.sh [--quick]   (--quick: 1 run of 5 s per workload, no scale run)
#        BENCH_FLAGS="--journal-max 0" bench/run.sh   (extra server flags)
# Uses the binaries under CARGO_TARGET_DIR when it is set (else ./target). Needs wrk and sqlite3 (installed with
# apt-get when missing) and Node.js with npm for the peer (installed from the npm registry into a temp dir).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=3 DURATION=10s SCALE=1
[ "${1:-}" = "--quick" ] && ROUNDS=1 DURATION=5s SCALE=0
for tool in wrk sqlite3; do
  command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$tool" >/dev/null; }
done
cargo build --release --quiet --bin cloudpc-emulator --example fixed --example floor
target=${CARGO_TARGET_DIR:-$PWD/target}
bin=$target/release/cloudpc-emulator
fixed=$target/release/examples/fixed
floor=$target/release/examples/floor
for b in "$bin" "$fixed" "$floor"; do
  [ -x "$b" ] || { echo "bench/run.sh: $b was not built (CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-unset})" >&2; exit 1; }
done
work=$(mktemp -d)
# shellcheck source=bench/lib.sh
. bench/lib.sh
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

# The latency at a percentile, in ms.
ms() { awk -v p="$1" '$1 == p { v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; print v }'; }

# bench NAME TARGET [SCRIPT [ARG…]]: ROUNDS runs of wrk; one line of medians. DELETE runs get an offset per round.
bench() {
  local name=$1 target=$2 script=${3:-} rates=() p50s=() p99s=() errors=0
  for round in $(seq "$ROUNDS"); do
    local args=(-t1 -c64 -d"$DURATION" --latency)
    [ -n "$script" ] && args+=(-s "bench/lua/$script")
    local extra=("${@:4}")
    [ "$name" = "DELETE" ] && extra=($(( (round - 1) * 300000 )))
    local res
    res=$(taskset -c 1 wrk "${args[@]}" "$target" -- "${extra[@]}")
    rates+=("$(echo "$res" | awk '/Requests\/sec/ {print $2}')")
    p50s+=("$(echo "$res" | ms 50%)")
    p99s+=("$(echo "$res" | ms 99%)")
    local non2xx
    non2xx=$(echo "$res" | awk '/Non-2xx/ {n=$NF} END {print n+0}')
    errors=$(( errors + non2xx ))
  done
  last_rate=$(printf '%s\n' "${rates[@]}" | median)
  printf '| %-34s | %9.0f | %7.2f | %7.2f | %6d |\n' "$name" "$last_rate" \
    "$(printf '%s\n' "${p50s[@]}" | median)" "$(printf '%s\n' "${p99s[@]}" | median)" "$errors"
}
declare -A rate
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }
header() { printf '| %-34s | %9s | %7s | %7s | %6s |\n|---|---|---|---|---|\n' workload 'req/s' 'p50 ms' 'p99 ms' errors; }
rss() { awk '/VmHWM/ {printf "%.1f MB\n", $2 / 1024}' "/proc/$pid/status"; }

echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo | xargs); $(date -u +%F)"
echo "runs: $ROUNDS x $DURATION, 64 connections, server on core 0, wrk on core 1; server flags: ${BENCH_FLAGS:-(defaults)}"
echo
header
# The ceiling: the same actix-web setup answering a fixed body without any database (bench/fixed.rs).
serve "$fixed" 127.0.0.1:0
bench "baseline: fixed 201, no database" "$url$PATH_IMAGES" create.lua
rate[ceiling_create]=$last_rate
bench "baseline: fixed 200, no database" "$url$PATH_IMAGES" get.lua 1000
rate[ceiling_get]=$last_rate
stop
# The peer: json-server 0.17.4 on a JSON file of the same 1,000 images, the same scripts; its list is `?_limit=100`.
peer_install
peer_start 1000
bench "peer: json-server, POST create" "$url/deviceImages" create.lua
rate[peer_create]=$last_rate
bench "peer: json-server, GET by id" "$url/deviceImages" get.lua 1000
rate[peer_get]=$last_rate
bench "peer: json-server, list _limit=100" "$url/deviceImages?_limit=100"
rate[peer_list]=$last_rate
bench "peer: json-server, mixed 80/20" "$url/deviceImages" mixed.lua 1000
rate[peer_mixed]=$last_rate
peer_stop
# The floor of the design: the same actix setup plus only the sqlx work of a GET, a page and a group-committed
# create on the emulator's schema (bench/floor.rs).
fill "$work/floor.db" 1000
serve "$floor" "$work/floor.db" 127.0.0.1:0
bench "floor: sqlx only, POST create" "$url$PATH_IMAGES" create.lua
rate[floor_create]=$last_rate
bench "floor: sqlx only, GET by id" "$url$PATH_IMAGES" get.lua 1000
rate[floor_get]=$last_rate
bench "floor: sqlx only, list \$top=100" "$url$PATH_IMAGES?\$top=100"
rate[floor_list]=$last_rate
stop
fill "$work/small.db" 1000
start "$work/small.db"
bench "POST create (durable)" "$url$PATH_IMAGES" create.lua
rate[create]=$last_rate
bench "GET by id (1,000 images)" "$url$PATH_IMAGES" get.lua 1000
rate[get]=$last_rate
bench "GET list \$top=100 of 1,000" "$url$PATH_IMAGES?\$top=100"
rate[list]=$last_rate
bench "mixed 80% GET / 20% POST" "$url$PATH_IMAGES" mixed.lua 1000
rate[mixed]=$last_rate
echo "peak RSS (1,000 images + the writes above): $(rss)" >"$work/rss-small"
stop
fill "$work/delete.db" 1000000
start "$work/delete.db"
bench "DELETE" "$url$PATH_IMAGES" delete.lua
stop
cat "$work/rss-small"

echo
echo "ratios in this run (emulator / json-server 0.17.4, emulator / floor, emulator / ceiling)"
printf '| %-26s | %12s | %12s | %14s |\n|---|---|---|---|\n' workload '/ json-server' '/ floor' '/ ceiling'
for w in create get list mixed; do
  ceiling=${rate[ceiling_$w]:-0}
  [ "$w" = list ] && ceiling=0
  [ "$w" = mixed ] && ceiling=0
  printf '| %-26s | %12s | %12s | %14s |\n' "$w" "$(ratio "${rate[$w]}" "${rate[peer_$w]}")" \
    "$(ratio "${rate[$w]}" "${rate[floor_$w]:-0}")" "$(ratio "${rate[$w]}" "$ceiling")"
done

if [ "$SCALE" = 1 ]; then
  echo
  echo "scale: 1,000,000 images"
  header
  fill "$work/large.db" 1000000
  starts=()
  for _ in 1 2 3; do
    t0=$(date +%s%N); start "$work/large.db"; t1=$(date +%s%N); stop
    starts+=("$(( (t1 - t0) / 1000000 ))")
  done
  start "$work/large.db"
  bench "POST create at 1,000,000" "$url$PATH_IMAGES" create.lua
  bench "GET by id at 1,000,000" "$url$PATH_IMAGES" get.lua 1000000
  echo "peak RSS under load at 1,000,000 images: $(rss)"
  stop
  echo "cold start to 'listening on' at 1,000,000 images (process start to the line read, median of 3): $(printf '%s\n' "${starts[@]}" | median) ms"
fi
