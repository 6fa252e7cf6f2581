// AWS Signature Version 4 (header form), on OpenSSL's SHA-256 and HMAC. Not libcurl's SigV4,
// which fails AWS's own test suite in Debian 12 (see ../shared/aws-sigv4-testsuite/README.md).
//
// The steps are pure functions so that each can be checked against the suite's .creq, .sts and
// .authz files; sign() strings them together for a real request:
//
//   canonical_request(method, path, query, headers, payload_hash)   (.creq)
//   string_to_sign(amz_date, scope, canonical_request)               (.sts)
//   signature(signing_key(secret, date, region, service), sts)
//   authorization(access_key_id, scope, signed_headers, signature)   (.authz)
//
// Paths are normalised (RFC 3986 dot segments, repeated slashes) and URI-encoded once more on top
// of the wire encoding, as every service but S3 expects; the query is decoded, re-encoded
// (RFC 3986 unreserved kept) and sorted by key, then value; header names are lower-cased, values
// trimmed with inner whitespace runs (including folded lines) collapsed to one space, repeated
// headers joined with ',' in their order.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "core/http.hpp"
#include "core/result.hpp"
#include "core/time.hpp"

namespace tide::aws {

// Long-term or temporary credentials. `session_token` is empty for long-term keys; `expires` is
// set for temporary ones. Never print the secret or the token (see credentials.hpp).
struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  std::optional<TimePoint> expires;
  std::string source;  // where they came from ("environment", "profile dev", ...), for messages
};

// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

// HMAC-SHA256.
std::array<unsigned char, 32> hmac_sha256(std::string_view key, std::string_view data);

// "20150830T123600Z" (UTC, seconds).
std::string amz_date(TimePoint t);

// Percent-encodes all but RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~), upper-case hex;
// '/' is kept when `keep_slash`.
std::string uri_encode(std::string_view text, bool keep_slash);

// The canonical URI of a path as written in the request line: dot segments and empty segments
// removed (when `normalize`), then uri_encode(..., keep_slash = true). An empty path is "/".
std::string canonical_uri(std::string_view path, bool normalize = true);

// The canonical query string of a raw query (without '?'): each `k=v` pair percent-decoded,
// re-encoded, sorted by key then value; a key without '=' gets an empty value.
std::string canonical_query(std::string_view query);

struct CanonicalHeaders {
  std::string text;            // "name:value\n" per header, sorted by name
  std::string signed_headers;  // "name1;name2"
};

// Canonicalises `headers` (all of them: the caller chooses which to sign).
CanonicalHeaders canonical_headers(const HttpHeaders& headers);

// The canonical request (.creq). `path` and `query` as they appear in the request line.
std::string canonical_request(std::string_view method, std::string_view path,
                              std::string_view query, const HttpHeaders& headers,
                              std::string_view payload_hash, bool normalize_path = true);

// "20150830/us-east-1/service/aws4_request".
std::string credential_scope(std::string_view date8, std::string_view region,
                             std::string_view service);

// The string to sign (.sts): algorithm, amz date, scope, hex SHA-256 of the canonical request.
std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request);

// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date8), region), service), "aws4_request").
std::array<unsigned char, 32> signing_key(std::string_view secret, std::string_view date8,
                                          std::string_view region, std::string_view service);

// Hex HMAC of the string to sign under the signing key.
std::string signature(const std::array<unsigned char, 32>& key, std::string_view string_to_sign);

// The Authorization header value (.authz).
std::string authorization(std::string_view access_key_id, std::string_view scope,
                          std::string_view signed_headers, std::string_view signature);

struct SignOptions {
  // Sign X-Amz-Security-Token (every service tide calls); false adds it after signing (the
  // suite's post-sts-header-after case).
  bool sign_session_token = true;
  // Add X-Amz-Content-Sha256 (S3 needs it; none of tide's services does).
  bool content_sha256_header = false;
  // false for S3 (object keys keep "//" and "..").
  bool normalize_path = true;
};

// Signs `request` in place for `service` (the signing name, e.g. "monitoring" for CloudWatch) in
// `region` at `now`: removes any earlier Authorization / X-Amz-Date / X-Amz-Security-Token, adds
// Host (from the URL, without a default port, unless present), X-Amz-Date, X-Amz-Security-Token
// when the credentials have a session token, X-Amz-Content-Sha256 when asked, and Authorization.
// Every header of the request is signed except User-Agent, Expect, Transfer-Encoding and
// X-Amzn-Trace-Id (as botocore). Errors: a URL that is not http(s), empty keys.
Result<void> sign(HttpRequest& request, const Credentials& credentials, std::string_view region,
                  std::string_view service, TimePoint now, const SignOptions& options = {});

}  // namespace tide::aws
