#include "engine/log.hpp"

#include <gtest/gtest.h>

#include "core/clock.hpp"

namespace tide {
namespace {

struct RedactCase {
  const char* name;
  std::string input;
  std::string want;
};

class RedactText : public ::testing::TestWithParam<RedactCase> {};

TEST_P(RedactText, RemovesSecrets) {
  EXPECT_EQ(redact_text(GetParam().input), GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RedactText,
    ::testing::Values(
        RedactCase{"plain_url", "http://127.0.0.1:9090/api", "http://127.0.0.1:9090/api"},
        RedactCase{"user_and_password", "GET https://bob:s3cret@prom.example/api/v1 failed",
                   "GET https://bob:***@prom.example/api/v1 failed"},
        RedactCase{"password_only", "redis://:hunter2@127.0.0.1:6379/0",
                   "redis://:***@127.0.0.1:6379/0"},
        RedactCase{"token_as_user", "http://ghp_abc123@host/x", "http://***@host/x"},
        RedactCase{"two_urls", "a=http://u:p@h1 b=https://h2 c=redis://x:y@h3",
                   "a=http://u:***@h1 b=https://h2 c=redis://x:***@h3"},
        RedactCase{"at_in_path_is_kept", "http://host/user@example", "http://host/user@example"},
        RedactCase{"bearer", "Authorization: Bearer eyJhbGciOi.x.y rejected",
                   "Authorization: Bearer *** rejected"},
        RedactCase{"basic", "sent basic dXNlcjpwYXNz", "sent basic ***"},
        RedactCase{"key_equals", "token=abc123 other=1", "token=*** other=1"},
        RedactCase{"key_colon", "password: hunter2, user: bob", "password: ***, user: bob"},
        RedactCase{"json_pair", R"({"api_key":"k-123","n":1})", R"({"api_key":"***","n":1})"},
        RedactCase{"aws_secret", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG",
                   "AWS_SECRET_ACCESS_KEY=***"},
        RedactCase{"not_a_secret", "tokens are fine: reason=ok", "tokens are fine: reason=ok"},
        RedactCase{"query_parameter", "GET https://h/api?token=abc&x=1 failed",
                   "GET https://h/api?token=***&x=1 failed"},
        RedactCase{"port_kept", "https://user:pw@host:8443/p?q=1",
                   "https://user:***@host:8443/p?q=1"},
        RedactCase{"empty", "", ""}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(SecretKeys, Detects) {
  for (const char* k : {"token", "api_token", "Password", "client_secret", "Authorization",
                        "apiKey", "AWS_SECRET_ACCESS_KEY", "credentials", "cookie"}) {
    EXPECT_TRUE(is_secret_key(k)) << k;
  }
  for (const char* k : {"group", "desired", "reason", "url", "source", "error"}) {
    EXPECT_FALSE(is_secret_key(k)) << k;
  }
}

TEST(Logger, Logfmt) {
  ManualClock clock(from_unix_seconds(1'800'000'000.25));
  std::vector<std::string> lines;
  Logger log(
      LogFormat::kLogfmt, LogLevel::kInfo, [&](std::string_view l) { lines.emplace_back(l); },
      &clock);
  log.info("evaluation", {{"group", "web"},
                          {"current", 3},
                          {"desired", 5},
                          {"reason", "metric 83 vs target 50: ceil(3 x 1.66) = 5"},
                          {"ratio", 1.5},
                          {"paused", false},
                          {"token", "abc"},
                          {"url", "http://u:pw@h/x"}});
  log.debug("hidden");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            "ts=2027-01-15T08:00:00.250Z level=info msg=evaluation group=web current=3 "
            "desired=5 reason=\"metric 83 vs target 50: ceil(3 x 1.66) = 5\" ratio=1.5 "
            "paused=false token=*** url=http://u:***@h/x");
}

TEST(Logger, Json) {
  ManualClock clock(from_unix_seconds(1'800'000'000));
  std::vector<std::string> lines;
  Logger log(
      LogFormat::kJson, LogLevel::kDebug, [&](std::string_view l) { lines.emplace_back(l); },
      &clock);
  log.warn(
      "source read failed",
      {{"group", "web"}, {"error", "password=hunter2 \"quoted\"\nnext"}, {"n", 7}, {"x", 0.5}});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            R"({"ts":"2027-01-15T08:00:00.000Z","level":"warn","msg":"source read failed",)"
            R"("group":"web","error":"password=*** \"quoted\"\nnext","n":7,"x":0.5})");
}

TEST(Logger, Levels) {
  EXPECT_EQ(parse_log_level("warning").value(), LogLevel::kWarn);
  EXPECT_EQ(parse_log_level("DEBUG").value(), LogLevel::kDebug);
  EXPECT_FALSE(parse_log_level("loud"));
}

}  // namespace
}  // namespace tide
