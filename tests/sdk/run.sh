#!/usr/bin/env bash
# Runs the official Graph Python SDKs against a release build of the emulator.
# Usage: tests/sdk/run.sh   (from the repository root; creates tests/sdk/.venv on first use)
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=tests/sdk/.venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/sdk/requirements.txt

cargo build --release --quiet
workdir=$(mktemp -d)
out="$workdir/stdout"
./target/release/cloudpc-emulator --listen 127.0.0.1:0 --database "$workdir/sdk.db" --auth bearer --upload-duration 1 \
  >"$out" 2>"$workdir/stderr" &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; rm -rf "$workdir"; }
trap cleanup EXIT

for _ in $(seq 1 100); do
  grep -q '^listening on ' "$out" && break
  kill -0 "$pid" 2>/dev/null || { cat "$workdir/stderr"; exit 1; }
  sleep 0.1
done
url=$(sed -n 's/^listening on //p' "$out")
[ -n "$url" ] || { echo "the emulator did not start"; cat "$workdir/stderr"; exit 1; }

"$venv/bin/python" tests/sdk/sdk_roundtrip.py "$url"

kill -TERM "$pid"
wait "$pid"
