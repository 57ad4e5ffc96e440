# Shell helpers of the scripts under tests/ (sourced, not run). The caller sets `bin` (the emulator binary) and
# `pids=()`, and kills "${pids[@]}" on exit.

# start_emulator PREFIX ARG…: starts the emulator with ARGs on a free loopback port, its output in PREFIX.out and
# PREFIX.err; waits for its `listening on` line, sets $url and adds its pid to $pids.
start_emulator() {
  local prefix=$1; shift
  "$bin" --listen 127.0.0.1:0 "$@" >"$prefix.out" 2>"$prefix.err" &
  pids+=($!)
  for _ in $(seq 1 100); do
    grep -q '^listening on ' "$prefix.out" && break
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$prefix.err"; exit 1; }
    sleep 0.1
  done
  url=$(sed -n 's/^listening on //p' "$prefix.out")
  [ -n "$url" ] || { echo "the emulator did not start"; cat "$prefix.err"; exit 1; }
}
