#!/usr/bin/env bash
# Memory per user with HTTP: USERS users (default 10,000) each send one
# GET / a second over their own keep-alive connection to nginx on
# 127.0.0.1 (a separate process, so that only the generator is measured),
# for DURATION seconds. Prints the generator's peak RSS, peak Go heap and
# peak goroutine stacks, in total and per user.
#
#   bash bench/manyusers.sh
#   USERS=2000 DURATION=20 bash bench/manyusers.sh
#
# Needs root for apt-get (nginx-light) when it is missing, and a file
# descriptor limit above USERS.
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${USERS:-10000}
DURATION=${DURATION:-30}
PORT=${PORT:-18090}

command -v nginx >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
ulimit -n $((USERS * 2 + 1024)) 2>/dev/null || true

work=$(mktemp -d)
cleanup() { [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
worker_rlimit_nofile $((USERS * 2 + 1024));
daemon on;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections $((USERS + 1024)); }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  server {
    listen 127.0.0.1:$PORT backlog=4096;
    location / { return 200 "ok\n"; }
  }
}
CONF
nginx -c "$work/nginx.conf" -p "$work"
for _ in $(seq 50); do
  curl -fs "http://127.0.0.1:$PORT/" >/dev/null 2>&1 && break || sleep 0.1
done
go build -o "$work/manyusers" ./bench/manyusers
"$work/manyusers" -users "$USERS" -t "${DURATION}s" -host "http://127.0.0.1:$PORT"
