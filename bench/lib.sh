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
  rm -f "$1" "$1"-wal "$1"-shm "$1"-requests "$1"-requests-wal "$1"-requests-shm
  start "$1"; stop
  sed "s/COUNT/$2/g" bench/fill.sql | sqlite3 "$1" >/dev/null
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# The peer of issue 17: json-server 0.17.4 (pinned), the Node.js mock that serves a JSON file's arrays as REST
# resources and rewrites the file on every write. Installed once into $work/peer from the npm registry.
peer_install() {
  command -v node >/dev/null || { echo "json-server needs Node.js (node) on PATH" >&2; return 1; }
  npm install --silent --no-audit --no-fund --prefix "$work/peer" json-server@0.17.4 >/dev/null
}
peer_start() { # $1 = images: json-server on a db.json of that many images shaped like the emulator's v1.0 JSON
  node -e '
    const n = Number(process.argv[1]), images = [];
    for (let i = 1; i <= n; i++) images.push({
      id: "00000000-0000-4000-8000-" + i.toString(16).padStart(12, "0"), displayName: "Fill " + i,
      version: "1.0.0", sourceImageResourceId: "/subscriptions/0ac520ee-14c0-480f-b6c9-0a90c58ffff0/resourceGroups/rg-images/providers/Microsoft.Compute/images/win11-24h2",
      operatingSystem: "Windows 11 Enterprise", osBuildNumber: "24H2", osVersionNumber: "10.0.26100.2314",
      osStatus: "supported", sizeInGB: 64, expirationDate: "2027-10-12", status: "ready", errorCode: null,
      lastModifiedDateTime: new Date(Date.now() - (n - i) * 1000).toISOString() });
    require("fs").writeFileSync(process.argv[2], JSON.stringify({ deviceImages: images }, null, 2));
  ' "$1" "$work/db.json"
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  taskset -c 0 "$work/peer/node_modules/.bin/json-server" --host 127.0.0.1 --port "$port" --quiet \
    "$work/db.json" >/dev/null 2>&1 &
  pid=$!
  url=http://127.0.0.1:$port
  for _ in $(seq 100); do curl -sf "$url/deviceImages/00000000-0000-4000-8000-000000000001" >/dev/null && return; sleep 0.1; done
  echo "json-server did not start" >&2; return 1
}
peer_stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }
