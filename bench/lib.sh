# Shell helpers of the bench scripts (sourced, not run). The caller sets `work` (a temp dir) and `bin` (the emulator
# binary) and traps EXIT to kill "$pid".
PATH_IMAGES=/v1.0/deviceManagement/virtualEndpoint/deviceImages
pid=

serve() { # COMMAND [ARG…]: runs a server on core 0; sets url and pid once it has printed its `listening on` line
  rm -f "$work/fifo"; mkfifo "$work/fifo"
  taskset -c 0 "$@" >"$work/fifo" 2>/dev/null &
  pid=$!
  exec 3<"$work/fifo"
  local line; read -r line <&3
  url=${line#listening on }
}
start() { # $1 = database: the emulator on it
  # Uploads take a day here: the bench measures the request paths, not a wave of uploads finishing mid-run.
  # shellcheck disable=SC2086 # BENCH_FLAGS holds several flags
  serve "$bin" --listen 127.0.0.1:0 --database "$1" --auth none --upload-duration 86400 ${BENCH_FLAGS:-}
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; exec 3<&-; pid=; }
fill() { # $1 = database, $2 = images: migrated by the emulator, then filled by bench/fill.sql
  rm -f "$1" "$1"-wal "$1"-shm
  start "$1"; stop
  sed "s/COUNT/$2/g" bench/fill.sql | sqlite3 "$1" >/dev/null
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
