#!/usr/bin/env bash
# Restart safety of `tide run` (issue 4, "State"): kill -9 tide in the middle of a scale-out,
# restart it, and check that
#   - the decision left "pending" is reconciled from the target's status and not re-applied,
#   - the scale-down stabilization window from the first run still holds after the restart (no
#     scale-in before it expires, scale-in soon after: the window was not restarted either),
#   - the scale-out cooldown from the first run still holds,
#   - no recorded decision is lost (every id seen before the kill is still there, ids unique);
# plus SIGHUP with a broken config (kept running) and SIGTERM (exit 0).
#
# Real processes: tide with an `exec` source (cat a file) and an `exec` target whose scale
# command takes 2 s. Usage: bash tests/run_restart_test.sh TIDE_BINARY SOURCE_DIR
set -euo pipefail

# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"
TIDE=$(realpath "$tide")
WORK=$work
export TIDE WORK

cleanup() {
  # Stop every tide this test started (pids recorded by the driver); lib.sh removes the files.
  if [[ -f "$WORK/pids" ]]; then
    while read -r pid; do
      kill -TERM "$pid" 2>/dev/null || true
    done <"$WORK/pids"
    sleep 0.5
    while read -r pid; do
      kill -KILL "$pid" 2>/dev/null || true
    done <"$WORK/pids"
  fi
  # Scale commands run in their own process group and end after their 2 s sleep.
  sleep 2.5
}

python3 - <<'PY'
import datetime, json, os, signal, socket, subprocess, sys, time, urllib.request

TIDE = os.environ["TIDE"]
WORK = os.environ["WORK"]
procs = []

def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    for name in ("tide1.log", "tide2.log", "calls.log"):
        path = os.path.join(WORK, name)
        if os.path.exists(path):
            print(f"--- {name}", file=sys.stderr)
            print(open(path).read()[-6000:], file=sys.stderr)
    sys.exit(1)

def write(name, text):
    tmp = os.path.join(WORK, name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, os.path.join(WORK, name))

def read(name):
    try:
        return open(os.path.join(WORK, name)).read()
    except FileNotFoundError:
        return ""

