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

. bench/lib.sh
need nginx-light:nginx
ulimit -n $((USERS * 2 + 1024)) 2>/dev/null || true

start_nginx "$PORT" $((USERS + 1024))
go build -o "$work/manyusers" ./bench/manyusers
"$work/manyusers" -users "$USERS" -t "${DURATION}s" -host "http://127.0.0.1:$PORT"
