#!/usr/bin/env bash
# The repository's own rules, checked so that CI catches what a commit forgot:
#   bash tests/lint_test.sh <path-to-tide> <source-dir>
# - every tracked .cpp/.hpp file is as clang-format (the repo's .clang-format) writes it;
# - every shell script (tests/*.sh, scripts/*, .ci/run) passes shellcheck at severity "warning".
# Uses the files git tracks when the source is a git checkout, else every file under src/, bench/
# and tests/. Debian's clang-format and shellcheck (scripts/install-deps).
set -u
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

cd "$src" || exit 1
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t sources < <(git ls-files '*.cpp' '*.hpp')
else
  mapfile -t sources < <(find src bench tests -name '*.cpp' -o -name '*.hpp' | sort)
fi
mapfile -t scripts < <(ls tests/*.sh scripts/* .ci/run 2>/dev/null)

if [ "${#sources[@]}" -lt 10 ]; then
  fail "only ${#sources[@]} C++ files found under $src"
elif clang-format --dry-run --Werror "${sources[@]}" >"$work/format.log" 2>&1; then
  pass
else
  fail "not clang-formatted (run 'make format'):"
  grep -oE '^[^:]+\.(cpp|hpp)' "$work/format.log" | sort -u | head -20
fi

for script in "${scripts[@]}"; do
  if shellcheck -x -P tests -S warning "$script" >"$work/shellcheck.log" 2>&1; then
    pass
  else
    fail "shellcheck $script:"
    head -40 "$work/shellcheck.log"
  fi
done

summary lint
