#!/usr/bin/env bash
# Integration tests of tide's AWS targets and sources through the fake AWS endpoint
# (tests/aws/fake_aws.py, which verifies every signature with botocore and every parameter against
# botocore's service models):
#   bash tests/aws_test.sh <path-to-tide> <source-dir>
# Starts the fake on a free loopback port (port 0) with Debian's /usr/bin/python3 and
# python3-botocore, and gives tide an AWS environment of its own: the fake as AWS_ENDPOINT_URL, the
# fake's key pair, us-east-1, no instance metadata, empty shared config files, and no other AWS_*
# variable of the caller (no profile, session token or per-service endpoint leaks in). Then:
#   1. tide_integration_tests (next to the tide binary) --gtest_filter 'AwsTest.*:*/AwsFaultTest.*':
#      every AWS target and source made through the registries as `tide run` makes them, their
#      state transitions, and throttling, 500/503, resets, timeouts, expired credentials and
#      AccessDenied for each (tests/integration/aws_test.cpp);
#   2. `tide run` end to end: a config reading CloudWatch and scaling an Auto Scaling group; the
#      group's desired capacity in the fake's state follows, then SIGTERM ends tide with status 0.
# Retries wait milliseconds (TIDE_AWS_RETRY_BASE_DELAY=20ms) in part 1, the defaults in part 2.
# Every wait is bounded; the fake and tide are always stopped. Ends with "aws: N passed, M failed".
set -u
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"
bin="$(dirname "$tide")/tide_integration_tests"
py=/usr/bin/python3
fake="$src/tests/aws/fake_aws.py"
pids=()

