#!/usr/bin/env bash
# Runs the cargo-fuzz targets (libFuzzer, AddressSanitizer) for a bounded time each, seeded with the committed
# corpus. New inputs go to a temporary folder, so the committed corpus grows only by hand; a crash fails the run and
# leaves its input in fuzz/artifacts/<target>/.
# Usage: fuzz/run.sh [SECONDS]   (per target, default 60; installs cargo-fuzz when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
command -v cargo-fuzz >/dev/null || cargo install --locked --quiet cargo-fuzz@0.13.2
# cargo-fuzz passes nightly-only flags (-Zsanitizer=address and friends); RUSTC_BOOTSTRAP lets the machine's one
# stable toolchain take them, as no nightly can be fetched here.
export RUSTC_BOOTSTRAP=1
# Each input must finish within 10 s (-timeout): a hang is a failure with its input kept, like a crash.
for target in filter body skiptoken batch state path; do
  new=$(mktemp -d)
  log=$new.log
  if ! cargo fuzz run "$target" "$new" "fuzz/corpus/$target" -- -max_total_time="$seconds" -timeout=10 \
      -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz target $target failed; the input is in fuzz/artifacts/$target/" >&2
    exit 1
  fi
  # libFuzzer ends a run it completed with this line; without it the target did not really run.
  summary=$(grep -E "^Done [0-9]+ runs" "$log" || true)
  if [ -z "$summary" ]; then
    tail -n 60 "$log"
    echo "fuzz target $target printed no summary: it did not run" >&2
    exit 1
  fi
  echo "$target: $summary; $(ls "$new" | wc -l) new inputs found"
  rm -rf "$new" "$log"
done
