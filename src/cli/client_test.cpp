// tide status|history|explain|pause|resume|set against an in-process ApiServer over a fake engine.
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <CLI/CLI.hpp>

#include "api/fake_engine.hpp"
#include "api/server.hpp"
#include "cli/commands.hpp"

namespace tide::cli {
namespace {

using tide::testing::FakeEngine;

const TimePoint kNow = from_unix_seconds(1'800'000'000);  // 2027-01-15T08:00:00Z
constexpr const char* kToken = "cli-test-token-42";

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tide::testing::add_sample_groups(engine_, kNow);
    ApiOptions options;
    options.token = kToken;
    server_ = std::make_unique<ApiServer>(engine_, options, clock_);
    auto started = server_->start("127.0.0.1:0");
    ASSERT_TRUE(started.has_value()) << started.error().message;
    options_.api = "http://127.0.0.1:" + std::to_string(server_->port());
    options_.token = kToken;
  }

  FakeEngine engine_;
  ManualClock clock_{kNow};
  std::unique_ptr<ApiServer> server_;
  ClientOptions options_;
};

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

template <class F>
Outcome capture(F&& f) {
  std::ostringstream out;
  std::ostringstream err;
  Outcome r;
  r.code = f(out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

TEST_F(ClientTest, StatusTable) {
  Outcome r = capture([&](auto& out, auto& err) { return run_status(options_, false, out, err); });
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "GROUP  CURRENT/DESIRED  READY/WARMING  BOUNDS  FLAGS                                 "
            "           LAST DECISION         BOUND BY\n"
            "batch  -/2              -/-            0..5    paused, override 2 for 10m, dry-run, "
            "failing x2  #102 1m ago (paused)  bounds\n"
            "web    3/4              2/1            1..10   -                                     "
            "           #30 5s ago (applied)  rate-limit\n");
}

TEST_F(ClientTest, StatusJson) {
  Outcome r = capture([&](auto& out, auto& err) { return run_status(options_, true, out, err); });
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["groups"].size(), 2u);
  EXPECT_EQ(j["now"], "2027-01-15T08:00:00Z");
}

TEST_F(ClientTest, History) {
  Outcome r = capture([&](auto& out, auto& err) {
    return run_history(options_, "web", 3, std::nullopt, false, out, err);
  });
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "ID  TIME                  CURRENT  DESIRED  BOUND BY    OUTCOME\n"
            "30  2027-01-15T07:59:55Z  3        4        rate-limit  applied\n"
            "29  2027-01-15T07:59:30Z  3        3        -           unchanged\n"
            "28  2027-01-15T07:59:15Z  3        3        -           unchanged\n"
            "(older: tide history web --before 28)\n");

  r = capture(
      [&](auto& out, auto& err) { return run_history(options_, "web", 5, 3, false, out, err); });
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "ID  TIME                  CURRENT  DESIRED  BOUND BY  OUTCOME\n"
            "2   2027-01-15T07:52:45Z  3        3        -         unchanged\n"
            "1   2027-01-15T07:52:30Z  3        3        -         unchanged\n");

  r = capture([&](auto& out, auto& err) {
    return run_history(options_, "web", 2, std::nullopt, true, out, err);
  });
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["decisions"].size(), 2u);
  EXPECT_EQ(j["next_before"], 29);
}

TEST_F(ClientTest, ExplainLatest) {
  Outcome r = capture([&](auto& out, auto& err) {
    return run_explain(options_, "web", std::nullopt, false, out, err);
  });
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "Decision 30 of group web at 2027-01-15T07:59:55Z: 3 -> 4, applied\n"
            "Bounds 1..10; bound by rate-limit\n"
            "A policy had no data: no scale-in this evaluation.\n"
            "\n"
            "Proposals\n"
            "  cpu      target-tracking  6        metric 150 vs target 50: ceil(2 x 3) = 6\n"
            "  latency  target-tracking  no data  no data from the metric source: no scale-in "
            "this evaluation\n"
            "\n"
            "Stages\n"
            "  combine        6\n"
            "  no-data-guard  6\n"
            "  fallback       6\n"
            "  stabilization  6\n"
            "  rate-limit     6 -> 4  <- bound the result\n"
            "  cooldown       4\n"
            "  warmup         4\n"
            "  bounds         4\n");
}

