#!/usr/bin/env bash
# Open-model efficiency: CPU-seconds per request of golocust's arrival rate
# (--arrival-rate RATE) against vegeta's constant rate (attack -rate RATE),
# both driving the same nginx (one worker, pinned to core 0) on 127.0.0.1
# from core 1, in the same script run, for DURATION seconds each.
#
#   bash bench/openmodel.sh              # 5,000/s, 10 s per tool
#   RATE=2000 DURATION=20 bash bench/openmodel.sh
#
# vegeta is installed with `go install` into a temporary GOBIN (VEGETA may
# name an installed binary instead); nginx-light from Debian when missing
# (needs root). Load goes to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-5000}
DURATION=${DURATION:-10}
PORT=${PORT:-18091}
MAXUSERS=${MAXUSERS:-200}

. bench/lib.sh
need nginx-light:nginx time:/usr/bin/time

VEGETA=${VEGETA:-}
if [ -z "$VEGETA" ]; then
  GOBIN="$work/bin" go install github.com/tsenart/vegeta/v12@latest
  VEGETA="$work/bin/vegeta"
fi

start_nginx "$PORT" 4096 0

go build -o "$work/closedloop" ./bench/closedloop

echo "GET http://127.0.0.1:$PORT/" > "$work/targets"
/usr/bin/time -f "%U %S %c %w" -o "$work/vegeta.time" \
  taskset -c 1 "$VEGETA" attack -targets "$work/targets" -rate "$RATE" -duration "${DURATION}s" -max-workers "$MAXUSERS" > "$work/vegeta.bin"
veg_reqs=$("$VEGETA" report -type json < "$work/vegeta.bin" | sed -n 's/.*"requests":\([0-9]*\).*/\1/p')
veg_cpu=$(cpu "$work/vegeta.time")
veg_cs=$(awk '{print $3 + $4}' "$work/vegeta.time")

/usr/bin/time -f "%U %S %c %w" -o "$work/ours.time" \
  taskset -c 1 "$work/closedloop" --headless --arrival-rate "$RATE" --arrival-stages "${DURATION}s:$RATE" \
  --pre-allocate 50 --max-users "$MAXUSERS" -t "$((DURATION + 30))s" \
  -H "http://127.0.0.1:$PORT" --only-summary --loglevel WARNING --csv "$work/ours" >/dev/null 2>&1 || true
ours_reqs=$(awk -F, '$2 == "Aggregated" {print $3}' "$work/ours_stats.csv")
ours_cpu=$(cpu "$work/ours.time")
ours_cs=$(awk '{print $3 + $4}' "$work/ours.time")

awk -v vr="$veg_reqs" -v vc="$veg_cpu" -v vs="$veg_cs" -v orq="$ours_reqs" -v oc="$ours_cpu" -v os="$ours_cs" -v d="$DURATION" 'BEGIN {
  vper = vc / vr * 1e6; oper = oc / orq * 1e6
  printf "tool      requests   req/s     cpu-s   cpu-us/request  context switches/request\n"
  printf "vegeta    %-10d %-9.0f %-7.2f %-15.2f %.2f\n", vr, vr / d, vc, vper, vs / vr
  printf "golocust  %-10d %-9.0f %-7.2f %-15.2f %.2f\n", orq, orq / d, oc, oper, os / orq
  printf "ratio (golocust / vegeta CPU per request): %.2fx (target <= 1.0x)\n", oper / vper
}'
