#!/usr/bin/env bash
# A/B of two emulator binaries, runs interleaved (A, B, A, B, …) so that the machine's drift hits both alike.
# Each run: a fresh database filled with 1,000 images (BENCH_IMAGES; bench/fill.sql), the server on core 0, wrk -t1 -c64 on core 1.
# Prints every run's req/s and the median per binary.
# Usage: bench/ab.sh BIN_A BIN_B WORKLOAD [ROUNDS] [SECONDS]
#   WORKLOAD: create | get | list | mixed       (default ROUNDS 3, SECONDS 5)
#   BENCH_FLAGS="…" passes extra server flags to both, BENCH_FLAGS_A / BENCH_FLAGS_B to one side (the same binary
#   twice with BENCH_FLAGS_B="--journal-max 0" measures the journal); BENCH_IMAGES=N fills N images, not 1,000.
# Keep a copy of the "before" binary (cp target/release/cloudpc-emulator /tmp/a) before rebuilding.
set -euo pipefail
cd "$(dirname "$0")/.."
a=$1 b=$2 workload=$3 rounds=${4:-3} secs=${5:-5}
work=$(mktemp -d)
# shellcheck source=bench/lib.sh
. bench/lib.sh
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

one() { # $1 = binary; prints req/s
  local db=$work/ab.db
  bin=$1
  fill "$db" "${BENCH_IMAGES:-1000}"
  start "$db"
  local target=$url$PATH_IMAGES args=()
  case $workload in
    create) args=(-s bench/lua/create.lua) ;;
    get) args=(-s bench/lua/get.lua) ;;  # uniformly over the filled images
    list) target="$target?\$top=100" ;;
    mixed) args=(-s bench/lua/mixed.lua) ;;
    *) echo "unknown workload $workload" >&2; exit 2 ;;
  esac
  local extra=()
  [ "$workload" = get ] || [ "$workload" = mixed ] && extra=("${BENCH_IMAGES:-1000}")
  taskset -c 1 wrk -t1 -c64 -d"${secs}s" "${args[@]}" "$target" -- "${extra[@]}" |
    awk '/Requests\/sec/ {print $2}'
  stop
}

ra=() rb=()
common=${BENCH_FLAGS:-}
for _ in $(seq "$rounds"); do
  ra+=("$(BENCH_FLAGS="$common ${BENCH_FLAGS_A:-}" one "$a")")
  rb+=("$(BENCH_FLAGS="$common ${BENCH_FLAGS_B:-}" one "$b")")
done
echo "$workload A ($a): ${ra[*]} -> median $(printf '%s\n' "${ra[@]}" | median)"
echo "$workload B ($b): ${rb[*]} -> median $(printf '%s\n' "${rb[@]}" | median)"
