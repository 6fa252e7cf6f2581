#include "targets/aws_lambda_concurrency/aws_lambda_concurrency.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <optional>

#include "aws/testing/fake_aws.hpp"

namespace tide {
namespace {

using nlohmann::json;

struct StatusCase {
  const char* name;
  json body;
  bool found;
  bool want_ok;
  int want_desired;
  int want_ready;
  int want_warming;
  std::string want_error;
};

class ProvisionedConcurrencyStatusTest : public ::testing::TestWithParam<StatusCase> {};

TEST_P(ProvisionedConcurrencyStatusTest, Maps) {
  const StatusCase& c = GetParam();
  auto s = provisioned_concurrency_status(c.body, c.found, "fn:live#");
  ASSERT_EQ(s.has_value(), c.want_ok) << (s ? "" : s.error().message);
  if (!c.want_ok) {
    EXPECT_NE(s.error().message.find(c.want_error), std::string::npos) << s.error().message;
    return;
  }
  EXPECT_EQ(s->desired, c.want_desired);
  EXPECT_EQ(s->ready(), c.want_ready);
  EXPECT_EQ(s->warming(), c.want_warming);
}

// Bodies as in the GetProvisionedConcurrencyConfig API reference.
INSTANTIATE_TEST_SUITE_P(
    Cases, ProvisionedConcurrencyStatusTest,
    ::testing::Values(StatusCase{"no_config", nullptr, false, true, 0, 0, 0, ""},
                      StatusCase{"ready",
                                 {{"RequestedProvisionedConcurrentExecutions", 100},
                                  {"AvailableProvisionedConcurrentExecutions", 100},
                                  {"AllocatedProvisionedConcurrentExecutions", 100},
                                  {"Status", "READY"},
                                  {"LastModified", "2019-12-31T20:28:49+0000"}},
                                 true,
                                 true,
                                 100,
                                 100,
                                 0,
                                 ""},
                      StatusCase{"in_progress",
                                 {{"RequestedProvisionedConcurrentExecutions", 10},
                                  {"AllocatedProvisionedConcurrentExecutions", 4},
                                  {"Status", "IN_PROGRESS"},
                                  {"LastModified", "2019-12-31T20:28:49+0000"}},
                                 true,
                                 true,
                                 10,
                                 4,
                                 6,
                                 ""},
                      StatusCase{"failed",
                                 {{"RequestedProvisionedConcurrentExecutions", 10},
                                  {"AllocatedProvisionedConcurrentExecutions", 0},
                                  {"Status", "FAILED"},
                                  {"StatusReason", "FUNCTION_ERROR_INIT_FAILURE"}},
                                 true,
                                 false,
                                 0,
                                 0,
                                 0,
                                 "provisioned concurrency FAILED: FUNCTION_ERROR_INIT_FAILURE"},
                      StatusCase{"malformed", json::object(), true, false, 0, 0, 0,
                                 "no RequestedProvisionedConcurrentExecutions"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ProvisionedConcurrencyPath, EncodesTheFunction) {
  EXPECT_EQ(provisioned_concurrency_path("arn:aws:lambda:eu-west-1:1:function:f"),
            "/2019-09-30/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A1%3Afunction%3Af/"
            "provisioned-concurrency");
}

class LambdaConcurrencyTargetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string path = "/2019-09-30/functions/worker/provisioned-concurrency";
    fake_.server().Get(path, [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      calls_.push_back("GET " + req.get_param_value("Qualifier"));
      if (!requested_) {
        res.status = 404;
        res.set_header("x-amzn-ErrorType", "ProvisionedConcurrencyConfigNotFoundException");
        res.set_content(
            R"({"Type":"User","message":"No Provisioned Concurrency Config found for this function"})",
            "application/json");
        return;
      }
      res.set_content(json{{"RequestedProvisionedConcurrentExecutions", *requested_},
                           {"AllocatedProvisionedConcurrentExecutions", allocated_},
                           {"Status", allocated_ == *requested_ ? "READY" : "IN_PROGRESS"}}
                          .dump(),
                      "application/json");
    });
    fake_.server().Put(path, [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      calls_.push_back("PUT " + req.get_param_value("Qualifier") + " " + req.body);
      requested_ = json::parse(req.body)["ProvisionedConcurrentExecutions"].get<int>();
      res.status = 202;
      res.set_content(
          json{{"RequestedProvisionedConcurrentExecutions", *requested_}, {"Status", "IN_PROGRESS"}}
              .dump(),
          "application/json");
    });
    fake_.server().Delete(path, [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      calls_.push_back("DELETE " + req.get_param_value("Qualifier"));
      if (!requested_) {
        res.status = 404;
        res.set_header("x-amzn-ErrorType", "ProvisionedConcurrencyConfigNotFoundException");
        res.set_content(R"({"message":"none"})", "application/json");
        return;
      }
      requested_.reset();
      res.status = 204;
    });
    fake_.start();
  }

  std::unique_ptr<Target> target() {
    return make_aws_lambda_concurrency_target(
        "worker", "live", aws::testing::fake_client(aws::Service::kLambda, fake_));
  }

  tide::testing::FakeHttp fake_;
  std::mutex mu_;
  std::optional<int> requested_;
  int allocated_ = 0;
  std::vector<std::string> calls_;
};

TEST_F(LambdaConcurrencyTargetTest, PutGetAndDelete) {
  auto t = target();
  auto s = t->status();
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->desired, 0);
  ASSERT_TRUE(t->scale({.desired = 5}).has_value());
  {
    std::lock_guard lock(mu_);
    allocated_ = 2;
  }
  s = t->status();
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->desired, 5);
  EXPECT_EQ(s->ready(), 2);
  EXPECT_EQ(s->warming(), 3);
  EXPECT_EQ(s->instances[4].id, "worker:live#4");
  ASSERT_TRUE(t->scale({.desired = 0}).has_value());
  ASSERT_TRUE(t->scale({.desired = 0}).has_value());  // already gone: fine
  std::lock_guard lock(mu_);
  EXPECT_EQ(calls_, (std::vector<std::string>{"GET live",
                                              R"(PUT live {"ProvisionedConcurrentExecutions":5})",
                                              "GET live", "DELETE live", "DELETE live"}));
}

TEST(LambdaConcurrencyFactory, RejectsLatest) {
  TargetRef ref{"aws-lambda-concurrency",
                {{"function", "f"}, {"qualifier", "$LATEST"}, {"region", "eu-west-1"}}};
  auto t = make_aws_lambda_concurrency_target(ref, TargetContext{});
  ASSERT_FALSE(t.has_value());
  EXPECT_NE(t.error().message.find("not $LATEST"), std::string::npos);
}

}  // namespace
}  // namespace tide
