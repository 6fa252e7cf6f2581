#include "aws/client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "sources/testing/fake_http.hpp"

namespace tide::aws {
namespace {

using std::chrono::milliseconds;

const TimePoint kNow = TimePoint(std::chrono::seconds(1767225600));  // 2026-01-01T00:00:00Z

// Credentials that change after invalidate() (a refresh), counting both.
class FakeCredentials final : public CredentialsProvider {
 public:
  Result<Credentials> get() override {
    std::lock_guard lock(mu);
    ++gets;
    return Credentials{"AKIDTEST", "S3CR3T-" + std::to_string(generation),
                       "T0KEN-" + std::to_string(generation), std::nullopt, "fake"};
  }
  void invalidate() override {
    std::lock_guard lock(mu);
    ++generation;
    ++invalidations;
  }
  std::mutex mu;
  int gets = 0, generation = 1, invalidations = 0;
};

struct Seen {
  std::string method, path, body, content_type, authorization, token, date, query;
};

class AwsClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      Seen s{req.method,
             req.path,
             req.body,
             req.get_header_value("Content-Type"),
             req.get_header_value("Authorization"),
             req.get_header_value("X-Amz-Security-Token"),
             req.get_header_value("X-Amz-Date"),
             ""};
      for (const auto& [k, v] : req.params) s.query += k + "=" + v + ";";
      int n;
      {
        std::lock_guard lock(mu_);
        seen_.push_back(s);
        n = static_cast<int>(seen_.size());
      }
      reply(n, req, res);
    };
    fake_.server().Post("/", handler);
    fake_.server().Get(R"(/2015-03-31/functions/([^/]+)/configuration)", handler);
    fake_.server().Put(R"(/2015-03-31/functions/([^/]+)/configuration)", handler);
    fake_.server().Delete(R"(/2019-09-30/functions/([^/]+)/provisioned-concurrency)", handler);
    fake_.start();
  }

  AwsClient client(Service service, RetryOptions retry = {}) {
    AwsClientOptions o;
    o.service = service;
    o.region = "eu-west-1";
    o.endpoint = fake_.url() + "/";
    o.credentials = creds_;
    o.http = &http_;
    o.clock = &clock_;
    o.retry = retry;
    o.sleep = [this](Duration d) {
      {
        std::lock_guard lock(mu_);
        sleeps_.push_back(d);
      }
      std::this_thread::sleep_for(overslept_);  // a backoff that ends later than asked
    };
    o.random = [] { return 0.5; };
    o.timeout = std::chrono::seconds(5);
    return AwsClient(std::move(o));
  }

  std::vector<Seen> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }
  std::vector<Duration> sleeps() {
    std::lock_guard lock(mu_);
    return sleeps_;
  }

  // What the server answers to request number n (1-based).
  std::function<void(int, const httplib::Request&, httplib::Response&)> reply =
      [](int, const httplib::Request&, httplib::Response& res) {
        res.set_content("<OkResponse/>", "text/xml");
      };

  testing::FakeHttp fake_;
  HttpClient http_;
  ManualClock clock_{kNow};
  std::shared_ptr<FakeCredentials> creds_ = std::make_shared<FakeCredentials>();
  std::mutex mu_;
  std::vector<Seen> seen_;
  std::vector<Duration> sleeps_;
  Duration overslept_{0};
};

void xml_error(httplib::Response& res, int status, const std::string& code,
               const std::string& message = "m") {
  res.status = status;
  res.set_content("<ErrorResponse><Error><Type>Sender</Type><Code>" + code + "</Code><Message>" +
                      message + "</Message></Error><RequestId>rid</RequestId></ErrorResponse>",
                  "text/xml");
}

