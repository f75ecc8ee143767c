#!/usr/bin/env bash
# Generator efficiency: CPU-seconds per request of golocust against those of
# wrk, both driving the same nginx (one worker, pinned to core 0) on
# 127.0.0.1 from core 1, in the same script run.
#
#   bash bench/efficiency.sh            # 5 rounds, 10 s per tool each
#   DURATION=20 ROUNDS=8 bash bench/efficiency.sh
#   NOISE=1 bash bench/efficiency.sh    # wrk twice per round: the noise floor
#
# Each round runs wrk and then golocust, so that both see the same state of
# the machine; the ratio of a round is golocust's CPU per request over
# wrk's. The verdict is on the pooled ratio (each tool's CPU-seconds over
# its requests, summed over the rounds): on a shared VM a single 10 s
# round swings by up to +-20 % for either tool (NOISE=1 shows wrk against
# itself), more than the difference being measured. The script prints
# every round, the pooled ratio and the spread, and exits 1 when the
# pooled ratio is above MAX (default 1.15), the goal golocust is held to.
#
# Needs root for apt-get (nginx-light, wrk) when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-5}
NOISE=${NOISE:-0}
MAX=${MAX:-1.15}
PORT=${PORT:-18089}
USERS=50

. bench/lib.sh
need nginx-light:nginx wrk:wrk time:/usr/bin/time
start_nginx "$PORT" 4096 0
go build -o "$work/closedloop" ./bench/closedloop

# run_wrk FILE-PREFIX: one wrk run; prints "requests cpu-seconds".
run_wrk() {
  /usr/bin/time -f "%U %S" -o "$work/$1.time" \
    taskset -c 1 wrk -t1 -c"$USERS" -d"${DURATION}s" "http://127.0.0.1:$PORT/" > "$work/$1.out"
  echo "$(awk '/requests in/ {print $1}' "$work/$1.out") $(cpu "$work/$1.time")"
}

round() {
  read -r wrk_reqs wrk_cpu < <(run_wrk wrk)

  rm -f "$work/ours_stats.csv"
  /usr/bin/time -f "%U %S" -o "$work/ours.time" \
    taskset -c 1 "$work/closedloop" --headless -u "$USERS" -r "$USERS" -t "${DURATION}s" \
    -H "http://127.0.0.1:$PORT" --only-summary --loglevel WARNING --csv "$work/ours" >/dev/null 2>&1 || true
  ours_reqs=$(awk -F, '$2 == "Aggregated" {print $3}' "$work/ours_stats.csv")
  ours_cpu=$(cpu "$work/ours.time")

  wrk2_reqs=0 wrk2_cpu=0
  if [ "$NOISE" = 1 ]; then read -r wrk2_reqs wrk2_cpu < <(run_wrk wrk2); fi

  awk -v i="$1" -v wr="$wrk_reqs" -v wc="$wrk_cpu" -v orq="$ours_reqs" -v oc="$ours_cpu" -v d="$DURATION" \
    -v w2r="$wrk2_reqs" -v w2c="$wrk2_cpu" 'BEGIN {
    wper = wc / wr * 1e6; oper = oc / orq * 1e6
    printf "%-5d %-10d %-9.0f %-7.2f %-8.2f %-10d %-9.0f %-7.2f %-8.2f %.3f", i, wr, wr / d, wc, wper, orq, orq / d, oc, oper, oper / wper
    if (w2r > 0) printf "   wrk again: %.2f us/req, %.3fx the first", w2c / w2r * 1e6, (w2c / w2r * 1e6) / wper
    printf "\n"
    printf "%s %s %s %s\n", wr, wc, orq, oc > "/dev/stderr"
  }' 2>>"$work/rounds"
}

echo "       ---------------- wrk ----------------  -------------- golocust -------------"
echo "round requests   req/s     cpu-s   us/req   requests   req/s     cpu-s   us/req   ratio"
for i in $(seq 1 "$ROUNDS"); do round "$i"; done
awk -v max="$MAX" '{
  wr += $1; wc += $2; orq += $3; oc += $4
  r = ($4 / $3) / ($2 / $1); if (NR == 1 || r < lo) lo = r; if (r > hi) hi = r
} END {
  pooled = (oc / orq) / (wc / wr)
  printf "pooled over %d rounds: wrk %.2f us/request, golocust %.2f us/request\n", NR, wc / wr * 1e6, oc / orq * 1e6
  printf "ratio of golocust to wrk CPU per request: %.3fx pooled (rounds %.3f-%.3f; goal <= %.2fx)\n", pooled, lo, hi, max
  exit pooled > max
}' "$work/rounds"
