#!/usr/bin/env bash
# The conformance runner must compute `got` from a case's inputs alone: run every vector file a
# second time with all expectation keys removed and require identical `got`/`skipped` lines, and
# no tally line (nothing to compare against).
# Usage: bash tests/conformance_blind_test.sh TIDE_BINARY SOURCE_DIR
set -uo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"
runner="$(dirname "$tide")/tide-conformance"
vectors="$src/../shared/conformance"
for name in hpa_vectors kpa_vectors; do
  python3 - "$vectors/$name.json" "$work/$name.blind.json" <<'PY'
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
  "$runner" "$vectors/$name.json" > "$work/$name.full.out"
  "$runner" "$work/$name.blind.json" > "$work/$name.blind.out"
  if python3 - "$work/$name.full.out" "$work/$name.blind.out" <<'PY'; then
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
    pass
  else
    fail "$name"
  fi
done
summary conformance_blind
