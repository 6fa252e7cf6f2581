#!/usr/bin/env bash
# Integration test of `tide worker`, the demo's worker process: its HTTP API (/work, /metrics,
# /healthz), saturation (503 once the slots and the queue are full) and a clean exit on SIGTERM
# that lets in-flight requests finish. Every worker started here is killed on exit; every wait
# is bounded.
# Usage: bash tests/worker_test.sh TIDE_BINARY SOURCE_DIR
set -uo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
  wait 2>/dev/null
}

# start_worker NAME ARGS...: starts a worker on a free port; sets $port and $pid.
start_worker() {
  local name="$1"
  shift
  "$tide" worker --port 0 "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pid=$!
  pids+=("$pid")
  port=""
  for _ in $(seq 200); do
    port=$(sed -n 's/^tide worker listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/$name.out")
    [ -n "$port" ] && return 0
    sleep 0.05
  done
  echo "worker $name did not start: $(cat "$work/$name.err")"
  return 1
}

# wait_exit PID SECONDS: waits for PID to exit and sets $status to its exit status ("timeout"
# after SECONDS).
wait_exit() {
  local pid="$1" limit="$2"
  status="timeout"
  for _ in $(seq $((limit * 20))); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid"
      status=$?
      return 0
    fi
    sleep 0.05
  done
  return 1
}

get() { curl -s --max-time 10 "$@"; }
code() { curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$@"; }
metric() {  # metric NAME: the value of an unlabelled sample
  get "http://127.0.0.1:$port/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}

# ---- the API ----
if start_worker api --concurrency 2 --work-ms 5; then
  base="http://127.0.0.1:$port"
  [ "$(get "$base/healthz")" = "ok" ] && pass || fail "healthz: want ok"
  out=$(get "$base/work?ms=30")
  [[ "$out" == '{"ms":30,'* ]] && pass || fail "work: got '$out'"
  out=$(get "$base/work")
  [[ "$out" == '{"ms":5,'* ]] && pass || fail "work default ms: got '$out'"
  for bad in abc -1 10001 1.5; do
    [ "$(code "$base/work?ms=$bad")" = 400 ] && pass || fail "work?ms=$bad: want 400"
  done
  [ "$(code "$base/nope")" = 404 ] && pass || fail "unknown path: want 404"

  text=$(get "$base/metrics")
  for name in tide_worker_requests_total:counter tide_worker_rejected_total:counter \
    tide_worker_in_flight:gauge tide_worker_queued:gauge tide_worker_concurrency:gauge \
    tide_worker_busy_seconds_total:counter tide_worker_utilization_percent:gauge \
    tide_worker_request_duration_seconds:histogram process_start_time_seconds:gauge \
    process_cpu_seconds_total:counter; do
    grep -qx "# TYPE ${name%%:*} ${name##*:}" <<<"$text" && pass || fail "metrics: no TYPE for $name"
  done
  [ "$(metric tide_worker_requests_total)" = 2 ] && pass || fail "requests_total: want 2"
  [ "$(metric tide_worker_concurrency)" = 2 ] && pass || fail "concurrency: want 2"
  busy=$(metric tide_worker_busy_seconds_total)
  awk -v b="$busy" 'BEGIN { exit !(b >= 0.035 && b < 5) }' && pass || fail "busy_seconds_total: $busy, want >= 0.035"
  grep -q '^tide_worker_request_duration_seconds_bucket{le="+Inf"} 2$' <<<"$text" && pass ||
    fail "histogram: want 2 in +Inf"

  # Busy for a while: utilization goes up.
  for _ in 1 2 3 4; do get "$base/work?ms=400" >/dev/null & done
  sleep 0.3
  u=$(metric tide_worker_utilization_percent)
  awk -v u="$u" 'BEGIN { exit !(u > 0 && u <= 100) }' && pass || fail "utilization: $u, want > 0"
  inflight=$(metric tide_worker_in_flight)
  [ "${inflight:-0}" -ge 1 ] && pass || fail "in_flight: $inflight, want >= 1 while busy"
  for j in $(jobs -p); do
    [[ " ${pids[*]} " == *" $j "* ]] || wait "$j"
  done

  # SIGTERM with a request in flight: the request completes, the worker exits 0.
  get "$base/work?ms=300" >"$work/inflight.out" &
  client=$!
  sleep 0.1
  kill -TERM "$pid"
  wait_exit "$pid" 10
  [ "$status" = 0 ] && pass || fail "SIGTERM: exit status '$status', want 0"
  wait "$client"
  [[ "$(cat "$work/inflight.out")" == '{"ms":300,'* ]] && pass ||
    fail "in-flight request during SIGTERM: got '$(cat "$work/inflight.out")'"
else
  fail "worker did not start"
fi

# ---- saturation: 1 slot, 1 waiting, the rest get 503 ----
if start_worker busy --concurrency 1 --queue 1; then
  base="http://127.0.0.1:$port"
  for i in 1 2 3 4 5; do { code "$base/work?ms=600"; echo; } >"$work/sat.$i" & done
  sleep 0.2
  [ "$(metric tide_worker_queued)" = 1 ] && pass || fail "queued: want 1 at saturation"
  [ "$(get "$base/healthz")" = ok ] && pass || fail "healthz must answer while saturated"
  for j in $(jobs -p); do
    [[ " ${pids[*]} " == *" $j "* ]] || wait "$j"
  done
  ok=$(cat "$work"/sat.* | grep -c 200)
  rejected=$(cat "$work"/sat.* | grep -c 503)
  [ "$ok" = 2 ] && [ "$rejected" = 3 ] && pass || fail "saturation: $ok x 200, $rejected x 503; want 2 and 3"
  [ "$(metric tide_worker_rejected_total)" = 3 ] && pass || fail "rejected_total: want 3"
  kill -INT "$pid"
  wait_exit "$pid" 10
  [ "$status" = 0 ] && pass || fail "SIGINT: exit status '$status', want 0"
else
  fail "busy worker did not start"
fi

# ---- start-up delay and downstream wait ----
if start_worker slow --concurrency 1 --work-ms 0 --wait-ms 300 --startup-ms 3000; then
  # start_worker returns once the port answers; /healthz says "starting" for 3 s.
  [ "$(code "http://127.0.0.1:$port/healthz")" = 503 ] && pass || fail "healthz during start-up"
  get "http://127.0.0.1:$port/healthz" | grep -q starting && pass || fail "healthz body during start-up"
  sleep 3.1
  [ "$(code "http://127.0.0.1:$port/healthz")" = 200 ] && pass || fail "healthz after start-up"
  # A request holds its slot for the wait: ~300 ms of wall time, and the slot counts as busy.
  body=$(get "http://127.0.0.1:$port/work")
  wall=$(echo "$body" | sed -n 's/.*"wall_ms":\([0-9]*\).*/\1/p')
  echo "$body" | grep -q '"wait_ms":300' && [ "${wall:-0}" -ge 290 ] && pass ||
    fail "--wait-ms: $body"
  body=$(get "http://127.0.0.1:$port/work?wait_ms=0")
  wall=$(echo "$body" | sed -n 's/.*"wall_ms":\([0-9]*\).*/\1/p')
  [ "${wall:-999}" -lt 200 ] && pass || fail "?wait_ms=0: $body"
  [ "$(code "http://127.0.0.1:$port/work?wait_ms=x")" = 400 ] && pass || fail "bad ?wait_ms"
  get "http://127.0.0.1:$port/metrics" |
    awk '$1 == "tide_worker_busy_seconds_total" { exit !($2 >= 0.29) }' && pass ||
    fail "busy seconds do not include the wait"
  kill -TERM "$pid"
  wait_exit "$pid" 10
fi

# ---- a port in use is a clear error ----
if start_worker holder; then
  "$tide" worker --port "$port" >"$work/dup.out" 2>"$work/dup.err" &
  dup=$!
  pids+=("$dup")
  wait_exit "$dup" 10
  [ "$status" = 1 ] && grep -q "cannot listen on 127.0.0.1:$port" "$work/dup.err" && pass ||
    fail "port in use: exit '$status', stderr '$(cat "$work/dup.err")'"
  kill -TERM "$pid"
  wait_exit "$pid" 10
fi

# ---- bad flags ----
"$tide" worker --concurrency 0 >/dev/null 2>"$work/flags.err"
[ $? = 2 ] && grep -q "concurrency must be in 1..256" "$work/flags.err" && pass ||
  fail "bad --concurrency: $(cat "$work/flags.err")"

summary worker_test
