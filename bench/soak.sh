#!/usr/bin/env bash
# Soak (issue 9): a bounded run of sustained mixed load (80% GET by id, 20% POST create, uploads finishing every
# few seconds, the journal on at its default bound) against the release build, sampling the server's resident
# memory, the journal's row count and the WAL's size every 10 s. The database grows all along (a fifth of the
# requests are creates), so SQLite's page caches (2 MB per connection) and malloc's arenas fill during the first
# minutes; after that memory must stay flat: the verdict compares the largest RSS of the last 30% of the run with
# the RSS at 60% of it, and allows 5%.
# Usage: bench/soak.sh [SECONDS]   (default 300; the run stops by itself)
# Needs wrk and sqlite3 (installed with apt-get when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TOTAL=${1:-300}
[ "$SECONDS_TOTAL" -ge 120 ] || { echo "run at least 120 s: the caches need a few minutes to fill" >&2; exit 2; }
for tool in wrk sqlite3; do
  command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$tool" >/dev/null; }
done
cargo build --release --quiet
bin=$PWD/target/release/cloudpc-emulator
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
db=$work/soak.db

"$bin" --listen 127.0.0.1:0 --database "$db" --auth none >/dev/null 2>&1 & pid=$!
sleep 0.5; kill "$pid"; wait "$pid" 2>/dev/null || true
sed "s/COUNT/1000/g" bench/fill.sql | sqlite3 "$db" >/dev/null
mkfifo "$work/fifo"
taskset -c 0 "$bin" --listen 127.0.0.1:0 --database "$db" --auth none --upload-duration 5 >"$work/fifo" 2>/dev/null &
pid=$!
exec 3<"$work/fifo"
read -r line <&3
url=${line#listening on }

echo "machine: $(nproc) cores; $(date -u +%F); ${SECONDS_TOTAL} s of wrk -t1 -c64 mixed.lua, server on core 0"
taskset -c 1 wrk -t1 -c64 -d"${SECONDS_TOTAL}s" -s bench/lua/mixed.lua \
  "$url/v1.0/deviceManagement/virtualEndpoint/deviceImages" -- 1000 >"$work/wrk.txt" &
wrk_pid=$!
printf '| %6s | %8s | %12s | %8s |\n|---|---|---|---|\n' 's' 'RSS MB' 'journal rows' 'WAL MB'
samples=()
for t in $(seq 10 10 "$SECONDS_TOTAL"); do
  sleep 10
  rss=$(awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")
  rows=$(curl -s "$url/metrics" | awk '/^cloudpc_journal_rows / {print $2}')
  wal=$(stat -c %s "$db-wal" 2>/dev/null | awk '{printf "%.1f", $1 / 1048576}')
  printf '| %6d | %8s | %12s | %8s |\n' "$t" "$rss" "$rows" "$wal"
  samples+=("$t $rss")
done
wait "$wrk_pid"
grep -E 'Requests/sec|Non-2xx|requests in' "$work/wrk.txt"
printf '%s\n' "${samples[@]}" | awk -v total="$SECONDS_TOTAL" '
  $1 <= total * 0.6 { warm = $2 }
  $1 > total * 0.7 && $2 > late { late = $2 }
  END {
    growth = (late - warm) / warm * 100
    printf "RSS at 60%% of the run %.1f MB, largest in its last 30%% %.1f MB (%+.1f%%): %s\n",
      warm, late, growth, (growth <= 5 ? "flat" : "GROWING")
    exit growth <= 5 ? 0 : 1
  }'
