# shellcheck shell=bash
# Shared by the tests/*_test.sh scripts (not a test itself: CMake runs only *_test.sh, each as
# `bash SCRIPT TIDE_BINARY SOURCE_DIR`). A script sources it first thing:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"
# and then has
#   tide              the tide binary (first argument)
#   src               the source directory, as an absolute path (second argument)
#   work              a new temporary directory, removed when the script exits; a script with more
#                     to clean up defines a function `cleanup` (run first) instead of trapping EXIT
#   passes, failures  counters, zero; `pass` counts a pass, `fail MESSAGE` prints "FAIL MESSAGE"
#                     and counts a failure
#   summary NAME      prints "NAME: P passed, F failed"; succeeds when nothing failed (end the
#                     script with it, so that it is the exit status)

# shellcheck disable=SC2034  # tide, src, work and the counters are for the sourcing script
_usage="usage: $(basename "$0") TIDE_BINARY SOURCE_DIR"
tide=${1:?$_usage}
src=$(cd "${2:?$_usage}" && pwd) || exit 1
unset _usage

passes=0
failures=0
work=$(mktemp -d)

_lib_exit() {
  if declare -F cleanup >/dev/null; then cleanup; fi
  rm -rf "$work"
}
trap _lib_exit EXIT

pass() { passes=$((passes + 1)); }
fail() {
  echo "FAIL $1"
  failures=$((failures + 1))
}

summary() {
  echo "$1: $passes passed, $failures failed"
  [ "$failures" -eq 0 ]
}
