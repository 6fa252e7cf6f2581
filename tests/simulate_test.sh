#!/usr/bin/env bash
# Integration test of `tide simulate` (docs/simulate.md): the real binary on every bundled
# scenario (examples/simulate-*.yaml), each cut to a few days so a Debug build stays quick. Checks
# the table (every preset and the hand-written groups), the --json keys the issue lists for every
# policy, bit-for-bit determinism (also across thread counts), --policy, --report, and that a
# broken scenario or trace gives located errors and exit 1.
# Usage: bash tests/simulate_test.sh TIDE_BINARY SOURCE_DIR
set -uo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

# A scenario's range for this test ("" = the whole trace), written like the trace's times.
range_of() {
  case "$1" in
    worldcup98) echo "1998-06-29 00:00:00|1998-07-01 00:00:00" ;;  # two match days
    nasa) echo "1995-07-12 00:00|1995-07-14 00:00" ;;
    wikipedia) echo "2012-01-01 00:00:00|2012-01-22 00:00:00" ;;
    google-2019) echo "2019-05-10 00:00Z|2019-05-13 00:00Z" ;;
    azure-vm) echo "0|259200" ;;
    *) echo "" ;;
  esac
}

# check_json FILE: every policy has every key the issue lists, as a number (or the name/kind).
check_json() {
  python3 - "$1" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
errors = []
for key in ["scenario", "trace", "start", "end", "step_seconds", "steps", "gap_steps", "policies"]:
    if key not in doc:
        errors.append(f"top level: no '{key}'")
required = ["cost.instance_hours", "cost.charged_hours", "cost.money", "cost_vs_oracle",
            "slo.late_or_dropped_pct", "slo.under_provisioned_time_pct", "elasticity.theta_u",
            "elasticity.theta_o", "elasticity.tau_u", "elasticity.tau_o", "elasticity.upsilon",
            "actions.scale_out", "actions.scale_in"]
presets = {"preset:hpa", "preset:aws-target-tracking", "preset:kpa", "static-peak", "oracle"}
kinds = set()
for p in doc.get("policies", []):
    name = p.get("name")
    if not isinstance(name, str) or not name:
        errors.append(f"policy without a name: {p}")
        continue
    if "error" in p:
        errors.append(f"{name}: error: {p['error']}")
    kinds.add(p.get("kind"))
    for path in required:
        value = p
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            errors.append(f"{name}: {path} is {value!r}, not a number")
    if p.get("kind") == "oracle":
        if abs(p["cost_vs_oracle"] - 1) > 1e-9:
            errors.append(f"oracle: cost_vs_oracle {p['cost_vs_oracle']}")
        if p["elasticity"]["theta_u"] != 0 or p["elasticity"]["tau_u"] != 0:
            errors.append("oracle: under-provisioned")
missing = presets - kinds
if missing:
    errors.append(f"presets missing: {sorted(missing)}")
if "group" not in kinds:
    errors.append("no hand-written group")
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
EOF
}

scenarios=()
for file in "$src"/examples/simulate-*.yaml; do
  name=$(basename "$file" .yaml)
  scenarios+=("${name#simulate-}")