TEST_F(AwsClientTest, QueryPostsASignedForm) {
  auto c = client(Service::kCloudWatch);
  auto r = c.query("GetMetricData", {{"MetricDataQueries.member.1.Id", "q 1"}});
  ASSERT_TRUE(r.has_value()) << r.error().text();
  EXPECT_EQ(*r, "<OkResponse/>");
  auto s = seen();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].method, "POST");
  EXPECT_EQ(s[0].path, "/");
  EXPECT_EQ(s[0].body,
            "Action=GetMetricData&Version=2010-08-01&MetricDataQueries.member.1.Id=q%201");
  EXPECT_EQ(s[0].content_type, "application/x-www-form-urlencoded; charset=utf-8");
  EXPECT_EQ(s[0].date, "20260101T000000Z");
  EXPECT_EQ(s[0].token, "T0KEN-1");
  EXPECT_TRUE(s[0].authorization.starts_with(
      "AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/eu-west-1/monitoring/aws4_request, "
      "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature="))
      << s[0].authorization;
  EXPECT_EQ(c.quota().available(), 500);
}

TEST_F(AwsClientTest, TransientErrorsAreRetriedWithFullJitterBackoff) {
  reply = [](int n, const httplib::Request&, httplib::Response& res) {
    if (n < 3) {
      res.status = n == 1 ? 503 : 500;
      return;
    }
    res.set_content("<ok/>", "text/xml");
  };
  auto c = client(Service::kAutoScaling);
  auto r = c.query("DescribeAutoScalingGroups", {});
  ASSERT_TRUE(r.has_value()) << r.error().text();
  EXPECT_EQ(seen().size(), 3u);
  // r = 0.5: 0.5 * 1 s, then 0.5 * 2 s.
  EXPECT_EQ(sleeps(), (std::vector<Duration>{milliseconds(500), milliseconds(1000)}));
  // Two retries took 5 each; success gave the last 5 back.
  EXPECT_EQ(c.quota().available(), 495);
}

struct RetryCase {
  const char* name;
  int status;
  std::string code;  // "" = a bare status
  int want_attempts;
  std::string want_error;
};

class AwsClientRetryTest : public AwsClientTest, public ::testing::WithParamInterface<RetryCase> {};

