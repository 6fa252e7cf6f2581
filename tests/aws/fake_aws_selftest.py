#!/usr/bin/python3
"""Self-test of tests/aws/fake_aws.py, the FAKE AWS endpoint, driven by botocore as a client.

    /usr/bin/python3 tests/aws/fake_aws_selftest.py http://127.0.0.1:PORT [SIGV4_SUITE_DIR]

The fake must be running there with its default credentials (tests/aws_fake_test.sh starts it).
Every operation the fake implements is called through a botocore client (botocore.session ->
create_client with endpoint_url; boto3 is not needed), plus raw signed requests for what a
client would refuse to send (unknown parameters, stale dates, wrong secrets). The fake's clock is
moved with /_fake/clock instead of sleeping, so the run takes a few seconds. SIGV4_SUITE_DIR
(../shared/aws-sigv4-testsuite from the source tree, AWS's SigV4 test suite as botocore ships
it) checks the fake's signature verifier against every case; without it only get-vanilla is
checked, which is said in the output. Ends with
"fake_aws_selftest: N passed, M failed" and exits 1 on any failure.
"""

import copy
import datetime
import http.client
import json
import os
import sys
import tempfile
import time
import traceback
import urllib.request
from urllib.parse import urlencode, urlsplit

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fake_aws  # noqa: E402  (for the SigV4 test vector against the fake's verifier)

AK, SK = fake_aws.DEFAULT_ACCESS_KEY, fake_aws.DEFAULT_SECRET_KEY
REGION = "us-east-1"
ENDPOINT = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("FAKE_AWS_URL", "")
HOSTPORT = urlsplit(ENDPOINT).netloc
passed, failed = 0, 0


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {name}" + (f": {detail}" if detail else ""))


