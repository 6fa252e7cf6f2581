#!/usr/bin/python3
"""fake_aws.py: a FAKE AWS endpoint for tide's integration tests.

THIS IS NOT AWS. It is not LocalStack or moto either. It is one Python file that imitates the
handful of AWS API operations tide calls, closely enough to test a client's signing, request
building, response parsing, retries and error handling without a network. Passing tests
against it show that tide speaks the wire protocols as botocore's service models describe them;
they do not show that tide works against AWS.

Run it with Debian's Python and python3-botocore (not a pyenv or virtualenv python):

    /usr/bin/python3 tests/aws/fake_aws.py [--port 0] [--access-key AK --secret-key SK]
        [--session-token TOKEN] [--region us-east-1] [--delay NAME=SECONDS ...] [--seed FILE]
        [--verbose]

Its first line on stdout is `fake-aws listening on 127.0.0.1:PORT` (port 0 picks a free port).
It serves every service on that one port and tells them apart by the service name in the SigV4
credential scope (`Credential=AK/DATE/REGION/SERVICE/aws4_request`), as a test endpoint override
(`AWS_ENDPOINT_URL=http://127.0.0.1:PORT`) sends every service's requests to the same place.

What it checks, on every request
--------------------------------
* The SigV4 signature. The request is re-signed with botocore (`botocore.auth.SigV4Auth`), using
  the secret of the access key named in the credential scope, the request's own X-Amz-Date, the
  region and service of the scope and exactly the headers listed in SignedHeaders, and the result
  is compared with the signature sent. `host` and `x-amz-date` must be signed; an
  X-Amz-Content-SHA256 header must match the body; X-Amz-Date must be within 15 minutes of the
  real clock and agree with the scope's date. The session token (X-Amz-Security-Token) must match
  the access key's, if it has one, and be absent otherwise. Default credentials: AKIDEXAMPLE /
  wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY (those of AWS's SigV4 test suite), no session token.
  A mismatch is SignatureDoesNotMatch (InvalidSignatureException for Lambda), an unknown key
  InvalidClientTokenId (EC2: AuthFailure; Lambda: UnrecognizedClientException), an expired
  temporary key ExpiredToken (EC2: RequestExpired; Lambda: ExpiredTokenException).
  Only sts:AssumeRoleWithWebIdentity may be unsigned (as in AWS).
* The operation: Query's Action must be one of the service's and Version its API version; a
  Lambda path must be one of the model's routes.
* The parameters, against the operation's input shape in botocore's service model: the Query
  protocol's flattening rules (`X.member.N`, EC2's `InstanceId.N`, `Filter.N.Name`,
  `Filter.N.Value.M`, SQS's flattened `AttributeName.N`), JSON bodies, Lambda's REST bindings
  (URI, query string, body). Unknown parameters, values of the wrong type, missing required
  members and the model's min/max/enum/length constraints are errors: ValidationError (Query
  services), UnknownParameter / MissingParameter / InvalidParameterValue (EC2),
  InvalidParameterValueException or ValidationException (Lambda), each in the service's format.
* Then the operation's own rules where the fake implements them (below).

Wire formats
------------
Query XML (Auto Scaling, CloudWatch, SQS, STS): `<OpResponse xmlns=...><OpResult>...</OpResult>
<ResponseMetadata><RequestId>`; errors `<ErrorResponse><Error><Type>Sender|Receiver</Type>
<Code/><Message/></Error><RequestId/></ErrorResponse>`. EC2: `<OpResponse><requestId/>...` with
lowerCamel names and `<item>` list members; errors `<Response><Errors><Error><Code/><Message/>
</Error></Errors><RequestID/></Response>`. Lambda: REST-JSON, x-amzn-RequestId, errors with
x-amzn-ErrorType and a JSON body. SQS and CloudWatch also answer the awsJson1_0 protocol that
newer SDKs use (X-Amz-Target `AmazonSQS.Op` / `GraniteServiceVersion20100801.Op`,
application/x-amz-json-1.0, errors with `__type` and `x-amzn-query-error`); CloudWatch's
smithy-rpc-v2-cbor protocol is not supported. Output is generated from the model's output shape,
so element names, list and map encodings follow the model.

Operations and their state
--------------------------
autoscaling  DescribeAutoScalingGroups (names, tag filters, MaxRecords/NextToken),
             SetDesiredCapacity (MinSize <= desired <= MaxSize, HonorCooldown),
             UpdateAutoScalingGroup (MinSize/MaxSize/DesiredCapacity with AWS's rules).
             Instances follow the desired capacity: new ones are Pending for `asg_pending`
             seconds, then InService; removed ones (Pending first, then the newest) are
             Terminating for `asg_terminating` seconds, then gone.
ec2          DescribeInstances (InstanceIds, filters instance-id, instance-state-name,
             instance-type, tag:KEY, tag-key, tag-value with * and ? wildcards, MaxResults 5..1000
             with NextToken), StartInstances, StopInstances: pending -> running after
             `ec2_pending` s, stopping -> stopped after `ec2_stopping` s; LaunchTime is set on
             start; StateReason / StateTransitionReason on stop; IncorrectInstanceState for
             starting a stopping instance or stopping a pending one; DryRun.
monitoring   GetMetricData from seeded datapoints (MetricStat matched on namespace, name, exact
             dimension set and, if the seed names one, statistic; Expression either seeded by its
             text or arithmetic (+ - * / and SUM/AVG/MIN/MAX of [ids]) over the other queries);
             Timestamps/Values newest first (ScanBy), StatusCode Complete; at most 500 queries.
sqs          GetQueueUrl, GetQueueAttributes (seeded ApproximateNumberOfMessages, ...NotVisible,
             ...Delayed; `All`; InvalidAttributeName; NonExistentQueue), Query and JSON.
lambda       GetFunctionConfiguration, UpdateFunctionConfiguration (MemorySize 128..10240,
             Timeout 1..900; LastUpdateStatus InProgress for `lambda_update` s, then Successful;
             ResourceConflictException while in progress; RevisionId), Put/Get/Delete
             ProvisionedConcurrencyConfig on an alias or published version (IN_PROGRESS for
             `provisioned_ready` s, then READY; ProvisionedConcurrencyConfigNotFoundException;
             the account's unreserved-concurrency floor of 100 out of `account_concurrency`).
sts          AssumeRoleWithWebIdentity (unsigned; returns temporary credentials that the fake then
             accepts until they expire on the fake clock), GetCallerIdentity.
Any other operation of these services answers 501 NotImplemented.
Credential endpoints, for testing the SDK credential chain: EC2 instance metadata (IMDSv2:
PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds, then
/latest/meta-data/iam/security-credentials/[ROLE] with X-aws-ec2-metadata-token; 401 without a
valid token unless `imds_v1` is configured) for AWS_EC2_METADATA_SERVICE_ENDPOINT=
http://127.0.0.1:PORT, and the container endpoint (/v2/credentials/ANYTHING, checking the
Authorization header against `container_token` when set) for AWS_CONTAINER_CREDENTIALS_FULL_URI.
Both hand out temporary credentials that expire after `credentials_ttl` seconds on the fake
clock; faults apply (service imds or container; operations PutToken, GetRoleName,
GetCredentials).

What it does NOT do
-------------------
No IAM: every validly signed request is allowed (inject AccessDenied to test denial). No
eventual consistency (a change is visible to the next read), no pagination except where listed,
no real scaling activities, lifecycle hooks, warm pools, launch templates, load balancers,
health checks, termination policies (scale-in removes Pending, then newest), no CloudWatch
percentiles (seeded datapoints are bucketed per period with Average, Sum, Minimum, Maximum or
SampleCount; any other statistic averages), no SQS messages, no Lambda code,
versions are not snapshots (every qualifier shows the current configuration), one account
(123456789012), any region (ARNs use the request's region), no presigned URLs, no SigV4A, no
chunked-payload signing, no CBOR. Error codes are AWS's; HTTP statuses are AWS's where its
references give them and the usual ones otherwise (e.g. 403 for expired tokens); messages
imitate AWS's but are not word for word, so tests should match codes, not messages.

Control API (JSON over HTTP on the same port, never signed)
-------------------------------------------------------------
POST /_fake/reset      forget all state, faults and the request log; the clock returns to real
                       time; credentials and delays return to the command line's.
POST /_fake/seed       add or replace state (any subset of these keys):
  {"autoscaling_groups": [{"name": "web-asg", "min": 1, "max": 10, "desired": 2,
                           "availability_zones": ["us-east-1a"], "instance_type": "t3.micro",
                           "tags": {"team": "web"}, "default_cooldown": 300}],
   "instances": [{"id": "i-0123456789abcdef0", "state": "stopped", "tags": {"pool": "warm"},
                  "instance_type": "t3.micro", "availability_zone": "us-east-1a"}],
   "functions": [{"name": "thumbs", "memory": 128, "timeout": 3, "runtime": "python3.12",
                  "versions": ["1"], "aliases": {"live": "1"}, "provisioned": {"live": 5}}],
   "metrics": [{"namespace": "AWS/EC2", "name": "CPUUtilization",
                "dimensions": {"AutoScalingGroupName": "web-asg"}, "statistic": "Average",
                "datapoints": [{"ago": 60, "value": 70}, {"timestamp": "2024-05-01T10:00:00Z",
                "value": 40}]},
               {"namespace": "AWS/SQS", "name": "X", "value": 5},   # constant: one per period
               {"expression": "SEARCH(...)", "value": 3}],           # an expression's answer
   "queues": [{"name": "jobs", "visible": 12, "not_visible": 3, "delayed": 0}],
   "credentials": [{"access_key": "AK2", "secret_key": "SK2", "session_token": "T",
                    "expires_in": 60}]}
  Instances and ASG instances get ids i-0fa4e000000000001, ... when not given; the answer lists
  the ids created.
GET  /_fake/state      everything above as it is now (transitions applied), plus the clock.
GET  /_fake/requests   the request log, oldest first (a request is logged before it is answered,
                       so a client holding its answer finds it): [{"seq", "time", "service", "operation",
                       "protocol", "params", "signature" (valid | invalid | unsigned | missing |
                       error: why), "access_key", "region", "status", "error", "fault"}].
                       `?since=SEQ` only later entries; `?operation=Op` only that operation.
POST /_fake/faults     queue a fault (or a list of them) for the next matching requests:
  {"kind": "throttle" | "internal" | "delay" | "expired" | "denied" | "unavailable" | "reset"
           | "error",
   "service": "autoscaling" (default any), "operation": "SetDesiredCapacity" (default any),
   "count": 1, "seconds": 5 (delay), "status": 400, "code": "X", "message": "..." (error)}
  throttle: Throttling (autoscaling, monitoring, sts), RequestThrottled (sqs),
  RequestLimitExceeded 503 (ec2), TooManyRequestsException 429 with Retry-After (lambda);
  internal: HTTP 500 InternalFailure (EC2: InternalError; Lambda: ServiceException);
  unavailable: 503 ServiceUnavailable; expired: the expired-token error above; denied:
  AccessDenied (EC2: UnauthorizedOperation; Lambda: AccessDeniedException); delay: sleep
  `seconds`, then answer normally (to trigger client timeouts); reset: close the connection
  without answering; error: any status/code/message. Faults apply after the signature check, in
  the order queued; each matching request uses one.
GET  /_fake/faults     the faults still queued.  DELETE /_fake/faults  drop them.
POST /_fake/clock      {"advance": SECONDS}: move the fake clock (transitions, credential expiry,
                       datapoint ages) forward without waiting. Signatures use the real clock.
POST /_fake/config     {"delays": {"asg_pending": 0, "asg_terminating": 0, "ec2_pending": 0,
                       "ec2_stopping": 0, "lambda_update": 0, "provisioned_ready": 0},
                       "account_concurrency": 1000, "web_identity_token": "only-this-token",
                       "credentials_ttl": 3600, "imds_v1": false, "container_token": "Bearer x",
                       "role_name": "tide-role"}
                       Delays are seconds, 2 each by default (--delay NAME=SECONDS); 0 makes a
                       transition immediate.

From a shell script without curl: `fake_aws.py ctl http://127.0.0.1:PORT POST /_fake/seed '{...}'`
prints the answer (exit 1 on an HTTP error).

Client environment: AWS_ENDPOINT_URL=http://127.0.0.1:PORT AWS_ACCESS_KEY_ID=AKIDEXAMPLE
AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY AWS_REGION=us-east-1 (and no
AWS_SESSION_TOKEN unless started with --session-token).
"""

import argparse
import ast
import base64
import datetime
import fnmatch
import hashlib
import hmac
import json
import re
import secrets
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCOUNT = "123456789012"
DEFAULT_ACCESS_KEY = "AKIDEXAMPLE"
DEFAULT_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
MAX_SKEW_SECONDS = 15 * 60
DEFAULT_DELAYS = {
    "asg_pending": 2.0,
    "asg_terminating": 2.0,
    "ec2_pending": 2.0,
    "ec2_stopping": 2.0,
    "lambda_update": 2.0,
    "provisioned_ready": 2.0,
}
LOG_LIMIT = 20000

