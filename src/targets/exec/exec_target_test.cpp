#include "targets/exec/exec_target.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace tide {
namespace {

using nlohmann::json;

struct InstanceWant {
  std::string id;
  std::string address;
  InstanceState state;
  std::string detail;
};

struct ParseCase {
  const char* name;
  std::string output;
  bool want_ok;
  int want_desired;
  std::vector<InstanceWant> want_instances;
  std::string want_error;
};

class ParseExecStatusTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParseExecStatusTest, Parses) {
  const ParseCase& c = GetParam();
  auto status = parse_exec_status(c.output);
  ASSERT_EQ(status.has_value(), c.want_ok) << (status ? "" : status.error().message);
  if (!c.want_ok) {
    EXPECT_NE(status.error().message.find(c.want_error), std::string::npos)
        << status.error().message;
    return;
  }
  EXPECT_EQ(status->desired, c.want_desired);
  ASSERT_EQ(status->instances.size(), c.want_instances.size());
  for (std::size_t i = 0; i < c.want_instances.size(); ++i) {
    EXPECT_EQ(status->instances[i].id, c.want_instances[i].id) << i;
    EXPECT_EQ(status->instances[i].address, c.want_instances[i].address) << i;
    EXPECT_EQ(status->instances[i].state, c.want_instances[i].state) << i;
    EXPECT_EQ(status->instances[i].detail, c.want_instances[i].detail) << i;
  }
}

constexpr auto kReady = InstanceState::kReady;
constexpr auto kWarming = InstanceState::kWarming;
constexpr auto kMissing = InstanceState::kMissing;

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseExecStatusTest,
    ::testing::Values(
        ParseCase{
            "number_only", "2\n", true, 2, {{"0", "", kReady, ""}, {"1", "", kReady, ""}}, ""},
        ParseCase{"zero", " 0 ", true, 0, {}, ""},
        ParseCase{"instance_lines",
                  "3\na 10.0.0.1:80 ready\nb warming booting now\n\nc 10.0.0.3:80\n",
                  true,
                  3,
                  {{"a", "10.0.0.1:80", kReady, ""},
                   {"b", "", kWarming, "booting now"},
                   {"c", "10.0.0.3:80", kReady, ""}},
                  ""},
        ParseCase{
            "json",
            R"({"capacity": 2, "instances": [{"id": "i-1", "address": "h:1",
                      "state": "missing", "detail": "gone"}, "i-2", {"id": 7}]})",
            true,
            2,
            {{"i-1", "h:1", kMissing, "gone"}, {"i-2", "", kReady, ""}, {"7", "", kReady, ""}},
            ""},
        ParseCase{"json_desired_without_instances",
                  R"({"desired": 1})",
                  true,
                  1,
                  {{"0", "", kReady, ""}},
                  ""},
        ParseCase{"empty", "  \n", false, 0, {}, "is empty"},
        ParseCase{"not_a_number", "three\n", false, 0, {}, "does not start with the capacity"},
        ParseCase{"negative", "-1", false, 0, {}, "does not start with the capacity"},
        ParseCase{"fraction", "2.5", false, 0, {}, "does not start with the capacity"},
        ParseCase{"too_big", "1000001", false, 0, {}, "does not start with the capacity"},
        ParseCase{"bad_state",
                  "1\na 1.2.3.4:5 sleeping\n",
                  false,
                  0,
                  {},
                  "expected 'ID [ADDRESS] [ready|warming|missing] [DETAIL]'"},
        ParseCase{"bad_json", "{\"capacity\": ", false, 0, {}, "is not JSON"},
        ParseCase{
            "json_without_capacity", R"({"instances": []})", false, 0, {}, "has no \"capacity\""},
        ParseCase{"json_bad_state",
                  R"({"capacity": 1, "instances": [{"id": "a", "state": "up"}]})",
                  false,
                  0,
                  {},
                  "instance state 'up'"}),
    [](const auto& info) { return info.param.name; });

class ExecTargetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("tide-exec-target-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "capacity") << "2\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Target> make(json params) {
    params["working_dir"] = dir_.string();
    auto target = make_exec_target({"exec", params}, {.group = "web"});
    EXPECT_TRUE(target.has_value()) << target.error().message;
    return target ? std::move(*target) : nullptr;
  }

  std::filesystem::path dir_;
};

