#!/usr/bin/python3
"""Cross-checks tide's AWS requests against botocore (Debian's python3-botocore).

Reads the JSON file tide's src/aws/botocore_crosscheck_test.cpp writes: one case per API call
tide makes, with the request tide built and signed (method, URL, headers, body, Authorization),
the fixed time and credentials it signed with, and the same call as botocore input (operation
and parameters). For each case:

1. botocore's SigV4Auth signs the same request (same bytes, same time, same credentials) and its
   Authorization header must equal tide's;
2. the signing name tide used must be the one botocore's service model gives;
3. botocore's own serializer, given the input, must produce the same request parameters
   (Query protocol: the same form fields; REST-JSON: the same method, path, query and JSON body),
   so tide asks for what the SDKs ask for.

Prints one line per case; exits 1 when any check fails, 2 when botocore is missing.
Run with /usr/bin/python3 (Debian's botocore is not in a pyenv interpreter).
"""

import datetime
import json
import sys
import urllib.parse
from unittest import mock

try:
    import botocore
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials
    import botocore.serialize
    import botocore.session
except ImportError as e:  # pragma: no cover
    print(f"botocore is not installed ({e}): apt-get install python3-botocore", file=sys.stderr)
    sys.exit(2)

SKIP_HEADERS = {"authorization", "x-amz-date", "x-amz-security-token"}


def frozen_datetime(amz_date):
    fixed = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")

    class Frozen(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return cls(fixed.year, fixed.month, fixed.day, fixed.hour, fixed.minute, fixed.second)

        @classmethod
        def now(cls, tz=None):
            return cls(fixed.year, fixed.month, fixed.day, fixed.hour, fixed.minute, fixed.second,
                       tzinfo=tz)

    return Frozen


def botocore_authorization(case, amz_date):
    headers = {k: v for k, v in case["headers"] if k.lower() not in SKIP_HEADERS}
    request = botocore.awsrequest.AWSRequest(
        method=case["method"], url=case["url"], headers=headers,
        data=case["body"].encode("utf-8") if case["body"] else None)
    creds = case["credentials"]
    credentials = botocore.credentials.Credentials(
        creds["access_key"], creds["secret_key"], creds.get("token") or None)
    signer = botocore.auth.SigV4Auth(credentials, case["signing_name"], case["region"])
    with mock.patch.object(botocore.auth.datetime, "datetime", frozen_datetime(amz_date)):
        signer.add_auth(request)
    return request.headers["Authorization"]


def as_strings(params):
    return {k: str(v) for k, v in params.items()}


def check_serialization(case, model):
    op = model.operation_model(case["operation"])
    serializer = botocore.serialize.create_serializer(model.metadata["protocol"])
    serialized = serializer.serialize_to_request(case["input"], op)
    protocol = model.metadata["protocol"]
    problems = []
    if protocol in ("query", "ec2"):
        tide = dict(urllib.parse.parse_qsl(case["body"], keep_blank_values=True))
        boto = as_strings(serialized["body"])
        if tide != boto:
            only_tide = {k: v for k, v in tide.items() if boto.get(k) != v}
            only_boto = {k: v for k, v in boto.items() if tide.get(k) != v}
            problems.append(f"form differs: tide {only_tide} botocore {only_boto}")
    else:  # rest-json
        parts = urllib.parse.urlsplit(case["url"])
        prefix = urllib.parse.urlsplit(case["endpoint"]).path.rstrip("/")
        path = parts.path[len(prefix):]
        if case["method"] != serialized["method"]:
            problems.append(f"method {case['method']} != {serialized['method']}")
        if path != serialized["url_path"]:
            problems.append(f"path {path} != {serialized['url_path']}")
        tide_query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        if tide_query != as_strings(serialized["query_string"]):
            problems.append(f"query {tide_query} != {serialized['query_string']}")
        boto_body = serialized["body"]
        boto_json = json.loads(boto_body) if boto_body else None
        tide_json = json.loads(case["body"]) if case["body"] else None
        if boto_json == {}:
            boto_json = None
        if tide_json != boto_json:
            problems.append(f"body {tide_json} != {boto_json}")
    return problems


def main(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    session = botocore.session.get_session()
    failures = 0
    print(f"botocore {botocore.__version__}, {len(doc['cases'])} cases")
    for case in doc["cases"]:
        problems = []
        model = session.get_service_model(case["botocore_service"])
        signing = model.metadata.get("signingName", model.metadata["endpointPrefix"])
        if signing != case["signing_name"]:
            problems.append(f"signing name {case['signing_name']} != botocore's {signing}")
        try:
            boto_auth = botocore_authorization(case, doc["time"])
            if boto_auth != case["authorization"]:
                problems.append(f"Authorization differs:\n  tide     {case['authorization']}\n"
                                f"  botocore {boto_auth}")
        except Exception as e:  # a crash in one case must not hide the others
            problems.append(f"botocore could not sign: {e!r}")
        try:
            problems += check_serialization(case, model)
        except Exception as e:
            problems.append(f"botocore could not serialize: {e!r}")
        if problems:
            failures += 1
            print(f"FAIL {case['name']}: " + "; ".join(problems))
        else:
            print(f"ok   {case['name']}")
    print(f"{len(doc['cases']) - failures} ok, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: sigv4_crosscheck.py CASES.json", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
