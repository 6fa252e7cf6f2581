#!/usr/bin/env bash
# Integration test of `tide validate` on the real binary:
#   bash tests/validate_test.sh <path-to-tide> <source-dir>
# - every tests/configs/invalid/*.yaml must exit 1 and print each error named by its leading
#   `# expect: <substring>` comment lines (the substring includes :LINE:COL:);
# - every examples/*.yaml config must validate (exit 0); simulation scenarios
#   (examples/simulate-*.yaml) are another format, checked by tests/simulate_test.sh;
# - hostile inputs (random bytes, deep nesting, missing files) must exit 1 with a diagnostic;
# and nothing may crash: an exit code above 1, a signal or a hang fails the test.
set -u
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"
checked=0

# run FILE [ARGS...]: runs `tide validate`, leaving the exit code in $rc and the output in $out.
run() {
  out=$(timeout 20 "$tide" validate "$@" 2>&1)
  rc=$?
  checked=$((checked + 1))
}

# Exit codes 0 and 1 are answers; anything else (crash, signal = 128+N, timeout = 124) is a bug.
check_no_crash() {
  local what=$1
  if [ "$rc" -eq 124 ]; then
    fail "$what: timed out"
    return 1
  elif [ "$rc" -gt 1 ]; then
    fail "$what: crashed or failed with exit code $rc"
    echo "$out" | head -20
    return 1
  fi
  return 0
}

# ---- broken configs: exit 1 with the expected diagnostics ----
shopt -s nullglob
invalid=("$src"/tests/configs/invalid/*.yaml)
[ ${#invalid[@]} -gt 0 ] || fail "no files in tests/configs/invalid"
for file in "${invalid[@]}"; do
  name=${file#"$src"/}
  mapfile -t expects < <(sed -n 's/^# expect: //p' "$file")
  if [ ${#expects[@]} -eq 0 ]; then
    fail "$name: no '# expect:' line"
    continue
  fi
  run "$file"
  check_no_crash "$name" || continue
  if [ "$rc" -ne 1 ]; then
    fail "$name: expected exit code 1, got $rc"
    echo "$out" | head -20
    continue
  fi
  for e in "${expects[@]}"; do
    if ! grep -qF -- "$file$e" <<<"$out"; then
      fail "$name: missing '$e'"
      echo "  got:"
      sed 's/^/    /' <<<"$out" | head -20
    fi
  done
  # Every diagnostic line has the FILE:LINE:COL: error: form (plus the closing count line).
  while IFS= read -r line; do
    [[ "$line" =~ ^.+:[0-9]+:[0-9]+:\ error:\ .+ ]] && continue
    [[ "$line" =~ ^.+:\ [0-9]+\ errors?$ ]] && continue
    [[ "$line" =~ ^.+:\ error:\ .+ ]] && continue
    fail "$name: malformed output line: $line"
  done <<<"$out"
  # --json: exit 1 and a JSON document naming the errors.
  run "$file" --json
  check_no_crash "$name --json" || continue
  [ "$rc" -eq 1 ] || fail "$name --json: expected exit code 1, got $rc"
  grep -q '"ok": false' <<<"$out" || fail "$name --json: no \"ok\": false"
  if command -v python3 >/dev/null; then
    python3 -c 'import json,sys; json.loads(sys.stdin.read())' <<<"$out" ||
      fail "$name --json: output is not JSON"
  fi
done

# ---- examples: must validate ----
examples=()
for file in "$src"/examples/*.yaml; do
  case "$(basename "$file")" in simulate-*) ;; *) examples+=("$file") ;; esac
done
[ ${#examples[@]} -gt 0 ] || fail "no examples/*.yaml"
for file in "${examples[@]}"; do
  name=${file#"$src"/}
  run "$file"
  check_no_crash "$name" || continue
  if [ "$rc" -ne 0 ]; then
    fail "$name: expected to validate, got exit code $rc"
    sed 's/^/    /' <<<"$out" | head -20
  fi
  run "$file" --json
  check_no_crash "$name --json" || continue
  [ "$rc" -eq 0 ] || fail "$name --json: expected exit code 0, got $rc"
done
if [ ${#examples[@]} -gt 1 ]; then
  run "${examples[@]}"
  [ "$rc" -eq 0 ] || fail "all examples at once: expected exit code 0, got $rc"
fi

# ---- hostile inputs: a diagnostic, never a crash ----
expect_error() {
  local what=$1
  shift
  run "$@"
  check_no_crash "$what" || return
  [ "$rc" -eq 1 ] || fail "$what: expected exit code 1, got $rc"
  grep -q "error: " <<<"$out" || fail "$what: no error line in: $(head -c 300 <<<"$out")"
}

expect_error "missing file" "$work/does-not-exist.yaml"
expect_error "directory" "$work"
: >"$work/empty.yaml"
expect_error "empty file" "$work/empty.yaml"
printf '%*s' 20000 '' | tr ' ' '[' >"$work/brackets.yaml"
expect_error "20000 nested lists" "$work/brackets.yaml"
{
  echo "groups:"
  for i in $(seq 1 400); do printf '%*s- \n' $((i % 100)) ''; done
} >"$work/dashes.yaml"
expect_error "nested block lists" "$work/dashes.yaml"
printf 'groups:\n  - name: w\n    max: 1e999999\n    interval: 99999999999999999999d\n' >"$work/huge.yaml"
expect_error "huge numbers" "$work/huge.yaml"
RANDOM=4242
for i in $(seq 1 20); do
  f="$work/random-$i.yaml"
  : >"$f"
  for _ in $(seq 1 64); do printf "\\x$(printf %02x $((RANDOM % 256)))" >>"$f"; done
  run "$f"
  check_no_crash "random bytes #$i"
done
# Truncations of every example at a few points.
for file in "${examples[@]}"; do
  size=$(wc -c <"$file")
  for cut in 7 31 97 211 401 733; do
    [ "$cut" -lt "$size" ] || continue
    head -c "$cut" "$file" >"$work/cut.yaml"
    run "$work/cut.yaml"
    check_no_crash "$(basename "$file") cut at $cut"
  done
done

echo "validate_test: $checked runs, $failures failures"
[ "$failures" -eq 0 ]