TEST_P(AwsClientRetryTest, RetriesOnlyWhatTheStandardModeRetries) {
  const RetryCase& c = GetParam();
  reply = [&c](int, const httplib::Request&, httplib::Response& res) {
    if (c.code.empty()) {
      res.status = c.status;
    } else {
      xml_error(res, c.status, c.code, "something");
    }
  };
  auto cl = client(Service::kEc2);
  auto r = cl.query("StartInstances", {{"InstanceId.1", "i-1"}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(static_cast<int>(seen().size()), c.want_attempts);
  EXPECT_EQ(r.error().text(), c.want_error);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, AwsClientRetryTest,
    ::testing::Values(
        RetryCase{"throttling", 400, "Throttling", 3,
                  "ec2 StartInstances: Throttling: something (request id rid) (after 3 attempts)"},
        RetryCase{"request_limit_exceeded", 503, "RequestLimitExceeded", 3,
                  "ec2 StartInstances: RequestLimitExceeded: something (request id rid) (after 3 "
                  "attempts)"},
        RetryCase{"too_many_requests", 429, "TooManyRequestsException", 3,
                  "ec2 StartInstances: TooManyRequestsException: something (request id rid) "
                  "(after 3 attempts)"},
        RetryCase{"bad_gateway", 502, "", 3, "ec2 StartInstances: HTTP 502 (after 3 attempts)"},
        RetryCase{"gateway_timeout", 504, "", 3, "ec2 StartInstances: HTTP 504 (after 3 attempts)"},
        RetryCase{"validation_is_final", 400, "ValidationError", 1,
                  "ec2 StartInstances: ValidationError: something (request id rid)"},
        RetryCase{"access_denied_is_final", 403, "AccessDenied", 1,
                  "ec2 StartInstances: AccessDenied: something (request id rid)"},
        RetryCase{"not_implemented_is_final", 501, "", 1, "ec2 StartInstances: HTTP 501"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(AwsClientTest, AnEmptyRetryQuotaStopsRetrying) {
  reply = [](int, const httplib::Request&, httplib::Response& res) { res.status = 503; };
  RetryOptions retry;
  retry.quota = 7;  // room for one retry (5), not two
  auto c = client(Service::kSqs, retry);
  auto r = c.query("GetQueueAttributes", {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(seen().size(), 2u);
  EXPECT_NE(r.error().text().find("retry quota is used up"), std::string::npos) << r.error().text();
  EXPECT_EQ(c.quota().available(), 2);
}

TEST_F(AwsClientTest, TimeoutsAreRetriedAtTheHigherCost) {
  std::atomic<int> slow{3};  // the first `slow` requests take longer than an attempt may
  reply = [this, &slow](int n, const httplib::Request&, httplib::Response& res) {
    if (n <= slow) fake_.sleep(milliseconds(1500));
    res.set_content("<ok/>", "text/xml");
  };
  RetryOptions retry;
  retry.attempt_timeout = milliseconds(300);
  auto c = client(Service::kSqs, retry);
  auto r = c.query("GetQueueAttributes", {}, {}, std::chrono::seconds(4));
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().timeout);
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout);
  EXPECT_EQ(c.quota().available(), 480);  // two retries after timeouts, 10 each

  slow = 4;  // the 4th request times out, the 5th answers
  auto ok = c.query("GetQueueAttributes", {}, {}, std::chrono::seconds(4));
  ASSERT_TRUE(ok.has_value()) << ok.error().text();
  EXPECT_EQ(c.quota().available(), 480);  // -10 for the retry, +10 back on success
}

TEST_F(AwsClientTest, NoRetryWithoutTimeLeft) {
  reply = [](int, const httplib::Request&, httplib::Response& res) { res.status = 503; };
  auto c = client(Service::kSqs);
  auto r = c.query("GetQueueAttributes", {}, {}, milliseconds(200));  // backoff is 500 ms
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(seen().size(), 1u);
  EXPECT_NE(r.error().text().find("not retried: no time left"), std::string::npos)
      << r.error().text();
  EXPECT_EQ(c.quota().available(), 500);
}

TEST_F(AwsClientTest, ABudgetSpentInTheBackoffReportsTheLastAttemptsError) {
  reply = [](int, const httplib::Request&, httplib::Response& res) {
    xml_error(res, 503, "ServiceUnavailable", "try later");
  };
  RetryOptions retry;
  retry.base_delay = retry.throttling_base_delay = milliseconds(200);  // a 100 ms backoff
  overslept_ = milliseconds(500);  // ... that ends after the 400 ms budget
  auto c = client(Service::kSqs, retry);
  auto r = c.query("GetQueueAttributes", {}, {}, milliseconds(400));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(seen().size(), 1u);
  EXPECT_EQ(r.error().aws_code, "ServiceUnavailable");
  EXPECT_EQ(r.error().http_status, 503);
  EXPECT_EQ(r.error().note, "(not retried: no time left after 1 attempt(s))");
}

TEST_F(AwsClientTest, ExpiredTokenRefreshesTheCredentialsAndRetriesOnce) {
  reply = [](int, const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("X-Amz-Security-Token") == "T0KEN-1") {
      xml_error(res, 403, "ExpiredToken", "The security token included in the request is expired");
      return;
    }
    res.set_content("<ok/>", "text/xml");
  };
  auto c = client(Service::kAutoScaling);
  auto r = c.query("SetDesiredCapacity", {});
  ASSERT_TRUE(r.has_value()) << r.error().text();
  EXPECT_EQ(creds_->invalidations, 1);
  EXPECT_EQ(seen().size(), 2u);
  EXPECT_TRUE(sleeps().empty());

  // Still expired after the refresh: the error comes back after one refresh, not a loop.
  reply = [](int, const httplib::Request&, httplib::Response& res) {
    xml_error(res, 400, "ExpiredTokenException", "expired");
  };
  auto again = c.query("SetDesiredCapacity", {});
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(creds_->invalidations, 2);
  EXPECT_EQ(again.error().aws_code, "ExpiredTokenException");
}

TEST_F(AwsClientTest, ErrorsNeverCarryTheSecretOrTheToken) {
  reply = [](int, const httplib::Request& req, httplib::Response& res) {
    // A (hypothetical) service that echoes what it got, including the token.
    xml_error(res, 403, "InvalidClientTokenId",
              "token " + req.get_header_value("X-Amz-Security-Token") + " and S3CR3T-1 rejected");
  };
  auto c = client(Service::kLambda);
  auto r = c.query("X", {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().text().find("T0KEN-1"), std::string::npos) << r.error().text();
  EXPECT_EQ(r.error().text().find("S3CR3T-1"), std::string::npos) << r.error().text();
  EXPECT_NE(r.error().text().find("token *** and *** rejected"), std::string::npos)
      << r.error().text();
}

TEST_F(AwsClientTest, ConnectionErrorsAreRetriedThenReported) {
  fake_.stop();
  auto c = client(Service::kSqs);
  auto r = c.query("GetQueueAttributes", {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(sleeps().size(), 2u);
  EXPECT_EQ(r.error().http_status, 0);
  EXPECT_NE(r.error().text().find("(after 3 attempts)"), std::string::npos) << r.error().text();
}

TEST_F(AwsClientTest, RestJsonSendsPathQueryAndBody) {
  reply = [](int n, const httplib::Request& req, httplib::Response& res) {
    if (req.method == "DELETE") {
      res.status = 204;
      return;
    }
    if (n == 1) {
      res.set_content(R"({"FunctionName":"f","MemorySize":512})", "application/json");
      return;
    }
    res.set_content(R"({"MemorySize":1024})", "application/json");
  };
  auto c = client(Service::kLambda);
  auto got = c.rest_json("GET", "/2015-03-31/functions/" + path_segment("my:fn") + "/configuration",
                         {{"Qualifier", "live"}}, nullptr, "GetFunctionConfiguration");
  ASSERT_TRUE(got.has_value()) << got.error().text();
  EXPECT_EQ(got->body["MemorySize"], 512);
  nlohmann::json body = {{"MemorySize", 1024}};
  auto put = c.rest_json("PUT", "/2015-03-31/functions/fn/configuration", {}, &body,
                         "UpdateFunctionConfiguration");
  ASSERT_TRUE(put.has_value()) << put.error().text();
  auto del = c.rest_json("DELETE", "/2019-09-30/functions/fn/provisioned-concurrency",
                         {{"Qualifier", "1"}}, nullptr, "DeleteProvisionedConcurrencyConfig");
  ASSERT_TRUE(del.has_value()) << del.error().text();
  EXPECT_EQ(del->status, 204);
  EXPECT_TRUE(del->body.is_null());

  auto s = seen();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].method, "GET");
  EXPECT_EQ(s[0].path, "/2015-03-31/functions/my:fn/configuration");  // decoded by the server
  EXPECT_EQ(s[0].query, "Qualifier=live;");
  EXPECT_TRUE(s[0].authorization.find("/eu-west-1/lambda/aws4_request") != std::string::npos);
  EXPECT_EQ(s[1].method, "PUT");
  EXPECT_EQ(s[1].body, R"({"MemorySize":1024})");
  EXPECT_EQ(s[1].content_type, "application/json");
}

TEST_F(AwsClientTest, RestJsonErrorsAreParsed) {
  reply = [](int, const httplib::Request&, httplib::Response& res) {
    res.status = 404;
    res.set_header("x-amzn-RequestId", "req-9");
    res.set_header("X-Amzn-ErrorType", "ProvisionedConcurrencyConfigNotFoundException");
    res.set_content(R"({"Type":"User","message":"No Provisioned Concurrency Config found"})",
                    "application/json");
  };
  auto c = client(Service::kLambda);
  auto r = c.rest_json("DELETE", "/2019-09-30/functions/fn/provisioned-concurrency", {}, nullptr,
                       "GetProvisionedConcurrencyConfig");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().aws_code, "ProvisionedConcurrencyConfigNotFoundException");
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(r.error().text(),
            "lambda GetProvisionedConcurrencyConfig: ProvisionedConcurrencyConfigNotFoundException:"
            " No Provisioned Concurrency Config found (request id req-9)");
}

TEST(BackoffDelay, FullJitterCappedAtTwentySeconds) {
  RetryOptions o;
  EXPECT_EQ(backoff_delay(o, 1, false, 0.0), milliseconds(0));
  EXPECT_EQ(backoff_delay(o, 1, false, 0.999), milliseconds(999));
  EXPECT_EQ(backoff_delay(o, 2, false, 0.5), milliseconds(1000));
  EXPECT_EQ(backoff_delay(o, 3, true, 0.75), milliseconds(3000));
  EXPECT_EQ(backoff_delay(o, 10, false, 0.9), milliseconds(20000));
  o.base_delay = milliseconds(50);  // the 2026 SDK defaults for transient errors
  EXPECT_EQ(backoff_delay(o, 2, false, 1.0), milliseconds(100));
  EXPECT_EQ(backoff_delay(o, 2, true, 1.0), milliseconds(2000));
}

TEST(RetryQuota, TakesAndGivesBackWithinItsCapacity) {
  RetryQuota q(12);
  EXPECT_TRUE(q.acquire(10));
  EXPECT_FALSE(q.acquire(5));
  EXPECT_EQ(q.available(), 2);
  q.release(5);
  q.release(100);
  EXPECT_EQ(q.available(), 12);
}

struct TuningCase {
  const char* name;
  Env env;
  bool ok;
  long long base_ms;     // retry.base_delay and throttling_base_delay after tuning
  long long timeout_ms;  // options.timeout after tuning
  const char* error;     // a part of the error message
};

class EnvTuningTest : public ::testing::TestWithParam<TuningCase> {};

TEST_P(EnvTuningTest, Applies) {
  const TuningCase& c = GetParam();
  AwsClientOptions o;
  auto r = apply_env_tuning(c.env, o);
  ASSERT_EQ(r.has_value(), c.ok) << (r ? "" : r.error().message);
  if (!c.ok) {
    EXPECT_NE(r.error().message.find(c.error), std::string::npos) << r.error().message;
    return;
  }
  EXPECT_EQ(o.retry.base_delay, milliseconds(c.base_ms));
  EXPECT_EQ(o.retry.throttling_base_delay, milliseconds(c.base_ms));
  EXPECT_EQ(o.timeout, milliseconds(c.timeout_ms));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, EnvTuningTest,
    ::testing::Values(
        TuningCase{"unset_keeps_the_sdk_defaults", {}, true, 1000, 10000, ""},
        TuningCase{"empty_is_unset", {{"TIDE_AWS_RETRY_BASE_DELAY", ""}}, true, 1000, 10000, ""},
        TuningCase{"base_delay_sets_both_bases",
                   {{"TIDE_AWS_RETRY_BASE_DELAY", "20ms"}},
                   true,
                   20,
                   10000,
                   ""},
        TuningCase{"call_timeout", {{"TIDE_AWS_CALL_TIMEOUT", "1500ms"}}, true, 1000, 1500, ""},
        TuningCase{"both",
                   {{"TIDE_AWS_RETRY_BASE_DELAY", "0"}, {"TIDE_AWS_CALL_TIMEOUT", "2s"}},
                   true,
                   0,
                   2000,
                   ""},
        TuningCase{"bad_base_names_the_variable",
                   {{"TIDE_AWS_RETRY_BASE_DELAY", "fast"}},
                   false,
                   0,
                   0,
                   "TIDE_AWS_RETRY_BASE_DELAY"},
        TuningCase{"zero_timeout_is_refused",
                   {{"TIDE_AWS_CALL_TIMEOUT", "0"}},
                   false,
                   0,
                   0,
                   "TIDE_AWS_CALL_TIMEOUT: must be more than 0"}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace tide::aws
