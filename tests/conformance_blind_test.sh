#!/usr/bin/env bash
# The conformance runner must compute `got` from a case's inputs alone: run every vector file a
# second time with all expectation keys removed and require identical `got`/`skipped` lines, and
# no tally line (nothing to compare against).
set -uo pipefail
tide="$1"
src="$2"
runner="$(dirname "$tide")/tide-conformance"
vectors="$src/../shared/conformance"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
passes=0
for name in hpa_vectors kpa_vectors; do
  python3 - "$vectors/$name.json" "$tmp/$name.blind.json" <<'PY'
import json, sys
def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items()
                if not (k.startswith("expected") or k == "error_contains")}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x
json.dump(strip(json.load(open(sys.argv[1]))), open(sys.argv[2], "w"))
PY
  "$runner" "$vectors/$name.json" > "$tmp/$name.full.out"
  "$runner" "$tmp/$name.blind.json" > "$tmp/$name.blind.out"
  python3 - "$tmp/$name.full.out" "$tmp/$name.blind.out" <<'PY'
import json, sys
full = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
blind_lines = open(sys.argv[2]).read().splitlines()
blind = [json.loads(l) for l in blind_lines if l.startswith("{")]
assert not any("passed," in l for l in blind_lines), "tally printed without expectations"
assert len(full) == len(blind) and len(full) > 0, (len(full), len(blind))
for a, b in zip(full, blind):
    assert a.get("got") == b.get("got") and a.get("skipped") == b.get("skipped"), (a, b)
    assert "result" not in b
PY
  if [ $? -eq 0 ]; then passes=$((passes + 1)); else echo "FAIL $name"; failures=$((failures + 1)); fi
done
echo "conformance_blind: $passes passed, $failures failed"
[ $failures -eq 0 ]