TEST_F(ExecTargetTest, StatusAndScaleRoundTrip) {
  auto target = make({{"status_command", "cat capacity"},
                      {"scale_command",
                       "echo {capacity} > capacity; echo \"$TIDE_GROUP "
                       "$TIDE_DESIRED $TIDE_REASON $TIDE_DECISION_ID\" > log"}});
  ASSERT_TRUE(target);
  auto status = target->status();
  ASSERT_TRUE(status.has_value()) << status.error().message;
  EXPECT_EQ(status->desired, 2);
  EXPECT_EQ(status->ready(), 2);

  auto scaled = target->scale({.desired = 5, .reason = "cpu", .decision_id = 42});
  ASSERT_TRUE(scaled.has_value()) << scaled.error().message;
  status = target->status();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->desired, 5);
  std::ifstream log(dir_ / "log");
  std::string line;
  std::getline(log, line);
  EXPECT_EQ(line, "web 5 cpu 42");
}

TEST_F(ExecTargetTest, DesiredPlaceholderAndEnv) {
  auto target = make({{"status_command", "echo $N"},
                      {"scale_command", "test {desired} = 3 && test \"$TIDE_CAPACITY\" = 3"},
                      {"env", {{"N", "7"}}}});
  ASSERT_TRUE(target);
  auto status = target->status();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->desired, 7);
  EXPECT_TRUE(target->scale({.desired = 3}).has_value());
  EXPECT_FALSE(target->scale({.desired = 4}).has_value());
}

struct FailureCase {
  const char* name;
  json params;
  bool call_scale;
  ErrorCode want_code;
  std::string want_error;
};

class ExecTargetFailureTest : public ExecTargetTest,
                              public ::testing::WithParamInterface<FailureCase> {};

TEST_P(ExecTargetFailureTest, ReportsClearly) {
  const FailureCase& c = GetParam();
  auto target = make(c.params);
  ASSERT_TRUE(target);
  Error error;
  if (c.call_scale) {
    auto r = target->scale({.desired = 1});
    ASSERT_FALSE(r.has_value());
    error = r.error();
  } else {
    auto r = target->status();
    ASSERT_FALSE(r.has_value());
    error = r.error();
  }
  EXPECT_EQ(error.code, c.want_code);
  EXPECT_NE(error.message.find(c.want_error), std::string::npos) << error.message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ExecTargetFailureTest,
    ::testing::Values(
        FailureCase{
            "status_exit_code",
            {{"status_command", "echo 'no credentials' >&2; exit 3"}, {"scale_command", "true"}},
            false,
            ErrorCode::kUnavailable,
            "exec target: status_command 'echo 'no credentials' >&2; exit 3' exited "
            "with status 3; stderr: no credentials"},
        FailureCase{"status_garbage",
                    {{"status_command", "echo lots"}, {"scale_command", "true"}},
                    false,
                    ErrorCode::kUnavailable,
                    "status_command output does not start with the capacity"},
        FailureCase{"status_timeout",
                    {{"status_command", "sleep 30"}, {"scale_command", "true"}, {"timeout", 200}},
                    false,
                    ErrorCode::kTimeout,
                    "exec target: status_command: 'sleep 30' timed out after 200ms"},
        FailureCase{"scale_killed",
                    {{"status_command", "echo 1"}, {"scale_command", "kill -9 $$"}},
                    true,
                    ErrorCode::kUnavailable,
                    "killed by signal 9 (SIGKILL)"},
        FailureCase{"scale_stdout_when_no_stderr",
                    {{"status_command", "echo 1"}, {"scale_command", "echo quota; exit 1"}},
                    true,
                    ErrorCode::kUnavailable,
                    "exited with status 1; stdout: quota"}),
    [](const auto& info) { return info.param.name; });

TEST(ExecTargetConfig, RequiresBothCommands) {
  auto c = parse_exec_target_config({{"status_command", "x"}});
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("'status_command' and 'scale_command' are required"),
            std::string::npos);
  c = parse_exec_target_config({{"status_command", "x"}, {"scale_command", "y"}});
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->timeout, std::chrono::seconds(30));
}

}  // namespace
}  // namespace tide
