#include "aws/errors.hpp"

#include <gtest/gtest.h>

namespace tide::aws {
namespace {

struct ErrorCase {
  const char* name;
  long status;
  HttpHeaders headers;
  std::string body;
  std::string want_text;  // with context "svc Op"
  ErrorCode want_code;
  bool throttling;
  bool transient;
};

class ParseErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ParseErrorTest, Parses) {
  const ErrorCase& c = GetParam();
  HttpResponse r;
  r.status = c.status;
  r.headers = c.headers;
  r.body = c.body;
  AwsError e = parse_error_response(r);
  e.context = "svc Op";
  EXPECT_EQ(e.text(), c.want_text);
  EXPECT_EQ(e.code, c.want_code);
  EXPECT_EQ(is_throttling(e), c.throttling);
  EXPECT_EQ(is_transient(e), c.transient);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseErrorTest,
    ::testing::Values(
        ErrorCase{"query_protocol",
                  403,
                  {},
                  R"(<ErrorResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/">
  <Error><Type>Sender</Type><Code>AccessDenied</Code>
    <Message>User: arn:aws:iam::1:user/x is not authorized to perform: autoscaling:SetDesiredCapacity</Message>
  </Error>
  <RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId>
</ErrorResponse>)",
                  "svc Op: AccessDenied: User: arn:aws:iam::1:user/x is not authorized to "
                  "perform: autoscaling:SetDesiredCapacity (request id "
                  "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE)",
                  ErrorCode::kInvalidArgument,
                  false,
                  false},
        ErrorCase{"ec2",
                  503,
                  {},
                  R"(<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>)",
                  "svc Op: RequestLimitExceeded: Request limit exceeded. (request id "
                  "ea966190-f9aa-478e-9ede-example)",
                  ErrorCode::kUnavailable,
                  true,
                  true},
        ErrorCase{"asg_validation",
                  400,
                  {},
                  "<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>"
                  "New SetDesiredCapacity value 50 is above max value 10 for the AutoScalingGroup."
                  "</Message></Error><RequestId>r1</RequestId></ErrorResponse>",
                  "svc Op: ValidationError: New SetDesiredCapacity value 50 is above max value "
                  "10 for the AutoScalingGroup. (request id r1)",
                  ErrorCode::kInvalidArgument,
                  false,
                  false},
        ErrorCase{
            "json_header_type",
            404,
            {{"x-amzn-ErrorType", "ResourceNotFoundException:http://internal.amazon.com/coral/"},
             {"x-amzn-RequestId", "abc"}},
            R"({"Type":"User","message":"Function not found: arn:aws:lambda:x"})",
            "svc Op: ResourceNotFoundException: Function not found: arn:aws:lambda:x "
            "(request id abc)",
            ErrorCode::kNotFound,
            false,
            false},
        ErrorCase{
            "json_body_type",
            429,
            {},
            R"({"__type":"com.amazonaws.lambda#TooManyRequestsException","Message":"Rate exceeded"})",
            "svc Op: TooManyRequestsException: Rate exceeded",
            ErrorCode::kUnavailable,
            true,
            false},
        ErrorCase{"unreadable_500",
                  500,
                  {},
                  "<html>Internal Server Error</html>",
                  "svc Op: HTTP 500: <html>Internal Server Error</html>",
                  ErrorCode::kUnavailable,
                  false,
                  true},
        ErrorCase{
            "empty_502", 502, {}, "", "svc Op: HTTP 502", ErrorCode::kUnavailable, false, true},
        ErrorCase{"expired_token",
                  403,
                  {},
                  "<ErrorResponse><Error><Code>ExpiredToken</Code><Message>The security token "
                  "included in the request is expired</Message></Error></ErrorResponse>",
                  "svc Op: ExpiredToken: The security token included in the request is expired",
                  ErrorCode::kInvalidArgument,
                  false,
                  false},
        ErrorCase{"sqs_missing_queue",
                  400,
                  {},
                  "<ErrorResponse><Error><Type>Sender</Type><Code>"
                  "AWS.SimpleQueueService.NonExistentQueue</Code><Message>The specified queue "
                  "does not exist.</Message></Error><RequestId>q</RequestId></ErrorResponse>",
                  "svc Op: AWS.SimpleQueueService.NonExistentQueue: The specified queue does not "
                  "exist. (request id q)",
                  ErrorCode::kNotFound,
                  false,
                  false}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(TransportError, TimeoutsAndConnectionErrorsAreTransient) {
  AwsError t = transport_error(Error{ErrorCode::kTimeout, "POST http://x/: timed out after 1s"});
  EXPECT_TRUE(t.timeout);
  EXPECT_TRUE(is_transient(t));
  EXPECT_EQ(t.code, ErrorCode::kTimeout);
  AwsError c = transport_error(Error{ErrorCode::kUnavailable, "connection refused"});
  EXPECT_TRUE(is_transient(c));
  AwsError bad = transport_error(Error{ErrorCode::kInvalidArgument, "bad URL"});
  EXPECT_FALSE(is_transient(bad));
}

// Each service's expired-credentials error: Query services, Lambda (JSON), EC2.
TEST(ExpiredToken, EachServicesCode) {
  for (const char* code : {"ExpiredToken", "ExpiredTokenException", "RequestExpired"}) {
    EXPECT_TRUE(is_expired_token(AwsError{.aws_code = code})) << code;
  }
  for (const char* code : {"InvalidClientTokenId", "AuthFailure", "SignatureDoesNotMatch", ""}) {
    EXPECT_FALSE(is_expired_token(AwsError{.aws_code = code})) << code;
  }
}

TEST(Scrub, RemovesSecretAndToken) {
  Credentials c{"AKID", "wJalrXUtnFEMI", "FQoGZXIvYXdzEJr", std::nullopt, "t"};
  EXPECT_EQ(scrub("key AKID secret wJalrXUtnFEMI token FQoGZXIvYXdzEJr twice wJalrXUtnFEMI", c),
            "key AKID secret *** token *** twice ***");
}

}  // namespace
}  // namespace tide::aws