def control(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(ENDPOINT + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def advance(seconds):
    control("POST", "/_fake/clock", {"advance": seconds})


def fault(**spec):
    control("POST", "/_fake/faults", spec)


SESSION = botocore.session.get_session()


def client(service, session=None, retries=1, read_timeout=5, access_key=AK, secret_key=SK, token=None,
           validate=True):
    cfg = Config(retries={"total_max_attempts": retries, "mode": "standard"}, connect_timeout=5,
                 read_timeout=read_timeout, parameter_validation=validate)
    return (session or SESSION).create_client(service, region_name=REGION, endpoint_url=ENDPOINT,
                                              aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                                              aws_session_token=token, config=cfg)


def error_of(call):
    """(code, HTTP status, message, headers) of a ClientError, or None when the call succeeded."""
    try:
        call()
    except ClientError as e:
        meta = e.response.get("ResponseMetadata", {})
        return (e.response["Error"].get("Code"), meta.get("HTTPStatusCode"), e.response["Error"].get("Message", ""),
                meta.get("HTTPHeaders", {}))
    return None


def expect_error(name, call, code, status=None, message=None):
    got = error_of(call)
    if got is None:
        check(name, False, f"expected {code}, the call succeeded")
        return None
    ok = got[0] == code and (status is None or got[1] == status) and (message is None or message in got[2])
    check(name, ok, f"expected {code} {status or ''} {message or ''}, got {got[:3]}")
    return got


def sign(request, service, access_key=AK, secret_key=SK, token=None, when=None, region=REGION):
    """Sign an AWSRequest with botocore's SigV4 at time `when` (default now)."""
    signer = SigV4Auth(Credentials(access_key, secret_key, token), service, region)
    stamp = (when or datetime.datetime.now(datetime.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    request.context["timestamp"] = stamp
    signer._modify_request_before_signing(request)
    canonical = signer.canonical_request(request)
    signer._inject_signature_to_request(request, signer.signature(signer.string_to_sign(request, canonical), request))
    return request


def raw(service, method, path, body=b"", headers=None, signed=True, **kw):
    """Send a request as given (signed with botocore unless signed=False): (status, headers, body)."""
    headers = dict(headers or {})
    headers.setdefault("Host", HOSTPORT)
    req = AWSRequest(method=method, url=ENDPOINT + path, data=body, headers=headers)
    if signed:
        sign(req, service, **kw)
    conn = http.client.HTTPConnection(HOSTPORT, timeout=10)
    try:
        conn.request(method, path, body=body, headers=dict(req.headers.items()))
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def query_body(params):
    return urlencode(params).encode()


FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def json_protocol_session(tmp):
    """A botocore session whose SQS and CloudWatch models use the awsJson1_0 protocol, as newer
    botocore releases do (Debian's 1.29 still has Query): the Query models with the JSON
    metadata and without the Query-only serialization names."""
    base = botocore.session.get_session()
    loader = base.get_component("data_loader")
    for svc, target in (("sqs", "AmazonSQS"), ("cloudwatch", "GraniteServiceVersion20100801")):
        api = base.get_service_model(svc).api_version
        model = copy.deepcopy(loader.load_service_model(svc, "service-2", api))
        model["metadata"].update(protocol="json", jsonVersion="1.0", targetPrefix=target)
        model["metadata"].pop("xmlNamespace", None)
        for shape in model["shapes"].values():
            shape.pop("flattened", None)
            shape.pop("locationName", None)
            for ref in list(shape.get("members", {}).values()) + [shape.get(k) for k in ("member", "key", "value")]:
                if isinstance(ref, dict):
                    ref.pop("locationName", None)
                    ref.pop("flattened", None)
        for op in model["operations"].values():
            if "output" in op:
                op["output"].pop("resultWrapper", None)
        d = os.path.join(tmp, svc, api)
        os.makedirs(d)
        with open(os.path.join(d, "service-2.json"), "w") as f:
            json.dump(model, f)
        with open(os.path.join(d, "endpoint-rule-set-1.json"), "w") as f:
            json.dump(loader.load_service_model(svc, "endpoint-rule-set-1", api), f)
    s = botocore.session.get_session()
    s.get_component("data_loader").search_paths.insert(0, tmp)
    return s


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


# ------------------------------------------------------------------------------------------------
def test_sigv4_vector():
    # AWS's published SigV4 test suite, "get-vanilla": the fake's verifier (botocore underneath)
    # must reproduce its signature.
    sig, _ = fake_aws.sigv4_signature(SK, AK, "service", "us-east-1", "GET", "https://example.amazonaws.com/",
                                      [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
                                      b"", "20150830T123600Z", ["host", "x-amz-date"])
    check("sigv4 get-vanilla vector", sig == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", sig)


def parse_suite_request(raw_bytes):
    """A test-suite .req: request line, `Name:value` headers (continuation lines start with a
    space), a blank line, the body. -> method, path, [(name, value)], body."""
    head, _, body = raw_bytes.partition(b"\n\n")
    lines = head.decode("utf-8").split("\n")
    method, rest = lines[0].split(" ", 1)
    path = rest.rsplit(" ", 1)[0]
    headers = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:
            headers[-1] = (headers[-1][0], headers[-1][1] + "\n" + line)
        else:
            name, _, value = line.partition(":")
            headers.append((name, value))
    return method, path, headers, body


def test_sigv4_suite(suite):
    """Every case of AWS's SigV4 test suite through the fake's verifier: the canonical request
    and the signature must be the suite's."""
    cases = []
    for root, _, files in os.walk(suite):
        for f in files:
            if f.endswith(".req"):
                cases.append(os.path.join(root, f[:-4]))
    check("sigv4 suite has cases", len(cases) >= 30, f"{len(cases)} cases in {suite}")
    for case in sorted(cases):
        name = os.path.relpath(case, suite)
        try:
            method, path, headers, body = parse_suite_request(open(case + ".req", "rb").read())
            authz = open(case + ".authz").read().strip()
            creq = open(case + ".creq", encoding="utf-8").read()
            parts = dict(p.strip().split("=", 1) for p in authz.split(" ", 1)[1].split(","))
            signed = parts["SignedHeaders"].split(";")
            have = {n.lower() for n, _ in headers}
            for line in creq.split("\n"):  # a signed header the signer adds (session token)
                n, sep, v = line.partition(":")
                if sep and n in signed and n not in have and n == n.lower() and " " not in n:
                    headers.append((n, v))
            sig, canonical = fake_aws.sigv4_signature(SK, AK, "service", "us-east-1", method,
                                                      "https://example.amazonaws.com" + path, headers, body,
                                                      "20150830T123600Z", signed)
            check(f"sigv4 suite {name}: canonical request", canonical == creq, f"\n{canonical}\n--- expected ---\n{creq}")
            check(f"sigv4 suite {name}: signature", sig == parts["Signature"], sig)
        except Exception as e:  # a case the fake cannot even parse is a failure too
            check(f"sigv4 suite {name}", False, repr(e))
    print(f"sigv4 suite: {len(cases)} cases checked against the fake's verifier")


def seed_all():
    control("POST", "/_fake/reset")
    control("POST", "/_fake/config", {"delays": {"asg_pending": 30, "asg_terminating": 20, "ec2_pending": 15,
                                                 "ec2_stopping": 10, "lambda_update": 5, "provisioned_ready": 60}})
    return control("POST", "/_fake/seed", {
        "autoscaling_groups": [{"name": "web-asg", "min": 1, "max": 5, "desired": 2, "tags": {"team": "web"}},
                               {"name": "batch-asg", "min": 0, "max": 20, "desired": 0, "tags": {"team": "batch"}}],
        "instances": [{"id": f"i-0000000000000000{n}", "state": "stopped" if n < 5 else "running",
                       "tags": {"pool": "warm", "Name": f"w{n}"}} for n in range(7)] +
                     [{"id": "i-00000000000000aa0", "state": "running", "tags": {"pool": "other"}}],
        "functions": [{"name": "thumbs", "memory": 256, "timeout": 10, "versions": ["1", "2"],
                       "aliases": {"live": "2"}},
                      {"name": "other", "versions": ["1"], "provisioned": {"1": 100}}],
        "metrics": [{"namespace": "AWS/EC2", "name": "CPUUtilization",
                     "dimensions": {"AutoScalingGroupName": "web-asg"},
                     "datapoints": [{"ago": 90, "value": 70}, {"ago": 150, "value": 50}, {"ago": 210, "value": 30}]},
                    {"namespace": "AWS/SQS", "name": "ApproximateNumberOfMessagesVisible",
                     "dimensions": {"QueueName": "jobs"}, "value": 12},
                    {"expression": "SELECT AVG(CPUUtilization) FROM \"AWS/EC2\"", "value": 42}],
        "queues": [{"name": "jobs", "visible": 12, "not_visible": 3, "delayed": 1}],
    })


def asg_of(a, name="web-asg"):
    return a.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]


def test_autoscaling():
    a = client("autoscaling")
    g = asg_of(a)
    check("asg seeded", g["DesiredCapacity"] == 2 and g["MinSize"] == 1 and g["MaxSize"] == 5, g)
    check("asg instances InService", [i["LifecycleState"] for i in g["Instances"]] == ["InService"] * 2, g["Instances"])
    check("asg tags", g["Tags"][0]["Key"] == "team" and g["Tags"][0]["Value"] == "web", g["Tags"])
    check("asg arn", g["AutoScalingGroupARN"].startswith("arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:"))

    a.set_desired_capacity(AutoScalingGroupName="web-asg", DesiredCapacity=4)
    g = asg_of(a)
    states = sorted(i["LifecycleState"] for i in g["Instances"])
    check("scale out: 2 Pending", g["DesiredCapacity"] == 4 and states == ["InService"] * 2 + ["Pending"] * 2, states)
    advance(31)
    g = asg_of(a)
    check("Pending -> InService after asg_pending", [i["LifecycleState"] for i in g["Instances"]] == ["InService"] * 4,
          g["Instances"])
    a.set_desired_capacity(AutoScalingGroupName="web-asg", DesiredCapacity=1)
    g = asg_of(a)
    states = sorted(i["LifecycleState"] for i in g["Instances"])
    check("scale in: 3 Terminating", states == ["InService"] + ["Terminating"] * 3, states)
    advance(21)
    g = asg_of(a)
    check("Terminating instances gone", len(g["Instances"]) == 1 and g["Instances"][0]["LifecycleState"] == "InService",
          g["Instances"])

    expect_error("desired above max", lambda: a.set_desired_capacity(AutoScalingGroupName="web-asg", DesiredCapacity=9),
                 "ValidationError", 400, "New SetDesiredCapacity value 9 is above max value 5 for the AutoScaling group.")
    expect_error("desired below min", lambda: a.set_desired_capacity(AutoScalingGroupName="web-asg", DesiredCapacity=0),
                 "ValidationError", 400, "New SetDesiredCapacity value 0 is below min value 1 for the AutoScaling group.")
    expect_error("unknown group", lambda: a.set_desired_capacity(AutoScalingGroupName="nope", DesiredCapacity=1),
                 "ValidationError", 400, "AutoScalingGroup name not found")

    a.update_auto_scaling_group(AutoScalingGroupName="web-asg", MinSize=3)
    g = asg_of(a)
    check("UpdateAutoScalingGroup MinSize above desired raises desired", g["MinSize"] == 3 and g["DesiredCapacity"] == 3,
          (g["MinSize"], g["DesiredCapacity"]))
    a.update_auto_scaling_group(AutoScalingGroupName="web-asg", MinSize=1, MaxSize=2)
    g = asg_of(a)
    check("UpdateAutoScalingGroup MaxSize below desired lowers desired", g["MaxSize"] == 2 and g["DesiredCapacity"] == 2,
          (g["MaxSize"], g["DesiredCapacity"]))
    a.update_auto_scaling_group(AutoScalingGroupName="web-asg", MaxSize=10, DesiredCapacity=6)
    check("UpdateAutoScalingGroup DesiredCapacity", asg_of(a)["DesiredCapacity"] == 6)
    expect_error("UpdateAutoScalingGroup desired outside bounds",
                 lambda: a.update_auto_scaling_group(AutoScalingGroupName="web-asg", DesiredCapacity=11),
                 "ValidationError", 400, "Desired capacity:11 must be between the specified min size:1 and max size:10")
    expect_error("UpdateAutoScalingGroup min > max",
                 lambda: a.update_auto_scaling_group(AutoScalingGroupName="web-asg", MinSize=5, MaxSize=4),
                 "ValidationError", 400)

    page1 = a.describe_auto_scaling_groups(MaxRecords=1)
    page2 = a.describe_auto_scaling_groups(MaxRecords=1, NextToken=page1["NextToken"])
    check("DescribeAutoScalingGroups pagination",
          [g["AutoScalingGroupName"] for g in page1["AutoScalingGroups"] + page2["AutoScalingGroups"]] ==
          ["batch-asg", "web-asg"] and "NextToken" not in page2)
    got = a.describe_auto_scaling_groups(Filters=[{"Name": "tag:team", "Values": ["batch"]}])["AutoScalingGroups"]
    check("DescribeAutoScalingGroups tag filter", [g["AutoScalingGroupName"] for g in got] == ["batch-asg"], got)
    expect_error("HonorCooldown inside the cooldown",
                 lambda: a.set_desired_capacity(AutoScalingGroupName="web-asg", DesiredCapacity=3, HonorCooldown=True),
                 "ScalingActivityInProgress", 400)
    state = control("GET", "/_fake/state")
    web = [g for g in state["autoscaling_groups"] if g["name"] == "web-asg"][0]
    check("control state shows the group", web["desired"] == 6, web)


def instances_of(reply):
    return {i["InstanceId"]: i for r in reply["Reservations"] for i in r["Instances"]}


def test_ec2():
    e = client("ec2")
    warm = instances_of(e.describe_instances(Filters=[{"Name": "tag:pool", "Values": ["warm"]}]))
    check("DescribeInstances tag filter", len(warm) == 7, sorted(warm))
    stopped = instances_of(e.describe_instances(Filters=[{"Name": "tag:pool", "Values": ["warm"]},
                                                         {"Name": "instance-state-name", "Values": ["stopped"]}]))
    check("DescribeInstances state filter", len(stopped) == 5, sorted(stopped))
    wild = instances_of(e.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["w[12]", "w6"]}]))
    check("filter wildcards", sorted(wild) == ["i-00000000000000001", "i-00000000000000002", "i-00000000000000006"],
          sorted(wild))
    p1 = e.describe_instances(MaxResults=5)
    p2 = e.describe_instances(MaxResults=5, NextToken=p1["NextToken"])
    check("DescribeInstances pagination", len(instances_of(p1)) == 5 and len(instances_of(p2)) == 3
          and "NextToken" not in p2, (len(instances_of(p1)), len(instances_of(p2))))
    expect_error("MaxResults below 5", lambda: e.describe_instances(MaxResults=2), "InvalidParameterValue", 400)
    expect_error("MaxResults with InstanceIds", lambda: e.describe_instances(MaxResults=5, InstanceIds=["i-00000000000000001"]),
                 "InvalidParameterCombination", 400)
    expect_error("unknown instance", lambda: e.describe_instances(InstanceIds=["i-0123456789abcdef0"]),
                 "InvalidInstanceID.NotFound", 400, "i-0123456789abcdef0")
    expect_error("malformed instance id", lambda: e.start_instances(InstanceIds=["web-1"]), "InvalidInstanceID.Malformed", 400)
    expect_error("DryRun", lambda: e.start_instances(InstanceIds=["i-00000000000000001"], DryRun=True), "DryRunOperation", 412)

    ids = ["i-00000000000000000", "i-00000000000000001"]
    before = instances_of(e.describe_instances(InstanceIds=ids))
    advance(5)
    r = e.start_instances(InstanceIds=ids)["StartingInstances"]
    check("StartInstances: stopped -> pending",
          all(x["PreviousState"]["Name"] == "stopped" and x["CurrentState"]["Name"] == "pending" and
              x["CurrentState"]["Code"] == 0 for x in r), r)
    now = instances_of(e.describe_instances(InstanceIds=ids))
    check("LaunchTime updated on start", all(now[i]["LaunchTime"] > before[i]["LaunchTime"] for i in ids))
    check("StateReason cleared on start", all("StateReason" not in now[i] for i in ids))
    expect_error("stop a pending instance", lambda: e.stop_instances(InstanceIds=ids), "IncorrectInstanceState", 400)
    advance(16)
    now = instances_of(e.describe_instances(InstanceIds=ids))
    check("pending -> running after ec2_pending", all(now[i]["State"] == {"Code": 16, "Name": "running"} for i in ids),
          [now[i]["State"] for i in ids])
    again = e.start_instances(InstanceIds=ids)["StartingInstances"]
    check("start a running instance is a no-op", all(x["CurrentState"]["Name"] == "running" for x in again))
    r = e.stop_instances(InstanceIds=ids)["StoppingInstances"]
    check("StopInstances: running -> stopping", all(x["CurrentState"] == {"Code": 64, "Name": "stopping"} and
                                                    x["PreviousState"]["Name"] == "running" for x in r), r)
    now = instances_of(e.describe_instances(InstanceIds=ids))
    check("StateReason on stop", now[ids[0]].get("StateReason", {}).get("Code") == "Client.UserInitiatedShutdown",
          now[ids[0]].get("StateReason"))
    check("StateTransitionReason on stop", now[ids[0]]["StateTransitionReason"].startswith("User initiated ("))
    expect_error("start a stopping instance", lambda: e.start_instances(InstanceIds=ids[:1]), "IncorrectInstanceState",
                 400, "not in a state from which it can be started")
    advance(11)
    now = instances_of(e.describe_instances(InstanceIds=ids))
    check("stopping -> stopped after ec2_stopping", all(now[i]["State"]["Name"] == "stopped" for i in ids))


def test_cloudwatch(session=None, label="query"):
    m = client("cloudwatch", session=session)
    end = utcnow()
    start = end - datetime.timedelta(minutes=10)
    stat = {"Metric": {"Namespace": "AWS/EC2", "MetricName": "CPUUtilization",
                       "Dimensions": [{"Name": "AutoScalingGroupName", "Value": "web-asg"}]},
            "Period": 60, "Stat": "Average"}
    r = m.get_metric_data(MetricDataQueries=[{"Id": "cpu", "MetricStat": stat},
                                             {"Id": "twice", "Expression": "cpu * 2", "Label": "2x"},
                                             {"Id": "hidden", "MetricStat": stat, "ReturnData": False}],
                          StartTime=start, EndTime=end)
    res = {x["Id"]: x for x in r["MetricDataResults"]}
    cpu = res.get("cpu", {})
    check(f"[{label}] GetMetricData values newest first", cpu.get("Values") == [70.0, 50.0, 30.0], cpu)
    check(f"[{label}] timestamps descending, period-aligned",
          cpu.get("Timestamps") == sorted(cpu.get("Timestamps", []), reverse=True) and
          all(t.timestamp() % 60 == 0 for t in cpu.get("Timestamps", [])))
    check(f"[{label}] StatusCode Complete", cpu.get("StatusCode") == "Complete")
    check(f"[{label}] expression", res.get("twice", {}).get("Values") == [140.0, 100.0, 60.0] and
          res["twice"]["Label"] == "2x", res.get("twice"))
    check(f"[{label}] ReturnData false omitted", "hidden" not in res)
    r = m.get_metric_data(MetricDataQueries=[{"Id": "cpu", "MetricStat": stat}], StartTime=start, EndTime=end,
                          ScanBy="TimestampAscending")
    check(f"[{label}] ScanBy TimestampAscending", r["MetricDataResults"][0]["Values"] == [30.0, 50.0, 70.0])
    r = m.get_metric_data(MetricDataQueries=[
        {"Id": "q", "MetricStat": {"Metric": {"Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
                                              "Dimensions": [{"Name": "QueueName", "Value": "jobs"}]},
                                   "Period": 60, "Stat": "Sum"}},
        {"Id": "sql", "Expression": "SELECT AVG(CPUUtilization) FROM \"AWS/EC2\"", "Period": 60},
        {"Id": "none", "MetricStat": {"Metric": {"Namespace": "X", "MetricName": "Y"}, "Period": 60, "Stat": "Sum"}}],
        StartTime=start, EndTime=end)
    res = {x["Id"]: x for x in r["MetricDataResults"]}
    check(f"[{label}] constant seed: one datapoint per period", len(res["q"]["Values"]) in (9, 10) and
          set(res["q"]["Values"]) == {12.0}, res["q"])
    check(f"[{label}] seeded expression", res["sql"]["Values"][:1] == [42.0], res["sql"])
    check(f"[{label}] unseeded metric: no datapoints", res["none"]["Values"] == [] and
          res["none"]["StatusCode"] == "Complete")
    queries = [{"Id": f"m{i}", "MetricStat": stat} for i in range(501)]
    expect_error(f"[{label}] 501 queries", lambda: m.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=end),
                 "ValidationError", 400, "500")
    r = m.get_metric_data(MetricDataQueries=queries[:500], StartTime=start, EndTime=end)
    check(f"[{label}] 500 queries accepted", len(r["MetricDataResults"]) == 500)
    expect_error(f"[{label}] StartTime after EndTime",
                 lambda: m.get_metric_data(MetricDataQueries=queries[:1], StartTime=end, EndTime=start),
                 "ValidationError", 400, "StartTime must be less than")
    expect_error(f"[{label}] bad period",
                 lambda: m.get_metric_data(MetricDataQueries=[{"Id": "a", "MetricStat": dict(stat, Period=45)}],
                                           StartTime=start, EndTime=end), "ValidationError", 400)


def test_sqs(session=None, label="query"):
    q = client("sqs", session=session)
    url = q.get_queue_url(QueueName="jobs")["QueueUrl"]
    check(f"[{label}] GetQueueUrl", url == f"{ENDPOINT}/123456789012/jobs", url)
    attrs = q.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"])
    check(f"[{label}] GetQueueAttributes counts", attrs.get("Attributes") == {
        "ApproximateNumberOfMessages": "12", "ApproximateNumberOfMessagesNotVisible": "3",
        "ApproximateNumberOfMessagesDelayed": "1"}, attrs.get("Attributes"))
    every = q.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    check(f"[{label}] All attributes", every.get("QueueArn") == "arn:aws:sqs:us-east-1:123456789012:jobs" and
          every.get("ApproximateNumberOfMessages") == "12", every)
    expect_error(f"[{label}] unknown attribute",
                 lambda: q.get_queue_attributes(QueueUrl=url, AttributeNames=["Bogus"]), "InvalidAttributeName", 400)
    # awsJson1_0 errors carry the Query code in x-amzn-query-error, which botocore prefers to __type.
    code = "AWS.SimpleQueueService.NonExistentQueue"
    got = expect_error(f"[{label}] nonexistent queue",
                       lambda: q.get_queue_attributes(QueueUrl=f"{ENDPOINT}/123456789012/nope",
                                                      AttributeNames=["All"]), code, 400)
    if label == "json" and got:
        check("[json] x-amzn-query-error header", got[3].get("x-amzn-query-error") ==
              "AWS.SimpleQueueService.NonExistentQueue;Sender", got[3])
    expect_error(f"[{label}] GetQueueUrl of an unknown queue", lambda: q.get_queue_url(QueueName="nope"), code, 400)


def test_lambda():
    lam = client("lambda")
    c = lam.get_function_configuration(FunctionName="thumbs")
    check("GetFunctionConfiguration", c["MemorySize"] == 256 and c["Timeout"] == 10 and
          c["FunctionArn"] == "arn:aws:lambda:us-east-1:123456789012:function:thumbs" and
          c["LastUpdateStatus"] == "Successful" and c["Version"] == "$LATEST", c)
    c = lam.get_function_configuration(FunctionName="thumbs", Qualifier="live")
    check("GetFunctionConfiguration of an alias", c["Version"] == "2" and c["FunctionArn"].endswith(":thumbs:live"), c)
    c = lam.get_function_configuration(FunctionName="arn:aws:lambda:us-east-1:123456789012:function:thumbs")
    check("function given by ARN", c["FunctionName"] == "thumbs")
    expect_error("unknown function", lambda: lam.get_function_configuration(FunctionName="nope"),
                 "ResourceNotFoundException", 404, "Function not found")
    rev = c["RevisionId"]
    c = lam.update_function_configuration(FunctionName="thumbs", MemorySize=1024, Timeout=60, RevisionId=rev)
    check("UpdateFunctionConfiguration: InProgress", c["MemorySize"] == 1024 and c["Timeout"] == 60 and
          c["LastUpdateStatus"] == "InProgress" and c["RevisionId"] != rev, c)
    expect_error("update while InProgress", lambda: lam.update_function_configuration(FunctionName="thumbs", MemorySize=512),
                 "ResourceConflictException", 409, "An update is in progress")
    advance(6)
    c = lam.get_function_configuration(FunctionName="thumbs")
    check("InProgress -> Successful after lambda_update", c["LastUpdateStatus"] == "Successful" and c["MemorySize"] == 1024)
    expect_error("stale RevisionId", lambda: lam.update_function_configuration(FunctionName="thumbs", MemorySize=512,
                                                                               RevisionId=rev),
                 "PreconditionFailedException", 412)
    expect_error("MemorySize above 10240", lambda: lam.update_function_configuration(FunctionName="thumbs", MemorySize=10241),
                 "ValidationException", 400, "Member must have value less than or equal to 10240")
    unchecked = client("lambda", validate=False)
    expect_error("MemorySize below 128", lambda: unchecked.update_function_configuration(FunctionName="thumbs", MemorySize=64),
                 "ValidationException", 400, "Member must have value greater than or equal to 128")
    expect_error("Timeout above 900", lambda: lam.update_function_configuration(FunctionName="thumbs", Timeout=901),
                 "ValidationException", 400, "less than or equal to 900")
    expect_error("Timeout 0", lambda: unchecked.update_function_configuration(FunctionName="thumbs", Timeout=0),
                 "ValidationException", 400, "greater than or equal to 1")

    expect_error("no provisioned config yet", lambda: lam.get_provisioned_concurrency_config(FunctionName="thumbs",
                                                                                            Qualifier="live"),
                 "ProvisionedConcurrencyConfigNotFoundException", 404)
    r = lam.put_provisioned_concurrency_config(FunctionName="thumbs", Qualifier="live", ProvisionedConcurrentExecutions=20)
    check("PutProvisionedConcurrencyConfig: 202 IN_PROGRESS", r["ResponseMetadata"]["HTTPStatusCode"] == 202 and
          r["Status"] == "IN_PROGRESS" and r["RequestedProvisionedConcurrentExecutions"] == 20 and
          r["AllocatedProvisionedConcurrentExecutions"] == 0, r)
    advance(61)
    r = lam.get_provisioned_concurrency_config(FunctionName="thumbs", Qualifier="live")
    check("IN_PROGRESS -> READY after provisioned_ready", r["Status"] == "READY" and
          r["AllocatedProvisionedConcurrentExecutions"] == 20 and r["AvailableProvisionedConcurrentExecutions"] == 20, r)
    r = lam.put_provisioned_concurrency_config(FunctionName="thumbs", Qualifier="live", ProvisionedConcurrentExecutions=30)
    check("raising keeps the allocation until ready", r["Status"] == "IN_PROGRESS" and
          r["AllocatedProvisionedConcurrentExecutions"] == 20, r)
    expect_error("provisioned concurrency on $LATEST",
                 lambda: lam.put_provisioned_concurrency_config(FunctionName="thumbs", Qualifier="$LATEST",
                                                                ProvisionedConcurrentExecutions=1),
                 "InvalidParameterValueException", 400, "unpublished function versions")
    expect_error("provisioned concurrency on an unknown alias",
                 lambda: lam.put_provisioned_concurrency_config(FunctionName="thumbs", Qualifier="nope",
                                                                ProvisionedConcurrentExecutions=1),
                 "ResourceNotFoundException", 404)
    expect_error("account unreserved floor",
                 lambda: lam.put_provisioned_concurrency_config(FunctionName="thumbs", Qualifier="1",
                                                                ProvisionedConcurrentExecutions=871),
                 "InvalidParameterValueException", 400, "UnreservedConcurrentExecution")
    expect_error("ProvisionedConcurrentExecutions 0", lambda: unchecked.put_provisioned_concurrency_config(
        FunctionName="thumbs", Qualifier="live", ProvisionedConcurrentExecutions=0), "ValidationException", 400)
    r = lam.delete_provisioned_concurrency_config(FunctionName="thumbs", Qualifier="live")
    check("DeleteProvisionedConcurrencyConfig: 204", r["ResponseMetadata"]["HTTPStatusCode"] == 204)
    expect_error("delete again", lambda: lam.delete_provisioned_concurrency_config(FunctionName="thumbs", Qualifier="live"),
                 "ProvisionedConcurrencyConfigNotFoundException", 404)


def test_sts():
    sts = client("sts")
    r = sts.assume_role_with_web_identity(RoleArn="arn:aws:iam::123456789012:role/tide", RoleSessionName="tide-test",
                                          WebIdentityToken="eyJhbGciOiJub25lIn0.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY2"
                                                           "91bnQ6dGlkZTp0aWRlIn0.", DurationSeconds=900)
    last = control("GET", "/_fake/requests")["requests"][-1]
    check("AssumeRoleWithWebIdentity is sent unsigned", last["operation"] == "AssumeRoleWithWebIdentity" and
          last["signature"] == "unsigned", last)
    cred = r["Credentials"]
    check("temporary credentials", cred["AccessKeyId"].startswith("ASIA") and cred["SessionToken"] and
          r["SubjectFromWebIdentityToken"] == "system:serviceaccount:tide:tide", r)
    temp = client("autoscaling", access_key=cred["AccessKeyId"], secret_key=cred["SecretAccessKey"],
                  token=cred["SessionToken"])
    temp.describe_auto_scaling_groups()
    last = control("GET", "/_fake/requests")["requests"][-1]
    check("temporary credentials accepted", last["access_key"] == cred["AccessKeyId"] and last["signature"] == "valid")
    who = client("sts", access_key=cred["AccessKeyId"], secret_key=cred["SecretAccessKey"],
                 token=cred["SessionToken"]).get_caller_identity()
    check("GetCallerIdentity with temporary credentials",
          who["Arn"] == "arn:aws:sts::123456789012:assumed-role/tide/tide-test", who)
    wrong_token = client("autoscaling", access_key=cred["AccessKeyId"], secret_key=cred["SecretAccessKey"], token="x")
    expect_error("wrong session token", lambda: wrong_token.describe_auto_scaling_groups(), "InvalidClientTokenId", 403)
    no_token = client("autoscaling", access_key=cred["AccessKeyId"], secret_key=cred["SecretAccessKey"])
    expect_error("missing session token", lambda: no_token.describe_auto_scaling_groups(), "InvalidClientTokenId", 403)
    advance(901)
    expect_error("credentials expire on the fake clock", lambda: temp.describe_auto_scaling_groups(), "ExpiredToken", 403)
    control("POST", "/_fake/config", {"web_identity_token": "the-only-token"})
    expect_error("web identity token mismatch", lambda: sts.assume_role_with_web_identity(
        RoleArn="arn:aws:iam::123456789012:role/tide", RoleSessionName="s1", WebIdentityToken="other"),
        "InvalidIdentityToken", 400)


def test_credential_endpoints():
    """IMDSv2 and the container endpoint, read by botocore's own credential fetchers."""
    from botocore.utils import ContainerMetadataFetcher, InstanceMetadataFetcher
    control("POST", "/_fake/config", {"credentials_ttl": 120, "container_token": "Bearer abc"})
    creds = InstanceMetadataFetcher(timeout=2, num_attempts=1, base_url=ENDPOINT).retrieve_iam_role_credentials()
    check("IMDSv2 credentials via botocore", creds.get("access_key", "").startswith("ASIA") and creds.get("token"), creds)
    if creds:
        a = client("autoscaling", access_key=creds["access_key"], secret_key=creds["secret_key"], token=creds["token"])
        a.describe_auto_scaling_groups()
        last = control("GET", "/_fake/requests")["requests"][-1]
        check("IMDS credentials accepted", last["access_key"] == creds["access_key"] and last["signature"] == "valid")
    log = control("GET", "/_fake/requests")["requests"]
    check("IMDSv2 flow: token, role, credentials", [x["operation"] for x in log if x["service"] == "imds"][-3:] ==
          ["PutToken", "GetRoleName", "GetCredentials"], [x["operation"] for x in log if x["service"] == "imds"])
    status, _, _ = raw("imds", "GET", "/latest/meta-data/iam/security-credentials/", signed=False)
    check("IMDS without a token: 401", status == 401, status)
    status, _, _ = raw("imds", "PUT", "/latest/api/token", signed=False)
    check("IMDS token without a TTL: 400", status == 400, status)
    fault(kind="internal", service="imds", operation="GetCredentials")
    failed_fetch = InstanceMetadataFetcher(timeout=2, num_attempts=1, base_url=ENDPOINT).retrieve_iam_role_credentials()
    last = [x for x in control("GET", "/_fake/requests")["requests"] if x["service"] == "imds"][-1]
    check("IMDS fault: 500, no credentials", failed_fetch == {} and last["status"] == 500 and last["fault"] == "internal",
          (failed_fetch, last))

    fetcher = ContainerMetadataFetcher(sleep=lambda s: None)
    got = fetcher.retrieve_full_uri(ENDPOINT + "/v2/credentials/tide", headers={"Authorization": "Bearer abc"})
    check("container credentials via botocore", got.get("AccessKeyId", "").startswith("ASIA") and "Expiration" in got, got)
    c = client("autoscaling", access_key=got["AccessKeyId"], secret_key=got["SecretAccessKey"], token=got["Token"])
    c.describe_auto_scaling_groups()
    try:
        fetcher.retrieve_full_uri(ENDPOINT + "/v2/credentials/tide", headers={"Authorization": "Bearer wrong"})
        check("container endpoint checks Authorization", False)
    except Exception:
        check("container endpoint checks Authorization", True)
    advance(121)
    expect_error("container credentials expire", lambda: c.describe_auto_scaling_groups(), "ExpiredToken", 403)
    control("DELETE", "/_fake/faults")


def test_faults():
    a, e, lam = client("autoscaling"), client("ec2"), client("lambda")
    m, q = client("cloudwatch"), client("sqs")
    url = f"{ENDPOINT}/123456789012/jobs"
    fault(kind="throttle", service="autoscaling", operation="SetDesiredCapacity")
    expect_error("throttle autoscaling", lambda: a.set_desired_capacity(AutoScalingGroupName="web-asg", DesiredCapacity=2),
                 "Throttling", 400)
    a.set_desired_capacity(AutoScalingGroupName="web-asg", DesiredCapacity=2)
    check("a fault is used once", asg_of(a)["DesiredCapacity"] == 2)
    fault(kind="throttle", service="ec2")
    expect_error("throttle ec2", lambda: e.describe_instances(), "RequestLimitExceeded", 503)
    fault(kind="throttle", service="lambda")
    got = expect_error("throttle lambda", lambda: lam.get_function_configuration(FunctionName="thumbs"),
                       "TooManyRequestsException", 429)
    check("lambda 429 has Retry-After", got is not None and got[3].get("retry-after") == "1", got and got[3])
    fault(kind="throttle", service="monitoring")
    end = utcnow()
    expect_error("throttle cloudwatch", lambda: m.get_metric_data(
        MetricDataQueries=[{"Id": "e", "Expression": "SELECT AVG(CPUUtilization) FROM \"AWS/EC2\"", "Period": 60}],
        StartTime=end - datetime.timedelta(minutes=5), EndTime=end), "Throttling", 400)
    fault(kind="throttle", service="sqs")
    expect_error("throttle sqs", lambda: q.get_queue_attributes(QueueUrl=url), "RequestThrottled", 400)

    fault(kind="internal", service="autoscaling")
    expect_error("500 autoscaling", lambda: a.describe_auto_scaling_groups(), "InternalFailure", 500)
    fault(kind="internal", service="ec2")
    expect_error("500 ec2", lambda: e.describe_instances(), "InternalError", 500)
    fault(kind="internal", service="lambda")
    expect_error("500 lambda", lambda: lam.get_function_configuration(FunctionName="thumbs"), "ServiceException", 500)
    fault(kind="unavailable", service="sqs")
    expect_error("503 sqs", lambda: q.get_queue_attributes(QueueUrl=url), "ServiceUnavailable", 503)

    fault(kind="expired")
    expect_error("expired token autoscaling", lambda: a.describe_auto_scaling_groups(), "ExpiredToken", 403)
    fault(kind="expired", service="ec2")
    expect_error("expired token ec2", lambda: e.describe_instances(), "RequestExpired", 400)
    fault(kind="expired", service="lambda")
    expect_error("expired token lambda", lambda: lam.get_function_configuration(FunctionName="thumbs"),
                 "ExpiredTokenException", 403)

    fault(kind="denied", service="autoscaling", operation="SetDesiredCapacity")
    expect_error("access denied autoscaling", lambda: a.set_desired_capacity(AutoScalingGroupName="web-asg", DesiredCapacity=2),
                 "AccessDenied", 403, "autoscaling:SetDesiredCapacity")
    fault(kind="denied", service="ec2", operation="StopInstances")
    expect_error("access denied ec2", lambda: e.stop_instances(InstanceIds=["i-00000000000000005"]),
                 "UnauthorizedOperation", 403)
    fault(kind="denied", service="lambda")
    expect_error("access denied lambda", lambda: lam.get_function_configuration(FunctionName="thumbs"),
                 "AccessDeniedException", 403)
    fault(kind="denied", service="monitoring")
    expect_error("access denied cloudwatch", lambda: m.get_metric_data(
        MetricDataQueries=[{"Id": "e", "Expression": "SELECT AVG(CPUUtilization) FROM \"AWS/EC2\"", "Period": 60}],
        StartTime=end - datetime.timedelta(minutes=5), EndTime=end), "AccessDenied", 403)
    fault(kind="error", service="autoscaling", status=400, code="ResourceContention", message="busy")
    expect_error("custom error", lambda: a.describe_auto_scaling_groups(), "ResourceContention", 400, "busy")

    fault(kind="delay", service="autoscaling", seconds=1.5)
    slow = client("autoscaling", read_timeout=0.5)
    t0 = time.monotonic()
    try:
        slow.describe_auto_scaling_groups()
        check("delay -> client read timeout", False, "no timeout")
    except ReadTimeoutError:
        check("delay -> client read timeout", time.monotonic() - t0 < 1.4)
    # The delayed request is still being answered: wait (bounded) until the fake logs it.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(
            x["fault"] == "delay" for x in control("GET", "/_fake/requests")["requests"]):
        time.sleep(0.1)
    fault(kind="reset", service="autoscaling")
    try:
        a.describe_auto_scaling_groups()
        check("reset -> connection closed", False, "answered")
    except (ConnectionClosedError, ClientError, Exception) as x:
        check("reset -> connection closed", not isinstance(x, ClientError), repr(x))

    # botocore's standard retry mode retries throttling: 2 throttles, then success.
    before = control("GET", "/_fake/requests")["requests"][-1]["seq"]
    fault(kind="throttle", service="autoscaling", operation="DescribeAutoScalingGroups", count=2)
    retrying = client("autoscaling", retries=3)
    retrying.describe_auto_scaling_groups()
    log = control("GET", f"/_fake/requests?since={before}&operation=DescribeAutoScalingGroups")["requests"]
    check("throttled twice, then answered", [x["error"] for x in log] == ["Throttling", "Throttling", None], log)
    check("no faults left", control("GET", "/_fake/faults")["faults"] == [])
    fault(kind="throttle", count=5)
    control("DELETE", "/_fake/faults")
    check("DELETE /_fake/faults", control("GET", "/_fake/faults")["faults"] == [])