# Signing name -> how the fake serves it. `model` is botocore's service name.
SERVICES = {
    "autoscaling": {"model": "autoscaling", "wire": "query"},
    "monitoring": {"model": "cloudwatch", "wire": "query", "json_target": "GraniteServiceVersion20100801",
                   "json_ns": "com.amazonaws.cloudwatch"},
    "sqs": {"model": "sqs", "wire": "query", "json_target": "AmazonSQS", "json_ns": "com.amazonaws.sqs"},
    "ec2": {"model": "ec2", "wire": "ec2"},
    "lambda": {"model": "lambda", "wire": "rest-json"},
    "sts": {"model": "sts", "wire": "query"},
}
JSON_TARGETS = {v["json_target"]: k for k, v in SERVICES.items() if "json_target" in v}
UNSIGNED_OPERATIONS = {("sts", "AssumeRoleWithWebIdentity")}
# Query error codes whose awsJson __type differs.
JSON_ERROR_CODES = {"AWS.SimpleQueueService.NonExistentQueue": "QueueDoesNotExist"}

_BOTO = botocore.session.get_session()
MODELS = {name: _BOTO.get_service_model(spec["model"]) for name, spec in SERVICES.items()}


def utc_iso(t, millis=True):
    d = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S") + (".%03dZ" % (d.microsecond // 1000) if millis else "Z")


def lambda_time(t):
    d = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S") + ".%03d+0000" % (d.microsecond // 1000)


def parse_time(value):
    """ISO 8601 (with Z, offset or neither) or epoch seconds -> epoch seconds (float)."""
    if isinstance(value, (int, float)):
        return float(value)
    s = str(value).strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", s):
        return float(s)
    s = s.replace("Z", "+00:00").replace("z", "+00:00")
    if re.search(r"[+-]\d{4}$", s):
        s = s[:-2] + ":" + s[-2:]
    d = datetime.datetime.fromisoformat(s)
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    return d.timestamp()


def lower_camel(name):
    return name[:1].lower() + name[1:]


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------
class ApiError(Exception):
    """An AWS error answer: HTTP status, error code, message (and Lambda's extra body fields)."""

    def __init__(self, status, code, message, headers=None, fields=None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}
        self.fields = fields or {}


def family(service):
    return service if service in ("ec2", "lambda") else "query"


SIGNATURE_MESSAGE = ("The request signature we calculated does not match the signature you provided. "
                     "Check your AWS Secret Access Key and signing method. Consult the service "
                     "documentation for details.")
COMMON_ERRORS = {
    "signature": {"query": (403, "SignatureDoesNotMatch"), "ec2": (403, "SignatureDoesNotMatch"),
                  "lambda": (403, "InvalidSignatureException")},
    "incomplete": {"query": (400, "IncompleteSignature"), "ec2": (400, "IncompleteSignature"),
                   "lambda": (403, "IncompleteSignatureException")},
    "missing_auth": {"query": (403, "MissingAuthenticationToken"), "ec2": (401, "MissingAuthenticationToken"),
                     "lambda": (403, "MissingAuthenticationTokenException")},
    "unknown_key": {"query": (403, "InvalidClientTokenId"), "ec2": (401, "AuthFailure"),
                    "lambda": (403, "UnrecognizedClientException")},
    "expired": {"query": (403, "ExpiredToken"), "ec2": (400, "RequestExpired"),
                "lambda": (403, "ExpiredTokenException")},
    "denied": {"query": (403, "AccessDenied"), "ec2": (403, "UnauthorizedOperation"),
               "lambda": (403, "AccessDeniedException")},
    "internal": {"query": (500, "InternalFailure"), "ec2": (500, "InternalError"),
                 "lambda": (500, "ServiceException")},
    "unavailable": {"query": (503, "ServiceUnavailable"), "ec2": (503, "Unavailable"),
                    "lambda": (503, "ServiceException")},
}
DEFAULT_MESSAGES = {
    "SignatureDoesNotMatch": SIGNATURE_MESSAGE,
    "InvalidSignatureException": SIGNATURE_MESSAGE,
    "MissingAuthenticationToken": "Request is missing Authentication Token",
    "MissingAuthenticationTokenException": "Missing Authentication Token",
    "InvalidClientTokenId": "The security token included in the request is invalid.",
    "UnrecognizedClientException": "The security token included in the request is invalid.",
    "AuthFailure": "AWS was not able to validate the provided access credentials",
    "ExpiredToken": "The security token included in the request is expired",
    "ExpiredTokenException": "The security token included in the request is expired",
    "RequestExpired": "Request has expired.",
    "InternalFailure": "The request processing has failed because of an unknown error, exception or failure.",
    "InternalError": "An internal error has occurred",
    "ServiceException": "The service encountered an internal error. Please try again.",
    "ServiceUnavailable": "Service is unavailable. Please try again later.",
    "Unavailable": "The server is overloaded and can't handle the request.",
}


def common_error(service, kind, message=None, action=None):
    status, code = COMMON_ERRORS[kind][family(service)]
    if kind == "denied" and message is None:
        who = f"arn:aws:sts::{ACCOUNT}:assumed-role/tide/fake"
        message = (f"User: {who} is not authorized to perform: {action} because no identity-based "
                   f"policy allows the {action} action")
        if service == "ec2":
            message = "You are not authorized to perform this operation. " + message + \
                ". Encoded authorization failure message: fake"
    return ApiError(status, code, message or DEFAULT_MESSAGES.get(code, code))


def throttle_error(service):
    if service == "ec2":
        return ApiError(503, "RequestLimitExceeded", "Request limit exceeded.")
    if service == "lambda":
        return ApiError(429, "TooManyRequestsException", "Rate exceeded", headers={"Retry-After": "1"},
                        fields={"Reason": "CallerRateLimitExceeded", "retryAfterSeconds": "1"})
    if service == "sqs":
        return ApiError(400, "RequestThrottled", "Request is throttled.")
    return ApiError(400, "Throttling", "Rate exceeded")


def validation_error(service, problems, kind="constraint"):
    """problems: list of (path, value, constraint). kind: constraint | unknown | type | missing."""
    if service == "ec2":
        path, value, what = problems[0]
        if kind == "unknown":
            return ApiError(400, "UnknownParameter", f"The parameter {path} is not recognized")
        if kind == "missing":
            return ApiError(400, "MissingParameter", f"The request must contain the parameter {path}")
        return ApiError(400, "InvalidParameterValue", f"Value ({value}) for parameter {path} is invalid. {what}")
    if kind in ("unknown", "type"):
        text = "; ".join(f"{what}: {path}" if value is None else f"{what}: {path}={value!r}"
                         for path, value, what in problems)
        code = "InvalidParameterValueException" if service == "lambda" else "ValidationError"
        return ApiError(400, code, text)
    parts = []
    for path, value, what in problems:
        shown = "null" if value is None else f"'{value}'"
        parts.append(f"Value {shown} at '{path}' failed to satisfy constraint: {what}")
    n = len(parts)
    text = f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(parts)
    return ApiError(400, "ValidationException" if service == "lambda" else "ValidationError", text)


# --------------------------------------------------------------------------------------------
# SigV4 verification (botocore re-signs the request)
# --------------------------------------------------------------------------------------------
class _Resigner(SigV4Auth):
    """botocore's SigV4 with the server's view of which headers are signed: exactly those the
    client listed in SignedHeaders (botocore's own client-side blacklist does not apply)."""

    def __init__(self, credentials, service, region, signed):
        super().__init__(credentials, service, region)
        self._signed = signed

    def headers_to_sign(self, request):
        from botocore.awsrequest import HTTPHeaders
        out = HTTPHeaders()
        for name, value in request.headers.items():
            if name.lower() in self._signed:
                out[name.lower()] = value
        return out


def parse_authorization(value):
    m = re.match(r"^AWS4-HMAC-SHA256\s+(.+)$", value.strip(), re.S)
    if not m:
        return None, "Authorization header must start with AWS4-HMAC-SHA256"
    parts = {}
    for item in m.group(1).split(","):
        k, sep, v = item.strip().partition("=")
        if sep:
            parts[k.strip()] = v.strip()
    for need in ("Credential", "SignedHeaders", "Signature"):
        if need not in parts:
            return None, f"Authorization header requires '{need}' parameter."
    scope = parts["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        return None, ("Credential should be scoped to a valid region, service and terminated by "
                      "'aws4_request'. Got " + parts["Credential"])
    return {"access_key": scope[0], "date": scope[1], "region": scope[2], "service": scope[3],
            "signed_headers": parts["SignedHeaders"].split(";"), "signature": parts["Signature"]}, None


def sigv4_signature(secret, access_key, service, region, method, url, header_pairs, body, amz_date, signed):
    """Signature of a received request, computed by botocore. header_pairs: [(name, value)].
    The query string is decoded and handed to botocore as parameters, which it re-encodes
    canonically (as AWS does on its side), so a client's own encoding choices do not matter."""
    base, _, query = url.partition("?")
    params = []
    for pair in query.split("&") if query else []:
        key, _, value = pair.partition("=")
        params.append((unquote(key, errors="strict"), unquote(value, errors="strict")))
    request = AWSRequest(method=method, url=base, data=body, params=params)
    for name, value in header_pairs:
        if name.lower() in signed:
            request.headers[name] = value  # appends: repeated headers stay repeated
    request.context["timestamp"] = amz_date
    signer = _Resigner(Credentials(access_key, secret), service, region, set(signed))
    canonical = signer.canonical_request(request)
    return signer.signature(signer.string_to_sign(request, canonical), request), canonical


# --------------------------------------------------------------------------------------------
# Model-driven input parsing and validation
# --------------------------------------------------------------------------------------------
class _Missing:
    pass


MISSING = _Missing()


class InputError(Exception):
    def __init__(self, kind, problems):
        super().__init__(str(problems))
        self.kind, self.problems = kind, problems


def _scalar_from_text(shape, text, path):
    t = shape.type_name
    try:
        if t in ("integer", "long"):
            return int(text)
        if t in ("double", "float"):
            v = float(text)
            if v != v or v in (float("inf"), float("-inf")):
                raise ValueError
            return v
        if t == "boolean":
            if text.lower() not in ("true", "false"):
                raise ValueError
            return text.lower() == "true"
        if t == "timestamp":
            return parse_time(text)
        if t == "blob":
            return base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        raise InputError("type", [(path, text, f"Invalid {t} value")])
    return text


def query_name(shape, default, ec2):
    ser = shape.serialization
    if ec2:
        if "queryName" in ser:
            return ser["queryName"]
        if "name" in ser:
            return ser["name"][0].upper() + ser["name"][1:]
        return default
    return ser.get("name", default)


def parse_query_params(shape, flat, ec2=False):
    """Flat Query parameters -> structured input (botocore member names), the inverse of
    botocore's QuerySerializer / EC2Serializer. Unknown keys raise InputError('unknown')."""
    consumed = {"Action", "Version"}
    keys = list(flat)

    def has_prefix(prefix):
        return any(k == prefix or k.startswith(prefix + ".") for k in keys)

    def value(shape, prefix):
        t = shape.type_name
        if t == "structure":
            if not has_prefix(prefix) and prefix:
                return MISSING
            out = {}
            for mname, mshape in shape.members.items():
                wire = query_name(mshape, mname, ec2)
                v = value(mshape, f"{prefix}.{wire}" if prefix else wire)
                if v is not MISSING:
                    out[mname] = v
            return out
        if t == "list":
            if ec2:
                list_prefix = prefix
            elif shape.serialization.get("flattened"):
                list_prefix = prefix
                if shape.member.serialization.get("name"):
                    list_prefix = ".".join(prefix.split(".")[:-1] + [shape.member.serialization["name"]])
            else:
                list_prefix = f"{prefix}.{shape.member.serialization.get('name', 'member')}"
            empty = prefix in flat and flat[prefix] == ""
            if empty:
                consumed.add(prefix)
            indexes = set()
            for k in keys:
                if k.startswith(list_prefix + "."):
                    head = k[len(list_prefix) + 1:].split(".")[0]
                    if head.isdigit() and int(head) >= 1:
                        indexes.add(int(head))
            if not indexes:
                return [] if empty else MISSING
            return [value(shape.member, f"{list_prefix}.{i}") for i in sorted(indexes)]
        if t == "map":
            base = prefix if shape.serialization.get("flattened") else f"{prefix}.entry"
            kname = query_name(shape.key, "key", ec2)
            vname = query_name(shape.value, "value", ec2)
            indexes = set()
            for k in keys:
                if k.startswith(base + "."):
                    head = k[len(base) + 1:].split(".")[0]
                    if head.isdigit():
                        indexes.add(int(head))
            if not indexes:
                return MISSING
            out = {}
            for i in sorted(indexes):
                key = value(shape.key, f"{base}.{i}.{kname}")
                val = value(shape.value, f"{base}.{i}.{vname}")
                if key is not MISSING:
                    out[key] = None if val is MISSING else val
            return out
        if prefix in flat:
            consumed.add(prefix)
            return _scalar_from_text(shape, flat[prefix], prefix)
        return MISSING

    result = value(shape, "") if shape is not None else {}
    unknown = [k for k in keys if k not in consumed]
    if unknown:
        raise InputError("unknown", [(k, None, "Unknown parameter") for k in sorted(unknown)])
    return result