def wait_for(what, predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    fail(f"timed out after {timeout}s waiting for {what}")

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

port = free_port()
config = f"""
state: {WORK}/tide.db
api: {{ listen: "127.0.0.1:{port}", token: test-token }}
sources:
  - {{ name: load, type: exec }}
groups:
  - name: web
    interval: 1s
    target:
      type: exec
      status_command: "cat {WORK}/capacity"
      scale_command: "echo {{capacity}} >> {WORK}/calls.log; sleep 2; echo {{capacity}} > {WORK}/capacity"
      timeout: 20s
    min: 1
    max: 20
    policies:
      - name: requests
        type: target-tracking
        metric: {{ source: load, command: "cat {WORK}/load" }}
        target_type: total
        target: 10
    behavior:
      scale_up: {{ stabilization: 0s, policies: [] }}
      scale_down: {{ stabilization: 12s, policies: [] }}
      scale_out_cooldown: 18s
"""
write("tide.yaml", config)
write("capacity", "2\n")
write("load", "20\n")  # -> 2: nothing to do

def start(log_name):
    log = open(os.path.join(WORK, log_name), "w")
    p = subprocess.Popen([TIDE, "run", "-c", os.path.join(WORK, "tide.yaml")],
                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    procs.append(p)
    with open(os.path.join(WORK, "pids"), "a") as f:
        f.write(f"{p.pid}\n")
    def healthy():
        if p.poll() is not None:
            fail(f"tide exited with {p.returncode} at start")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=1) as r:
                return r.status == 200
        except Exception:
            return False
    wait_for("tide to serve /v1/health", healthy, 20)
    return p

def decisions():
    out, before = [], None
    while True:
        url = f"http://127.0.0.1:{port}/v1/groups/web/decisions?limit=1000"
        if before is not None:
            url += f"&before={before}"
        with urllib.request.urlopen(url, timeout=5) as r:
            page = json.load(r)
        out += page["decisions"]
        before = page.get("next_before")
        if before is None:
            return sorted(out, key=lambda d: d["id"])

def at(d):
    return datetime.datetime.fromisoformat(d["at"].replace("Z", "+00:00")).timestamp()

def calls():
    return [int(x) for x in read("calls.log").split()]

# ---- first run: scale out 2 -> 6, killed while the scale command runs ---------------------------
tide1 = start("tide1.log")
wait_for("a first decision", lambda: len(decisions()) >= 2, 15)
write("load", "60\n")  # -> 6
wait_for("the scale command to start", lambda: calls() == [6], 15)
before_kill = decisions()
pending = [d for d in before_kill if d["desired"] == 6]
if len(pending) != 1 or pending[0]["outcome"] != "pending":
    fail(f"expected one pending scale-out decision before the kill, got {pending}")
t_high = at(pending[0])
tide1.send_signal(signal.SIGKILL)
tide1.wait(timeout=10)
print(f"killed tide during the scale-out (decision {pending[0]['id']}, "
      f"{len(before_kill)} decisions recorded)")

# The scale command survives tide (own process group) and completes the change.
write("load", "10\n")  # -> 1: wants to scale in, the stabilization window must hold it
wait_for("the orphaned scale command to finish", lambda: read("capacity").strip() == "6", 10)
while time.time() < t_high + 6:
    time.sleep(0.1)

# ---- second run ----------------------------------------------------------------------------------
t_restart = time.time()
tide2 = start("tide2.log")
def reconciled():
    d = [x for x in decisions() if x["id"] == pending[0]["id"]]
    return d and d[0]["outcome"] != "pending" and d[0]
r = wait_for("the pending decision to be reconciled", reconciled, 10)
if r["outcome"] != "applied":
    fail(f"pending decision reconciled as {r['outcome']!r}, want 'applied'")

# Scale-in comes when the first run's window (t_high + 12 s) ends, not 12 s after the restart.
def scaled_in():
    return [d for d in decisions() if d["desired"] < d["current"]]
scale_in = wait_for("the scale-in", scaled_in, 25)[0]
if at(scale_in) < t_high + 12 - 0.5:
    fail(f"scale-in {at(scale_in) - t_high:.1f}s after the last high recommendation: "
         "the stabilization window (12s) was lost")
if at(scale_in) > t_restart + 10:
    fail(f"scale-in {at(scale_in) - t_restart:.1f}s after the restart: the window was restarted "
         "instead of continued")
print(f"scale-in {at(scale_in) - t_high:.1f}s after the first run's last high recommendation")

# Scale-out cooldown (18 s from the first run's scale-out) still holds.
write("load", "100\n")  # -> 10
def scaled_out_again():
    return [d for d in decisions() if d["desired"] > d["current"] and d["id"] > scale_in["id"]
            and d["outcome"] in ("applied", "pending")]
scale_out = wait_for("the second scale-out", scaled_out_again, 25)[0]
if at(scale_out) < t_high + 18 - 0.5:
    fail(f"scale-out {at(scale_out) - t_high:.1f}s after the first: the cooldown (18s) was lost")
held = [d for d in decisions() if scale_in["id"] < d["id"] < scale_out["id"]
        and d["bound_by"] == "cooldown"]
if not held:
    fail("no decision was bound by the cooldown between the scale-in and the scale-out")
print(f"second scale-out {at(scale_out) - t_high:.1f}s after the first (cooldown 18s)")
wait_for("the scale-out to be applied", lambda: read("capacity").strip() == "10", 10)

# The interrupted action was not repeated; every later action happened once.
if calls() != [6, 1, 10]:
    fail(f"scale calls {calls()}, want [6, 1, 10]")

# No recorded decision lost or duplicated.
after = decisions()
ids = [d["id"] for d in after]
if len(ids) != len(set(ids)):
    fail("duplicate decision ids")
missing = {d["id"] for d in before_kill} - set(ids)
if missing:
    fail(f"decisions lost across the restart: {sorted(missing)}")

# ---- SIGHUP with a broken config keeps the running one; SIGTERM exits 0 --------------------------
write("tide.yaml", config.replace("max: 20", "max: banana"))
tide2.send_signal(signal.SIGHUP)
wait_for("the reload error in the log", lambda: "config reload failed" in read("tide2.log"), 10)
count = len(decisions())
wait_for("evaluations to continue after the failed reload", lambda: len(decisions()) > count + 1, 10)
write("tide.yaml", config)
tide2.send_signal(signal.SIGTERM)
try:
    code = tide2.wait(timeout=15)
except subprocess.TimeoutExpired:
    fail("tide did not stop within 15s of SIGTERM")
if code != 0:
    fail(f"tide exited with {code} after SIGTERM")
if "tide stopped" not in read("tide2.log"):
    fail("no 'tide stopped' in the log")
print("PASS")
PY
