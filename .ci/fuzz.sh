#!/usr/bin/env bash
# Fuzz every Fuzz target of the module for FUZZTIME each (default 5s),
# starting from its committed seed corpus (testdata/fuzz). A fuzz run
# never leaves files in the work tree: an input that fails is moved to
# $CRASHERS (outside the tree), printed, and the script fails; commit it
# under the package's testdata/fuzz/<Target>/ as a regression seed once
# the bug is fixed.
#
#   bash .ci/fuzz.sh                       # every target, 5 s each
#   FUZZTIME=30s bash .ci/fuzz.sh ./runner # the targets of one package
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-5s}
CRASHERS=${CRASHERS:-$(mktemp -d "${TMPDIR:-/tmp}/golocust-crashers.XXXXXX")}
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./...)

# Inputs the fuzzer wrote into the tree, not committed.
new_inputs() { git ls-files --others --exclude-standard -- '*/testdata/fuzz/*'; }
before=$(new_inputs)
failed=0
while read -r dir; do
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | sed 's/^func //' | sort -u); do
    printf '%-32s %s\n' "$target" "$dir"
    ok=0
    for attempt in 1 2; do
      if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "./$dir" >"$CRASHERS/$target.log" 2>&1; then
        ok=1
        break
      fi
      # Go's fuzz coordinator can fail with a bare "context deadline
      # exceeded" when -fuzztime runs out while it is still minimizing a
      # new interesting (not failing) input. That is the engine's own
      # timeout, not a find: no failing input is written. Run it once more;
      # a real failure always names the input it wrote.
      if [ "$attempt" = 1 ] && grep -q 'context deadline exceeded' "$CRASHERS/$target.log" &&
        ! grep -q 'Failing input written to' "$CRASHERS/$target.log" && [ -z "$(comm -13 <(echo "$before") <(new_inputs))" ]; then
        echo "  (fuzz engine timed out without a find; running $target once more)"
        continue
      fi
      break
    done
    if [ "$ok" = 0 ]; then
      failed=1
      echo "FAIL: $target in ./$dir"
      tail -n 30 "$CRASHERS/$target.log"
    fi
    for f in $(comm -13 <(echo "$before") <(new_inputs)); do
      dest="$CRASHERS/$(basename "$(dirname "$f")")-$(basename "$f")"
      mv "$f" "$dest"
      rmdir -p "$(dirname "$f")" 2>/dev/null || true
      echo "failing input moved out of the tree to $dest:"
      cat "$dest"
    done
  done
done < <(go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.Dir}}{{end}}' "${pkgs[@]}" | sed "s#^$PWD/##" |
  while read -r d; do grep -ls '^func Fuzz' "$d"/*_test.go >/dev/null 2>&1 && echo "$d"; done)
if [ "$failed" = 1 ]; then
  echo "fuzzing failed; logs and failing inputs are in $CRASHERS"
  exit 1
fi
rm -rf "$CRASHERS"