def test_signatures():
    bad = {"secret_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ"}
    expect_error("wrong secret: autoscaling", lambda: client("autoscaling", **bad).describe_auto_scaling_groups(),
                 "SignatureDoesNotMatch", 403, "The request signature we calculated does not match")
    last = control("GET", "/_fake/requests")["requests"][-1]
    check("log records the invalid signature", last["signature"] == "invalid" and last["status"] == 403, last)
    expect_error("wrong secret: ec2", lambda: client("ec2", **bad).describe_instances(), "SignatureDoesNotMatch", 403)
    expect_error("wrong secret: lambda", lambda: client("lambda", **bad).get_function_configuration(FunctionName="thumbs"),
                 "InvalidSignatureException", 403)
    expect_error("wrong secret: cloudwatch", lambda: client("cloudwatch", **bad).get_metric_data(
        MetricDataQueries=[{"Id": "e", "Expression": "1", "Period": 60}], StartTime=utcnow() - datetime.timedelta(hours=1),
        EndTime=utcnow()), "SignatureDoesNotMatch", 403)
    expect_error("unknown access key", lambda: client("autoscaling", access_key="AKIDUNKNOWN").describe_auto_scaling_groups(),
                 "InvalidClientTokenId", 403)
    expect_error("unknown access key: ec2", lambda: client("ec2", access_key="AKIDUNKNOWN").describe_instances(),
                 "AuthFailure", 401)
    expect_error("unknown access key: lambda", lambda: client("lambda", access_key="AKIDUNKNOWN").get_function_configuration(
        FunctionName="thumbs"), "UnrecognizedClientException", 403)

    body = query_body({"Action": "DescribeAutoScalingGroups", "Version": "2011-01-01"})
    status, _, text = raw("autoscaling", "POST", "/", body, FORM)
    check("raw signed request", status == 200 and b"<DescribeAutoScalingGroupsResponse" in text, (status, text[:200]))
    status, _, text = raw("autoscaling", "POST", "/", body, FORM, signed=False)
    check("unsigned request", status == 403 and b"<Code>MissingAuthenticationToken</Code>" in text, (status, text[:300]))
    old = utcnow() - datetime.timedelta(minutes=20)
    status, _, text = raw("autoscaling", "POST", "/", body, FORM, when=old)
    check("X-Amz-Date 20 minutes old", status == 403 and b"Signature expired" in text, (status, text[:300]))
    # The body is signed: change it after signing.
    req = sign(AWSRequest(method="POST", url=ENDPOINT + "/", data=body, headers=dict(FORM, Host=HOSTPORT)), "autoscaling")
    conn = http.client.HTTPConnection(HOSTPORT, timeout=10)
    tampered = body.replace(b"Describe", b"Describe") + b"&MaxRecords=1"
    conn.request("POST", "/", body=tampered, headers=dict(req.headers.items()))
    r = conn.getresponse()
    text = r.read()
    conn.close()
    check("tampered body", r.status == 403 and b"SignatureDoesNotMatch" in text, (r.status, text[:300]))
    # A scope naming another service than the one that answers is still checked with its own name.
    status, _, text = raw("autoscaling", "POST", "/", body, FORM, region="eu-west-1")
    check("any region is accepted (signed for it)", status == 200, (status, text[:200]))


