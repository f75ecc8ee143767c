#!/usr/bin/env bash
# Generator efficiency: CPU-seconds per request of golocust against those of
# wrk, both driving the same nginx (one worker, pinned to core 0) on
# 127.0.0.1 from core 1, in the same script run.
#
#   bash bench/efficiency.sh            # 3 rounds, 10 s per tool each
#   DURATION=20 ROUNDS=5 bash bench/efficiency.sh
#
# Each round runs wrk and then golocust, so that both see the same state of
# the machine; the ratio of a round is golocust's CPU per request over
# wrk's. The script prints every round and the worst ratio, and exits 1 when
# the worst is above MAX (default 1.15), the goal golocust is held to.
#
# Needs root for apt-get (nginx-light, wrk) when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
MAX=${MAX:-1.15}
PORT=${PORT:-18089}
USERS=50

. bench/lib.sh
need nginx-light:nginx wrk:wrk time:/usr/bin/time
start_nginx "$PORT" 4096 0
go build -o "$work/closedloop" ./bench/closedloop

round() {
  /usr/bin/time -f "%U %S" -o "$work/wrk.time" \
    taskset -c 1 wrk -t1 -c"$USERS" -d"${DURATION}s" "http://127.0.0.1:$PORT/" > "$work/wrk.out"
  wrk_reqs=$(awk '/requests in/ {print $1}' "$work/wrk.out")
  wrk_cpu=$(cpu "$work/wrk.time")

  rm -f "$work/ours_stats.csv"
  /usr/bin/time -f "%U %S" -o "$work/ours.time" \
    taskset -c 1 "$work/closedloop" --headless -u "$USERS" -r "$USERS" -t "${DURATION}s" \
    -H "http://127.0.0.1:$PORT" --only-summary --loglevel WARNING --csv "$work/ours" >/dev/null 2>&1 || true
  ours_reqs=$(awk -F, '$2 == "Aggregated" {print $3}' "$work/ours_stats.csv")
  ours_cpu=$(cpu "$work/ours.time")

  awk -v i="$1" -v wr="$wrk_reqs" -v wc="$wrk_cpu" -v orq="$ours_reqs" -v oc="$ours_cpu" -v d="$DURATION" 'BEGIN {
    wper = wc / wr * 1e6; oper = oc / orq * 1e6
    printf "%-5d %-10d %-9.0f %-7.2f %-8.2f %-10d %-9.0f %-7.2f %-8.2f %.3f\n", i, wr, wr / d, wc, wper, orq, orq / d, oc, oper, oper / wper
  }' | tee -a "$work/rounds"
}

echo "       ---------------- wrk ----------------  -------------- golocust -------------"
echo "round requests   req/s     cpu-s   us/req   requests   req/s     cpu-s   us/req   ratio"
for i in $(seq 1 "$ROUNDS"); do round "$i"; done
awk -v max="$MAX" '{ if ($NF > worst) worst = $NF; sum += $NF } END {
  printf "ratio of golocust to wrk CPU per request: mean %.3fx, worst %.3fx over %d rounds (goal <= %.2fx)\n", sum / NR, worst, NR, max
  exit worst > max
}' "$work/rounds"
