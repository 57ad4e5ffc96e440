#!/usr/bin/env bash
# Runs the official Graph Python SDKs against a release build of the emulator: over http in bearer mode (the whole
# API, the lifecycle, the journal and faults; then the provisioning policy workflow), and over https with a
# self-signed certificate in jwt mode.
# Usage: tests/sdk/run.sh   (from the repository root; creates tests/sdk/.venv on first use)
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=tests/sdk/.venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/sdk/requirements.txt

cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-./target}/release/cloudpc-emulator
workdir=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$workdir"; }
trap cleanup EXIT

# shellcheck source=tests/lib.sh
. tests/lib.sh
# start NAME ARGS…: starts the emulator on its own database, waits for its line, sets $url.
start() {
  local name=$1; shift
  start_emulator "$workdir/$name" --database "$workdir/$name/sdk.db" "$@"
}
mkdir -p "$workdir/http" "$workdir/https"

start http --auth bearer --upload-duration 1
"$venv/bin/python" tests/sdk/sdk_roundtrip.py "$url"
"$venv/bin/python" tests/sdk/sdk_policies.py "$url"

start https --auth jwt --tls-self-signed
token=$("$bin" --database "$workdir/https/sdk.db" token --roles CloudPC.ReadWrite.All)
SSL_CERT_FILE="$workdir/https/tls-self-signed.pem" \
  "$venv/bin/python" tests/sdk/sdk_https.py "${url/127.0.0.1/localhost}" "$token"

for pid in "${pids[@]}"; do kill -TERM "$pid"; wait "$pid"; done
pids=()
