#!/usr/bin/env bash
# Measures what the request journal costs on the request path: the same load with the journal on (the default,
# --journal-max 10000) and off (--journal-max 0). Release build; the server on core 0, wrk on core 1; 64 connections,
# 10 s per run, 3 runs per mode; prints the median req/s and p99 of each workload.
# Usage: bench/journal-overhead.sh   (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=./target/release/cloudpc-emulator
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

cat >"$work/create.lua" <<'LUA'
counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"displayName":"bench %d %d","version":"1.0.0","sourceImageResourceId":"/subscriptions/0ac520ee-14c0-480f-b6c9-0a90c58ffff0/resourceGroups/rg/providers/Microsoft.Compute/images/bench"}', math.random(1, 1e9), counter)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
LUA

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

run_mode() { # $1 = journal max
  local db="$work/bench-$1.db" out="$work/out-$1"
  rm -f "$db"*
  taskset -c 0 "$bin" --listen 127.0.0.1:0 --database "$db" --auth none --journal-max "$1" >"$out" 2>/dev/null &
  local pid=$!
  for _ in $(seq 50); do grep -q listening "$out" && break; sleep 0.1; done
  local url; url=$(sed -n 's/^listening on //p' "$out")
  local base="$url/v1.0/deviceManagement/virtualEndpoint/deviceImages"
  local id; id=$(curl -s -X POST "$base" -H 'Content-Type: application/json' \
    -d '{"displayName":"probe","version":"1.0.0","sourceImageResourceId":"/subscriptions/0ac520ee-14c0-480f-b6c9-0a90c58ffff0/resourceGroups/rg/providers/Microsoft.Compute/images/p"}' \
    | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
  for workload in get create; do
    local rates=() p99s=()
    for _ in 1 2 3; do
      if [ "$workload" = get ]; then
        res=$(taskset -c 1 wrk -t1 -c64 -d10s --latency "$base/$id")
      else
        res=$(taskset -c 1 wrk -t1 -c64 -d10s --latency -s "$work/create.lua" "$base")
      fi
      rates+=("$(echo "$res" | awk '/Requests\/sec/ {print $2}')")
      p99s+=("$(echo "$res" | awk '$1 == "99%" {print $2}')")
    done
    printf 'journal-max=%-6s %-7s median %8s req/s   p99 %s\n' "$1" "$workload" \
      "$(printf '%s\n' "${rates[@]}" | median)" "$(printf '%s\n' "${p99s[@]}" | sort | awk '{a[NR]=$1} END {print a[2]}')"
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

run_mode 10000
run_mode 0