def test_validation():
    base = {"Action": "SetDesiredCapacity", "Version": "2011-01-01", "AutoScalingGroupName": "web-asg",
            "DesiredCapacity": "2"}
    status, _, text = raw("autoscaling", "POST", "/", query_body(dict(base, Bogus="1")), FORM)
    check("unknown parameter (Query)", status == 400 and b"<Code>ValidationError</Code>" in text and b"Bogus" in text,
          (status, text[:300]))
    status, _, text = raw("autoscaling", "POST", "/", query_body(dict(base, DesiredCapacity="two")), FORM)
    check("wrong type (Query)", status == 400 and b"ValidationError" in text, (status, text[:300]))
    status, _, text = raw("autoscaling", "POST", "/", query_body({k: v for k, v in base.items() if k != "DesiredCapacity"}),
                          FORM)
    check("missing required (Query)", status == 400 and b"Value null at 'desiredCapacity'" in text, (status, text[:300]))
    unchecked = client("autoscaling", validate=False)
    expect_error("missing required via botocore", lambda: unchecked.set_desired_capacity(AutoScalingGroupName="web-asg"),
                 "ValidationError", 400, "Member must not be null")
    expect_error("string too long", lambda: client("autoscaling").set_desired_capacity(
        AutoScalingGroupName="x" * 300, DesiredCapacity=1), "ValidationError", 400, "length less than or equal to")
    status, _, text = raw("ec2", "POST", "/", query_body({"Action": "DescribeInstances", "Version": "2016-11-15",
                                                          "Bogus.1": "x"}), FORM)
    check("unknown parameter (EC2)", status == 400 and b"<Code>UnknownParameter</Code>" in text, (status, text[:300]))
    status, _, text = raw("ec2", "POST", "/", query_body({"Action": "StartInstances", "Version": "2016-11-15"}), FORM)
    check("missing parameter (EC2)", status == 400 and b"<Code>MissingParameter</Code>" in text, (status, text[:300]))
    status, _, text = raw("ec2", "POST", "/", query_body({"Action": "DescribeInstances", "Version": "2016-11-15",
                                                          "Filter.1.Name": "tag:pool", "Filter.1.Value.1": "warm",
                                                          "Filter.1.Value.2": "other"}), FORM)
    check("EC2 Filter.N.Value.M flattening", status == 200 and text.count(b"<instanceId>") == 8, (status, text[:300]))
    status, headers, text = raw("lambda", "PUT", "/2015-03-31/functions/thumbs/configuration",
                                json.dumps({"MemorySize": 512, "Bogus": 1}).encode(), {"Content-Type": "application/json"})
    check("unknown parameter (Lambda)", status == 400 and headers.get("x-amzn-errortype") == "InvalidParameterValueException",
          (status, headers, text[:300]))
    status, headers, text = raw("lambda", "GET", "/2015-03-31/functions/thumbs/configuration?Bogus=1")
    check("unknown query parameter (Lambda)", status == 400, (status, text[:300]))
    status, _, text = raw("autoscaling", "POST", "/", query_body({"Action": "DescribeScalingActivities",
                                                                  "Version": "2011-01-01"}), FORM)
    check("operation the fake does not implement: 501", status == 501 and b"NotImplemented" in text, (status, text[:300]))
    status, _, text = raw("monitoring", "POST", "/service/GraniteServiceVersion20100801/operation/GetMetricData",
                          b"\xa0", {"Content-Type": "application/cbor", "Smithy-Protocol": "rpc-v2-cbor"})
    check("CloudWatch CBOR protocol: 501, said plainly", status == 501 and b"smithy-rpc-v2-cbor" in text, (status, text[:300]))
    status, _, text = raw("autoscaling", "POST", "/", query_body({"Action": "Frobnicate", "Version": "2011-01-01"}), FORM)
    check("unknown action", status == 400 and b"<Code>InvalidAction</Code>" in text, (status, text[:300]))


