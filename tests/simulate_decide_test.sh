#!/usr/bin/env bash
# "The decisions the simulator makes for a group are the decisions `tide decide` makes for the same
# situations": `tide simulate --dump-situations` writes a sample of the decisions of every group
# (presets and hand-written) as situation files with the simulator's decision next to them; each
# situation is then given to `tide decide`, which must come to the same desired capacity and the
# same binding stage.
# Usage: bash tests/simulate_decide_test.sh TIDE_BINARY SOURCE_DIR
set -uo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

# check NAME SAMPLE MIN_PER_POLICY: dump, replay each situation through tide decide, compare.
check() {
  local name="$1" sample="$2" min="$3" count=0 bad=0
  local dir="$work/$name-dump"
  if ! "$tide" simulate --dump-situations "$dir" --sample "$sample" "$work/$name.yaml" \
    >"$work/$name.txt" 2>"$work/$name.err"; then
    fail "$name: tide simulate --dump-situations exited non-zero: $(cat "$work/$name.err")"
    return
  fi
  for situation in "$dir"/*.json; do
    [ -e "$situation" ] || break
    if ! "$tide" decide "$situation" >"${situation%.json}.decided" 2>"${situation%.json}.decide-err"; then
      bad=$((bad + 1))
      [ $bad -le 3 ] && echo "  tide decide $situation: $(head -3 "${situation%.json}.decide-err")"
    fi
    count=$((count + 1))
  done
  if [ $bad -ne 0 ]; then
    fail "$name: tide decide rejected $bad of $count situations"
    return
  fi
  # One comparison for all: desired and bound_by must match, every group must be sampled at least
  # MIN times, and the sample must contain real decisions (scale-outs, scale-ins, bound stages).
  if out=$(python3 - "$dir" "$min" <<'EOF'
import collections, glob, json, os, sys
directory, minimum = sys.argv[1], int(sys.argv[2])
per_policy = collections.Counter()
mismatches, ups, downs, bound = [], 0, 0, 0
for expected_file in sorted(glob.glob(os.path.join(directory, "*.expected"))):
    stem = expected_file[: -len(".expected")]
    policy = os.path.basename(stem).rsplit("-", 1)[0]
    want = json.load(open(expected_file))
    got = json.load(open(stem + ".decided"))
    per_policy[policy] += 1
    if (got["desired"], got["bound_by"]) != (want["desired"], want["bound_by"]):
        mismatches.append(f"{os.path.basename(stem)}: simulator {want['desired']} "
                          f"({want['bound_by']}), tide decide {got['desired']} ({got['bound_by']})")
    if got["current"] != want["current"]:
        mismatches.append(f"{os.path.basename(stem)}: current {got['current']} vs {want['current']}")
    ups += want["desired"] > want["current"]
    downs += want["desired"] < want["current"]
    bound += want["bound_by"] is not None
problems = mismatches[:10]
if len(per_policy) < 2:
    problems.append(f"only {len(per_policy)} groups dumped: {dict(per_policy)}")
for policy, n in per_policy.items():
    if n < minimum:
        problems.append(f"{policy}: {n} situations, want at least {minimum}")
if ups == 0 or downs == 0 or bound == 0:
    problems.append(f"trivial sample: {ups} scale-outs, {downs} scale-ins, {bound} bound stages")
print(f"{sum(per_policy.values())} situations, {dict(per_policy)}, {ups} up, {downs} down, "
      f"{bound} bound, {len(mismatches)} mismatches")
for p in problems:
    print("  " + p)
sys.exit(1 if problems else 0)
EOF
  ); then
    echo "$name: $out"
    pass
  else
    fail "$name: $out"
  fi
}

# WorldCup 98: hpa, aws-target-tracking and kpa presets plus a hand-written target-tracking and
# queue group, on two match days (flash crowds: scale-outs, stabilization and rate limits).
scenario_copy worldcup98 "1998-06-29 00:00:00|1998-07-01 00:00:00"
check worldcup98 397 5

# NASA: local times, log gaps (no-data readings) and a different hand-written group.
scenario_copy nasa "1995-07-27 00:00|1995-07-30 00:00"
check nasa 613 5

summary simulate_decide
