#!/usr/bin/env bash
# The emulator's benchmark (issue 8). Release build; the server pinned to core 0 and wrk to core 1; 64 connections,
# 10 s per run, 3 runs per workload; prints the median req/s, p50 and p99 of each workload and counts every non-2xx
# answer as an error. Then the scale run: the same POST and GET against 1,000,000 images, the peak RSS, and the cold
# start to the `listening on` line on that database.
# Usage: bench/run.sh [--quick]   (--quick: 1 run of 5 s per workload, no scale run)
#        BENCH_FLAGS="--journal-max 0" bench/run.sh   (extra server flags)
# Needs wrk and sqlite3 (installed with apt-get when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=3 DURATION=10s SCALE=1
[ "${1:-}" = "--quick" ] && ROUNDS=1 DURATION=5s SCALE=0
for tool in wrk sqlite3; do
  command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$tool" >/dev/null; }
done
cargo build --release --quiet --bin cloudpc-emulator --example fixed --example floor
bin=$PWD/target/release/cloudpc-emulator
fixed=$PWD/target/release/examples/fixed
floor=$PWD/target/release/examples/floor
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
  printf '| %-34s | %9.0f | %7.2f | %7.2f | %6d |\n' "$name" \
    "$(printf '%s\n' "${rates[@]}" | median)" "$(printf '%s\n' "${p50s[@]}" | median)" \
    "$(printf '%s\n' "${p99s[@]}" | median)" "$errors"
}
header() { printf '| %-34s | %9s | %7s | %7s | %6s |\n|---|---|---|---|---|\n' workload 'req/s' 'p50 ms' 'p99 ms' errors; }
rss() { awk '/VmHWM/ {printf "%.1f MB\n", $2 / 1024}' "/proc/$pid/status"; }

echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo | xargs); $(date -u +%F)"
echo "runs: $ROUNDS x $DURATION, 64 connections, server on core 0, wrk on core 1; server flags: ${BENCH_FLAGS:-(defaults)}"
echo
header
# The ceiling: the same actix-web setup answering a fixed body without any database (bench/fixed.rs).
serve "$fixed" 127.0.0.1:0
bench "baseline: fixed 201, no database" "$url$PATH_IMAGES" create.lua
bench "baseline: fixed 200, no database" "$url$PATH_IMAGES" get.lua 1000
stop
# The floor of the design: the same actix setup plus only the sqlx work of a GET, a page and a group-committed
# create on the emulator's schema (bench/floor.rs).
fill "$work/floor.db" 1000
serve "$floor" "$work/floor.db" 127.0.0.1:0
bench "floor: sqlx only, POST create" "$url$PATH_IMAGES" create.lua
bench "floor: sqlx only, GET by id" "$url$PATH_IMAGES" get.lua 1000
bench "floor: sqlx only, list \$top=100" "$url$PATH_IMAGES?\$top=100"
stop
fill "$work/small.db" 1000
start "$work/small.db"
bench "POST create (durable)" "$url$PATH_IMAGES" create.lua
bench "GET by id (1,000 images)" "$url$PATH_IMAGES" get.lua 1000
bench "GET list \$top=100 of 1,000" "$url$PATH_IMAGES?\$top=100"
bench "mixed 80% GET / 20% POST" "$url$PATH_IMAGES" mixed.lua 1000
echo "peak RSS (1,000 images + the writes above): $(rss)" >"$work/rss-small"
stop
fill "$work/delete.db" 1000000
start "$work/delete.db"
bench "DELETE" "$url$PATH_IMAGES" delete.lua
stop
cat "$work/rss-small"

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