def parse_json_value(shape, v, path):
    """A JSON input value against its shape (member names as in the JSON protocols)."""
    t = shape.type_name
    if v is None:
        return MISSING
    if t == "structure":
        if not isinstance(v, dict):
            raise InputError("type", [(path or "body", None, "Expected an object")])
        out = {}
        for k, item in v.items():
            if k not in shape.members:
                raise InputError("unknown", [(f"{path}.{k}" if path else k, None, "Unknown parameter")])
            val = parse_json_value(shape.members[k], item, f"{path}.{k}" if path else k)
            if val is not MISSING:
                out[k] = val
        return out
    if t == "list":
        if not isinstance(v, list):
            raise InputError("type", [(path, None, "Expected a list")])
        return [parse_json_value(shape.member, x, f"{path}[{i}]") for i, x in enumerate(v)]
    if t == "map":
        if not isinstance(v, dict):
            raise InputError("type", [(path, None, "Expected a map")])
        return {k: parse_json_value(shape.value, x, f"{path}.{k}") for k, x in v.items()}
    ok = {
        "string": lambda x: isinstance(x, str),
        "integer": lambda x: isinstance(x, int) and not isinstance(x, bool),
        "long": lambda x: isinstance(x, int) and not isinstance(x, bool),
        "double": lambda x: isinstance(x, (int, float)) and not isinstance(x, bool),
        "float": lambda x: isinstance(x, (int, float)) and not isinstance(x, bool),
        "boolean": lambda x: isinstance(x, bool),
        "timestamp": lambda x: isinstance(x, (int, float, str)) and not isinstance(x, bool),
        "blob": lambda x: isinstance(x, str),
    }.get(t, lambda x: True)
    if not ok(v):
        raise InputError("type", [(path, v, f"Expected a {t}")])
    if t == "timestamp":
        try:
            return parse_time(v)
        except ValueError:
            raise InputError("type", [(path, v, "Invalid timestamp")])
    return v


def check_constraints(shape, value, path, problems, enums=True):
    """The model's required/min/max/enum/pattern constraints, Coral-style paths (lowerCamel)."""
    t = shape.type_name
    md = shape.metadata
    if t == "structure":
        for name in shape.required_members:
            if name not in value:
                problems.append((f"{path}.{lower_camel(name)}" if path else lower_camel(name), None,
                                 "Member must not be null"))
        for name, v in value.items():
            check_constraints(shape.members[name], v, f"{path}.{lower_camel(name)}" if path else lower_camel(name),
                              problems, enums)
    elif t in ("list", "map"):
        if "min" in md and len(value) < md["min"]:
            problems.append((path, value, f"Member must have length greater than or equal to {md['min']}"))
        if "max" in md and len(value) > md["max"]:
            problems.append((path, "[...]", f"Member must have length less than or equal to {md['max']}"))
        if t == "list":
            for i, v in enumerate(value, 1):
                check_constraints(shape.member, v, f"{path}.{i}.member", problems, enums)
        else:
            for k, v in value.items():
                check_constraints(shape.value, v, f"{path}.{k}", problems, enums)
    elif t == "string":
        if "min" in md and len(value) < md["min"]:
            problems.append((path, value, f"Member must have length greater than or equal to {md['min']}"))
        if "max" in md and len(value) > md["max"]:
            problems.append((path, value, f"Member must have length less than or equal to {md['max']}"))
        if enums and shape.enum and value not in shape.enum:
            problems.append((path, value, "Member must satisfy enum value set: [" + ", ".join(shape.enum) + "]"))
        pattern = md.get("pattern")
        if pattern:
            try:
                if not re.fullmatch(pattern, value, re.S):
                    problems.append((path, value, f"Member must satisfy regular expression pattern: {pattern}"))
            except re.error:
                pass  # a Java-only pattern: not checked
    elif t in ("integer", "long", "double", "float"):
        if "min" in md and value < md["min"]:
            problems.append((path, value, f"Member must have value greater than or equal to {md['min']}"))
        if "max" in md and value > md["max"]:
            problems.append((path, value, f"Member must have value less than or equal to {md['max']}"))


# --------------------------------------------------------------------------------------------
# Model-driven output
# --------------------------------------------------------------------------------------------
def _xml_scalar(shape, v):
    t = shape.type_name
    if t == "boolean":
        return "true" if v else "false"
    if t == "timestamp":
        return utc_iso(v) if isinstance(v, (int, float)) else str(v)
    if t == "blob":
        return base64.b64encode(v).decode()
    if t in ("double", "float"):
        return repr(float(v))
    return str(v)


def _xml_add(parent, name, shape, value):
    t = shape.type_name
    el = ET.SubElement(parent, name)
    if t == "structure":
        for mname, v in value.items():
            if mname not in shape.members:
                raise RuntimeError(f"fake bug: {shape.name} has no member {mname}")
            if v is not None:
                _xml_member(el, mname, shape.members[mname], v)
    elif t == "list":
        item = shape.member.serialization.get("name", "member")
        for v in value:
            _xml_add(el, item, shape.member, v)
    elif t == "map":
        for k, v in value.items():
            entry = ET.SubElement(el, "entry")
            _xml_add(entry, shape.key.serialization.get("name", "key"), shape.key, k)
            _xml_add(entry, shape.value.serialization.get("name", "value"), shape.value, v)
    else:
        el.text = _xml_scalar(shape, value)


def _xml_member(parent, mname, mshape, value):
    if mshape.type_name == "list" and mshape.serialization.get("flattened"):
        name = mshape.member.serialization.get("name") or mshape.serialization.get("name", mname)
        for v in value:
            _xml_add(parent, name, mshape.member, v)
    elif mshape.type_name == "map" and mshape.serialization.get("flattened"):
        name = mshape.serialization.get("name", mname)
        for k, v in value.items():
            entry = ET.SubElement(parent, name)
            _xml_add(entry, mshape.key.serialization.get("name", "key"), mshape.key, k)
            _xml_add(entry, mshape.value.serialization.get("name", "value"), mshape.value, v)
    else:
        _xml_add(parent, mshape.serialization.get("name", mname), mshape, value)


def xml_document(root):
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")


def query_response(service, op_model, data, request_id):
    ns = op_model.metadata.get("xmlNamespace", "")
    root = ET.Element(f"{op_model.name}Response", {"xmlns": ns})
    out = op_model.output_shape
    if out is not None:
        result = ET.SubElement(root, out.serialization.get("resultWrapper", f"{op_model.name}Result"))
        for mname, v in (data or {}).items():
            if mname not in out.members:
                raise RuntimeError(f"fake bug: {out.name} has no member {mname}")
            if v is not None:
                _xml_member(result, mname, out.members[mname], v)
    meta = ET.SubElement(root, "ResponseMetadata")
    ET.SubElement(meta, "RequestId").text = request_id
    return xml_document(root)


def ec2_response(op_model, data, request_id):
    ns = op_model.metadata.get("xmlNamespace", "").rstrip("/") + "/"
    root = ET.Element(f"{op_model.name}Response", {"xmlns": ns})
    ET.SubElement(root, "requestId").text = request_id
    out = op_model.output_shape
    for mname, v in (data or {}).items():
        if v is not None:
            _xml_member(root, mname, out.members[mname], v)
    return xml_document(root)


def json_value(shape, v, use_names):
    t = shape.type_name
    if t == "structure":
        out = {}
        for mname, item in v.items():
            if mname not in shape.members:
                raise RuntimeError(f"fake bug: {shape.name} has no member {mname}")
            m = shape.members[mname]
            if item is None or "location" in m.serialization:
                continue
            key = m.serialization.get("name", mname) if use_names else mname
            out[key] = json_value(m, item, use_names)
        return out
    if t == "list":
        return [json_value(shape.member, x, use_names) for x in v]
    if t == "map":
        return {k: json_value(shape.value, x, use_names) for k, x in v.items()}
    if t == "timestamp":
        return v if isinstance(v, (int, float)) else parse_time(v)
    if t == "blob":
        return base64.b64encode(v).decode()
    return v


# --------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------
EC2_CODES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}


class Fake:
    def __init__(self, credentials, region, delays):
        self.lock = threading.RLock()
        self.base_credentials = credentials
        self.region = region
        self.base_delays = dict(delays)
        self.reset()

    def reset(self):
        with self.lock:
            self.offset = 0.0
            self.delays = dict(self.base_delays)
            self.account_concurrency = 1000
            self.web_identity_token = None
            self.credentials_ttl = 3600.0      # IMDS and container credentials
            self.imds_v1 = False               # IMDS answers without a session token
            self.imds_tokens = {}              # token -> expiry (real clock)
            self.container_token = None        # required Authorization of the container endpoint
            self.role_name = "tide-role"
            self.credentials = {c["access_key"]: dict(c) for c in self.base_credentials}
            self.groups = {}
            self.instances = {}
            self.functions = {}
            self.metrics = []
            self.queues = {}
            self.faults = []
            self.log = []
            self.seq = 0
            self.counter = 0

    def now(self):
        return time.time() + self.offset

    def next_id(self, prefix, width=17):
        self.counter += 1
        return f"{prefix}0fa4e{self.counter:0{width - 5}x}"

    # ---- ticking: lazily applied transitions ----
    def tick(self):
        now = self.now()
        for g in self.groups.values():
            keep = []
            for inst in g["instances"]:
                if inst["lifecycle"] == "Pending" and now >= inst["since"] + self.delays["asg_pending"]:
                    inst["lifecycle"], inst["since"] = "InService", inst["since"] + self.delays["asg_pending"]
                if inst["lifecycle"] == "Terminating" and now >= inst["since"] + self.delays["asg_terminating"]:
                    continue
                keep.append(inst)
            g["instances"] = keep
        for inst in self.instances.values():
            if inst["state"] == "pending" and now >= inst["since"] + self.delays["ec2_pending"]:
                inst["state"], inst["since"] = "running", inst["since"] + self.delays["ec2_pending"]
                inst["public_ip"] = inst.get("public_ip_on_start")
            if inst["state"] == "stopping" and now >= inst["since"] + self.delays["ec2_stopping"]:
                inst["state"], inst["since"] = "stopped", inst["since"] + self.delays["ec2_stopping"]
        for fn in self.functions.values():
            if fn["update_status"] == "InProgress" and now >= fn["update_until"]:
                fn["update_status"] = "Successful"
            for pc in fn["provisioned"].values():
                if pc["status"] == "IN_PROGRESS" and now >= pc["ready_at"]:
                    pc["status"], pc["allocated"] = "READY", pc["requested"]

    # ---- Auto Scaling ----
    def asg_reconcile(self, g):
        now = self.now()
        active = [i for i in g["instances"] if i["lifecycle"] in ("Pending", "InService")]
        diff = g["desired"] - len(active)
        azs = g["availability_zones"]
        for n in range(diff):
            g["instances"].append({"id": self.next_id("i-"), "lifecycle": "Pending", "since": now,
                                   "az": azs[(len(active) + n) % len(azs)], "launched": now})
        if diff < 0:
            order = sorted(active, key=lambda i: (i["lifecycle"] != "Pending", -i["launched"], i["id"]))
            for inst in order[:-diff]:
                inst["lifecycle"], inst["since"] = "Terminating", now
        g["last_activity"] = now

    def seed_group(self, spec):
        name = spec["name"]
        now = self.now()
        g = {"name": name, "min": int(spec.get("min", 0)), "max": int(spec.get("max", 10)),
             "desired": int(spec.get("desired", spec.get("min", 0))),
             "availability_zones": list(spec.get("availability_zones") or [self.region + "a", self.region + "b"]),
             "instance_type": spec.get("instance_type", "t3.micro"), "tags": dict(spec.get("tags") or {}),
             "default_cooldown": int(spec.get("default_cooldown", 300)),
             "health_check_grace_period": int(spec.get("health_check_grace_period", 300)),
             "default_instance_warmup": spec.get("default_instance_warmup"),
             "launch_template": spec.get("launch_template", f"{name}-lt"), "created": now,
             "uuid": str(uuid.uuid5(uuid.NAMESPACE_DNS, name)), "instances": [], "last_activity": None}
        if not g["min"] <= g["desired"] <= g["max"]:
            raise ValueError(f"group {name}: need min <= desired <= max")
        state = "Pending" if spec.get("pending") else "InService"
        for i in range(g["desired"]):
            g["instances"].append({"id": self.next_id("i-"), "lifecycle": state, "since": now,
                                   "az": g["availability_zones"][i % len(g["availability_zones"])],
                                   "launched": now - 3600 + i})
        self.groups[name] = g
        return [i["id"] for i in g["instances"]]

    # ---- EC2 ----
    def seed_instance(self, spec):
        iid = spec.get("id") or self.next_id("i-")
        state = spec.get("state", "running")
        if state not in ("pending", "running", "stopping", "stopped"):
            raise ValueError(f"instance {iid}: state must be pending, running, stopping or stopped")
        n = len(self.instances) + 10
        ip = spec.get("private_ip", f"10.0.{n // 250}.{n % 250 + 4}")
        launch = parse_time(spec["launch_time"]) if "launch_time" in spec else self.now() - 86400 + n
        self.instances[iid] = {
            "id": iid, "state": state, "since": self.now(), "tags": dict(spec.get("tags") or {}),
            "instance_type": spec.get("instance_type", "t3.micro"),
            "az": spec.get("availability_zone", self.region + "a"), "private_ip": ip,
            "public_ip_on_start": spec.get("public_ip"),
            "public_ip": spec.get("public_ip") if state == "running" else None,
            "launch_time": launch, "image_id": spec.get("image_id", "ami-0fa4e000000000000"),
            "reservation": spec.get("reservation_id") or self.next_id("r-"),
            "state_reason": None, "transition_reason": "",
        }
        if state == "stopped":
            self.instances[iid]["state_reason"] = {"Code": "Client.UserInitiatedShutdown",
                                                   "Message": "Client.UserInitiatedShutdown: User initiated shutdown"}
        return iid

    # ---- Lambda ----
    def seed_function(self, spec):
        name = spec["name"]
        fn = {"name": name, "memory": int(spec.get("memory", 128)), "timeout": int(spec.get("timeout", 3)),
              "runtime": spec.get("runtime", "python3.12"), "handler": spec.get("handler", "app.handler"),
              "role": spec.get("role", f"arn:aws:iam::{ACCOUNT}:role/{name}-role"),
              "description": spec.get("description", ""), "code_size": int(spec.get("code_size", 1024)),
              "last_modified": self.now(), "revision": str(uuid.uuid4()),
              "update_status": "Successful", "update_until": 0.0,
              "versions": [str(v) for v in spec.get("versions", [])],
              "aliases": {k: str(v) for k, v in (spec.get("aliases") or {}).items()},
              "provisioned": {}}
        for q, n in (spec.get("provisioned") or {}).items():
            fn["provisioned"][q] = {"requested": int(n), "allocated": int(n), "status": "READY",
                                    "ready_at": self.now(), "modified": self.now()}
        self.functions[name] = fn

    def seed(self, body):
        created = {"instances": [], "autoscaling_instances": []}
        with self.lock:
            for g in body.get("autoscaling_groups", []):
                created["autoscaling_instances"] += self.seed_group(g)
            for i in body.get("instances", []):
                created["instances"].append(self.seed_instance(i))
            for f in body.get("functions", []):
                self.seed_function(f)
            for m in body.get("metrics", []):
                m = dict(m)
                if "timestamp" in m or "datapoints" in m:
                    m["datapoints"] = [dict(d) for d in m.get("datapoints", [])]
                    for d in m["datapoints"]:
                        if "timestamp" in d:
                            d["timestamp"] = parse_time(d["timestamp"])
                self.metrics = [x for x in self.metrics if _metric_key(x) != _metric_key(m)] + [m]
            for q in body.get("queues", []):
                self.queues[q["name"]] = {"name": q["name"], "visible": int(q.get("visible", 0)),
                                          "not_visible": int(q.get("not_visible", 0)),
                                          "delayed": int(q.get("delayed", 0)), "created": self.now(),
                                          "attributes": dict(q.get("attributes") or {})}
            for c in body.get("credentials", []):
                c = dict(c)
                if "expires_in" in c:
                    c["expires"] = self.now() + float(c.pop("expires_in"))
                self.credentials[c["access_key"]] = c
        return created

    def snapshot(self):
        with self.lock:
            self.tick()
            return {
                "clock": utc_iso(self.now()), "clock_offset": self.offset, "delays": self.delays,
                "autoscaling_groups": [
                    {"name": g["name"], "min": g["min"], "max": g["max"], "desired": g["desired"],
                     "default_cooldown": g["default_cooldown"],
                     "instances": [{"id": i["id"], "lifecycle": i["lifecycle"], "availability_zone": i["az"]}
                                   for i in g["instances"]]} for g in self.groups.values()],
                "instances": [{"id": i["id"], "state": i["state"], "tags": i["tags"],
                               "launch_time": utc_iso(i["launch_time"]), "state_reason": i["state_reason"]}
                              for i in self.instances.values()],
                "functions": [{"name": f["name"], "memory": f["memory"], "timeout": f["timeout"],
                               "last_update_status": f["update_status"], "versions": f["versions"],
                               "aliases": f["aliases"],
                               "provisioned": {q: {"requested": p["requested"], "allocated": p["allocated"],
                                                   "status": p["status"]} for q, p in f["provisioned"].items()}}
                              for f in self.functions.values()],
                "queues": [{k: v for k, v in q.items() if k != "created"} for q in self.queues.values()],
                "metrics": len(self.metrics),
                "credentials": sorted(self.credentials),
                "faults": list(self.faults),
            }


