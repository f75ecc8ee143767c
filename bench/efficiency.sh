#!/usr/bin/env bash
# Generator efficiency: CPU-seconds per request of golocust against those of
# wrk, both driving the same nginx (one worker, pinned to core 0) on
# 127.0.0.1 from core 1, in the same script run.
#
#   bash bench/efficiency.sh            # 10 s per tool
#   DURATION=20 bash bench/efficiency.sh
#
# Needs root for apt-get (nginx-light, wrk) when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
PORT=${PORT:-18089}
USERS=50

for pkg in nginx-light:nginx wrk:wrk time:/usr/bin/time; do
  if ! command -v "${pkg#*:}" >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkg%%:*}" >/dev/null
  fi
done

work=$(mktemp -d)
cleanup() { [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

cat > "$work/nginx.conf" <<CONF
worker_processes 1;
daemon on;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$PORT;
    location / { return 200 "ok\n"; }
  }
}
CONF
taskset -c 0 nginx -c "$work/nginx.conf" -p "$work"
for _ in $(seq 50); do
  curl -fs "http://127.0.0.1:$PORT/" >/dev/null 2>&1 && break || sleep 0.1
done

go build -o "$work/closedloop" ./bench/closedloop

# cpu FILE -> user+system CPU-seconds recorded by /usr/bin/time
cpu() { awk '{print $1 + $2}' "$1"; }

/usr/bin/time -f "%U %S" -o "$work/wrk.time" \
  taskset -c 1 wrk -t1 -c"$USERS" -d"${DURATION}s" "http://127.0.0.1:$PORT/" > "$work/wrk.out"
wrk_reqs=$(awk '/requests in/ {print $1}' "$work/wrk.out")
wrk_cpu=$(cpu "$work/wrk.time")

/usr/bin/time -f "%U %S" -o "$work/ours.time" \
  taskset -c 1 "$work/closedloop" --headless -u "$USERS" -r "$USERS" -t "${DURATION}s" \
  -H "http://127.0.0.1:$PORT" --only-summary --loglevel WARNING --csv "$work/ours" >/dev/null 2>&1 || true
ours_reqs=$(awk -F, '$2 == "Aggregated" {print $3}' "$work/ours_stats.csv")
ours_cpu=$(cpu "$work/ours.time")

awk -v wr="$wrk_reqs" -v wc="$wrk_cpu" -v orq="$ours_reqs" -v oc="$ours_cpu" -v d="$DURATION" 'BEGIN {
  wper = wc / wr * 1e6; oper = oc / orq * 1e6
  printf "tool      requests   req/s     cpu-s   cpu-us/request\n"
  printf "wrk       %-10d %-9.0f %-7.2f %.2f\n", wr, wr / d, wc, wper
  printf "golocust  %-10d %-9.0f %-7.2f %.2f\n", orq, orq / d, oc, oper
  printf "ratio (golocust / wrk CPU per request): %.2fx (target <= 1.3x)\n", oper / wper
}'
