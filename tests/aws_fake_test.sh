#!/usr/bin/env bash
# Self-test of the fake AWS endpoint (tests/aws/fake_aws.py) that the AWS integration tests use:
#   bash tests/aws_fake_test.sh <path-to-tide> <source-dir>
# The tide binary is not used: this checks the fake itself, with botocore as the client, so that a
# failing tide AWS test can be trusted to be tide's fault. Starts the fake on a free loopback port
# (port 0), runs tests/aws/fake_aws_selftest.py against it (every operation, state transitions,
# fault injection, bad signatures, unknown parameters, and AWS's SigV4 test suite from
# ../shared/aws-sigv4-testsuite through the fake's verifier), then starts a second fake with other
# credentials and a session token and checks them. Uses Debian's /usr/bin/python3 and
# python3-botocore (scripts/install-deps). Every wait is bounded; the fakes are always stopped.
# Ends with "aws_fake: N passed, M failed".
set -u
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

py=/usr/bin/python3
fake="$src/tests/aws/fake_aws.py"
pids=()

cleanup() { stop 3 "${pids[@]}"; }

die() {
  fail "$1"
  if [ $# -ge 2 ] && [ -f "$2" ]; then
    echo "---- last lines of $2 ----"
    tail -n 20 "$2"
  fi
  summary aws_fake
  exit 1
}

[ -x "$py" ] || die "$py not found (Debian's python3; scripts/install-deps installs it)"
"$py" -c 'import botocore' 2>/dev/null ||
  die "botocore is not importable by $py: install python3-botocore (scripts/install-deps)"

# start_fake NAME ARGS...: starts the fake, waits (10 s at most) for its first line and sets $port.
start_fake() {
  local name=$1 line
  shift
  "$py" "$fake" --port 0 "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  port=""
  for _ in $(seq 1 100); do
    line=$(head -n 1 "$work/$name.out" 2>/dev/null)
    if [[ "$line" =~ ^fake-aws\ listening\ on\ 127\.0\.0\.1:([0-9]+)$ ]]; then
      port=${BASH_REMATCH[1]}
      return 0
    fi
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  die "the fake ($name) did not print 'fake-aws listening on 127.0.0.1:PORT' within 10 s" "$work/$name.err"
}

# ---- the full self-test against a fake with the default credentials ----
start_fake main
pass
# AWS's SigV4 test suite sits in shared/ beside the source tree (CI lays it there too).
timeout 180 "$py" "$src/tests/aws/fake_aws_selftest.py" "http://127.0.0.1:$port" \
  "$src/../shared/aws-sigv4-testsuite" >"$work/selftest.log" 2>&1
rc=$?
grep -E '^(FAIL|NOTE|sigv4 suite|Traceback|  File|[A-Za-z.]+Error)' "$work/selftest.log" | head -40
# Its checks count here too: "fake_aws_selftest: N passed, M failed".
if [[ "$(tail -n 1 "$work/selftest.log")" =~ ^fake_aws_selftest:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
  passes=$((passes + BASH_REMATCH[1]))
  failures=$((failures + BASH_REMATCH[2]))
  [ "$rc" -eq 0 ] || [ "${BASH_REMATCH[2]}" -gt 0 ] || fail "fake_aws_selftest.py exited $rc"
else
  fail "fake_aws_selftest.py exited $rc without its summary line"
  tail -n 20 "$work/selftest.log"
fi
if grep -q "Traceback" "$work/main.err"; then
  fail "the fake logged a traceback"
  head -40 "$work/main.err"
else
  pass
fi

# ---- `fake_aws.py ctl`: the control API from a shell script ----
url="http://127.0.0.1:$port"
if out=$(timeout 20 "$py" "$fake" ctl "$url" POST /_fake/seed '{"queues": [{"name": "q1", "visible": 4}]}') &&
  timeout 20 "$py" "$fake" ctl "$url" GET /_fake/state | grep -q '"name": "q1"'; then
  pass
else
  fail "fake_aws.py ctl: seed then state: $out"
fi
if timeout 20 "$py" "$fake" ctl "$url" POST /_fake/faults '{"kind": "nope"}' >/dev/null; then
  fail "fake_aws.py ctl: a rejected call must exit 1"
else
  pass
fi

# ---- command-line credentials: another key pair with a session token ----
start_fake creds --access-key AKIDOTHER --secret-key other-secret --session-token other-token \
  --delay asg_pending=0
if timeout 60 "$py" - "http://127.0.0.1:$port" >"$work/creds.log" 2>&1 <<'EOF'; then
import sys
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

url = sys.argv[1]
session = botocore.session.get_session()

def client(ak, sk, token):
    return session.create_client("autoscaling", region_name="eu-west-1", endpoint_url=url,
                                 aws_access_key_id=ak, aws_secret_access_key=sk, aws_session_token=token,
                                 config=Config(retries={"total_max_attempts": 1}, connect_timeout=5,
                                               read_timeout=5))

good = client("AKIDOTHER", "other-secret", "other-token")
assert good.describe_auto_scaling_groups()["AutoScalingGroups"] == []
for args, code in ((("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None), "InvalidClientTokenId"),
                   (("AKIDOTHER", "other-secret", None), "InvalidClientTokenId"),
                   (("AKIDOTHER", "wrong", "other-token"), "SignatureDoesNotMatch")):
    try:
        client(*args).describe_auto_scaling_groups()
        raise SystemExit(f"{args}: accepted, expected {code}")
    except ClientError as e:
        assert e.response["Error"]["Code"] == code, (args, e.response["Error"])
print("credentials ok")
EOF
  pass
else
  fail "command-line credentials"
  cat "$work/creds.log"
fi

summary aws_fake