def _metric_key(m):
    if "expression" in m:
        return ("expr", m["expression"])
    return (m.get("namespace"), m.get("name"), tuple(sorted((m.get("dimensions") or {}).items())),
            m.get("statistic"))


# --------------------------------------------------------------------------------------------
# Operations
# --------------------------------------------------------------------------------------------
HANDLERS = {}


def operation(service, name):
    def register(fn):
        HANDLERS[(service, name)] = fn
        return fn
    return register


def asg_arn(ctx, g):
    return (f"arn:aws:autoscaling:{ctx.region}:{ACCOUNT}:autoScalingGroup:{g['uuid']}:"
            f"autoScalingGroupName/{g['name']}")


def asg_view(ctx, g):
    lt = {"LaunchTemplateId": "lt-0fa4e00000000000" + str(len(g["name"]) % 10),
          "LaunchTemplateName": g["launch_template"], "Version": "$Default"}
    view = {
        "AutoScalingGroupName": g["name"], "AutoScalingGroupARN": asg_arn(ctx, g), "LaunchTemplate": lt,
        "MinSize": g["min"], "MaxSize": g["max"], "DesiredCapacity": g["desired"],
        "DefaultCooldown": g["default_cooldown"], "AvailabilityZones": g["availability_zones"],
        "LoadBalancerNames": [], "TargetGroupARNs": [], "HealthCheckType": "EC2",
        "HealthCheckGracePeriod": g["health_check_grace_period"],
        "Instances": [{"InstanceId": i["id"], "InstanceType": g["instance_type"], "AvailabilityZone": i["az"],
                       "LifecycleState": i["lifecycle"], "HealthStatus": "Healthy", "LaunchTemplate": lt,
                       "ProtectedFromScaleIn": False} for i in sorted(g["instances"], key=lambda i: i["id"])],
        "CreatedTime": g["created"], "SuspendedProcesses": [], "VPCZoneIdentifier": "",
        "EnabledMetrics": [],
        "Tags": [{"ResourceId": g["name"], "ResourceType": "auto-scaling-group", "Key": k, "Value": v,
                  "PropagateAtLaunch": True} for k, v in sorted(g["tags"].items())],
        "TerminationPolicies": ["Default"], "NewInstancesProtectedFromScaleIn": False,
        "ServiceLinkedRoleARN": (f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/autoscaling.amazonaws.com/"
                                 "AWSServiceRoleForAutoScaling"),
        "CapacityRebalance": False,
    }
    if g["default_instance_warmup"] is not None:
        view["DefaultInstanceWarmup"] = int(g["default_instance_warmup"])
    return view


def get_group(ctx, name):
    g = ctx.fake.groups.get(name)
    if g is None:
        raise ApiError(400, "ValidationError", f"AutoScalingGroup name not found - AutoScalingGroup '{name}' not found")
    return g


def _token_encode(n):
    return base64.b64encode(json.dumps({"offset": n}).encode()).decode()


def _token_decode(token, code, message):
    try:
        n = json.loads(base64.b64decode(token, validate=True))["offset"]
        if isinstance(n, int) and n >= 0:
            return n
    except (ValueError, KeyError, TypeError):
        pass
    raise ApiError(400, code, message)


@operation("autoscaling", "DescribeAutoScalingGroups")
def describe_asgs(ctx, p):
    groups = sorted(ctx.fake.groups.values(), key=lambda g: g["name"])
    names = p.get("AutoScalingGroupNames")
    if names:
        groups = [g for g in groups if g["name"] in names]
    for f in p.get("Filters", []):
        name, values = f.get("Name", ""), f.get("Values", [])
        if name.startswith("tag:"):
            groups = [g for g in groups if g["tags"].get(name[4:]) in values]
        elif name == "tag-key":
            groups = [g for g in groups if any(k in values for k in g["tags"])]
        elif name == "tag-value":
            groups = [g for g in groups if any(v in values for v in g["tags"].values())]
        else:
            raise ApiError(400, "ValidationError", f"Filter name '{name}' is invalid.")
    limit = p.get("MaxRecords", 50)
    if not 1 <= limit <= 100:
        raise ApiError(400, "ValidationError", "MaxRecords must be between 1 and 100")
    start = 0
    if "NextToken" in p:
        start = _token_decode(p["NextToken"], "InvalidNextToken", "The token provided is invalid.")
    page = groups[start:start + limit]
    out = {"AutoScalingGroups": [asg_view(ctx, g) for g in page]}
    if start + limit < len(groups):
        out["NextToken"] = _token_encode(start + limit)
    return out


@operation("autoscaling", "SetDesiredCapacity")
def set_desired_capacity(ctx, p):
    g = get_group(ctx, p["AutoScalingGroupName"])
    n = p["DesiredCapacity"]
    if n > g["max"]:
        raise ApiError(400, "ValidationError",
                       f"New SetDesiredCapacity value {n} is above max value {g['max']} for the AutoScaling group.")
    if n < g["min"]:
        raise ApiError(400, "ValidationError",
                       f"New SetDesiredCapacity value {n} is below min value {g['min']} for the AutoScaling group.")
    if p.get("HonorCooldown") and g["last_activity"] is not None and \
            ctx.fake.now() < g["last_activity"] + g["default_cooldown"]:
        raise ApiError(400, "ScalingActivityInProgress",
                       "You cannot set desired capacity while a scaling activity is in progress.")
    if n != g["desired"]:  # the same value again is no scaling activity
        g["desired"] = n
        ctx.fake.asg_reconcile(g)
    return None


@operation("autoscaling", "UpdateAutoScalingGroup")
def update_asg(ctx, p):
    g = get_group(ctx, p["AutoScalingGroupName"])
    lo, hi = p.get("MinSize", g["min"]), p.get("MaxSize", g["max"])
    desired = p.get("DesiredCapacity")
    if lo > hi:
        raise ApiError(400, "ValidationError", f"Max bound, {hi}, must be greater than or equal to min bound, {lo}")
    if desired is None:
        desired = min(max(g["desired"], lo), hi)
    if not lo <= desired <= hi:
        raise ApiError(400, "ValidationError",
                       f"Desired capacity:{desired} must be between the specified min size:{lo} and max size:{hi}")
    g["min"], g["max"] = lo, hi
    if "DefaultCooldown" in p:
        g["default_cooldown"] = p["DefaultCooldown"]
    if "HealthCheckGracePeriod" in p:
        g["health_check_grace_period"] = p["HealthCheckGracePeriod"]
    if "DefaultInstanceWarmup" in p:
        g["default_instance_warmup"] = p["DefaultInstanceWarmup"]
    if desired != g["desired"]:
        g["desired"] = desired
        ctx.fake.asg_reconcile(g)
    return None


# ---- EC2 ----
INSTANCE_ID_RE = re.compile(r"^i-([0-9a-f]{8}|[0-9a-f]{17})$")


def ec2_instance_view(ctx, i):
    ip = i["private_ip"]
    view = {  # in the order of AWS's documented example
        "InstanceId": i["id"], "ImageId": i["image_id"],
        "State": {"Code": EC2_CODES[i["state"]], "Name": i["state"]},
        "PrivateDnsName": f"ip-{ip.replace('.', '-')}.ec2.internal", "PublicDnsName": "",
        "StateTransitionReason": i["transition_reason"], "AmiLaunchIndex": 0, "ProductCodes": [],
        "InstanceType": i["instance_type"], "LaunchTime": i["launch_time"],
        "Placement": {"AvailabilityZone": i["az"], "GroupName": "", "Tenancy": "default"},
        "Monitoring": {"State": "disabled"}, "PrivateIpAddress": ip, "SubnetId": "subnet-0fa4e000000000000",
        "VpcId": "vpc-0fa4e000000000000", "Architecture": "x86_64", "BlockDeviceMappings": [],
        "ClientToken": "", "EbsOptimized": False, "EnaSupport": True, "Hypervisor": "xen",
        "NetworkInterfaces": [], "RootDeviceName": "/dev/xvda", "RootDeviceType": "ebs",
        "SecurityGroups": [], "SourceDestCheck": True, "VirtualizationType": "hvm",
        "Tags": [{"Key": k, "Value": v} for k, v in sorted(i["tags"].items())],
    }
    if i["public_ip"]:
        view["PublicIpAddress"] = i["public_ip"]
    if i["state_reason"]:
        view["StateReason"] = i["state_reason"]
    return view


def _ec2_lookup(ctx, ids):
    bad = [x for x in ids if not INSTANCE_ID_RE.match(x)]
    if bad:
        raise ApiError(400, "InvalidInstanceID.Malformed", f'Invalid id: "{bad[0]}"')
    missing = [x for x in ids if x not in ctx.fake.instances]
    if len(missing) == 1:
        raise ApiError(400, "InvalidInstanceID.NotFound", f"The instance ID '{missing[0]}' does not exist")
    if missing:
        raise ApiError(400, "InvalidInstanceID.NotFound", f"The instance IDs '{', '.join(missing)}' do not exist")
    return [ctx.fake.instances[x] for x in ids]


