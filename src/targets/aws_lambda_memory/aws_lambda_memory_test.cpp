#include "targets/aws_lambda_memory/aws_lambda_memory.hpp"

#include <gtest/gtest.h>

#include <mutex>

#include "aws/testing/fake_aws.hpp"

namespace tide {
namespace {

using nlohmann::json;

TEST(ParseLambdaMemoryConfig, TimeoutInWholeSecondsWithinLambdasLimits) {
  auto c = parse_lambda_memory_config({{"function", "f"}, {"timeout", 30000}});
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->timeout_seconds, 30);
  EXPECT_FALSE(parse_lambda_memory_config({{"function", "f"}}).value().timeout_seconds);
  EXPECT_FALSE(parse_lambda_memory_config({{"function", "f"}, {"timeout", 1500}}).has_value());
  EXPECT_FALSE(parse_lambda_memory_config({{"function", "f"}, {"timeout", 901000}}).has_value());
  EXPECT_FALSE(parse_lambda_memory_config(json::object()).has_value());
}

struct ConfigCase {
  const char* name;
  json body;
  bool want_ok;
  int want_memory;
  bool want_updating;
  std::string want_detail;
};

class ParseFunctionConfigurationTest : public ::testing::TestWithParam<ConfigCase> {};

TEST_P(ParseFunctionConfigurationTest, Reads) {
  const ConfigCase& c = GetParam();
  auto f = parse_function_configuration(c.body);
  ASSERT_EQ(f.has_value(), c.want_ok);
  if (!c.want_ok) return;
  EXPECT_EQ(f->memory_mb, c.want_memory);
  EXPECT_EQ(f->updating, c.want_updating);
  EXPECT_EQ(f->detail, c.want_detail);
}

// Bodies as in the GetFunctionConfiguration API reference (trimmed).
INSTANTIATE_TEST_SUITE_P(
    Cases, ParseFunctionConfigurationTest,
    ::testing::Values(ConfigCase{"settled",
                                 {{"FunctionName", "my-function"},
                                  {"Runtime", "python3.12"},
                                  {"MemorySize", 256},
                                  {"Timeout", 3},
                                  {"State", "Active"},
                                  {"LastUpdateStatus", "Successful"}},
                                 true,
                                 256,
                                 false,
                                 ""},
                      ConfigCase{"updating",
                                 {{"MemorySize", 512},
                                  {"State", "Active"},
                                  {"LastUpdateStatus", "InProgress"},
                                  {"LastUpdateStatusReason", "The function is being updated."}},
                                 true,
                                 512,
                                 true,
                                 "LastUpdateStatus InProgress: The function is being updated."},
                      ConfigCase{"pending",
                                 {{"MemorySize", 128}, {"State", "Pending"}},
                                 true,
                                 128,
                                 true,
                                 "State Pending"},
                      ConfigCase{"no_memory", {{"FunctionName", "f"}}, false, 0, false, ""}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(UpdateFunctionConfigurationBody, MemoryRangeAndTimeout) {
  LambdaMemoryConfig c{"f", 30};
  EXPECT_EQ(*update_function_configuration_body(c, 1024),
            (json{{"MemorySize", 1024}, {"Timeout", 30}}));
  c.timeout_seconds.reset();
  EXPECT_EQ(*update_function_configuration_body(c, 128), (json{{"MemorySize", 128}}));
  auto low = update_function_configuration_body(c, 64);
  ASSERT_FALSE(low.has_value());
  EXPECT_NE(low.error().message.find("128 to 10240 MB, not 64"), std::string::npos);
  EXPECT_FALSE(update_function_configuration_body(c, 10241).has_value());
}

class LambdaMemoryTargetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string path = "/2015-03-31/functions/my-function/configuration";
    fake_.server().Get(path, [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard lock(mu_);
      res.set_content(json{{"FunctionName", "my-function"},
                           {"MemorySize", memory_},
                           {"Timeout", timeout_},
                           {"State", "Active"},
                           {"LastUpdateStatus", status_}}
                          .dump(),
                      "application/json");
    });
    fake_.server().Put(path, [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      ++puts_;
      json body = json::parse(req.body);
      memory_ = body["MemorySize"].get<int>();
      if (body.contains("Timeout")) timeout_ = body["Timeout"].get<int>();
      status_ = "InProgress";
      res.set_content(json{{"MemorySize", memory_}, {"LastUpdateStatus", status_}}.dump(),
                      "application/json");
    });
    fake_.start();
  }

  std::unique_ptr<Target> target(std::optional<int> timeout = std::nullopt) {
    return make_aws_lambda_memory_target(LambdaMemoryConfig{"my-function", timeout},
                                         aws::testing::fake_client(aws::Service::kLambda, fake_));
  }

  tide::testing::FakeHttp fake_;
  std::mutex mu_;
  int memory_ = 512, timeout_ = 3, puts_ = 0;
  std::string status_ = "Successful";
};

TEST_F(LambdaMemoryTargetTest, ScalesMemoryAndWaitsForTheUpdate) {
  auto t = target(60);
  auto s = t->status();
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->desired, 512);
  EXPECT_TRUE(s->instances.empty());

  ASSERT_TRUE(t->scale({.desired = 1024}).has_value());
  s = t->status();
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->desired, 1024);
  ASSERT_EQ(s->instances.size(), 1u);
  EXPECT_EQ(s->instances[0].state, InstanceState::kWarming);
  EXPECT_EQ(s->instances[0].detail, "LastUpdateStatus InProgress");

  // No second update on top of the running one.
  auto stacked = t->scale({.desired = 2048});
  ASSERT_FALSE(stacked.has_value());
  EXPECT_NE(stacked.error().message.find("an update is in progress"), std::string::npos);
  {
    std::lock_guard lock(mu_);
    EXPECT_EQ(puts_, 1);
    EXPECT_EQ(timeout_, 60);
    status_ = "Successful";
  }
  ASSERT_TRUE(t->scale({.desired = 2048}).has_value());
  std::lock_guard lock(mu_);
  EXPECT_EQ(memory_, 2048);
}

}  // namespace
}  // namespace tide