def test_wire_formats():
    body = query_body({"Action": "DescribeAutoScalingGroups", "Version": "2011-01-01",
                       "AutoScalingGroupNames.member.1": "web-asg"})
    status, headers, text = raw("autoscaling", "POST", "/", body, FORM)
    check("Query response envelope", text.lstrip().startswith(b"<?xml") and
          b'<DescribeAutoScalingGroupsResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/">' in text and
          b"<DescribeAutoScalingGroupsResult><AutoScalingGroups><member>" in text and
          b"<ResponseMetadata><RequestId>" in text, text[:400])
    check("x-amzn-RequestId", "x-amzn-requestid" in headers)
    status, _, text = raw("autoscaling", "POST", "/", query_body({"Action": "SetDesiredCapacity", "Version": "2011-01-01",
                                                                  "AutoScalingGroupName": "web-asg",
                                                                  "DesiredCapacity": "99"}), FORM)
    check("Query error envelope", status == 400 and
          b'<ErrorResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><Error><Type>Sender</Type>'
          b"<Code>ValidationError</Code><Message>" in text and b"</Error><RequestId>" in text, text)
    status, _, text = raw("ec2", "POST", "/", query_body({"Action": "DescribeInstances", "Version": "2016-11-15",
                                                          "InstanceId.1": "i-00000000000000005"}), FORM)
    check("EC2 response shape", b'<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
          b"<requestId>" in text and b"<reservationSet><item><reservationId>" in text and
          b"<instancesSet><item><instanceId>i-00000000000000005</instanceId><imageId>" in text and
          b"<tagSet><item><key>" in text and b"<instanceState><code>16</code><name>running</name></instanceState>" in text,
          text[:600])
    status, _, text = raw("ec2", "POST", "/", query_body({"Action": "StartInstances", "Version": "2016-11-15",
                                                          "InstanceId.1": "i-0123456789abcdef0"}), FORM)
    check("EC2 error shape", status == 400 and text.lstrip().startswith(b"<?xml") and
          b"<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>" in text and
          b"</Error></Errors><RequestID>" in text, text)
    status, headers, text = raw("lambda", "GET", "/2015-03-31/functions/nope/configuration")
    doc = json.loads(text)
    check("Lambda error shape", status == 404 and headers.get("x-amzn-errortype") == "ResourceNotFoundException" and
          "x-amzn-requestid" in headers and doc.get("Type") == "User" and "Function not found" in doc.get("Message", ""),
          (status, headers, doc))
    status, headers, text = raw("sqs", "POST", "/", query_body({"Action": "GetQueueAttributes", "Version": "2012-11-05",
                                                                "QueueUrl": f"{ENDPOINT}/123456789012/jobs",
                                                                "AttributeName.1": "ApproximateNumberOfMessages"}), FORM)
    status, _, text2 = raw("sqs", "POST", "/123456789012/jobs", query_body({
        "Action": "GetQueueAttributes", "Version": "2012-11-05", "AttributeName.1": "ApproximateNumberOfMessages"}), FORM)
    check("SQS Query request sent to the queue's URL", status == 200 and b"<Value>12</Value>" in text2, (status, text2))
    check("SQS flattened attribute map", b"<GetQueueAttributesResult><Attribute><Name>ApproximateNumberOfMessages</Name>"
          b"<Value>12</Value></Attribute></GetQueueAttributesResult>" in text, text)
    status, headers, text = raw("sqs", "POST", "/", json.dumps({"QueueUrl": f"{ENDPOINT}/123456789012/jobs",
                                                                "AttributeNames": ["ApproximateNumberOfMessages"]}).encode(),
                                {"Content-Type": "application/x-amz-json-1.0",
                                 "X-Amz-Target": "AmazonSQS.GetQueueAttributes"})
    check("SQS JSON protocol (raw)", status == 200 and json.loads(text) == {"Attributes": {"ApproximateNumberOfMessages": "12"}}
          and headers.get("content-type") == "application/x-amz-json-1.0", (status, text))
    status, headers, text = raw("sqs", "POST", "/", json.dumps({"QueueUrl": f"{ENDPOINT}/123456789012/nope"}).encode(),
                                {"Content-Type": "application/x-amz-json-1.0",
                                 "X-Amz-Target": "AmazonSQS.GetQueueAttributes"})
    check("SQS JSON error", status == 400 and json.loads(text).get("__type") == "com.amazonaws.sqs#QueueDoesNotExist" and
          headers.get("x-amzn-query-error") == "AWS.SimpleQueueService.NonExistentQueue;Sender", (status, headers, text))