def _dry_run(p):
    if p.get("DryRun"):
        raise ApiError(412, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")


@operation("ec2", "DescribeInstances")
def describe_instances(ctx, p):
    _dry_run(p)
    ids = p.get("InstanceIds")
    if ids and "MaxResults" in p:
        raise ApiError(400, "InvalidParameterCombination",
                       "The parameter instancesSet cannot be used with the parameter maxResults")
    found = _ec2_lookup(ctx, ids) if ids else sorted(ctx.fake.instances.values(), key=lambda i: i["id"])
    for f in p.get("Filters", []):
        name, patterns = f.get("Name", ""), f.get("Values", [])

        def match(v):
            return v is not None and any(fnmatch.fnmatchcase(v, pat) for pat in patterns)
        if name.startswith("tag:"):
            found = [i for i in found if match(i["tags"].get(name[4:]))]
        elif name == "tag-key":
            found = [i for i in found if any(match(k) for k in i["tags"])]
        elif name == "tag-value":
            found = [i for i in found if any(match(v) for v in i["tags"].values())]
        elif name == "instance-state-name":
            found = [i for i in found if match(i["state"])]
        elif name == "instance-state-code":
            found = [i for i in found if match(str(EC2_CODES[i["state"]]))]
        elif name == "instance-id":
            found = [i for i in found if match(i["id"])]
        elif name == "instance-type":
            found = [i for i in found if match(i["instance_type"])]
        elif name == "availability-zone":
            found = [i for i in found if match(i["az"])]
        else:
            raise ApiError(400, "InvalidParameterValue", f"The filter '{name}' is invalid")
    start, out = 0, {}
    if "MaxResults" in p:
        limit = p["MaxResults"]
        if not 5 <= limit <= 1000:
            raise ApiError(400, "InvalidParameterValue",
                           f"Value ( {limit} ) for parameter maxResults is invalid. Expecting a value greater "
                           "than 5 and less than 1000.")
        if "NextToken" in p:
            start = _token_decode(p["NextToken"], "InvalidParameterValue", "The token is invalid.")
        if start + limit < len(found):
            out["NextToken"] = _token_encode(start + limit)
        found = found[start:start + limit]
    elif "NextToken" in p:
        raise ApiError(400, "InvalidParameterValue", "NextToken is only valid with MaxResults.")
    out["Reservations"] = [{"ReservationId": i["reservation"], "OwnerId": ACCOUNT, "Groups": [],
                            "Instances": [ec2_instance_view(ctx, i)]} for i in found]
    return out


def _change(i, previous):
    return {"InstanceId": i["id"], "CurrentState": {"Code": EC2_CODES[i["state"]], "Name": i["state"]},
            "PreviousState": {"Code": EC2_CODES[previous], "Name": previous}}


@operation("ec2", "StartInstances")
def start_instances(ctx, p):
    found = _ec2_lookup(ctx, p["InstanceIds"])
    for i in found:
        if i["state"] in ("stopping", "shutting-down", "terminated"):
            raise ApiError(400, "IncorrectInstanceState",
                           f"The instance '{i['id']}' is not in a state from which it can be started.")
    _dry_run(p)
    now, changes = ctx.fake.now(), []
    for i in found:
        previous = i["state"]
        if previous == "stopped":
            i.update(state="pending", since=now, launch_time=now, state_reason=None, transition_reason="")
        changes.append(_change(i, previous))
    return {"StartingInstances": changes}


@operation("ec2", "StopInstances")
def stop_instances(ctx, p):
    found = _ec2_lookup(ctx, p["InstanceIds"])
    for i in found:
        if i["state"] in ("pending", "shutting-down", "terminated"):
            raise ApiError(400, "IncorrectInstanceState",
                           f"This instance '{i['id']}' is not in a state from which it can be stopped.")
    _dry_run(p)
    now, changes = ctx.fake.now(), []
    stamp = datetime.datetime.fromtimestamp(now, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S GMT")
    for i in found:
        previous = i["state"]
        if previous == "running":
            i.update(state="stopping", since=now, public_ip=None, transition_reason=f"User initiated ({stamp})",
                     state_reason={"Code": "Client.UserInitiatedShutdown",
                                   "Message": "Client.UserInitiatedShutdown: User initiated shutdown"})
        changes.append(_change(i, previous))
    return {"StoppingInstances": changes}


# ---- CloudWatch ----
STAT_RE = re.compile(r"^(Average|Sum|Minimum|Maximum|SampleCount|IQM|(p|tm|wm|tc|ts|TM|WM|TC|TS|PR)"
                     r"[0-9.:()%A-Za-z]*)$")
ID_RE = re.compile(r"^[a-z][a-zA-Z0-9_]*$")


def _series_for(ctx, q, start, end):
    """(timestamps, values) newest first for one MetricStat query, from the seeds."""
    ms = q["MetricStat"]
    metric = ms.get("Metric", {})
    dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
    period = ms["Period"]
    now = ctx.fake.now()
    for m in reversed(ctx.fake.metrics):
        if "expression" in m or m.get("namespace") != metric.get("Namespace") or m.get("name") != metric.get("MetricName"):
            continue
        if (m.get("dimensions") or {}) != dims:
            continue
        if m.get("statistic") and m["statistic"] != ms["Stat"]:
            continue
        return _points(m, start, end, period, now, ms["Stat"])
    return [], []


AGGREGATES = {"Sum": sum, "Minimum": min, "Maximum": max, "SampleCount": len,
              "Average": lambda v: sum(v) / len(v)}


def _points(m, start, end, period, now, stat=None):
    """A seed's datapoints in [start, end), aggregated into `period` buckets by `stat` (Average for
    statistics the fake does not compute, such as percentiles), newest first. A constant seed
    ("value") gives one datapoint per complete period."""
    if "value" in m and "datapoints" not in m:
        points, t = [], (min(end, now) // period) * period
        if t >= min(end, now):
            t -= period
        while t >= start and len(points) < 1440:
            points.append((t, float(m["value"])))
            t -= period
    else:
        buckets = {}
        for d in m.get("datapoints", []):
            t = d["timestamp"] if "timestamp" in d else now - float(d.get("ago", 0))
            t = (t // period) * period
            if start <= t < end:
                buckets.setdefault(t, []).append(float(d["value"]))
        aggregate = AGGREGATES.get(stat, AGGREGATES["Average"])
        points = sorted(((t, float(aggregate(v))) for t, v in buckets.items()), key=lambda x: -x[0])
    return [p[0] for p in points], [p[1] for p in points]


def _eval_expression(expr, series):
    """Arithmetic over other queries' series, aligned on timestamps."""
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError:
        return None

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id not in series:
                raise KeyError(node.id)
            return dict(zip(*series[node.id]))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            v = ev(node.operand)
            return {t: -x for t, x in v.items()} if isinstance(v, dict) else -v
        if isinstance(node, ast.BinOp) and type(node.op) in (ast.Add, ast.Sub, ast.Mult, ast.Div):
            a, b = ev(node.left), ev(node.right)

            def op(x, y):
                if isinstance(node.op, ast.Add):
                    return x + y
                if isinstance(node.op, ast.Sub):
                    return x - y
                if isinstance(node.op, ast.Mult):
                    return x * y
                return x / y if y else float("nan")
            if isinstance(a, dict) and isinstance(b, dict):
                return {t: op(a[t], b[t]) for t in a if t in b}
            if isinstance(a, dict):
                return {t: op(x, b) for t, x in a.items()}
            if isinstance(b, dict):
                return {t: op(a, x) for t, x in b.items()}
            return op(a, b)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in ("SUM", "AVG", "MIN", "MAX") and len(node.args) == 1 and \
                isinstance(node.args[0], ast.List):
            parts = [ev(x) for x in node.args[0].elts]
            stamps = set()
            for s in parts:
                if isinstance(s, dict):
                    stamps |= set(s)
            out = {}
            for t in stamps:
                vals = [s[t] if isinstance(s, dict) else s for s in parts if not isinstance(s, dict) or t in s]
                out[t] = {"SUM": sum, "MIN": min, "MAX": max,
                          "AVG": lambda v: sum(v) / len(v)}[node.func.id](vals)
            return out
        raise ValueError("unsupported")

    try:
        v = ev(tree)
    except (KeyError, ValueError):
        return None
    if not isinstance(v, dict):
        return None
    items = sorted(((t, x) for t, x in v.items() if x == x), key=lambda x: -x[0])
    return [t for t, _ in items], [x for _, x in items]


@operation("monitoring", "GetMetricData")
def get_metric_data(ctx, p):
    queries = p["MetricDataQueries"]
    if len(queries) > 500:
        raise ApiError(400, "ValidationError", "The collection MetricDataQueries must not have more than 500 members.")
    start, end = p["StartTime"], p["EndTime"]
    if start >= end:
        raise ApiError(400, "ValidationError", "The parameter StartTime must be less than the parameter EndTime.")
    seen = set()
    for n, q in enumerate(queries, 1):
        where = f"MetricDataQueries.member.{n}"
        if not ID_RE.match(q["Id"]):
            raise ApiError(400, "ValidationError",
                           f"The value {q['Id']} for parameter {where}.Id is invalid: it must start with a lowercase letter.")
        if q["Id"] in seen:
            raise ApiError(400, "ValidationError", f"The value {q['Id']} for parameter {where}.Id is not unique.")
        seen.add(q["Id"])
        if ("MetricStat" in q) == ("Expression" in q):
            raise ApiError(400, "ValidationError", f"Exactly one element of the MetricStat or the Expression "
                                                   f"for {where} must be present.")
        if "MetricStat" in q:
            ms = q["MetricStat"]
            period = ms["Period"]
            if period not in (1, 5, 10, 30) and period % 60:
                raise ApiError(400, "ValidationError", f"The parameter {where}.MetricStat.Period must be 1, 5, 10, "
                                                       "30 or a multiple of 60.")
            if not STAT_RE.match(ms["Stat"]):
                raise ApiError(400, "ValidationError", f"The value {ms['Stat']} for parameter "
                                                       f"{where}.MetricStat.Stat is not a valid statistic.")
    series = {}
    for q in queries:
        if "MetricStat" in q:
            series[q["Id"]] = _series_for(ctx, q, start, end)
    results = []
    for q in queries:
        if "Expression" in q:
            seeded = [m for m in ctx.fake.metrics if m.get("expression") == q["Expression"]]
            if seeded:
                period = q.get("Period", 60)
                series[q["Id"]] = _points(seeded[-1], start, end, period, ctx.fake.now(), "Average")
            else:
                got = _eval_expression(q["Expression"], series)
                if got is None:
                    raise ApiError(400, "ValidationError",
                                   f"fake-aws cannot evaluate the expression {q['Expression']!r}: seed it by its text")
                series[q["Id"]] = got
    for q in queries:
        if not q.get("ReturnData", True):
            continue
        stamps, values = series[q["Id"]]
        if p.get("ScanBy") == "TimestampAscending":
            stamps, values = stamps[::-1], values[::-1]
        label = q.get("Label") or (q["MetricStat"]["Metric"].get("MetricName", q["Id"]) if "MetricStat" in q else q["Id"])
        results.append({"Id": q["Id"], "Label": label, "Timestamps": stamps, "Values": values,
                        "StatusCode": "Complete", "Messages": []})
    return {"MetricDataResults": results, "Messages": []}


# ---- SQS ----
def _queue(ctx, url):
    path = urlsplit(url).path if "://" in url else url
    parts = [x for x in path.split("/") if x]
    name = parts[-1] if parts else ""
    q = ctx.fake.queues.get(name)
    if q is None or (len(parts) >= 2 and parts[-2] != ACCOUNT):
        raise ApiError(400, "AWS.SimpleQueueService.NonExistentQueue",
                       "The specified queue does not exist for this wsdl version." if ctx.wire == "query"
                       else "The specified queue does not exist.")
    return q


@operation("sqs", "GetQueueUrl")
def get_queue_url(ctx, p):
    if p["QueueName"] not in ctx.fake.queues:
        raise ApiError(400, "AWS.SimpleQueueService.NonExistentQueue",
                       "The specified queue does not exist for this wsdl version." if ctx.wire == "query"
                       else "The specified queue does not exist.")
    return {"QueueUrl": f"http://{ctx.host}/{ACCOUNT}/{p['QueueName']}"}


@operation("sqs", "GetQueueAttributes")
def get_queue_attributes(ctx, p):
    q = _queue(ctx, p["QueueUrl"])
    known = MODELS["sqs"].shape_for("QueueAttributeName").enum
    names = p.get("AttributeNames", [])
    for n in names:
        if n not in known:
            raise ApiError(400, "InvalidAttributeName", f"Unknown Attribute {n}.")
    created = int(q["created"])
    attrs = {
        "ApproximateNumberOfMessages": str(q["visible"]),
        "ApproximateNumberOfMessagesNotVisible": str(q["not_visible"]),
        "ApproximateNumberOfMessagesDelayed": str(q["delayed"]),
        "CreatedTimestamp": str(created), "LastModifiedTimestamp": str(created),
        "QueueArn": f"arn:aws:sqs:{ctx.region}:{ACCOUNT}:{q['name']}", "VisibilityTimeout": "30",
        "MaximumMessageSize": "262144", "MessageRetentionPeriod": "345600", "DelaySeconds": "0",
        "ReceiveMessageWaitTimeSeconds": "0", "SqsManagedSseEnabled": "true",
    }
    attrs.update(q["attributes"])
    if "All" in names:
        return {"Attributes": attrs}
    return {"Attributes": {n: attrs[n] for n in names if n in attrs}} if names else {}


# ---- Lambda ----
FUNCTION_RE = re.compile(r"^(?:arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:(\d{12}):function:|(\d{12}):function:)?"
                         r"([a-zA-Z0-9_.-]+)(?::(\$LATEST|[a-zA-Z0-9_-]+))?$")


def _function(ctx, ref):
    m = FUNCTION_RE.match(ref)
    if not m:
        raise ApiError(400, "InvalidParameterValueException", f"Invalid function name: {ref}")
    account = m.group(1) or m.group(2)
    fn = ctx.fake.functions.get(m.group(3))
    if fn is None or (account and account != ACCOUNT):
        raise ApiError(404, "ResourceNotFoundException",
                       f"Function not found: arn:aws:lambda:{ctx.region}:{ACCOUNT}:function:{m.group(3)}",
                       fields={"Type": "User"})
    return fn, m.group(4)


def function_arn(ctx, fn, qualifier=None):
    arn = f"arn:aws:lambda:{ctx.region}:{ACCOUNT}:function:{fn['name']}"
    return f"{arn}:{qualifier}" if qualifier else arn


def _resolve_qualifier(ctx, fn, qualifier):
    """-> published version the qualifier names ('$LATEST' for $LATEST), or 404."""
    if qualifier in (None, "$LATEST"):
        return "$LATEST"
    if qualifier in fn["aliases"]:
        return fn["aliases"][qualifier]
    if qualifier in fn["versions"]:
        return qualifier
    if qualifier.isdigit():
        raise ApiError(404, "ResourceNotFoundException",
                       f"Function not found: {function_arn(ctx, fn, qualifier)}", fields={"Type": "User"})
    raise ApiError(404, "ResourceNotFoundException", f"Cannot find alias arn: {function_arn(ctx, fn, qualifier)}",
                   fields={"Type": "User"})


def function_view(ctx, fn, qualifier=None):
    version = _resolve_qualifier(ctx, fn, qualifier)
    view = {
        "FunctionName": fn["name"], "FunctionArn": function_arn(ctx, fn, qualifier), "Runtime": fn["runtime"],
        "Role": fn["role"], "Handler": fn["handler"], "CodeSize": fn["code_size"], "Description": fn["description"],
        "Timeout": fn["timeout"], "MemorySize": fn["memory"], "LastModified": lambda_time(fn["last_modified"]),
        "CodeSha256": base64.b64encode(hashlib.sha256(fn["name"].encode()).digest()).decode(),
        "Version": version, "TracingConfig": {"Mode": "PassThrough"}, "RevisionId": fn["revision"],
        "State": "Active", "LastUpdateStatus": fn["update_status"], "PackageType": "Zip",
        "Architectures": ["x86_64"], "EphemeralStorage": {"Size": 512},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
    }
    if fn["update_status"] == "InProgress":
        view["LastUpdateStatusReason"] = "The function is being created."
        view["LastUpdateStatusReasonCode"] = "Creating"
    return view


@operation("lambda", "GetFunctionConfiguration")
def get_function_configuration(ctx, p):
    fn, q = _function(ctx, p["FunctionName"])
    return function_view(ctx, fn, p.get("Qualifier") or q)


@operation("lambda", "UpdateFunctionConfiguration")
def update_function_configuration(ctx, p):
    fn, q = _function(ctx, p["FunctionName"])
    if q not in (None, "$LATEST"):
        raise ApiError(400, "InvalidParameterValueException",
                       "Cannot update a function version or alias; update $LATEST (the function name without a qualifier).")
    if "Timeout" in p and p["Timeout"] > 900:
        raise ApiError(400, "ValidationException",
                       f"1 validation error detected: Value '{p['Timeout']}' at 'timeout' failed to satisfy "
                       "constraint: Member must have value less than or equal to 900")
    if "RevisionId" in p and p["RevisionId"] != fn["revision"]:
        raise ApiError(412, "PreconditionFailedException",
                       "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias "
                       "API to retrieve the latest Revision Id", fields={"Type": "User"})
    if fn["update_status"] == "InProgress":
        raise ApiError(409, "ResourceConflictException",
                       "The operation cannot be performed at this time. An update is in progress for resource: "
                       + function_arn(ctx, fn), fields={"Type": "User"})
    for key, field in (("MemorySize", "memory"), ("Timeout", "timeout"), ("Description", "description"),
                       ("Handler", "handler"), ("Runtime", "runtime"), ("Role", "role")):
        if key in p:
            fn[field] = p[key]
    now = ctx.fake.now()
    fn.update(last_modified=now, revision=str(uuid.uuid4()), update_status="InProgress",
              update_until=now + ctx.fake.delays["lambda_update"])
    if ctx.fake.delays["lambda_update"] <= 0:
        fn["update_status"] = "Successful"
    return function_view(ctx, fn)


def _provisioned_target(ctx, p):
    fn, _ = _function(ctx, p["FunctionName"])
    qualifier = p["Qualifier"]
    if qualifier == "$LATEST":
        raise ApiError(400, "InvalidParameterValueException",
                       "Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
    _resolve_qualifier(ctx, fn, qualifier)
    return fn, qualifier


def _provisioned_view(pc):
    return {"RequestedProvisionedConcurrentExecutions": pc["requested"],
            "AvailableProvisionedConcurrentExecutions": pc["allocated"],
            "AllocatedProvisionedConcurrentExecutions": pc["allocated"], "Status": pc["status"],
            "LastModified": lambda_time(pc["modified"])}


@operation("lambda", "PutProvisionedConcurrencyConfig")
def put_provisioned(ctx, p):
    fn, qualifier = _provisioned_target(ctx, p)
    n = p["ProvisionedConcurrentExecutions"]
    others = sum(pc["requested"] for f in ctx.fake.functions.values() for q, pc in f["provisioned"].items()
                 if not (f is fn and q == qualifier))
    if others + n > ctx.fake.account_concurrency - 100:
        raise ApiError(400, "InvalidParameterValueException",
                       "Specified ConcurrentExecutions for function decreases account's "
                       "UnreservedConcurrentExecution below its minimum value of [100].")
    now = ctx.fake.now()
    old = fn["provisioned"].get(qualifier)
    pc = {"requested": n, "allocated": old["allocated"] if old else 0, "status": "IN_PROGRESS",
          "ready_at": now + ctx.fake.delays["provisioned_ready"], "modified": now}
    if ctx.fake.delays["provisioned_ready"] <= 0:
        pc.update(status="READY", allocated=n)
    fn["provisioned"][qualifier] = pc
    return _provisioned_view(pc)


@operation("lambda", "GetProvisionedConcurrencyConfig")
def get_provisioned(ctx, p):
    fn, qualifier = _provisioned_target(ctx, p)
    pc = fn["provisioned"].get(qualifier)
    if pc is None:
        raise ApiError(404, "ProvisionedConcurrencyConfigNotFoundException",
                       "No Provisioned Concurrency Config found for this function", fields={"Type": "User"})
    return _provisioned_view(pc)


@operation("lambda", "DeleteProvisionedConcurrencyConfig")
def delete_provisioned(ctx, p):
    fn, qualifier = _provisioned_target(ctx, p)
    if fn["provisioned"].pop(qualifier, None) is None:
        raise ApiError(404, "ProvisionedConcurrencyConfigNotFoundException",
                       "No Provisioned Concurrency Config found for this function", fields={"Type": "User"})
    return None


# ---- STS ----
def _jwt_claims(token):
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        pad = "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + pad))
        return claims if isinstance(claims, dict) else {}
    except ValueError:
        return {}


@operation("sts", "AssumeRoleWithWebIdentity")
def assume_role_with_web_identity(ctx, p):
    want = ctx.fake.web_identity_token
    if want is not None and p["WebIdentityToken"] != want:
        raise ApiError(400, "InvalidIdentityToken",
                       "The web identity token that was passed could not be validated by AWS. Get a new identity "
                       "token from the identity provider and then retry the request.")
    m = re.match(r"^arn:aws[a-zA-Z-]*:iam::(\d{12}):role/(?:.*/)?([^/]+)$", p["RoleArn"])
    if not m:
        raise ApiError(400, "ValidationError", f"{p['RoleArn']} is invalid")
    duration = p.get("DurationSeconds", 3600)
    claims = _jwt_claims(p["WebIdentityToken"])
    ctx.fake.counter += 1
    access_key = f"ASIAFAKE{ctx.fake.counter:012X}"
    secret = secrets.token_urlsafe(30)[:40]
    token = "FwoGZXIvYXdzEFAKE" + secrets.token_urlsafe(48)
    expires = ctx.fake.now() + duration
    role = m.group(2)
    ctx.fake.credentials[access_key] = {"access_key": access_key, "secret_key": secret, "session_token": token,
                                        "expires": expires, "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/"
                                                                   f"{p['RoleSessionName']}"}
    aud = claims.get("aud", "sts.amazonaws.com")
    return {
        "Credentials": {"AccessKeyId": access_key, "SecretAccessKey": secret, "SessionToken": token,
                        "Expiration": expires},
        "SubjectFromWebIdentityToken": str(claims.get("sub", "system:serviceaccount:default:tide")),
        "AssumedRoleUser": {"AssumedRoleId": f"AROAFAKE{abs(hash(role)) % 10**12:012d}:{p['RoleSessionName']}",
                            "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{p['RoleSessionName']}"},
        "Provider": str(claims.get("iss", "oidc.fake.example")),
        "Audience": aud if isinstance(aud, str) else str(aud[0]),
    }


@operation("sts", "GetCallerIdentity")
def get_caller_identity(ctx, p):
    cred = ctx.fake.credentials.get(ctx.access_key, {})
    return {"UserId": ctx.access_key, "Account": ACCOUNT,
            "Arn": cred.get("arn", f"arn:aws:iam::{ACCOUNT}:user/tide-test")}


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------
LAMBDA_ROUTES = []
for _op in MODELS["lambda"].operation_names:
    _om = MODELS["lambda"].operation_model(_op)
    _path, _, _fixed = _om.http["requestUri"].partition("?")
    _rx = re.sub(r"\\\{([A-Za-z0-9_]+)\\\+\\\}", r"(?P<\1>.+)", re.escape(_path))
    _rx = re.sub(r"\\\{([A-Za-z0-9_]+)\\\}", r"(?P<\1>[^/]+)", _rx)
    LAMBDA_ROUTES.append((_om.http["method"], re.compile("^" + _rx + "$"), dict(parse_qsl(_fixed, keep_blank_values=True)), _op))
LAMBDA_ROUTES.sort(key=lambda r: -len(r[2]))  # routes with a fixed query part (?List=ALL) first


class Ctx:
    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-aws"

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("fake-aws: " + (fmt % args) + "\n")

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_GET

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send(self, status, body, content_type, headers=None):
        hook, self.before_answer = getattr(self, "before_answer", None), None
        if hook is not None:
            hook(status)
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def dispatch(self):
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.send(400, b"bad request body", "text/plain")
            return
        if self.path.startswith("/_fake/") or self.path == "/_fake":
            self.control(body)
        elif self.path.startswith("/latest/"):
            self.credential_endpoint("imds")
        elif self.path.startswith("/v2/credentials"):
            self.credential_endpoint("container")
        else:
            self.aws(body)

    # ---- credential endpoints: EC2 instance metadata (IMDSv2) and the container endpoint ----
    def credential_endpoint(self, service):
        """Temporary credentials as IMDS (AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:PORT)
        and the ECS/EKS container endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI=
        http://127.0.0.1:PORT/v2/credentials/ANYTHING) hand them out; the fake then accepts them
        until they expire on its clock. Faults apply (service "imds" or "container", operations
        PutToken, GetRoleName, GetCredentials); throttling is HTTP 429, as IMDS does."""
        fake = self.server.fake
        path = urlsplit(self.path).path
        role_prefix = "/latest/meta-data/iam/security-credentials/"
        if service == "container":
            op = "GetCredentials"
        elif path == "/latest/api/token":
            op = "PutToken"
        elif path == role_prefix:
            op = "GetRoleName"
        elif path.startswith(role_prefix):
            op = "GetCredentials"
        else:
            op = "Unknown"
        with fake.lock:
            fake.seq += 1
            seq = fake.seq
        status, note = 200, None

        def record(sent=None):  # before the answer is written, as for AWS requests
            self.before_answer = None
            final = sent if sent is not None else status
            with fake.lock:
                fake.log.append({"seq": seq, "time": utc_iso(fake.now()), "service": service, "operation": op,
                                 "protocol": "http", "method": self.command, "path": path, "params": None,
                                 "signature": "unsigned", "access_key": None, "region": None,
                                 "status": final, "error": None if final == 200 else str(final), "fault": note})
                fake.log.sort(key=lambda e: e["seq"])
                del fake.log[:-LOG_LIMIT]

        self.before_answer = record
        try:
            with fake.lock:
                f = self.take_fault(type("C", (), {"fake": fake, "service": service, "op": op})())
            if f is not None:
                note = f["kind"]
                if f["kind"] == "delay":
                    time.sleep(f["seconds"])
                elif f["kind"] == "reset":
                    status = 0
                    self.close_connection = True
                    return
                else:
                    status = {"throttle": 429, "internal": 500, "unavailable": 503, "denied": 403,
                              "expired": 401}.get(f["kind"], int(f.get("status") or 500))
                    return self.send(status, (f.get("message") or f["kind"]).encode(), "text/plain")
            if service == "imds":
                status = self.imds(op, path[len(role_prefix):])
            else:
                want = fake.container_token
                if want is not None and self.headers.get("Authorization") != want:
                    status = 403
                    return self.send(403, json.dumps({"code": "AccessDenied",
                                                      "message": "Authorization token is invalid"}).encode(),
                                     "application/json")
                cred = self.issue_credentials(service)
                body = {"AccessKeyId": cred["access_key"], "SecretAccessKey": cred["secret_key"],
                        "Token": cred["session_token"], "Expiration": utc_iso(cred["expires"], millis=False),
                        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/{fake.role_name}"}
                self.send(200, json.dumps(body).encode(), "application/json")
        finally:
            if self.before_answer is not None:  # not answered (a reset)
                record()

    def issue_credentials(self, source):
        fake = self.server.fake
        with fake.lock:
            fake.counter += 1
            access_key = f"ASIAFAKE{fake.counter:012X}"
            cred = {"access_key": access_key, "secret_key": secrets.token_urlsafe(30)[:40],
                    "session_token": "IQoJb3JpZ2luFAKE" + secrets.token_urlsafe(48),
                    "expires": fake.now() + fake.credentials_ttl, "source": source,
                    "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{fake.role_name}/{source}"}
            fake.credentials[access_key] = cred
            return cred

    def imds(self, op, role):
        """IMDSv2: PUT /latest/api/token (X-aws-ec2-metadata-token-ttl-seconds 1..21600), then
        GETs with X-aws-ec2-metadata-token. Returns the HTTP status sent."""
        fake = self.server.fake
        now = time.time()
        if op == "PutToken":
            if self.command != "PUT":
                self.send(405, b"", "text/plain")
                return 405
            try:
                ttl = int(self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", ""))
            except ValueError:
                ttl = 0
            if not 1 <= ttl <= 21600:
                self.send(400, b"", "text/plain")
                return 400
            token = "AQAEAFAKE" + secrets.token_urlsafe(32)
            with fake.lock:
                fake.imds_tokens = {t: e for t, e in fake.imds_tokens.items() if e > now}
                fake.imds_tokens[token] = now + ttl
            self.send(200, token.encode(), "text/plain", {"X-aws-ec2-metadata-token-ttl-seconds": str(ttl)})
            return 200
        token = self.headers.get("X-aws-ec2-metadata-token")
        with fake.lock:
            valid = token is not None and fake.imds_tokens.get(token, 0) > now
            v1 = fake.imds_v1
        if token is not None and not valid or token is None and not v1:
            self.send(401, b"", "text/plain")
            return 401
        if self.command != "GET" or op == "Unknown":
            self.send(404, b"", "text/plain")
            return 404
        if op == "GetRoleName":
            self.send(200, fake.role_name.encode(), "text/plain")
            return 200
        if role != fake.role_name:
            self.send(404, b"", "text/plain")
            return 404
        cred = self.issue_credentials("imds")
        body = {"Code": "Success", "LastUpdated": utc_iso(fake.now(), millis=False), "Type": "AWS-HMAC",
                "AccessKeyId": cred["access_key"], "SecretAccessKey": cred["secret_key"],
                "Token": cred["session_token"], "Expiration": utc_iso(cred["expires"], millis=False)}
        self.send(200, json.dumps(body, indent=2).encode(), "text/plain")
        return 200

    # ---- control API ----
    def control(self, body):
        fake = self.server.fake
        url = urlsplit(self.path)
        route = url.path.rstrip("/")
        args = dict(parse_qsl(url.query))
        try:
            payload = json.loads(body) if body.strip() else {}
        except ValueError as e:
            return self.reply_json(400, {"error": f"invalid JSON: {e}"})
        try:
            if route == "/_fake/reset" and self.command == "POST":
                fake.reset()
                return self.reply_json(200, {"ok": True})
            if route == "/_fake/seed" and self.command == "POST":
                return self.reply_json(200, dict(ok=True, **fake.seed(payload)))
            if route == "/_fake/state" and self.command == "GET":
                return self.reply_json(200, fake.snapshot())
            if route == "/_fake/requests" and self.command == "GET":
                with fake.lock:
                    entries = [e for e in fake.log if e["seq"] > int(args.get("since", 0))]
                if "operation" in args:
                    entries = [e for e in entries if e["operation"] == args["operation"]]
                return self.reply_json(200, {"requests": entries})
            if route == "/_fake/faults":
                with fake.lock:
                    if self.command == "POST":
                        for f in payload if isinstance(payload, list) else [payload]:
                            kind = f.get("kind")
                            if kind not in ("throttle", "internal", "delay", "expired", "denied", "unavailable",
                                            "reset", "error"):
                                raise ValueError(f"unknown fault kind {kind!r}")
                            if kind == "error" and not all(k in f for k in ("status", "code")):
                                raise ValueError("an 'error' fault needs status and code")
                            fake.faults.append({"kind": kind, "service": f.get("service", "*"),
                                                "operation": f.get("operation", "*"), "count": int(f.get("count", 1)),
                                                "seconds": float(f.get("seconds", 0)), "status": f.get("status"),
                                                "code": f.get("code"), "message": f.get("message")})
                    elif self.command == "DELETE":
                        fake.faults.clear()
                    return self.reply_json(200, {"faults": list(fake.faults)})
            if route == "/_fake/clock" and self.command == "POST":
                with fake.lock:
                    fake.tick()
                    fake.offset += float(payload.get("advance", 0))
                    fake.tick()
                    return self.reply_json(200, {"now": utc_iso(fake.now()), "offset": fake.offset})
            if route == "/_fake/config" and self.command == "POST":
                with fake.lock:
                    fake.tick()
                    for k, v in (payload.get("delays") or {}).items():
                        if k not in fake.delays:
                            raise ValueError(f"unknown delay {k!r}; known: {', '.join(fake.delays)}")
                        fake.delays[k] = float(v)
                    if "account_concurrency" in payload:
                        fake.account_concurrency = int(payload["account_concurrency"])
                    if "web_identity_token" in payload:
                        fake.web_identity_token = payload["web_identity_token"]
                    if "credentials_ttl" in payload:
                        fake.credentials_ttl = float(payload["credentials_ttl"])
                    if "imds_v1" in payload:
                        fake.imds_v1 = bool(payload["imds_v1"])
                    if "container_token" in payload:
                        fake.container_token = payload["container_token"]
                    if "role_name" in payload:
                        fake.role_name = str(payload["role_name"])
                    return self.reply_json(200, {"delays": fake.delays,
                                                 "account_concurrency": fake.account_concurrency})
        except (ValueError, KeyError, TypeError) as e:
            return self.reply_json(400, {"error": f"{type(e).__name__}: {e}"})
        return self.reply_json(404, {"error": f"no control route {self.command} {url.path}"})

    def reply_json(self, status, obj):
        self.send(status, json.dumps(obj, indent=1, default=str).encode(), "application/json")

    # ---- AWS ----
    def aws(self, body):
        fake = self.server.fake
        ctx = Ctx()
        ctx.fake, ctx.request_id, ctx.body = fake, str(uuid.uuid4()), body
        ctx.host = self.headers.get("Host", "%s:%d" % self.server.server_address[:2])
        ctx.service, ctx.op, ctx.wire, ctx.region = None, None, "query", fake.region
        ctx.access_key, ctx.signature, ctx.params, ctx.fault = None, "missing", None, None
        url = urlsplit(self.path)
        ctx.path, ctx.query = url.path, url.query
        status, code, reset = 200, None, False
        with fake.lock:
            fake.seq += 1
            seq = fake.seq

        def record(sent=None):
            # Logged before the answer is written (send() calls it with the status it sends), so
            # that a client holding its answer finds the request in /_fake/requests; once.
            self.before_answer = None
            final = sent if sent is not None else status
            with fake.lock:
                fake.log.append({"seq": seq, "time": utc_iso(fake.now()), "service": ctx.service,
                                 "operation": ctx.op, "protocol": ctx.wire, "method": self.command,
                                 "path": self.path if ctx.wire == "rest-json" else url.path,
                                 "params": _jsonable(ctx.params), "signature": ctx.signature,
                                 "access_key": ctx.access_key, "region": ctx.region,
                                 "status": final, "error": code, "fault": ctx.fault})
                fake.log.sort(key=lambda e: e["seq"])  # a delayed request finishes after later ones
                del fake.log[:-LOG_LIMIT]

        self.before_answer = record
        try:
            try:
                self.identify(ctx)
                self.authenticate(ctx)
                with fake.lock:
                    fault = self.take_fault(ctx)
                if fault is not None:
                    ctx.fault = fault["kind"]
                    if fault["kind"] == "delay":
                        time.sleep(fault["seconds"])
                    elif fault["kind"] == "reset":
                        reset = True
                        raise ApiError(0, "ConnectionReset", "connection closed by fault injection")
                    else:
                        raise self.fault_error(ctx, fault)
                if ctx.op_error is not None:
                    raise ctx.op_error
                params = self.parse_input(ctx)
                handler = HANDLERS.get((ctx.service, ctx.op))
                if handler is None:
                    raise ApiError(501, "NotImplemented", f"fake-aws does not implement {ctx.service}:{ctx.op}")
                with fake.lock:
                    fake.tick()
                    result = handler(ctx, params)
                self.answer(ctx, result)
            except ApiError as e:
                status, code = e.status, e.code
                if reset:
                    self.close_connection = True
                    return
                self.answer_error(ctx, e)
        except Exception as e:  # a bug in the fake: say so loudly, in the service's format
            status, code = 500, "FakeInternalError"
            import traceback
            traceback.print_exc()
            self.answer_error(ctx, ApiError(500, "InternalFailure", f"fake-aws bug: {type(e).__name__}: {e}"))
        finally:
            if self.before_answer is not None:  # not answered (a reset) or not logged yet
                record()

    def take_fault(self, ctx):
        for f in ctx.fake.faults:
            if f["service"] in ("*", ctx.service) and f["operation"] in ("*", ctx.op):
                f["count"] -= 1
                if f["count"] <= 0:
                    ctx.fake.faults.remove(f)
                return f
        return None

    def fault_error(self, ctx, f):
        kind = f["kind"]
        if kind == "throttle":
            return throttle_error(ctx.service)
        if kind == "error":
            return ApiError(int(f["status"]), f["code"], f.get("message") or f["code"])
        return common_error(ctx.service, kind, f.get("message"), f"{ctx.service}:{ctx.op}")

    def identify(self, ctx):
        """Service (from the credential scope), wire protocol, operation and raw input."""
        ctx.op_error, ctx.fixed_query = None, set()
        auth = self.headers.get("Authorization")
        ctx.auth = None
        target = self.headers.get("X-Amz-Target", "")
        if auth is not None:
            ctx.auth, why = parse_authorization(auth)
            if ctx.auth is None:
                ctx.service = self.guess_service(target, ctx.body)
                ctx.wire = "json" if target and "json_target" in SERVICES[ctx.service] else \
                    SERVICES[ctx.service]["wire"]
                ctx.signature = "error: " + why
                raise common_error(ctx.service, "incomplete", why)
            ctx.service, ctx.region, ctx.access_key = ctx.auth["service"], ctx.auth["region"], ctx.auth["access_key"]
            if ctx.service not in SERVICES:
                ctx.signature = "error: unknown service"
                raise ApiError(400, "InvalidService", f"fake-aws does not serve the service '{ctx.service}' "
                                                      f"(it serves {', '.join(SERVICES)})")
        else:
            ctx.service = self.guess_service(target, ctx.body)
        spec, model = SERVICES[ctx.service], MODELS[ctx.service]
        if spec["wire"] == "rest-json":
            ctx.wire = "rest-json"
            query = dict(parse_qsl(ctx.query, keep_blank_values=True))
            for method, rx, fixed, op in LAMBDA_ROUTES:
                m = rx.match(ctx.path)
                if m and method == self.command and all(k in query and (not v or query[k] == v)
                                                        for k, v in fixed.items()):
                    ctx.op, ctx.uri_params = op, {k: unquote(v) for k, v in m.groupdict().items()}
                    ctx.fixed_query = set(fixed)
                    break
            else:
                ctx.op_error = ApiError(404, "UnknownOperationException", "Unknown operation")
            return
        if target and "json_target" in spec:
            prefix, _, op = target.partition(".")
            ctx.wire, ctx.op = "json", op
            if prefix != spec["json_target"] or op not in model.operation_names:
                ctx.op_error = ApiError(400, "UnknownOperationException", f"Unknown operation {target}")
            return
        ctx.wire = spec["wire"]
        if ctx.path.startswith("/service/"):
            ctx.op_error = ApiError(501, "NotImplemented", "fake-aws does not speak the smithy-rpc-v2-cbor protocol; "
                                                           "use the Query or awsJson1_0 protocol")
            return
        flat = dict(parse_qsl(ctx.query, keep_blank_values=True))
        ctype = self.headers.get("Content-Type", "")
        if ctx.body and "x-www-form-urlencoded" in ctype:
            flat.update(parse_qsl(ctx.body.decode("utf-8", "replace"), keep_blank_values=True))
        if ctx.service == "sqs" and "QueueUrl" not in flat and re.fullmatch(r"/\d{12}/[^/]+", ctx.path):
            flat["QueueUrl"] = f"http://{ctx.host}{ctx.path}"  # the older style: POST to the queue's URL
        ctx.flat = flat
        ctx.op = flat.get("Action")
        if ctx.op is None:
            ctx.op_error = ApiError(400, "MissingAction", "Missing Action")
        elif ctx.op not in model.operation_names:
            ctx.op_error = ApiError(400, "InvalidAction", f"The action {ctx.op} is not valid for this web service.")
        elif flat.get("Version") != model.api_version:
            ctx.op_error = ApiError(400, "InvalidAction" if "Version" in flat else "MissingParameter",
                                    f"Version must be {model.api_version}, got {flat.get('Version')}")

    def guess_service(self, target, body):
        """The service of a request without a credential scope (unsigned or malformed)."""
        if target.partition(".")[0] in JSON_TARGETS:
            return JSON_TARGETS[target.partition(".")[0]]
        if re.match(r"^/20\d\d-\d\d-\d\d/", urlsplit(self.path).path):
            return "lambda"
        flat = dict(parse_qsl(urlsplit(self.path).query))
        if "x-www-form-urlencoded" in self.headers.get("Content-Type", ""):
            flat.update(parse_qsl(body.decode("utf-8", "replace")))
        action = flat.get("Action")
        for name in ("sts", "autoscaling", "monitoring", "sqs", "ec2"):
            if action in MODELS[name].operation_names:
                return name
        return "sts"

    def authenticate(self, ctx):
        fake = self.server.fake
        if ctx.auth is None:
            body_action = ctx.op
            if (ctx.service, body_action) in UNSIGNED_OPERATIONS:
                ctx.signature = "unsigned"
                return
            raise common_error(ctx.service, "missing_auth")
        a = ctx.auth
        signed = [h.strip().lower() for h in a["signed_headers"]]
        amz_date = self.headers.get("X-Amz-Date")
        if amz_date is None:
            ctx.signature = "error: no X-Amz-Date"
            raise common_error(ctx.service, "incomplete", "Authorization header requires existence of either a "
                                                          "'X-Amz-Date' or a 'Date' header.")
        if "host" not in signed or "x-amz-date" not in signed:
            ctx.signature = "error: host and x-amz-date must be signed"
            raise common_error(ctx.service, "signature",
                               "'Host' and 'X-Amz-Date' must be named in SignedHeaders. " + SIGNATURE_MESSAGE)
        with fake.lock:
            cred = fake.credentials.get(a["access_key"])
        if cred is None:
            ctx.signature = "error: unknown access key"
            raise common_error(ctx.service, "unknown_key")
        token = self.headers.get("X-Amz-Security-Token")
        if token != cred.get("session_token"):
            ctx.signature = "error: session token mismatch"
            raise common_error(ctx.service, "unknown_key")
        if token is not None and "x-amz-security-token" not in signed and ctx.service != "lambda":
            pass  # AWS accepts an unsigned token header for most services
        sha = self.headers.get("X-Amz-Content-SHA256")
        if sha is not None and sha != "UNSIGNED-PAYLOAD" and sha != hashlib.sha256(ctx.body).hexdigest():
            ctx.signature = "invalid"
            raise common_error(ctx.service, "signature",
                               "The provided 'x-amz-content-sha256' header does not match what was computed.")
        host = ctx.host
        url = f"http://{host}{self.path}"
        expected, canonical = sigv4_signature(cred["secret_key"], a["access_key"], a["service"], a["region"],
                                              self.command, url, list(self.headers.items()), ctx.body, amz_date,
                                              signed)
        if not hmac.compare_digest(expected, a["signature"]):
            ctx.signature = "invalid"
            message = SIGNATURE_MESSAGE
            if self.server.verbose:
                message += "\n\nThe Canonical String for this request should have been\n'" + canonical + "'\n"
            raise common_error(ctx.service, "signature", message)
        if a["date"] != amz_date[:8]:
            ctx.signature = "invalid"
            raise common_error(ctx.service, "signature", f"Date in Credential scope does not match YYYYMMDD from "
                                                         f"ISO-8601 version of date from HTTP: '{a['date']}' != "
                                                         f"'{amz_date[:8]}', from '{amz_date}'.")
        try:
            signed_at = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
                tzinfo=datetime.timezone.utc).timestamp()
        except ValueError:
            ctx.signature = "invalid"
            raise common_error(ctx.service, "incomplete", f"Invalid X-Amz-Date: {amz_date}")
        real_now = time.time()
        if abs(real_now - signed_at) > MAX_SKEW_SECONDS:
            ctx.signature = "error: signature expired"
            if ctx.service == "ec2":
                raise ApiError(400, "RequestExpired", "Request has expired.")
            now_s = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(real_now))
            limit = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(real_now - MAX_SKEW_SECONDS))
            raise common_error(ctx.service, "signature",
                               f"Signature expired: {amz_date} is now earlier than {limit} ({now_s} - 15 min.)")
        ctx.signature = "valid"
        if "expires" in cred and fake.now() >= cred["expires"]:
            raise common_error(ctx.service, "expired")

    def parse_input(self, ctx):
        model = MODELS[ctx.service]
        op_model = model.operation_model(ctx.op)
        shape = op_model.input_shape
        try:
            if ctx.wire in ("query", "ec2"):
                params = parse_query_params(shape, ctx.flat, ec2=ctx.wire == "ec2")
            elif ctx.wire == "json":
                try:
                    raw = json.loads(ctx.body or b"{}")
                except ValueError:
                    raise ApiError(400, "SerializationException", "Request body is not valid JSON")
                params = parse_json_value(shape, raw, "") if shape is not None else {}
            else:
                params = self.parse_rest(ctx, shape)
        except InputError as e:
            ctx.params = {"_raw": getattr(ctx, "flat", None) or ctx.body.decode("utf-8", "replace")}
            raise validation_error(ctx.service, e.problems, e.kind)
        ctx.params = params
        if shape is not None:
            problems = []
            # SQS checks attribute names itself (InvalidAttributeName), not as a model enum.
            check_constraints(shape, params, "", problems, enums=ctx.service != "sqs")
            if problems:
                if ctx.service == "ec2":
                    missing = [p for p in problems if p[2] == "Member must not be null"]
                    if missing:
                        name = missing[0][0]
                        raise validation_error("ec2", [(name[:1].upper() + name[1:], None, "")], "missing")
                raise validation_error(ctx.service, problems)
        return params

    def parse_rest(self, ctx, shape):
        params = {}
        query = parse_qsl(ctx.query, keep_blank_values=True)
        consumed = set()
        if shape is None:
            return params
        body_members = {}
        for mname, m in shape.members.items():
            loc, wire = m.serialization.get("location"), m.serialization.get("name", mname)
            if loc == "uri":
                if wire in ctx.uri_params:
                    params[mname] = _scalar_from_text(m, ctx.uri_params[wire], mname)
            elif loc == "querystring":
                for k, v in query:
                    if k == wire:
                        consumed.add(k)
                        params[mname] = _scalar_from_text(m, v, mname)
            elif loc == "header":
                if self.headers.get(wire) is not None:
                    params[mname] = _scalar_from_text(m, self.headers.get(wire), mname)
            else:
                body_members[wire] = mname
        unknown = [k for k, _ in query if k not in consumed and k not in ctx.fixed_query]
        if unknown:
            raise InputError("unknown", [(k, None, "Unknown query parameter") for k in unknown])
        if ctx.body.strip():
            try:
                raw = json.loads(ctx.body)
            except ValueError:
                raise ApiError(400, "InvalidRequestContentException", "Could not parse request body into json")
            if not isinstance(raw, dict):
                raise ApiError(400, "InvalidRequestContentException", "Request body must be a JSON object")
            for k, v in raw.items():
                if k not in body_members:
                    raise InputError("unknown", [(k, None, "Unknown parameter")])
                val = parse_json_value(shape.members[body_members[k]], v, k)
                if val is not MISSING:
                    params[body_members[k]] = val
        return params

    def answer(self, ctx, result):
        model = MODELS[ctx.service]
        op_model = model.operation_model(ctx.op)
        headers = {"x-amzn-RequestId": ctx.request_id}
        if ctx.wire == "query":
            self.send(200, query_response(ctx.service, op_model, result, ctx.request_id), "text/xml", headers)
        elif ctx.wire == "ec2":
            self.send(200, ec2_response(op_model, result, ctx.request_id), "text/xml;charset=UTF-8", headers)
        elif ctx.wire == "json":
            body = json.dumps(json_value(op_model.output_shape, result or {}, False)
                              if op_model.output_shape is not None else {}).encode()
            self.send(200, body, "application/x-amz-json-1.0", headers)
        else:
            status = op_model.http.get("responseCode", 200)
            ctx.status = status
            out = op_model.output_shape
            if out is None or result is None:
                self.send(status, b"", "application/json", headers)
            else:
                self.send(status, json.dumps(json_value(out, result, True)).encode(), "application/json", headers)

    def answer_error(self, ctx, e):
        headers = {"x-amzn-RequestId": ctx.request_id}
        headers.update(e.headers)
        if ctx.wire == "ec2" or (ctx.service == "ec2" and ctx.wire != "json"):
            root = ET.Element("Response")
            err = ET.SubElement(ET.SubElement(root, "Errors"), "Error")
            ET.SubElement(err, "Code").text = e.code
            ET.SubElement(err, "Message").text = e.message
            ET.SubElement(root, "RequestID").text = ctx.request_id
            self.send(e.status, xml_document(root), "text/xml;charset=UTF-8", headers)
        elif ctx.wire == "rest-json":
            headers["x-amzn-ErrorType"] = e.code
            key = "message"
            try:
                if "Message" in MODELS["lambda"].shape_for(e.code).members:
                    key = "Message"
            except Exception:
                key = "Message" if e.code in ("AccessDeniedException", "ResourceNotFoundException") else "message"
            body = {"Type": "User" if e.status < 500 else "Service", key: e.message}
            body.update(e.fields)
            self.send(e.status, json.dumps(body).encode(), "application/json", headers)
        elif ctx.wire == "json":
            spec = SERVICES.get(ctx.service, {})
            headers["x-amzn-query-error"] = f"{e.code};{'Sender' if e.status < 500 else 'Receiver'}"
            body = {"__type": f"{spec.get('json_ns', 'com.amazonaws')}#{JSON_ERROR_CODES.get(e.code, e.code)}",
                    "message": e.message}
            self.send(e.status, json.dumps(body).encode(), "application/x-amz-json-1.0", headers)
        else:
            ns = MODELS[ctx.service].metadata.get("xmlNamespace", "") if ctx.service in MODELS else ""
            root = ET.Element("ErrorResponse", {"xmlns": ns} if ns else {})
            err = ET.SubElement(root, "Error")
            ET.SubElement(err, "Type").text = "Sender" if e.status < 500 else "Receiver"
            ET.SubElement(err, "Code").text = e.code
            ET.SubElement(err, "Message").text = e.message
            if ctx.service == "sqs":
                ET.SubElement(err, "Detail")
            ET.SubElement(root, "RequestId").text = ctx.request_id
            self.send(e.status, xml_document(root), "text/xml", headers)


def _jsonable(v):
    if isinstance(v, bytes):
        return base64.b64encode(v).decode()
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    return v


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def ctl(argv):
    """`fake_aws.py ctl URL METHOD PATH [JSON]`: one control-API call, for shell scripts without
    curl. Prints the JSON answer; exits 1 on an HTTP error."""
    import urllib.error
    import urllib.request
    if len(argv) not in (3, 4):
        sys.exit("usage: fake_aws.py ctl http://127.0.0.1:PORT METHOD /_fake/ROUTE [JSON]")
    url, method, path = argv[0].rstrip("/"), argv[1].upper(), argv[2]
    data = argv[3].encode() if len(argv) == 4 else None
    req = urllib.request.Request(url + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            sys.stdout.write(r.read().decode() + "\n")
    except urllib.error.HTTPError as e:
        sys.stdout.write(e.read().decode() + "\n")
        sys.exit(1)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["ctl"]:
        return ctl(argv[1:])
    ap = argparse.ArgumentParser(description="A FAKE AWS endpoint for tests (see the file's header).")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--access-key", default=DEFAULT_ACCESS_KEY)
    ap.add_argument("--secret-key", default=DEFAULT_SECRET_KEY)
    ap.add_argument("--session-token", default=None)
    ap.add_argument("--region", default="us-east-1", help="region used in ARNs when a request has none")
    ap.add_argument("--delay", action="append", default=[], metavar="NAME=SECONDS",
                    help="transition delays: " + ", ".join(DEFAULT_DELAYS))
    ap.add_argument("--seed", help="a JSON file in /_fake/seed's format, loaded at start")
    ap.add_argument("--verbose", action="store_true", help="log requests to stderr")
    a = ap.parse_args(argv)
    delays = dict(DEFAULT_DELAYS)
    for d in a.delay:
        k, _, v = d.partition("=")
        if k not in delays:
            ap.error(f"unknown delay {k!r}; known: {', '.join(delays)}")
        delays[k] = float(v)
    cred = {"access_key": a.access_key, "secret_key": a.secret_key}
    if a.session_token:
        cred["session_token"] = a.session_token
    server = Server((a.host, a.port), Handler)
    server.fake = Fake([cred], a.region, delays)
    server.verbose = a.verbose
    if a.seed:
        with open(a.seed) as f:
            server.fake.seed(json.load(f))
    print(f"fake-aws listening on {server.server_address[0]}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
