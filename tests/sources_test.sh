#!/usr/bin/env bash
# Integration tests of the live sources against the real servers:
#   bash tests/sources_test.sh <path-to-tide> <source-dir>
# Starts on free loopback ports: a tiny exporter (python3 http.server serving a /metrics file),
# Prometheus scraping it every second (temporary config and storage) and redis-server (no
# persistence). Then runs tide_integration_tests (next to the tide binary) in three phases:
#   live     servers up              Live.*
#   frozen   servers SIGSTOP'd       Frozen.*   (they accept connections but never answer)
#   stopped  servers killed          Stopped.*  (connections are refused)
# Every wait is bounded; the servers and temporary files are always removed (trap EXIT). Nothing
# is skipped: a missing server or one that does not start is a failure with a clear message.
# Ends with "sources: N passed, M failed".
set -u
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"
bin="$(dirname "$tide")/tide_integration_tests"
pids=()

cleanup() { stop 5 "${pids[@]}"; }

# A setup problem: report it with the server's log and stop (counted as a failure).
die() {
  fail "$1"
  if [ $# -ge 2 ] && [ -f "$2" ]; then
    echo "---- last lines of $2 ----"
    tail -n 20 "$2"
  fi
  summary sources
  exit 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# http_ok URL [PATTERN]: the URL answers 2xx (and its body contains PATTERN). 2 s at most.
http_ok() {
  python3 - "$@" <<'EOF' >/dev/null 2>&1
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
    body = r.read().decode()
sys.exit(0 if len(sys.argv) < 3 or sys.argv[2] in body else 1)
EOF
}

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s.
wait_for() {
  local limit=$1 what=$2
  shift 2
  local deadline=$((SECONDS + limit))
  while [ $SECONDS -lt $deadline ]; do
    "$@" && return 0
    sleep 0.2
  done
  echo "timed out after ${limit}s waiting for $what"
  return 1
}

for tool in prometheus redis-server redis-cli python3; do
  command -v "$tool" >/dev/null ||
    die "$tool is not installed (scripts/install-deps installs prometheus and redis-server)"
done
[ -x "$bin" ] || die "$bin not found: build the tide_integration_tests target"

# ---- the exporter: a static /metrics file ----
exporter_port=$(free_port)
mkdir -p "$work/exporter"
cat >"$work/exporter/metrics" <<'EOF'
# HELP tide_test_queue_depth Jobs waiting, by queue.
# TYPE tide_test_queue_depth gauge
tide_test_queue_depth{queue="jobs"} 42
tide_test_queue_depth{queue="mail"} 8
# HELP tide_test_requests_total Requests served.
# TYPE tide_test_requests_total counter
tide_test_requests_total{code="200"} 1000
# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.
# TYPE process_start_time_seconds gauge
process_start_time_seconds 1.7e+09
EOF
python3 -m http.server "$exporter_port" --bind 127.0.0.1 --directory "$work/exporter" \
  >"$work/exporter.log" 2>&1 &
pids+=($!)
wait_for 10 "the exporter" http_ok "http://127.0.0.1:$exporter_port/metrics" tide_test_queue_depth ||
  die "the exporter (python3 http.server) did not start" "$work/exporter.log"

# ---- redis-server ----
redis_port=$(free_port)
mkdir -p "$work/redis"
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
  --dir "$work/redis" >"$work/redis.log" 2>&1 &
redis_pid=$!
pids+=("$redis_pid")
redis_ready() { [ "$(timeout 2 redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null)" = PONG ]; }
wait_for 15 "redis-server" redis_ready || die "redis-server did not start" "$work/redis.log"

# ---- prometheus, scraping the exporter every second ----
prom_port=$(free_port)
cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: exporter
    static_configs:
      - targets: ['127.0.0.1:$exporter_port']
EOF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prometheus-data" \
  --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$work/prometheus.log" 2>&1 &
prom_pid=$!
pids+=("$prom_pid")
prom="http://127.0.0.1:$prom_port"
wait_for 30 "prometheus /-/ready" http_ok "$prom/-/ready" ||
  die "prometheus did not become ready" "$work/prometheus.log"
wait_for 30 "prometheus to scrape the exporter" \
  http_ok "$prom/api/v1/query?query=tide_test_queue_depth" '"42"' ||
  die "prometheus did not scrape the exporter" "$work/prometheus.log"

export TIDE_TEST_PROMETHEUS_URL="$prom"
export TIDE_TEST_REDIS_URL="redis://127.0.0.1:$redis_port"
export TIDE_TEST_EXPORTER="127.0.0.1:$exporter_port"
TIDE_TEST_DEAD_ADDRESS="127.0.0.1:$(free_port)"
export TIDE_TEST_DEAD_ADDRESS

# run_phase NAME FILTER: runs the matching tests, counting passes and failures.
run_phase() {
  run_gtests "phase $1" 180 "$work/$1.log" env TIDE_TEST_PHASE="$1" "$bin" --gtest_filter="$2"
}

run_phase live 'Live.*'

kill -STOP "$redis_pid" "$prom_pid"
run_phase frozen 'Frozen.*'

stop 10 "$redis_pid" "$prom_pid"
run_phase stopped 'Stopped.*'

summary sources