TEST_F(ClientTest, ExplainById) {
  // Decision 7 carries only an explanation text: it is printed as is.
  Outcome r = capture(
      [&](auto& out, auto& err) { return run_explain(options_, "web", 7, false, out, err); });
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "Decision 7 of group web at 2027-01-15T07:54:00Z: 3 -> 3, unchanged\n"
            "\n"
            "current 3 -> desired 3\n");
  r = capture(
      [&](auto& out, auto& err) { return run_explain(options_, "web", 30, true, out, err); });
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["account"]["bound_by"], "rate-limit");
}

TEST_F(ClientTest, PauseResumeSet) {
  Outcome r = capture(
      [&](auto& out, auto& err) { return run_pause(options_, "web", true, false, out, err); });
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "web: paused (decisions are recorded but not applied; `tide resume web` undoes it)\n");
  EXPECT_TRUE(engine_.group("web")->flags.paused);

  r = capture(
      [&](auto& out, auto& err) { return run_pause(options_, "web", false, false, out, err); });
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "web: resumed\n");
  EXPECT_FALSE(engine_.group("web")->flags.paused);

  r = capture(
      [&](auto& out, auto& err) { return run_set(options_, "web", 6, "30m", false, out, err); });
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "web: capacity held at 6 until 2027-01-15T08:30:00Z; then the policies decide again\n");
  ASSERT_EQ(engine_.set_calls().size(), 1u);
  EXPECT_EQ(engine_.set_calls()[0].capacity, 6);
  EXPECT_EQ(engine_.set_calls()[0].until, kNow + std::chrono::minutes(30));
}

TEST_F(ClientTest, Errors) {
  ClientOptions no_token = options_;
  no_token.token.clear();
  ClientOptions wrong_token = options_;
  wrong_token.token = "not-the-token";
  const struct {
    const char* name;
    std::function<int(std::ostream&, std::ostream&)> run;
    const char* want_err;
  } cases[] = {
      {"unknown group",
       [&](auto& out, auto& err) { return run_history(options_, "nope", 5, {}, false, out, err); },
       "tide: unknown group 'nope'\n"},
      {"unknown decision",
       [&](auto& out, auto& err) { return run_explain(options_, "web", 999, false, out, err); },
       "tide: group 'web' has no decision 999\n"},
      {"pause without token",
       [&](auto& out, auto& err) { return run_pause(no_token, "web", true, false, out, err); },
       "tide: the API refused the request (this call needs Authorization: Bearer TOKEN): set "
       "--token or TIDE_TOKEN to the token `tide run` uses (api.token or api.token_env)\n"},
      {"set with a wrong token",
       [&](auto& out, auto& err) { return run_set(wrong_token, "web", 3, "1m", false, out, err); },
       "tide: the API refused the request (wrong bearer token): set --token or TIDE_TOKEN to the "
       "token `tide run` uses (api.token or api.token_env)\n"},
      {"set out of bounds",
       [&](auto& out, auto& err) { return run_set(options_, "web", 50, "1m", false, out, err); },
       "tide: the API answered 400: capacity 50 is outside the bounds of group 'web' (1..10)\n"},
      {"set with a bad duration",
       [&](auto& out, auto& err) { return run_set(options_, "web", 5, "soon", false, out, err); },
       "tide: the API answered 400: for: "},
      {"bad api URL",
       [&](auto& out, auto& err) {
         return run_status(ClientOptions{"ftp://x", ""}, false, out, err);
       },
       "tide: --api 'ftp://x' is not an http:// or https:// URL\n"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Outcome r = capture(c.run);
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err.substr(0, std::string(c.want_err).size()), c.want_err) << r.err;
    EXPECT_EQ(r.err.find(kToken), std::string::npos);
    EXPECT_EQ(r.err.find("not-the-token"), std::string::npos);
  }
  EXPECT_FALSE(engine_.group("web")->flags.paused);
}

