# Shared by the bench scripts (sourced, not run): the tools they need and
# the nginx they drive. nginx listens on 127.0.0.1 only and answers every
# request with 200 "ok"; it is stopped, and $work removed, when the script
# exits.

# need PKG:COMMAND... installs each Debian package whose command is
# missing (needs root).
need() {
  local pkg
  for pkg in "$@"; do
    if ! command -v "${pkg#*:}" >/dev/null 2>&1; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkg%%:*}" >/dev/null
    fi
  done
}

# work is the scripts' scratch directory.
work=$(mktemp -d)
cleanup() { [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# start_nginx PORT CONNECTIONS [CORE] starts one nginx worker on
# 127.0.0.1:PORT for up to CONNECTIONS connections, pinned to CORE when
# given, and waits until it answers.
start_nginx() {
  local port=$1 conns=$2 core=${3:-}
  cat > "$work/nginx.conf" <<CONF
worker_processes 1;
worker_rlimit_nofile $((conns + 1024));
daemon on;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections $conns; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  server {
    listen 127.0.0.1:$port backlog=4096;
    location / { return 200 "ok\n"; }
  }
}
CONF
  if [ -n "$core" ]; then
    taskset -c "$core" nginx -c "$work/nginx.conf" -p "$work"
  else
    nginx -c "$work/nginx.conf" -p "$work"
  fi
  local _
  for _ in $(seq 50); do
    curl -fs "http://127.0.0.1:$port/" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "nginx did not answer on 127.0.0.1:$port; see $work/error.log" >&2
  return 1
}

# cpu FILE prints the user+system CPU-seconds that /usr/bin/time -f "%U %S"
# wrote to FILE.
cpu() { awk '{print $1 + $2}' "$1"; }