done
[ ${#scenarios[@]} -ge 6 ] || fail "expected at least 6 examples/simulate-*.yaml, found ${#scenarios[@]}"

for name in "${scenarios[@]}"; do
  scenario_copy "$name" "$(range_of "$name")"
  scenario="$work/$name.yaml"

  # The table: every preset and every policy of the JSON as a row.
  if ! "$tide" simulate "$scenario" >"$work/$name.txt" 2>"$work/$name.err"; then
    fail "$name: table run exited non-zero: $(cat "$work/$name.err")"
    continue
  fi
  if ! "$tide" simulate --json --threads 2 "$scenario" >"$work/$name.json" 2>"$work/$name.err"; then
    fail "$name: --json run exited non-zero: $(cat "$work/$name.err")"
    continue
  fi
  # A row per policy: the name (shortened to 20 columns as the table does) and a number.
  missing_rows=$(python3 - "$work/$name.json" "$work/$name.txt" <<'EOF'
import json, re, sys
names = [p["name"] for p in json.load(open(sys.argv[1]))["policies"]]
names += ["hpa", "aws-target-tracking", "kpa", "static-peak", "oracle"]
table = open(sys.argv[2], encoding="utf-8").read()
for name in names:
    shown = name if len(name) <= 20 else name[:19] + "~"
    if not re.search("^" + re.escape(shown) + r" +[0-9]", table, re.M):
        print(name, end=" ")
EOF
)
  if [ -n "$missing_rows" ]; then
    fail "$name: table rows missing: $missing_rows"
    cat "$work/$name.txt"
  elif ! grep -q "^trace: " "$work/$name.txt" || ! grep -q "^spdup " "$work/$name.txt"; then
    fail "$name: table header or legend missing"
  else
    pass
  fi

  if out=$(check_json "$work/$name.json"); then pass; else fail "$name: --json: $out"; fi

  # Same inputs, same bytes: one thread vs two, and the table twice.
  "$tide" simulate --json --threads 1 "$scenario" >"$work/$name.again.json" 2>/dev/null
  if cmp -s "$work/$name.json" "$work/$name.again.json"; then
    pass
  else
    fail "$name: --json differs between runs: $(diff "$work/$name.json" "$work/$name.again.json" | head -5)"
  fi
done

# The table fits in 120 columns.
name=worldcup98
too_wide=$(python3 -c '
import sys
print(sum(1 for line in open(sys.argv[1], encoding="utf-8") if len(line.rstrip("\n")) > 120))' "$work/$name.txt")
if [ "$too_wide" = "0" ]; then pass; else fail "$name: $too_wide table lines over 120 columns"; fi

# --policy keeps the named policies and the two references (hpa, oracle).
if "$tide" simulate --json --policy static-peak "$work/$name.yaml" >"$work/policy.json" 2>"$work/policy.err"; then
  got=$(python3 -c 'import json,sys; print(" ".join(p["name"] for p in json.load(open(sys.argv[1]))["policies"]))' "$work/policy.json")
  if [ "$got" = "hpa static-peak oracle" ]; then pass; else fail "--policy static-peak ran: $got"; fi
else
  fail "--policy static-peak exited non-zero: $(cat "$work/policy.err")"
fi
out=$("$tide" simulate --policy nope "$work/$name.yaml" 2>&1)
rc=$?
if [ $rc -eq 1 ] && grep -q "error: --policy nope: no such policy" <<<"$out"; then pass; else fail "--policy nope: exit $rc: $out"; fi

# --report writes one HTML page and still prints the table.
if "$tide" simulate --report "$work/report.html" "$work/$name.yaml" >"$work/report.txt" 2>&1 &&
  grep -q "^report: $work/report.html" "$work/report.txt" && grep -q "</html>" "$work/report.html"; then
  pass
else
  fail "--report: $(tail -3 "$work/report.txt")"
fi

# A broken scenario: every error located as FILE:LINE:COL, exit 1, nothing on stdout.
bad="$work/bad.yaml"
cat >"$bad" <<'EOF'
name: bad
trace:
  path: nowhere.csv
  time_column: t
  load_column: v
model:
  capacity_per_instance: -1
policies:
  - preset: awstt
EOF
"$tide" simulate "$bad" >"$work/bad.out" 2>"$work/bad.err"
rc=$?
if [ $rc -ne 1 ]; then
  fail "bad scenario: exit $rc, want 1"
elif [ -s "$work/bad.out" ]; then
  fail "bad scenario: printed to stdout: $(cat "$work/bad.out")"
elif ! grep -qE "^$bad:7:[0-9]+: error: .*capacity_per_instance" "$work/bad.err" ||
  ! grep -qE "^$bad:9:[0-9]+: error: .*awstt" "$work/bad.err"; then
  fail "bad scenario: errors not located: $(cat "$work/bad.err")"
else
  pass
fi

# A missing file is an error too, with the file named.
out=$("$tide" simulate "$work/none.yaml" 2>&1)
rc=$?
if [ $rc -eq 1 ] && grep -q "^$work/none.yaml" <<<"$out"; then pass; else fail "missing scenario: exit $rc: $out"; fi

# A trace error (a column the file does not have): the trace's message, exit 1.
sed 's/load_column: count /load_column: nope /' "$work/$name.yaml" >"$work/badtrace.yaml"
out=$("$tide" simulate "$work/badtrace.yaml" 2>&1)
rc=$?
if [ $rc -eq 1 ] && grep -q "worldcup98_per_minute.csv" <<<"$out" && grep -q "nope" <<<"$out"; then
  pass
else
  fail "trace error: exit $rc: $out"
fi

# --help documents the options.
help=$("$tide" simulate --help 2>&1)
if grep -q -- "--dump-situations" <<<"$help" && grep -q -- "--report" <<<"$help" &&
  grep -q -- "--policy" <<<"$help"; then
  pass
else
  fail "--help: $help"
fi

summary simulate
