#!/usr/bin/env bash
# The emulator's benchmark (issues 8 and 17). Release build; the server pinned to core 0 and wrk to core 1; 64
# connections, 10 s per run, 3 rounds in which every server takes its turn at its workloads (so the machine's drift
# hits them alike); prints the median req/s, p50 and p99 of each workload and counts every non-2xx answer as an error. Measured in the same run, through the same wrk scripts: the fixed-answer ceiling
# (bench/fixed.rs), the floor of the design (bench/floor.rs) and the peer, json-server 0.17.4; then the emulator's
# ratios to the peer and to the floor, and the floor's own ratio to the peer. Then the scale run: the same POST and
# GET against 1,000,000 images, in rounds alternating with a fresh 1,000-image database for the ratio, the peak RSS,
# and the cold start to the `listening on` line on that database.
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

# Every run's figures, by workload name: space-separated lists, one entry per round.
declare -A rates p50s p99s errors
names=()
# bench NAME TARGET [SCRIPT [ARG…]]: one run of wrk, its figures added to NAME's. DELETE runs get an offset per round.
bench() {
  local name=$1 target=$2 script=${3:-}
  local args=(-t1 -c64 -d"$DURATION" --latency)
  [ -n "$script" ] && args+=(-s "bench/lua/$script")
  local extra=("${@:4}")
  [ "$name" = "DELETE" ] && extra=($(( (round - 1) * 300000 )))
  local res non2xx
  res=$(taskset -c 1 wrk "${args[@]}" "$target" -- "${extra[@]}")
  [ -n "${rates[$name]+set}" ] || names+=("$name")
  rates[$name]+=" $(echo "$res" | awk '/Requests\/sec/ {print $2}')"
  p50s[$name]+=" $(echo "$res" | ms 50%)"
  p99s[$name]+=" $(echo "$res" | ms 99%)"
  non2xx=$(echo "$res" | awk '/Non-2xx/ {n=$NF} END {print n+0}')
  errors[$name]=$(( ${errors[$name]:-0} + non2xx ))
}
med() { tr ' ' '\n' | grep -v '^$' | median; }
# report NAME…: one line of medians each.
report() {
  for name in "$@"; do
    printf '| %-34s | %9.0f | %7.2f | %7.2f | %6d |\n' "$name" "$(med <<<"${rates[$name]}")" \
      "$(med <<<"${p50s[$name]}")" "$(med <<<"${p99s[$name]}")" "${errors[$name]}"
  done
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }
header() { printf '| %-34s | %9s | %7s | %7s | %6s |\n|---|---|---|---|---|\n' workload 'req/s' 'p50 ms' 'p99 ms' errors; }
rss() { awk '/VmHWM/ {printf "%.1f MB\n", $2 / 1024}' "/proc/$pid/status"; }

echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo | xargs); $(date -u +%F)"
echo "runs: $ROUNDS x $DURATION, 64 connections, server on core 0, wrk on core 1; server flags: ${BENCH_FLAGS:-(defaults)}"
echo
# The servers take turns, a round at a time (ceiling, peer, floor, emulator, then again), so that the machine's drift
# over the run (on these VMs, ±30% within minutes) falls on every server alike; each line is the median of its rounds.
for round in $(seq "$ROUNDS"); do
  # The ceiling: the same actix-web setup answering a fixed body without any database (bench/fixed.rs).
  serve "$fixed" 127.0.0.1:0
  bench "baseline: fixed 201, no database" "$url$PATH_IMAGES" create.lua
  bench "baseline: fixed 200, no database" "$url$PATH_IMAGES" get.lua 1000
  stop
  # The peer: json-server 0.17.4 on a JSON file of the same 1,000 images, the same scripts; its list is `?_limit=100`.
  [ "$round" = 1 ] && peer_install
  peer_start 1000
  bench "peer: json-server, POST create" "$url/deviceImages" create.lua
  bench "peer: json-server, GET by id" "$url/deviceImages" get.lua 1000
  bench "peer: json-server, list _limit=100" "$url/deviceImages?_limit=100"
  bench "peer: json-server, mixed 80/20" "$url/deviceImages" mixed.lua 1000
  peer_stop
  # The floor of the design: the same actix setup plus only the sqlx work of a GET, a page and a group-committed
  # create on the emulator's schema (bench/floor.rs).
  fill "$work/floor.db" 1000
  serve "$floor" "$work/floor.db" 127.0.0.1:0
  bench "floor: sqlx only, POST create" "$url$PATH_IMAGES" create.lua
  bench "floor: sqlx only, GET by id" "$url$PATH_IMAGES" get.lua 1000
  bench "floor: sqlx only, list \$top=100" "$url$PATH_IMAGES?\$top=100"
  bench "floor: sqlx only, mixed 80/20" "$url$PATH_IMAGES" mixed.lua 1000
  stop
  fill "$work/small.db" 1000
  start "$work/small.db"
  bench "POST create (durable)" "$url$PATH_IMAGES" create.lua
  bench "GET by id (1,000 images)" "$url$PATH_IMAGES" get.lua 1000
  bench "GET list \$top=100 of 1,000" "$url$PATH_IMAGES?\$top=100"
  bench "mixed 80% GET / 20% POST" "$url$PATH_IMAGES" mixed.lua 1000
  echo "peak RSS (1,000 images + the writes of a round): $(rss)" >"$work/rss-small"
  stop
