#!/usr/bin/env bash
# Peak memory of one long-lived server at 1,000,000 images (BENCH_IMAGES): four 10-s runs in a row on the same server
# (create, GET by id, create, GET by id), printing the rate and the peak RSS (VmHWM) after each, then the largest
# mappings. `bench/run.sh` starts a fresh server for each round, which hid a journal that kept SQLite's pages (up to
# 65 MB here, 43 MB once it released them: bench/README.md); its second create run is where that showed.
# Usage: bench/memory.sh BIN [SERVER FLAG…]   (e.g. bench/memory.sh target/release/cloudpc-emulator --journal-max 0)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
command -v sqlite3 >/dev/null || apt-get install -y -qq sqlite3 >/dev/null
bin=$1
shift
images=${BENCH_IMAGES:-1000000}
work=$(mktemp -d)
# shellcheck source=bench/lib.sh
. bench/lib.sh
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

fill "$work/i.db" "$images"
BENCH_FLAGS="$*" start "$work/i.db"
for workload in create get create get; do
  case $workload in
    create) args=(-s bench/lua/create.lua) extra=() ;;
    get) args=(-s bench/lua/get.lua) extra=("$images") ;;
  esac
  rate=$(taskset -c 1 wrk -t1 -c64 -d10s "${args[@]}" "$url$PATH_IMAGES" -- "${extra[@]}" |
    awk '/Requests\/sec/ {print $2}')
  printf '%-6s %9s req/s  %s\n' "$workload" "$rate" \
    "$(awk '/VmHWM|VmRSS|RssAnon/ {printf "%s %.1f MB  ", $1, $2 / 1024}' "/proc/$pid/status")"
done
echo "largest mappings (KB resident):"
awk '/^[0-9a-f]+-[0-9a-f]+ / {name = $0} /^Rss:/ {if ($2 > 1000) print $2, name}' "/proc/$pid/smaps" |
  sort -rn | head -6
