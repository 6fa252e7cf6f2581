#!/usr/bin/env bash
# Footprint of `tide run` (README "Speed and footprint"): 100 groups, each with a target-tracking
# policy on a prometheus-scrape source (one local `tide worker` /metrics endpoint) and a static
# target.
#   1. idle RSS and CPU share with a 15 s interval, over MEASURE seconds after a warm-up;
#   2. CPU per 1,000 group evaluations with a 1 s interval (100 evaluations per second).
# Usage: bench/footprint.sh BUILD_DIR [MEASURE_SECONDS]   (make footprint)
set -euo pipefail
build="${1:-build/release}"
measure="${2:-120}"
tide="$build/tide"
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

"$tide" worker --port 0 --work-ms 0 >"$tmp/worker.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  port=$(sed -n 's/^tide worker listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/worker.out")
  [ -n "$port" ] && break
  sleep 0.05
done
api_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

config() {  # config INTERVAL
  cat <<Y
log: { level: warn }
state: $tmp/tide-$1.db
api: { listen: "127.0.0.1:$api_port" }
sources:
  - { name: scrape, type: prometheus-scrape, urls: [ "http://127.0.0.1:$port/metrics" ] }
groups:
Y
  for i in $(seq 1 100); do
    cat <<Y
  - name: g$i
    interval: $1
    min: 1
    max: 10
    target: { type: static, capacity: 2 }
    policies:
      - { type: target-tracking, target_type: value, target: 50, metric: { source: scrape, name: tide_worker_concurrency } }
Y
  done
}

ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
evaluations() {
  curl -s "http://127.0.0.1:$api_port/metrics" |
    awk '/^tide_evaluation_duration_seconds_count/ { n += $2 } END { print n + 0 }'
}

run() {  # run INTERVAL SECONDS -> "rss_kb cpu_seconds evaluations"
  config "$1" >"$tmp/tide.yaml"
  "$tide" run -c "$tmp/tide.yaml" 2>"$tmp/tide.log" &
  local pid=$!
  sleep 10  # start-up, first evaluation of every group, sqlite warm
  local c0 e0 c1 e1 rss
  c0=$(cpu_ticks "$pid")
  e0=$(evaluations)
  sleep "$2"
  c1=$(cpu_ticks "$pid")
  e1=$(evaluations)
  rss=$(rss_kb "$pid")
  kill -TERM "$pid"
  wait "$pid" || true
  echo "$rss $(awk -v a="$c0" -v b="$c1" -v t="$ticks" 'BEGIN { print (b - a) / t }') $((e1 - e0))"
}

read -r rss cpu evals < <(run 15s "$measure")
awk -v m="$measure" -v r="$rss" -v c="$cpu" -v e="$evals" 'BEGIN {
  printf "100 groups, 15 s interval, %d s: RSS %.1f MB, CPU %.3f s = %.2f %% of one core, %d evaluations\n",
    m, r / 1024, c, 100 * c / m, e }'
read -r rss cpu evals < <(run 1s 60)
awk -v r="$rss" -v c="$cpu" -v e="$evals" 'BEGIN {
  printf "100 groups, 1 s interval, 60 s: %d evaluations, CPU %.3f s = %.1f ms per 1,000 evaluations, RSS %.1f MB\n",
    e, c, 1000000 * c / e, r / 1024 }'
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u +%F)"