done
# DELETE needs a fresh million images per run set (each run deletes from its own offset).
fill "$work/delete.db" 1000000
start "$work/delete.db"
for round in $(seq "$ROUNDS"); do bench "DELETE" "$url$PATH_IMAGES" delete.lua; done
stop
header
report "${names[@]}"
cat "$work/rss-small"
rate() { med <<<"${rates[$1]:-0}"; }

echo
echo "ratios in this run (emulator / json-server 0.17.4 of the medians, then the lowest and highest of the rounds'"
echo "own ratios, each round's emulator run against the same round's json-server run; emulator / floor, / ceiling;"
echo "and the floor's own ratio to json-server: a target above it is above what the design itself does here)"
printf '| %-26s | %13s | %13s | %12s | %14s | %20s |\n|---|---|---|---|---|---|\n' workload '/ json-server' \
  'by round' '/ floor' '/ ceiling' 'floor / json-server'
ceiling_create=$(rate "baseline: fixed 201, no database") ceiling_get=$(rate "baseline: fixed 200, no database")
# by_round EMULATOR PEER (names): the lowest and highest of the per-round ratios. json-server's own rate moves by a
# third between runs on these VMs, so one median ratio does not show how far a target is from being judged.
by_round() {
  paste <(tr ' ' '\n' <<<"${rates[$1]}" | grep -v '^$') <(tr ' ' '\n' <<<"${rates[$2]}" | grep -v '^$') |
    awk '$2 > 0 { r = $1 / $2; if (n++ == 0 || r < lo) lo = r; if (r > hi) hi = r }
      END { if (n) printf "%.2f-%.2f", lo, hi; else printf "-" }'
}
row() { # WORKLOAD EMULATOR PEER (names) FLOOR CEILING (rates)
  local emulator peer
  emulator=$(rate "$2") peer=$(rate "$3")
  printf '| %-26s | %13s | %13s | %12s | %14s | %20s |\n' "$1" "$(ratio "$emulator" "$peer")" \
    "$(by_round "$2" "$3")" "$(ratio "$emulator" "$4")" "$(ratio "$emulator" "$5")" "$(ratio "$4" "$peer")"
}
row create "POST create (durable)" "peer: json-server, POST create" "$(rate "floor: sqlx only, POST create")" \
  "$ceiling_create"
row get "GET by id (1,000 images)" "peer: json-server, GET by id" "$(rate "floor: sqlx only, GET by id")" \
  "$ceiling_get"
row list "GET list \$top=100 of 1,000" "peer: json-server, list _limit=100" \
  "$(rate "floor: sqlx only, list \$top=100")" 0
row mixed "mixed 80% GET / 20% POST" "peer: json-server, mixed 80/20" "$(rate "floor: sqlx only, mixed 80/20")" 0

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
  # The scale target is a ratio to the rates at 1,000 images, so those are measured again here, a round at a time
  # alternating with the large database: runs minutes apart would put the machine's drift into the ratio.
  for round in $(seq "$ROUNDS"); do
    fill "$work/pair.db" 1000
    start "$work/pair.db"
    bench "POST create at 1,000 (paired)" "$url$PATH_IMAGES" create.lua
    bench "GET by id at 1,000 (paired)" "$url$PATH_IMAGES" get.lua 1000
    stop
    start "$work/large.db"
    bench "POST create at 1,000,000" "$url$PATH_IMAGES" create.lua
    bench "GET by id at 1,000,000" "$url$PATH_IMAGES" get.lua 1000000
    large_rss=$(rss)
    stop
  done
  report "POST create at 1,000 (paired)" "POST create at 1,000,000" "GET by id at 1,000 (paired)" \
    "GET by id at 1,000,000"
  echo "at 1,000,000 / at 1,000 (medians of the alternating rounds): POST $(ratio "$(rate "POST create at 1,000,000")" \
    "$(rate "POST create at 1,000 (paired)")"), GET $(ratio "$(rate "GET by id at 1,000,000")" \
    "$(rate "GET by id at 1,000 (paired)")")"
  echo "peak RSS under a round of load at 1,000,000 images: $large_rss"
  echo "cold start to 'listening on' at 1,000,000 images (process start to the line read, median of 3): $(printf '%s\n' "${starts[@]}" | median) ms"
fi