TEST(ClientUnreachable, SaysWhatToCheck) {
  // A port that was just free: nothing listens there.
  FakeEngine engine;
  ManualClock clock(kNow);
  int port = 0;
  {
    ApiServer server(engine, ApiOptions{}, clock);
    ASSERT_TRUE(server.start("127.0.0.1:0").has_value());
    port = server.port();
  }
  ClientOptions options{"127.0.0.1:" + std::to_string(port), "secret-token"};
  Outcome r = capture([&](auto& out, auto& err) { return run_status(options, false, out, err); });
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("tide: cannot reach the tide API at http://127.0.0.1:"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("is `tide run` running?"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("secret-token"), std::string::npos);
}

TEST(ClientNoTokenServer, Forbidden) {
  FakeEngine engine;
  tide::testing::add_sample_groups(engine, kNow);
  ManualClock clock(kNow);
  ApiServer server(engine, ApiOptions{}, clock);
  ASSERT_TRUE(server.start("127.0.0.1:0").has_value());
  ClientOptions options{"http://127.0.0.1:" + std::to_string(server.port()), "whatever"};
  Outcome r = capture(
      [&](auto& out, auto& err) { return run_pause(options, "web", true, false, out, err); });
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "tide: forbidden: mutating calls are disabled: no API token is configured (set "
            "api.token or api.token_env in the config)\n");
}

// The CLI11 wiring: options, environment defaults, --help.
class ClientCliTest : public ClientTest {
 protected:
  Outcome parse_and_run(std::vector<std::string> args) {
    CLI::App app{"tide", "tide"};
    app.require_subcommand(1);
    std::ostringstream out;
    std::ostringstream err;
    auto run = add_client_commands(app, out, err);
    std::vector<const char*> argv = {"tide"};
    for (const auto& a : args) argv.push_back(a.c_str());
    Outcome r;
    try {
      app.parse(static_cast<int>(argv.size()), argv.data());
      auto code = run();
      r.code = code ? *code : -2;
    } catch (const CLI::ParseError& e) {
      r.code = app.exit(e, out, err);
    }
    r.out = out.str();
    r.err = err.str();
    return r;
  }
};

TEST_F(ClientCliTest, OptionsAndEnvironment) {
  const std::string api = options_.api;
  unsetenv("TIDE_API");
  unsetenv("TIDE_TOKEN");
  Outcome r = parse_and_run({"status", "--api", api});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("web    3/4"), std::string::npos) << r.out;

  r = parse_and_run({"pause", "web", "--api", api});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("set --token or TIDE_TOKEN"), std::string::npos) << r.err;

  setenv("TIDE_API", api.c_str(), 1);
  setenv("TIDE_TOKEN", kToken, 1);
  r = parse_and_run({"pause", "web"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(engine_.group("web")->flags.paused);
  r = parse_and_run({"resume", "web", "--json"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["paused"], false);
  r = parse_and_run({"set", "web", "7", "--for", "1h"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(engine_.set_calls().back().capacity, 7);
  r = parse_and_run({"history", "web", "--limit", "2"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("30  2027-01-15T07:59:55Z"), std::string::npos) << r.out;
  r = parse_and_run({"explain", "web", "30"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("<- bound the result"), std::string::npos) << r.out;
  // A command-line option wins over the environment.
  r = parse_and_run({"pause", "web", "--token", "wrong"});
  EXPECT_EQ(r.code, 1);
  unsetenv("TIDE_API");
  unsetenv("TIDE_TOKEN");
}

TEST_F(ClientCliTest, UsageErrorsAndHelp) {
  const struct {
    const char* name;
    std::vector<std::string> args;
    int want_code;
    const char* want;  // in out or err
  } cases[] = {
      {"status help", {"status", "--help"}, 0, "--api"},
      {"history help", {"history", "--help"}, 0, "--limit"},
      {"explain help", {"explain", "--help"}, 0, "DECISION_ID"},
      {"pause help", {"pause", "--help"}, 0, "--token"},
      {"resume help", {"resume", "--help"}, 0, "GROUP"},
      {"set help", {"set", "--help"}, 0, "--for"},
      {"set without --for", {"set", "web", "3"}, 106, "--for is required"},
      {"history without group", {"history"}, 106, "GROUP is required"},
      {"negative capacity", {"set", "web", "-1", "--for", "1m"}, 105, ""},
      {"limit out of range", {"history", "web", "--limit", "5000"}, 105, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Outcome r = parse_and_run(c.args);
    EXPECT_EQ(r.code, c.want_code) << r.out << r.err;
    EXPECT_NE((r.out + r.err).find(c.want), std::string::npos) << r.out << r.err;
  }
}

}  // namespace
}  // namespace tide::cli
