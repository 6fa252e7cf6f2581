#!/usr/bin/env bash
# Integration test of `tide demo`: a short live run (tide run, real worker processes, real
# requests) must finish, print its summary, write its chart and leave no process behind; Ctrl-C
# in the middle must clean up the same way. Every wait is bounded.
set -uo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"
tmp="$work"

# Processes of any demo run (workers carry TIDE_DEMO_RUN in their environment).
demo_processes() {
  grep -l -a "TIDE_DEMO_RUN=tide-demo-" /proc/[0-9]*/environ 2>/dev/null | wc -l
}
[ "$(demo_processes)" = 0 ] || echo "note: demo processes were running before the test"

# 1. A short run to the end.
timeout 120 "$tide" demo --seconds 15 --trace "$src/traces/nasa_http_1995_per_minute.csv" \
  --report "$tmp/demo.html" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 0 ] && pass || fail "demo exit code $rc: $(cat "$tmp/err")"
for want in "requests: " "actions: " "worker-seconds: " "reaction: " "tide: " "cleanup: tide run stopped"; do
  grep -q "^$want" "$tmp/out" && pass || fail "summary line '$want' missing"
done
# Requests were really served by workers tide started.
served=$(sed -n 's/^requests: [0-9]* sent, \([0-9]*\) served.*/\1/p' "$tmp/out")
[ "${served:-0}" -gt 100 ] && pass || fail "only '${served}' requests served"
grep -q "<svg" "$tmp/demo.html" && pass || fail "no chart in the report"
[ "$(demo_processes)" = 0 ] && pass || fail "processes left after the demo: $(demo_processes)"
dir=$(grep -o '/tmp/tide-demo-[A-Za-z0-9]*' "$tmp/out" | head -1)
[ -n "$dir" ] && pass || fail "cleanup line does not name the temporary directory"
[ -n "$dir" ] && [ -e "$dir" ] && fail "temporary directory $dir left"

# 2. Interrupted with SIGINT while the load runs.
"$tide" demo --seconds 60 --trace "$src/traces/nasa_http_1995_per_minute.csv" --report "" \
  >"$tmp/out2" 2>"$tmp/err2" &
pid=$!
for _ in $(seq 1 300); do
  grep -q "^ time" "$tmp/out2" && break
  sleep 0.1
done
grep -q "^ time" "$tmp/out2" && pass || fail "demo did not start within 30 s: $(cat "$tmp/err2")"
sleep 3
kill -INT "$pid"
for _ in $(seq 1 300); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
  fail "demo still running 30 s after SIGINT"
  kill -9 "$pid"
fi
wait "$pid"
rc=$?
[ "$rc" = 130 ] && pass || fail "interrupted demo exit code $rc (want 130)"
grep -q "^Interrupted" "$tmp/out2" && pass || fail "no 'Interrupted' summary"
[ "$(demo_processes)" = 0 ] && pass || fail "processes left after SIGINT: $(demo_processes)"

summary demo_test
