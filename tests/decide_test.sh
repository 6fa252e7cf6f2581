#!/usr/bin/env bash
# Integration test of `tide decide`: the real binary on the example situations in
# examples/situations, checked against hand-computed decisions (see docs/decide.md).
# Usage: bash tests/decide_test.sh TIDE_BINARY SOURCE_DIR
set -uo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

check() {  # check NAME FILE EXPECTED_DESIRED EXPECTED_BOUND_BY
  local name="$1" file="$2" want_desired="$3" want_bound="$4" out
  if ! out=$("$tide" decide "$src/examples/situations/$file" 2>&1); then
    fail "$name: tide decide exited non-zero: $out"
    return
  fi
  got=$(printf '%s' "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["desired"], d["bound_by"] if d["bound_by"] is not None else "none")')
  if [ "$got" != "$want_desired $want_bound" ]; then
    fail "$name: got '$got', want '$want_desired $want_bound'"
    printf '%s\n' "$out"
  else
    pass
  fi
}

# 3 ready at 88 % (truncated) + 1 missing filled at 0 %: 66 % / 50 % -> ceil(1.32 x 4) = 6.
check cpu_spike cpu-spike.json 6 none
# cpu 10 x 20/50 = 4, queue ceil(250/100) = 3 -> 4; the 5 min window still holds 9.
check scale_in_stabilized scale-in-stabilized.json 9 stabilization
# cpu wants 2, latency has no data: no scale-in.
check no_data no-data.json 6 no-data-guard
# p99 24 s at 1024 MB, target 25 % of 60 s: 200 + 23800 x 1024 / M <= 15000 from M = 1646.7: 1664.
check lambda_memory lambda-memory.json 1664 none

# --explain prints the account as text.
if "$tide" decide --explain "$src/examples/situations/no-data.json" | grep -q "no-data-guard: 2 -> 6"; then
  pass
else
  fail "explain: no 'no-data-guard: 2 -> 6' line"
fi

# A broken situation: every error with file:line:col, exit 1, no crash.
bad="$work/bad.json"
printf '{\n  "now": "yesterday",\n  "current": -1,\n  "group": {"name": "g", "min": 1, "max": 2,\n    "policies": [{"type": "target-tracking", "metric": {"source": "p"}, "target": 50}]},\n  "metrics": [{"valeu": 3}]\n}\n' > "$bad"
out=$("$tide" decide "$bad" 2>&1)
rc=$?
if [ $rc -ne 1 ]; then
  fail "bad_situation: exit $rc, want 1: $out"
elif ! grep -q "$bad:2:10: error: now" <<<"$out" || ! grep -q "$bad:6:16: error: unknown key 'valeu'" <<<"$out"; then
  fail "bad_situation: errors not located: $out"
else
  pass
fi

summary decide
