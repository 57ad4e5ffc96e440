#!/usr/bin/env bash
# Checks the emulator's descriptions of itself with tools nobody here wrote (issue 18, docs/api.md#openapi):
# - OASIS's odata-openapi (npm, pinned) converts each version's $metadata (CSDL) to OpenAPI without an error;
# - openapi-spec-validator (PyPI, pinned) accepts both OpenAPI documents the emulator serves, and the converted ones;
# - Schemathesis (PyPI, pinned) runs against a live release build with each document, 25 examples per operation with
#   fixed seeds, and must find no server error, no response that does not conform to the document (status code,
#   content type, body schema).
# Usage: tests/openapi/run.sh   (from anywhere; creates tests/openapi/.venv on first use; about two minutes)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

venv=tests/openapi/.venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/openapi/requirements.txt
workdir=$(mktemp -d)
npm install --silent --no-audit --no-fund --prefix "$workdir/npm" odata-openapi@0.29.0 >/dev/null

cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-./target}/release/cloudpc-emulator
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$workdir"; }
trap cleanup EXIT
# shellcheck source=tests/lib.sh
. tests/lib.sh
start_emulator "$workdir/emulator" --database "$workdir/openapi.db" --auth none

cd "$workdir"  # Schemathesis and Hypothesis keep their state in the working directory.
for version in v1.0 beta; do
  echo "-- $version"
  curl -sf "$url/$version/\$metadata" >"$version.xml"
  "$workdir/npm/node_modules/.bin/odata-openapi3" -p -t "$version.converted.json" "$version.xml" 2>"$version.convert.err"
  if [ -s "$version.convert.err" ]; then cat "$version.convert.err"; exit 1; fi
  grep -q 'deviceImages' "$version.converted.json" || { echo "odata-openapi lost the device images"; exit 1; }
  curl -sf "$url/_emulator/openapi/$version.json" >"$version.json"
  "$root/$venv/bin/openapi-spec-validator" "$version.json" "$version.converted.json"
  for seed in 1 2; do
    timeout 600 "$root/$venv/bin/schemathesis" run "$version.json" --url "$url/$version" \
      --max-examples 25 --seed "$seed" \
      --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
  done
done
# The state document the emulator exports is what both documents' schema says it is: images in several statuses (an
# evolvable member among them), an assigned provisioning policy, a fault rule, a moved clock.
src=/subscriptions/0ac520ee-14c0-480f-b6c9-0a90c58ffff0/resourceGroups/rg/providers/Microsoft.Compute/images/x
for body in '"status":"pending"' '"status":"failed","errorCode":"sourceImageInvalid","sizeInGB":64,"scopeIds":["1"]' \
    '"status":"warning","errorCode":"startMenuAppLimitExceeded","osStatus":"supported","expirationDate":"2027-01-01"'; do
  curl -sf -o /dev/null -H 'Content-Type: application/json' -H 'Prefer: include-unknown-enum-members' \
    "$url/beta/deviceManagement/virtualEndpoint/deviceImages" \
    -d "{\"displayName\":\"state $RANDOM\",\"version\":\"1.0.0\",\"sourceImageResourceId\":\"$src\",$body}"
done
policies="$url/beta/deviceManagement/virtualEndpoint/provisioningPolicies"
policy=$(curl -sf -H 'Content-Type: application/json' "$policies" \
  -d '{"displayName":"state policy","imageType":"gallery","imageId":"microsoftwindowsdesktop_windows-ent-cpc_win11-24h2-ent-cpc"}' |
  "$root/$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["id"])')
curl -sf -o /dev/null -H 'Content-Type: application/json' "$policies/$policy/assign" \
  -d '{"assignments":[{"target":{"groupId":"64ff06de-9c00-4a5a-98b5-7f5abe26ffff"}}]}'
curl -sf -o /dev/null -H 'Content-Type: application/json' "$url/_emulator/faults" -d '{"action":"latency","latencyMs":1,"path":"/none"}'
curl -sf -o /dev/null -H 'Content-Type: application/json' "$url/_emulator/clock" -d '{"advanceSeconds":5}'
curl -sf "$url/_emulator/state" >state.json
for version in v1.0 beta; do
  "$root/$venv/bin/python" - "$version.json" state.json <<'PY'
import json, sys
from openapi_schema_validator import OAS30Validator
schema = json.load(open(sys.argv[1]))["components"]["schemas"]["emulatorStateDocument"]
state = json.load(open(sys.argv[2]))
OAS30Validator(schema).validate(state)
print(f"{sys.argv[1]}: the exported state ({len(state['images'])} images, "
      f"{len(state['provisioningPolicies'])} policies) matches emulatorStateDocument")
PY
done
kill -TERM "${pids[@]}"; wait "${pids[@]}" || true; pids=()