cleanup() { [ ${#pids[@]} -eq 0 ] || stop 5 "${pids[@]}"; }

# A setup problem: report it with a log and stop (counted as a failure).
die() {
  fail "$1"
  if [ $# -ge 2 ] && [ -f "$2" ]; then
    echo "---- last lines of $2 ----"
    tail -n 20 "$2"
  fi
  summary aws
  exit 1
}

[ -x "$py" ] || die "$py not found (Debian's python3; scripts/install-deps installs it)"
"$py" -c 'import botocore' 2>/dev/null ||
  die "botocore is not importable by $py: install python3-botocore (scripts/install-deps)"
[ -x "$bin" ] || die "$bin not found: build the tide_integration_tests target"

# ---- the fake ----
"$py" "$fake" --port 0 >"$work/fake.out" 2>"$work/fake.err" &
fake_pid=$!
pids+=("$fake_pid")
port=""
for _ in $(seq 1 100); do
  line=$(head -n 1 "$work/fake.out" 2>/dev/null)
  if [[ "$line" =~ ^fake-aws\ listening\ on\ 127\.0\.0\.1:([0-9]+)$ ]]; then
    port=${BASH_REMATCH[1]}
    break
  fi
  kill -0 "$fake_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$port" ] || die "the fake did not print 'fake-aws listening on 127.0.0.1:PORT' within 10 s" \
  "$work/fake.err"
url="http://127.0.0.1:$port"

# ---- tide's AWS environment: the fake and nothing else ----
while read -r name; do unset "$name"; done < <(env | sed -n 's/^\(AWS_[A-Za-z0-9_]*\)=.*/\1/p')
unset TIDE_AWS_CALL_TIMEOUT TIDE_AWS_RETRY_BASE_DELAY
: >"$work/aws-credentials"
: >"$work/aws-config"
export AWS_SHARED_CREDENTIALS_FILE="$work/aws-credentials" AWS_CONFIG_FILE="$work/aws-config"
export AWS_ENDPOINT_URL="$url" AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export TIDE_TEST_AWS_FAKE="$url"

# ---- 1. every target and source through the registries ----
run_gtests registries 300 "$work/gtest.log" env TIDE_AWS_RETRY_BASE_DELAY=20ms "$bin" \
  --gtest_filter='AwsTest.*:*/AwsFaultTest.*'

# ---- 2. tide run: CloudWatch -> aws-asg ----
api_port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/tide.yaml" <<EOF
state: $work/tide.db
api: { listen: "127.0.0.1:$api_port" }
sources:
  - { name: cw, type: cloudwatch }
groups:
  - name: workers
    interval: 1s
    target: { type: aws-asg, name: workers-asg }
    min: 1
    max: 10
    policies:
      - name: backlog
        type: target-tracking
        metric:
          source: cw
          namespace: AWS/SQS
          name: ApproximateNumberOfMessagesVisible
          dimensions: { QueueName: jobs }
          statistic: Sum
          period: 60s
        target_type: total
        target: 10                  # 50 messages -> 5 instances
EOF
"$tide" validate "$work/tide.yaml" >"$work/validate.log" 2>&1 ||
  die "tide validate rejects the end-to-end config" "$work/validate.log"

# e2e STEP: seed the fake, or check it (python, exit 1 with a message on failure).
e2e() {
  "$py" - "$url" "$api_port" "$@" <<'PY'
import json, sys, time, urllib.request

url, api_port, step = sys.argv[1], sys.argv[2], sys.argv[3]

def fake(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)

def group():
    return next(g for g in fake("GET", "/_fake/state")["autoscaling_groups"] if g["name"] == "workers-asg")

def fail(msg):
    print(msg)
    sys.exit(1)

if step == "seed":
    fake("POST", "/_fake/reset")
    fake("POST", "/_fake/seed", {
        "autoscaling_groups": [{"name": "workers-asg", "min": 1, "max": 10, "desired": 2}],
        "metrics": [{"namespace": "AWS/SQS", "name": "ApproximateNumberOfMessagesVisible",
                     "dimensions": {"QueueName": "jobs"}, "value": 50}]})
elif step == "scaled":
    deadline = time.monotonic() + 30
    while group()["desired"] != 5:
        if time.monotonic() > deadline:
            fail(f"the group's desired capacity is {group()['desired']} after 30 s, want 5")
        time.sleep(0.2)
    time.sleep(3)  # a few more evaluations: nothing more to do
    g = group()
    if g["desired"] != 5:
        fail(f"the desired capacity moved on to {g['desired']}")
    sets = fake("GET", "/_fake/requests?operation=SetDesiredCapacity")["requests"]
    if [s["params"] for s in sets] != [{"AutoScalingGroupName": "workers-asg", "DesiredCapacity": 5,
                                       "HonorCooldown": False}]:
        fail(f"expected one SetDesiredCapacity to 5, got {[s['params'] for s in sets]}")
    log = fake("GET", "/_fake/requests")["requests"]
    ops = {r["operation"] for r in log}
    if not {"GetMetricData", "DescribeAutoScalingGroups"} <= ops:
        fail(f"tide made these calls only: {sorted(ops)}")
    bad = [r for r in log if r["signature"] != "valid" or r["status"] != 200]
    if bad:
        fail(f"requests not signed correctly or refused: {bad}")
    with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/v1/groups/workers/decisions?limit=100",
                                timeout=5) as r:
        decisions = json.load(r)["decisions"]
    scaled = [d for d in decisions if d["current"] == 2 and d["desired"] == 5]
    if len(scaled) != 1 or scaled[0]["outcome"] != "applied":
        fail(f"expected one applied decision 2 -> 5, got {scaled}")
    print(f"tide scaled workers-asg 2 -> 5 ({len(log)} AWS calls, all signed correctly)")
PY
}

if e2e seed; then
  "$tide" run -c "$work/tide.yaml" >"$work/tide.log" 2>&1 &
  tide_pid=$!
  pids+=("$tide_pid")
  if e2e scaled; then pass; else
    fail "tide run did not scale the Auto Scaling group as expected"
    tail -n 30 "$work/tide.log"
  fi
  kill -TERM "$tide_pid" 2>/dev/null
  rc=""
  for _ in $(seq 1 100); do
    if ! kill -0 "$tide_pid" 2>/dev/null; then
      wait "$tide_pid"
      rc=$?
      break
    fi
    sleep 0.1
  done
  if [ "$rc" = 0 ]; then pass; else
    fail "tide run after SIGTERM: exit status '${rc:-still running after 10 s}', want 0"
    tail -n 20 "$work/tide.log"
  fi
else
  fail "could not seed the fake for the end-to-end run"
fi

if grep -q Traceback "$work/fake.err"; then
  fail "the fake logged a traceback"
  grep -B2 -A12 Traceback "$work/fake.err" | head -60
fi

summary aws
