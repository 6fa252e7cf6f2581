// Errors of AWS API calls, parsed from the services' error responses, classified for retries as
// the SDKs' "standard" retry mode does, and printed as "<service> <action>: <Code>: <message>
// (request id <id>)". They never carry credentials: the client scrubs the secret key and session
// token from every message (scrub()).
//
// Formats: Query protocol <ErrorResponse><Error><Code/><Message/></Error><RequestId/>; EC2
// <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/>; JSON protocols the
// X-Amzn-ErrorType header ("Code:uri") or the body's __type ("ns#Code"), `message` / `Message`,
// and X-Amzn-RequestId.
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include "aws/sigv4.hpp"
#include "core/http.hpp"
#include "core/result.hpp"

namespace tide::aws {

struct AwsError {
  ErrorCode code = ErrorCode::kUnavailable;
  std::string aws_code;    // "AccessDenied"; "" for a transport error or an unreadable response
  std::string message;     // AWS's message, or the transport error
  std::string request_id;  // "" when unknown
  long http_status = 0;    // 0: no HTTP response (transport error)
  bool timeout = false;    // the request timed out (no response)
  std::string context;     // "autoscaling DescribeAutoScalingGroups", set by the client
  std::string note;        // what the client did about it: "(after 3 attempts)"

  // "<context>: <Code>: <message> (request id <id>) <note>"
  std::string text() const;
  Error to_error() const { return Error{code, text()}; }
};

template <class T>
using AwsResult = std::expected<T, AwsError>;

inline std::unexpected<AwsError> aws_fail(AwsError e) {
  return std::unexpected<AwsError>(std::move(e));
}

// An error from an HTTP response with a non-2xx status (Query/EC2 XML or JSON body; either is
// tried so that a proxy's or a fake's body still gives something readable).
AwsError parse_error_response(const HttpResponse& response);

// An error from a transport failure (no response).
AwsError transport_error(const Error& error);

// The standard retry mode's classes.
bool is_throttling(const AwsError& e);     // Throttling, ThrottlingException, ..., SlowDown
bool is_transient(const AwsError& e);      // 500/502/503/504, RequestTimeout..., transport errors
bool is_expired_token(const AwsError& e);  // ExpiredToken, ExpiredTokenException, RequestExpired

// `text` with every occurrence of the secret access key and session token replaced by "***".
std::string scrub(std::string text, const Credentials& credentials);

}  // namespace tide::aws
