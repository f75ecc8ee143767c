#!/usr/bin/env bash
# Flake hunt: run the timing-sensitive packages with -race -count=N while
# two busy loops hold both cores, and report every failing test. The busy
# loops are killed when the script exits, however it exits.
#
#   bash bench/flakes.sh                    # -count=20 on each package
#   COUNT=3 bash bench/flakes.sh ./user     # fewer runs, chosen packages
#   BUSY=0 bash bench/flakes.sh             # without the busy loops
#   RUN='Arrival|Stall' COUNT=20 bash bench/flakes.sh ./locust  # some tests only
#   RACE=0 bash bench/flakes.sh ./user      # without -race: the HTTP client's
#                                           # raw socket path, which -race turns off
#
# Exit status 0 only when every run of every package passed.
set -uo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-20}
BUSY=${BUSY:-2}
TIMEOUT=${TIMEOUT:-60m}
RUN=${RUN:-.}
RACE=${RACE:-1}
race=(-race)
[ "$RACE" = 1 ] || race=()
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./runner ./locust ./user ./transport ./webui)

busy=()
cleanup() {
  for pid in "${busy[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
}
trap cleanup EXIT INT TERM
for _ in $(seq 1 "$BUSY"); do
  ( while :; do :; done ) &
  busy+=($!)
done

logs=$(mktemp -d "${TMPDIR:-/tmp}/golocust-flakes.XXXXXX")
failed=0
for p in "${pkgs[@]}"; do
  log="$logs/$(echo "$p" | tr -c 'A-Za-z0-9\n' _).log"
  start=$(date +%s)
  go test "${race[@]}" -count="$COUNT" -timeout "$TIMEOUT" -run "$RUN" "$p" >"$log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  fails=$(grep -E '^\s*--- FAIL' "$log" | sed 's/ (.*//' | sort | uniq -c | sort -rn)
  if [ $rc -eq 0 ]; then
    printf 'ok    %-12s -count=%d -run %q in %ds\n' "$p" "$COUNT" "$RUN" "$secs"
  else
    failed=1
    printf 'FAIL  %-12s -count=%d -run %q in %ds (log: %s)\n' "$p" "$COUNT" "$RUN" "$secs" "$log"
    if [ -n "$fails" ]; then echo "$fails"; else tail -n 20 "$log"; fi
  fi
done
[ $failed -eq 0 ] && rm -rf "$logs"
exit $failed
