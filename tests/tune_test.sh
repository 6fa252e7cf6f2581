#!/usr/bin/env bash
# Integration test of `tide tune` (docs/predictive.md): the real binary on a short range of the
# NASA scenario with a small search. Checks the table (every family, the split, the comparison),
# the --json keys, determinism for a seed across thread counts, that --write gives group blocks
# the scenario loader and `tide simulate` accept, --report, and clear errors for a bad --slo,
# --family or --from.
# Usage: bash tests/tune_test.sh TIDE_BINARY SOURCE_DIR
set -uo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

scenario_copy nasa
scenario="$work/nasa.yaml"
range=(--from "1995-07-03 00:00" --to "1995-07-06 00:00")
small=(--samples 3 --refine 2 "${range[@]}" --slo "under_provisioned_time_pct <= 5")

if "$tide" tune "$scenario" "${small[@]}" --report "$work/tune.html" --write "$work/winners.yaml" \
  >"$work/table.txt" 2>"$work/table.err"; then
  pass
else
  fail "table run exited non-zero: $(cat "$work/table.err")"
fi
missing=""
for pattern in "^tuned on: +1995-07-03T04:00:00Z \.\. " "^held out: " "^SLO: +under_provisioned_time_pct <= 5" \
  "^hpa " "^aws-target-tracking " "^kpa " "^predictive " "^predictive\+hpa " \
  "^predictive\+aws-target-tracking " "^predictive\+kpa " "^Pareto front" "oracle"; do
  grep -qE "$pattern" "$work/table.txt" || missing="$missing [$pattern]"
done
if [ -z "$missing" ]; then pass; else fail "table lacks:$missing"; cat "$work/table.txt"; fi
# No progress bar when stderr is not a terminal.
if [ -s "$work/table.err" ]; then fail "wrote to stderr: $(head -3 "$work/table.err")"; else pass; fi

# JSON: every family with its candidates, the split, the comparison; the same bytes on 1 and 2
# threads and twice with one seed.
"$tide" tune "$scenario" "${small[@]}" --json --threads 1 >"$work/a.json" 2>/dev/null
"$tide" tune "$scenario" "${small[@]}" --json --threads 2 >"$work/b.json" 2>/dev/null
if cmp -s "$work/a.json" "$work/b.json"; then pass; else fail "--json differs between 1 and 2 threads"; fi
if out=$(python3 - "$work/a.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
errors = []
for key in ["scenario", "tune_part", "held_out_part", "slo", "seed", "families", "comparison"]:
    if key not in doc:
        errors.append(f"no '{key}'")
names = [f["family"] for f in doc.get("families", [])]
if names != ["hpa", "aws-target-tracking", "kpa", "predictive", "predictive+hpa",
             "predictive+aws-target-tracking", "predictive+kpa"]:
    errors.append(f"families {names}")
tune, held = doc["tune_part"], doc["held_out_part"]
if tune["to"] != held["from"] or held["steps"] * 2 != tune["steps"]:
    errors.append(f"split {tune} {held}")
for f in doc["families"]:
    if len(f["candidates"]) < 3:
        errors.append(f"{f['family']}: {len(f['candidates'])} candidates")
    if f["best"] is not None:
        for key in ["params", "tune", "held_out", "held_out_meets_slo", "yaml"]:
            if key not in f["best"]:
                errors.append(f"{f['family']}: best without '{key}'")
print("; ".join(errors))
sys.exit(1 if errors else 0)
PY
); then
  pass
else
  fail "--json: $out"
fi
"$tide" tune "$scenario" "${small[@]}" --json --seed 2 >"$work/c.json" 2>/dev/null
if cmp -s "$work/a.json" "$work/c.json"; then fail "--seed 2 gave the same result as seed 1"; else pass; fi

# --write: the winners are group blocks a scenario takes as they are.
if grep -q "^- group:" "$work/winners.yaml"; then
  sim="$work/with-winners.yaml"
  sed 's#^sources:$#sources:\n  - { name: tune-load, kind: total-rate, period: 60s, delay: 60s }#' "$scenario" >"$sim"
  sed -i 's#^trace:$#trace:\n  from: "1995-07-03 00:00"\n  to: "1995-07-06 00:00"#' "$sim"
  sed 's/^/  /' "$work/winners.yaml" >>"$sim"
  if "$tide" simulate "$sim" >"$work/sim.txt" 2>&1 && grep -q "^tuned-" "$work/sim.txt"; then
    pass
  else
    fail "tide simulate with the winners: $(tail -5 "$work/sim.txt")"
  fi
else
  fail "--write wrote no group: $(cat "$work/winners.yaml")"
fi
if grep -q "</html>" "$work/tune.html" && grep -q '<svg class="sc"' "$work/tune.html"; then pass; else fail "--report"; fi

out=$("$tide" tune "$scenario" --slo "cost <= 3" 2>&1)
rc=$?
if [ $rc -eq 1 ] && grep -q "unknown metric 'cost'" <<<"$out"; then pass; else fail "bad --slo: exit $rc: $out"; fi
out=$("$tide" tune "$scenario" --family nope "${range[@]}" 2>&1)
rc=$?
if [ $rc -eq 1 ] && grep -q "unknown family 'nope'" <<<"$out"; then pass; else fail "bad --family: exit $rc: $out"; fi
out=$("$tide" tune "$scenario" --from yesterday 2>&1)
rc=$?
if [ $rc -eq 1 ] && grep -q "^tide tune: error: --from" <<<"$out"; then pass; else fail "bad --from: exit $rc: $out"; fi
if "$tide" tune --help | grep -q -- "--slo"; then pass; else fail "--help"; fi

summary tune_test
