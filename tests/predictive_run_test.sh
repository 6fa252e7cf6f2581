#!/usr/bin/env bash
# `tide run` with a predictive policy (docs/predictive.md): the metric history lives in the state
# store and survives restarts. The store is given two days of a per-minute history in which every
# day has a spike just after the current time of day; a restarted tide must forecast it at its
# first evaluation (seasonal naive, from the stored history), propose the spike's capacity ahead
# of time, show the forecast in `tide explain`, and keep writing the history.
# Usage: bash tests/predictive_run_test.sh TIDE_BINARY SOURCE_DIR
set -uo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

pid=""
cleanup() {
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  fi
}

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
api="http://127.0.0.1:$port"
cat >"$work/tide.yaml" <<YAML
state: $work/tide.db
api: { listen: 127.0.0.1:$port }
sources:
  - { name: load, type: static, value: 200 }
groups:
  - name: web
    interval: 1s
    target: { type: static }
    min: 1
    max: 80
    policies:
      - { name: ahead, type: predictive, metric: load, target: 10,
          forecaster: seasonal-naive-daily, resolution: 1m, history: 2d,
          forecast_interval: 1m, boot_delay: 5m }
    behavior: { scale_up: { stabilization: 0s, policies: [] }, scale_down: { stabilization: 0s, policies: [] } }
YAML

start_tide() {
  "$tide" run -c "$work/tide.yaml" >>"$work/tide.log" 2>&1 &
  pid=$!
  for _ in $(seq 50); do
    "$tide" status --api "$api" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}
stop_tide() {
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  pid=""
}

# First run: creates the store (schema 2, with metric_history).
if start_tide; then pass; else fail "tide run did not start: $(tail -5 "$work/tide.log")"; fi
stop_tide

# Two days of history, one point per minute, for the policy's series: 200 requests/s, and 600 from
# 2 to 4 minutes after the current time of day.
python3 - "$work/tide.db" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
assert version == "2", version
now = int(time.time()) // 60 * 60
rows = []
for minute in range(1, 2 * 1440):
    t = now - minute * 60
    ahead = (minute % 1440)  # minutes before now, modulo a day
    spike = 1440 - 4 <= ahead <= 1440 - 2   # yesterday (and the day before) 2..4 minutes after now
    rows.append(("web", "predictive/ahead/load{}", t * 1000, 600.0 if spike else 200.0))
db.executemany("INSERT INTO metric_history VALUES (?, ?, ?, ?)", rows)
db.commit()
PY

if start_tide; then pass; else fail "tide run did not restart: $(tail -5 "$work/tide.log")"; fi
sleep 1.5
explain=$("$tide" explain web --api "$api" --json 2>&1)
if out=$(python3 - "$explain" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
acct = d.get("account", d)
errors = []
f = acct.get("forecasts", [{}])[0]
if f.get("model") != "seasonal-naive-daily":
    errors.append(f"forecast model {f.get('model')!r}")
p = acct["proposals"][0]
if p.get("status") != "value" or p.get("capacity") != 60:
    errors.append(f"proposal {p.get('status')} {p.get('capacity')}: {p.get('reason')}")
if p.get("forecast", {}).get("peak_load") != 600:
    errors.append(f"peak {p.get('forecast')}")
print("; ".join(errors))
sys.exit(1 if errors else 0)
PY
); then
  pass
else
  fail "first decision after the restart: $out"
  echo "$explain" | head -40
fi
if grep -q "predictive policy history loaded" "$work/tide.log"; then pass; else fail "no history-loaded log line"; fi
if "$tide" explain web --api "$api" 2>&1 | grep -q "forecast peak load 600"; then pass; else fail "tide explain does not show the forecast"; fi
stop_tide

# The store still holds the history (and nothing older than the 2-day window).
count=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM metric_history").fetchone()[0])' "$work/tide.db")
if [ "$count" -ge 2870 ] && [ "$count" -le 2882 ]; then pass; else fail "metric_history has $count points"; fi

summary predictive_run_test
