// Unit tests of the local-process target's pure parts: config, saved state, backoff, and the
// factory's refusals. Real processes: tests/integration/local_process_test.cpp.
#include "targets/local_process/local_process.hpp"

#include <gtest/gtest.h>

#include "targets/testing/fake_state_store.hpp"

namespace tide {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

struct ConfigCase {
  const char* name;
  json params;
  bool want_ok;
  std::string want_error;  // substring, when not ok
};

class LocalProcessConfigTest : public ::testing::TestWithParam<ConfigCase> {};

TEST_P(LocalProcessConfigTest, Parses) {
  const ConfigCase& c = GetParam();
  auto config = parse_local_process_config(c.params);
  ASSERT_EQ(config.has_value(), c.want_ok) << (config ? "" : config.error().message);
  if (!c.want_ok) {
    EXPECT_NE(config.error().message.find(c.want_error), std::string::npos)
        << config.error().message;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, LocalProcessConfigTest,
    ::testing::Values(
        ConfigCase{"minimal", {{"command", "sleep 60"}}, true, ""},
        ConfigCase{"full",
                   {{"command", "worker --port {port}"},
                    {"base_port", 8100},
                    {"working_dir", "/tmp"},
                    {"env", {{"A", "b"}}},
                    {"grace_period", 2000},
                    {"readiness", "http"},
                    {"readiness_path", "/ready"},
                    {"readiness_timeout", 5000},
                    {"restart", false},
                    {"log_file", "/tmp/w-{index}.log"}},
                   true,
                   ""},
        ConfigCase{"duration_strings", {{"command", "x"}, {"grace_period", "1s"}}, true, ""},
        ConfigCase{"missing_command", json::object(), false, "'command' is required"},
        ConfigCase{"command_not_a_string", {{"command", 3}}, false, "'command' must be a string"},
        ConfigCase{"port_without_base_port",
                   {{"command", "w --port {port}"}},
                   false,
                   "uses {port} but no base_port"},
        ConfigCase{"readiness_without_base_port",
                   {{"command", "w"}, {"readiness", "tcp"}},
                   false,
                   "readiness 'tcp' needs base_port"},
        ConfigCase{"unknown_readiness",
                   {{"command", "w"}, {"base_port", 9000}, {"readiness", "grpc"}},
                   false,
                   "readiness must be none, tcp or http"},
        ConfigCase{"base_port_too_high",
                   {{"command", "w"}, {"base_port", 70000}},
                   false,
                   "base_port must be in 1..65535"},
        ConfigCase{"bad_duration",
                   {{"command", "w"}, {"grace_period", "soon"}},
                   false,
                   "'grace_period' must be a duration"},
        ConfigCase{"env_not_strings",
                   {{"command", "w"}, {"env", {{"A", 1}}}},
                   false,
                   "'env.A' must be a string"}),
    [](const auto& info) { return info.param.name; });

TEST(LocalProcessConfig, Defaults) {
  auto c = parse_local_process_config({{"command", "w"}, {"readiness_path", "ready"}});
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->grace_period, seconds(10));
  EXPECT_EQ(c->readiness, Readiness::kNone);
  EXPECT_EQ(c->readiness_path, "/ready");  // a leading slash is added
  EXPECT_EQ(c->readiness_timeout, seconds(60));
  EXPECT_TRUE(c->restart);
  EXPECT_FALSE(c->base_port.has_value());
  EXPECT_TRUE(c->log_file.empty());
}

TEST(PersistedPool, RoundTrips) {
  PersistedPool pool;
  pool.boot_id = "b";
  pool.desired = 2;
  pool.processes = {
      {.index = 0, .port = 8000, .pid = 100, .start_ticks = 5, .started_ms = 7, .ready = true},
      {.index = 1, .port = 8001, .pid = 0},
      {.index = 2,
       .port = 8002,
       .pid = 300,
       .start_ticks = 9,
       .stopping = true,
       .kill_at_ms = 12345}};
  auto back = pool_from_string(pool_to_string(pool));
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(back->boot_id, "b");
  EXPECT_EQ(back->desired, 2);
  ASSERT_EQ(back->processes.size(), 3u);
  EXPECT_EQ(back->processes[0].pid, 100);
  EXPECT_EQ(back->processes[0].start_ticks, 5u);
  EXPECT_EQ(back->processes[0].started_ms, 7);
  EXPECT_TRUE(back->processes[0].ready);
  EXPECT_FALSE(back->processes[0].stopping);
  EXPECT_EQ(back->processes[1].pid, 0);
  EXPECT_TRUE(back->processes[2].stopping);
  EXPECT_EQ(back->processes[2].kill_at_ms, 12345);
}

struct BadStateCase {
  const char* name;
  std::string text;
  std::string want_error;
};

class PersistedPoolErrorTest : public ::testing::TestWithParam<BadStateCase> {};

TEST_P(PersistedPoolErrorTest, Rejects) {
  auto pool = pool_from_string(GetParam().text);
  ASSERT_FALSE(pool.has_value());
  EXPECT_NE(pool.error().message.find(GetParam().want_error), std::string::npos)
      << pool.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PersistedPoolErrorTest,
    ::testing::Values(
        BadStateCase{"not_json", "{", "not a JSON object"},
        BadStateCase{"array", "[]", "not a JSON object"},
        BadStateCase{"no_version", R"({"desired":1,"processes":[]})", "unknown version (none)"},
        BadStateCase{"future_version", R"({"version":2,"processes":[]})", "unknown version 2"},
        BadStateCase{"negative_desired", R"({"version":1,"desired":-1,"processes":[]})",
                     "'desired' is not a capacity"},
        BadStateCase{"no_processes", R"({"version":1,"desired":1})", "'processes' is not a list"},
        BadStateCase{"bad_pid", R"({"version":1,"processes":[{"index":0,"pid":"x"}]})",
                     "bad index, port, pid or time"},
        BadStateCase{"negative_index", R"({"version":1,"processes":[{"index":-1}]})",
                     "bad index, port, pid or time"}),
    [](const auto& info) { return info.param.name; });

struct BackoffCase {
  const char* name;
  int failures;
  Duration want;
};

class RestartBackoffTest : public ::testing::TestWithParam<BackoffCase> {};

TEST_P(RestartBackoffTest, Doubles) {
  EXPECT_EQ(restart_backoff(GetParam().failures), GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(Cases, RestartBackoffTest,
                         ::testing::Values(BackoffCase{"none", 0, Duration::zero()},
                                           BackoffCase{"first", 1, milliseconds(500)},
                                           BackoffCase{"second", 2, seconds(1)},
                                           BackoffCase{"fourth", 4, seconds(4)},
                                           BackoffCase{"capped", 7, seconds(30)},
                                           BackoffCase{"stays_capped", 1000, seconds(30)}),
                         [](const auto& info) { return info.param.name; });

TEST(LocalProcessTarget, RefusesToStartWhenTheSavedStateCannotBeRead) {
  testing::FakeStateStore store;
  TargetStateStore state(store, "g");
  store.fail_get = true;
  auto target = make_local_process_target({"local-process", {{"command", "sleep 60"}}},
                                          {.group = "g", .state = &state});
  ASSERT_FALSE(target.has_value());
  EXPECT_NE(target.error().message.find("cannot read saved state"), std::string::npos);

  store.fail_get = false;
  store.set("g", kLocalProcessStateKey, "{garbage");
  target = make_local_process_target({"local-process", {{"command", "sleep 60"}}},
                                     {.group = "g", .state = &state});
  ASSERT_FALSE(target.has_value());
  EXPECT_NE(target.error().message.find("saved state is unreadable"), std::string::npos);
}

TEST(LocalProcessTarget, EmptyPoolWithoutState) {
  auto target = make_local_process_target({"local-process", {{"command", "sleep 60"}}}, {});
  ASSERT_TRUE(target.has_value()) << target.error().message;
  auto status = (*target)->status();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->desired, 0);
  EXPECT_TRUE(status->instances.empty());
  EXPECT_FALSE((*target)->scale({.desired = -1}).has_value());
  EXPECT_FALSE((*target)->scale({.desired = kMaxLocalProcesses + 1}).has_value());
}

TEST(LocalProcessTarget, ForgetsProcessesFromAnotherBoot) {
  testing::FakeStateStore store;
  TargetStateStore state(store, "g");
  PersistedPool pool;
  pool.boot_id = "another-boot";
  pool.desired = 1;
  // Our own pid: alive, but the boot id says it is not the process that was saved.
  pool.processes = {{.index = 0, .pid = ::getpid(), .start_ticks = 1}};
  store.set("g", kLocalProcessStateKey, pool_to_string(pool));
  auto target =
      make_local_process_target({"local-process", {{"command", "sleep 60"}, {"restart", false}}},
                                {.group = "g", .state = &state});
  ASSERT_TRUE(target.has_value()) << target.error().message;
  auto status = (*target)->status();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->desired, 1);
  ASSERT_EQ(status->instances.size(), 1u);
  EXPECT_EQ(status->instances[0].state, InstanceState::kMissing);
  EXPECT_NE(status->instances[0].detail.find("was gone when tide started"), std::string::npos)
      << status->instances[0].detail;
  EXPECT_NE(status->instances[0].detail.find("not restarted (restart: false)"), std::string::npos);
  // The saved state no longer names the pid.
  auto saved = pool_from_string(store.value("g", kLocalProcessStateKey).value());
  ASSERT_TRUE(saved.has_value());
  ASSERT_EQ(saved->processes.size(), 1u);
  EXPECT_EQ(saved->processes[0].pid, 0);
}

}  // namespace
}  // namespace tide
