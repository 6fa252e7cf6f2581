#!/usr/bin/env bash
# Integration tests of the local-process target with real processes (`tide worker` pools, SIGTERM
# and SIGKILL on scale-in, crash restarts, re-adoption after a restart, PID-reuse protection):
#   bash tests/local_process_test.sh <path-to-tide> <source-dir>
# Runs the LocalProcessTest suite of tide_integration_tests (next to the tide binary; source in
# tests/integration/local_process_test.cpp). The suite kills every process it started; this
# script bounds the whole run and, should the suite itself be killed, removes what it left (every
# process the suite starts inherits TIDE_TEST_RUN=<token> from it).
set -u
tide=${1:?usage: local_process_test.sh TIDE_BINARY SOURCE_DIR}
bin="$(dirname "$tide")/tide_integration_tests"
[ -x "$bin" ] || { echo "FAIL: $bin not found (build the tide_integration_tests target)"; exit 1; }

export TIDE_TEST_RUN="local-process-$$-$RANDOM"
cleanup() {
  local p
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" = $$ ] && continue
    if tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -qx "TIDE_TEST_RUN=$TIDE_TEST_RUN"; then
      kill -KILL -- "-${p#/proc/}" 2>/dev/null
      kill -KILL "${p#/proc/}" 2>/dev/null
    fi
  done
}
trap cleanup EXIT

TIDE_BINARY="$tide" timeout --kill-after=10 300 "$bin" --gtest_filter='LocalProcessTest.*' \
  --gtest_color=no
rc=$?
[ $rc = 124 ] && echo "FAIL: the suite did not finish within 300 s"
exit $rc
