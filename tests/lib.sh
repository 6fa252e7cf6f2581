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
#   run_gtests LABEL SECONDS LOG COMMAND...
#                     runs a GoogleTest COMMAND (e.g. `env VAR=x BINARY --gtest_filter=...`)
#                     with a time limit, adds its OK and FAILED tests to the counters, fails LABEL
#                     when it timed out, exited non-zero without a failed test, or ran nothing,
#                     prints the log's other lines when it did not pass, and a count line
#   stop SECONDS PID...
#                     SIGCONT and SIGTERM to each (a stopped process must wake up to exit), then
#                     SIGKILL to each that has not exited within SECONDS, and reaps it
#   scenario_copy NAME [FROM|TO]
#                     writes $work/NAME.yaml: examples/simulate-NAME.yaml with an absolute trace
#                     path and, when given and not empty, the trace range FROM .. TO (written like
#                     the trace's times)

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

run_gtests() {
  local label=$1 limit=$2 log=$3 rc ok bad
  shift 3
  timeout "$limit" "$@" --gtest_color=no >"$log" 2>&1
  rc=$?
  ok=$(grep -c '^\[       OK \]' "$log")
  bad=$(grep -cE '^\[  FAILED  \] .* \([0-9]+ ms\)$' "$log")
  passes=$((passes + ok))
  failures=$((failures + bad))
  if [ "$rc" -eq 124 ]; then
    fail "$label timed out after ${limit}s"
  elif [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
    fail "$label: the test binary exited with $rc"
  elif [ $((ok + bad)) -eq 0 ]; then
    fail "$label ran no tests"
  fi
  [ "$rc" -eq 0 ] || grep -vE '^\[ *(RUN|OK) *\]' "$log" | head -80
  echo "$label: $ok passed, $bad failed"
}

stop() {
  local limit=$1 pid
  shift
  for pid in "$@"; do
    kill -CONT "$pid" 2>/dev/null
    kill -TERM "$pid" 2>/dev/null
  done
  for pid in "$@"; do
    for _ in $(seq 1 $((limit * 10))); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
}

scenario_copy() {
  local name=$1 range=${2:-}
  sed "s#path: \.\./traces/#path: $src/traces/#" "$src/examples/simulate-$name.yaml" >"$work/$name.yaml"
  if [ -n "$range" ]; then
    sed -i "s#^trace:\$#trace:\n  from: \"${range%|*}\"\n  to: \"${range#*|}\"#" "$work/$name.yaml"
  fi
}

summary() {
  echo "$1: $passes passed, $failures failed"
  [ "$failures" -eq 0 ]
}