def test_control_api():
    try:
        control("POST", "/_fake/faults", {"kind": "gremlins"})
        check("control API rejects an unknown fault kind", False)
    except urllib.error.HTTPError as e:
        check("control API rejects an unknown fault kind", e.code == 400)
    log = control("GET", "/_fake/requests?operation=SetDesiredCapacity")["requests"]
    check("request log has parameters", any(x["params"] == {"AutoScalingGroupName": "web-asg", "DesiredCapacity": 4}
                                            for x in log), log[:2])
    control("POST", "/_fake/reset")
    state = control("GET", "/_fake/state")
    check("reset empties the state", state["autoscaling_groups"] == [] and state["instances"] == [] and
          control("GET", "/_fake/requests")["requests"] == [])


def main():
    if not ENDPOINT:
        print("usage: fake_aws_selftest.py http://127.0.0.1:PORT")
        return 2
    tmp = tempfile.mkdtemp(prefix="fake-aws-json-models.")
    json_session = json_protocol_session(tmp)
    suite = sys.argv[2] if len(sys.argv) > 2 else ""
    if suite and not os.path.isdir(suite):
        print(f"NOTE: {suite} not found: only the built-in get-vanilla vector checks the verifier")
        suite = ""
    tests = [
        ("sigv4 vector", test_sigv4_vector)] + ([("sigv4 suite", lambda: test_sigv4_suite(suite))] if suite else []) + [ ("seed", seed_all), ("autoscaling", test_autoscaling), ("ec2", test_ec2),
        ("cloudwatch", test_cloudwatch), ("cloudwatch json", lambda: test_cloudwatch(json_session, "json")),
        ("sqs", test_sqs), ("sqs json", lambda: test_sqs(json_session, "json")), ("lambda", test_lambda),
        ("wire formats", test_wire_formats), ("signatures", test_signatures), ("validation", test_validation),
        ("faults", test_faults), ("sts", test_sts), ("credential endpoints", test_credential_endpoints),
        ("control api", test_control_api),
    ]
    global failed
    for name, fn in tests:
        try:
            fn()
        except Exception:
            failed += 1
            print(f"FAIL: {name}: unexpected exception")
            traceback.print_exc(file=sys.stdout)
    print(f"fake_aws_selftest: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
