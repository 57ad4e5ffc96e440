#!/usr/bin/env bash
# Instructions per request: the emulator under valgrind's callgrind while wrk sends one workload, counting only
# while the load runs. Unlike req/s, the count does not move with the machine's load or its neighbours (the same
# binary and workload give the same figure within ~2%), so it shows a change's effect on CPU work where interleaved
# A/B runs are too noisy. It counts user-space instructions only: the kernel's share (sockets, futexes, preads) is
# not in it. Prints the count and leaves the profile at $BENCH_PROFILE (default /tmp/emulator.callgrind) for
# callgrind_annotate.
# Usage: bench/instructions.sh BIN WORKLOAD [SECONDS] [SERVER FLAG…]   (WORKLOAD: create | get | list)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || apt-get install -y -qq valgrind >/dev/null
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
command -v sqlite3 >/dev/null || apt-get install -y -qq sqlite3 >/dev/null
bin=$1 workload=$2 secs=${3:-10}
shift $(($# < 3 ? $# : 3))
work=$(mktemp -d)
out=${BENCH_PROFILE:-/tmp/emulator.callgrind}
# shellcheck source=bench/lib.sh
. bench/lib.sh
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

fill "$work/i.db" "${BENCH_IMAGES:-1000}"
rm -f "$work"/cg.out*
serve valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/cg.out" \
  "$bin" --listen 127.0.0.1:0 --database "$work/i.db" --auth none --upload-duration 86400 "$@"
target=$url$PATH_IMAGES args=() extra=()
case $workload in
  create) args=(-s bench/lua/create.lua) ;;
  get) args=(-s bench/lua/get.lua) extra=("${BENCH_IMAGES:-1000}") ;;
  list) target="$target?\$top=100" ;;
  *) echo "unknown workload $workload" >&2; exit 2 ;;
esac
# Warm up uncounted (statement caches, page caches), then count one run.
timeout 30 wrk -t1 -c8 -d2s "${args[@]}" "$target" -- "${extra[@]}" >/dev/null
callgrind_control -i on "$pid" >/dev/null
n=$(timeout $((secs + 30)) wrk -t1 -c8 -d"${secs}s" "${args[@]}" "$target" -- "${extra[@]}" |
  awk '/requests in/ {print $1}')
callgrind_control -i off "$pid" >/dev/null
callgrind_control -d "$pid" >/dev/null
sleep 0.5
stop
profile=$(ls -S "$work"/cg.out* | head -1)
cp "$profile" "$out"
total=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
echo "$workload: $n requests, $total instructions, $((total / n)) per request (profile: $out)"
