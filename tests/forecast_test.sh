#!/usr/bin/env bash
# Integration test of `tide forecast` (docs/predictive.md): the real binary on every bundled
# scenario, each cut to a few days so a Debug build stays quick. Checks the table (a row per
# forecaster), the --json keys, determinism, --forecaster, --report, and that bad options give a
# clear error and exit 1.
# Usage: bash tests/forecast_test.sh TIDE_BINARY SOURCE_DIR
set -uo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

# A scenario's range for this test ("" = the whole trace), written like the trace's times.
range_of() {
  case "$1" in
    worldcup98) echo "1998-06-24 00:00:00|1998-06-28 00:00:00" ;;
    nasa) echo "1995-07-10 00:00|1995-07-14 00:00" ;;
    wikipedia) echo "2012-01-01 00:00:00|2012-01-05 00:00:00" ;;
    google-2019) echo "2019-05-10 00:00Z|2019-05-14 00:00Z" ;;
    azure-vm) echo "0|345600" ;;
    *) echo "" ;;
  esac
}

forecasters="auto holt-winters-additive-weekly holt-winters-additive-daily seasonal-naive-weekly
seasonal-naive-daily regression holt-winters-multiplicative-weekly
holt-winters-multiplicative-daily recent-mean"

for file in "$src"/examples/simulate-*.yaml; do
  name=$(basename "$file" .yaml)
  name=${name#simulate-}
  scenario_copy "$name" "$(range_of "$name")"
  scenario="$work/$name.yaml"
  if ! "$tide" forecast "$scenario" >"$work/$name.txt" 2>"$work/$name.err"; then
    fail "$name: exited non-zero: $(cat "$work/$name.err")"
    continue
  fi
  missing=""
  for f in $forecasters; do
    grep -qE "^$f +([0-9.]+|-) " "$work/$name.txt" || missing="$missing $f"
  done
  if [ -z "$missing" ] && grep -q "^trace: " "$work/$name.txt"; then
    pass
  else
    fail "$name: rows missing:$missing"
    cat "$work/$name.txt"
  fi
  # JSON: one entry per forecaster with the error figures; the same bytes with one thread.
  "$tide" forecast --json "$scenario" >"$work/$name.json" 2>/dev/null
  "$tide" forecast --json --threads 1 "$scenario" >"$work/$name.again.json" 2>/dev/null
  if out=$(python3 - "$work/$name.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
errors = []
for key in ["scenario", "trace", "start", "resolution_seconds", "interval_seconds", "forecasters"]:
    if key not in doc:
        errors.append(f"no '{key}'")
if len(doc.get("forecasters", [])) != 9:
    errors.append(f"{len(doc.get('forecasters', []))} forecasters, want 9")
for f in doc.get("forecasters", []):
    for key in ["mape_pct", "wape_pct", "under_forecast_pct", "bias_pct", "scored"]:
        if not isinstance(f.get(key), (int, float)):
            errors.append(f"{f.get('forecaster')}: {key} is {f.get(key)!r}")
print("; ".join(errors))
sys.exit(1 if errors else 0)
PY
  ); then
    pass
  else
    fail "$name: --json: $out"
  fi
  if cmp -s "$work/$name.json" "$work/$name.again.json"; then pass; else fail "$name: --json differs between runs"; fi
done

# A seasonal model on a daily trace scores something real: NASA's four days are scored from day 2.
scored=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(min(f["scored"] for f in d["forecasters"]))' "$work/nasa.json")
if [ "$scored" -ge 800 ]; then pass; else fail "nasa: only $scored buckets scored"; fi

# --forecaster picks, --report writes a page with a chart per forecaster.
if "$tide" forecast "$work/nasa.yaml" --forecaster seasonal-naive-daily --forecaster auto \
  --report "$work/f.html" >"$work/pick.txt" 2>&1 &&
  [ "$(grep -cE '^(seasonal-naive-daily|auto) ' "$work/pick.txt")" = "2" ] &&
  grep -q "^report: $work/f.html" "$work/pick.txt" && grep -q "</html>" "$work/f.html" &&
  [ "$(grep -o '<svg class="lc"' "$work/f.html" | wc -l)" = "4" ]; then
  pass
else
  fail "--forecaster/--report: $(cat "$work/pick.txt")"
fi

out=$("$tide" forecast "$work/nasa.yaml" --forecaster holt-winter 2>&1)
rc=$?
if [ $rc -eq 1 ] && grep -q "unknown forecaster 'holt-winter'" <<<"$out"; then pass; else fail "bad forecaster: exit $rc: $out"; fi
out=$("$tide" forecast "$work/nasa.yaml" --resolution 7m 2>&1)
rc=$?
if [ $rc -eq 1 ] && grep -q "must divide a day" <<<"$out"; then pass; else fail "bad resolution: exit $rc: $out"; fi
out=$("$tide" forecast "$work/none.yaml" 2>&1)
rc=$?
if [ $rc -eq 1 ] && grep -q "^$work/none.yaml" <<<"$out"; then pass; else fail "missing scenario: exit $rc: $out"; fi
if "$tide" forecast --help | grep -q -- "--forecaster"; then pass; else fail "--help"; fi

summary forecast_test
