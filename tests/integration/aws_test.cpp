// Integration tests of the AWS targets and sources through the fake AWS endpoint
// (tests/aws/fake_aws.py): every request tide sends is re-signed and compared by botocore's SigV4
// signer, and its parameters are checked against botocore's service models. The fake keeps state
// (Auto Scaling instances Pending -> InService, EC2 pending -> running and stopping -> stopped,
// Lambda updates InProgress -> Successful, provisioned concurrency IN_PROGRESS -> READY) and
// injects faults (throttling, 500s, resets, delays, expired credentials, AccessDenied).
//
// Run by tests/aws_test.sh, which starts the fake on a free port and sets:
//   TIDE_TEST_AWS_FAKE         http://127.0.0.1:PORT, for the control API (/_fake/...)
//   AWS_ENDPOINT_URL           the same URL, for every service
//   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY  the fake's default key pair
//   AWS_REGION=us-east-1, AWS_EC2_METADATA_DISABLED=true, empty AWS_SHARED_CREDENTIALS_FILE and
//   AWS_CONFIG_FILE, TIDE_AWS_RETRY_BASE_DELAY=20ms (retries wait milliseconds, not seconds)
// Targets and sources are made through the registries, as `tide run` makes them. Every test starts
// from a reset fake and moves the fake's clock forward instead of sleeping through transitions.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "core/clock.hpp"
#include "core/http.hpp"
#include "sources/registry.hpp"
#include "sources/source.hpp"
#include "targets/registry.hpp"
#include "targets/target.hpp"

namespace tide {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Steady = std::chrono::steady_clock;

constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Fails the test (never skips) when not run by tests/aws_test.sh.
#define REQUIRE_FAKE()                                                                       \
  do {                                                                                       \
    ASSERT_FALSE(env("TIDE_TEST_AWS_FAKE").empty())                                          \
        << "run this binary through tests/aws_test.sh, which starts the fake AWS endpoint";  \
    ASSERT_EQ(env("AWS_ENDPOINT_URL"), env("TIDE_TEST_AWS_FAKE"));                           \
    ASSERT_EQ(env("AWS_SECRET_ACCESS_KEY"), kSecret);                                        \
    ASSERT_FALSE(env("TIDE_AWS_RETRY_BASE_DELAY").empty()) << "retries would sleep seconds"; \
  } while (0)

// The fake's control API.
class FakeAws {
 public:
  FakeAws() : url_(env("TIDE_TEST_AWS_FAKE")) {}

  json call(const std::string& method, const std::string& path, const json& body = nullptr) {
    HttpRequest req;
    req.method = method;
    req.url = url_ + path;
    req.timeout = seconds(10);
    if (!body.is_null()) {
      req.headers = {{"Content-Type", "application/json"}};
      req.body = body.dump();
    }
    auto r = http_.send(req);
    if (!r) {
      ADD_FAILURE() << method << " " << path << ": " << r.error().message;
      return nullptr;
    }
    if (!r->ok()) {
      ADD_FAILURE() << method << " " << path << ": HTTP " << r->status << ": " << r->body;
      return nullptr;
    }
    return json::parse(r->body, nullptr, false);
  }

  void reset() { call("POST", "/_fake/reset"); }
  json seed(const json& body) { return call("POST", "/_fake/seed", body); }
  json state() { return call("GET", "/_fake/state"); }
  void fault(const json& f) { call("POST", "/_fake/faults", f); }
  void advance(double s) { call("POST", "/_fake/clock", {{"advance", s}}); }
  void config(const json& c) { call("POST", "/_fake/config", c); }

  // The request log, oldest first; only `operation`'s entries when given.
  json requests(const std::string& operation = "") {
    json r = call("GET",
                  operation.empty() ? "/_fake/requests" : "/_fake/requests?operation=" + operation);
    return r.is_object() ? r["requests"] : json::array();
  }

  // The fake's clock (real time plus what advance() added).
  TimePoint now() {
    json s = state();
    auto t = parse_time(s.is_object() ? s.value("clock", "") : "");
    if (!t) ADD_FAILURE() << "the fake's state has no readable clock: " << s.dump();
    return t ? *t : TimePoint{};
  }

  const std::string& url() const { return url_; }

 private:
  std::string url_;
  HttpClient http_;
};

const SystemClock kClock;

std::unique_ptr<Target> make_target(const std::string& type, json params) {
  const TargetType* t = builtin_targets().find(type);
  EXPECT_NE(t, nullptr) << type;
  if (t == nullptr || !t->create) return nullptr;
  auto r = t->create(TargetRef{type, std::move(params)},
                     TargetContext{.group = "it-" + type, .state = nullptr, .clock = &kClock});
  EXPECT_TRUE(r.has_value()) << r.error().message;
  return r ? std::move(*r) : nullptr;
}

std::unique_ptr<Source> make_source(const std::string& type, json params = json::object()) {
  const SourceType* t = builtin_sources().find(type);
  EXPECT_NE(t, nullptr) << type;
  if (t == nullptr || !t->create) return nullptr;
  auto r = t->create(SourceSpec{.name = "it-" + type, .type = type, .params = std::move(params)});
  EXPECT_TRUE(r.has_value()) << r.error().message;
  return r ? std::move(*r) : nullptr;
}

Result<std::vector<Sample>> read_once(Source& source, const json& query, TimePoint now,
                                      Duration timeout = seconds(5)) {
  auto q = source.prepare(query);
  if (!q) return std::unexpected(q.error());
  return source.read(*q, {}, now, timeout);
}

int count_state(const TargetStatus& s, InstanceState state) {
  int n = 0;
  for (const InstanceStatus& i : s.instances) n += i.state == state ? 1 : 0;
  return n;
}

std::vector<std::string> ids_of(const json& request) {
  std::vector<std::string> out;
  for (const auto& id : request["params"].value("InstanceIds", json::array())) {
    out.push_back(id.get<std::string>());
  }
  return out;
}

// A request log entry answered with success (Lambda answers some calls with 202 or 204).
bool ok_status(const json& request) {
  const int status = request.value("status", 0);
  return status >= 200 && status < 300;
}

json find_named(const json& list, const std::string& key, const std::string& name) {
  for (const auto& item : list) {
    if (item.value(key, "") == name) return item;
  }
  ADD_FAILURE() << "no entry with " << key << " = " << name << " in " << list.dump();
  return json::object();
}

class AwsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_FAKE();
    fake_.reset();
  }

  // Whatever a test did, every request tide sent to an AWS service was correctly signed.
  void TearDown() override {
    if (env("TIDE_TEST_AWS_FAKE").empty()) return;
    for (const auto& r : fake_.requests()) {
      if (r.value("protocol", "") == "http") continue;  // credential endpoints are unsigned
      EXPECT_EQ(r.value("signature", ""), "valid") << r.dump();
    }
  }

  json group(const std::string& name) {
    return find_named(fake_.state()["autoscaling_groups"], "name", name);
  }
  json function(const std::string& name) {
    return find_named(fake_.state()["functions"], "name", name);
  }

  FakeAws fake_;
};

// ================================ aws-asg ================================

TEST_F(AwsTest, AsgScalesOutAndInAsInstancesGoThroughTheirLifecycle) {
  fake_.seed(
      {{"autoscaling_groups", {{{"name", "web-asg"}, {"min", 1}, {"max", 10}, {"desired", 2}}}}});
  auto target = make_target("aws-asg", {{"name", "web-asg"}});
  ASSERT_NE(target, nullptr);

  auto s = target->status();
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->desired, 2);
  EXPECT_EQ(count_state(*s, InstanceState::kReady), 2);

  ASSERT_TRUE(target->scale({.desired = 5, .reason = "test"}).has_value());
  EXPECT_EQ(group("web-asg")["desired"], 5);
  json calls = fake_.requests("SetDesiredCapacity");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0]["params"], json({{"AutoScalingGroupName", "web-asg"},
                                      {"DesiredCapacity", 5},
                                      {"HonorCooldown", false}}));

  s = target->status();
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->desired, 5);
  EXPECT_EQ(count_state(*s, InstanceState::kReady), 2);
  ASSERT_EQ(count_state(*s, InstanceState::kWarming), 3) << "three new instances are Pending";
  for (const InstanceStatus& i : s->instances) {
    if (i.state == InstanceState::kWarming) {
      EXPECT_EQ(i.detail, "Pending");
    }
    EXPECT_TRUE(i.id.starts_with("i-")) << i.id;
  }

  fake_.advance(5);  // asg_pending: Pending -> InService
  s = target->status();
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(count_state(*s, InstanceState::kReady), 5);
  EXPECT_EQ(count_state(*s, InstanceState::kWarming), 0);

  ASSERT_TRUE(target->scale({.desired = 3, .reason = "test"}).has_value());
  int terminating = 0;
  const json instances = group("web-asg")["instances"];  // (no temporary in a range-for: GCC 12)
  for (const auto& i : instances) terminating += i["lifecycle"] == "Terminating" ? 1 : 0;
  EXPECT_EQ(terminating, 2);
  s = target->status();
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->desired, 3);
  EXPECT_EQ(s->instances.size(), 3u) << "Terminating instances serve nothing and are not listed";
  fake_.advance(5);
  EXPECT_EQ(group("web-asg")["instances"].size(), 3u);
}

TEST_F(AwsTest, AsgRefusesACapacityOutsideTheGroupsMinAndMax) {
  fake_.seed(
      {{"autoscaling_groups", {{{"name", "web-asg"}, {"min", 2}, {"max", 4}, {"desired", 2}}}}});
  auto target = make_target("aws-asg", {{"name", "web-asg"}});
  ASSERT_NE(target, nullptr);

  auto r = target->scale({.desired = 6});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(contains(r.error().message,
                       "desired capacity 6 is above the Auto Scaling group "
                       "'web-asg''s own MaxSize 4"))
      << r.error().message;
  r = target->scale({.desired = 1});
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(contains(r.error().message, "below the Auto Scaling group 'web-asg''s own MinSize 2"))
      << r.error().message;
  EXPECT_TRUE(fake_.requests("SetDesiredCapacity").empty()) << "refused before calling AWS";

  // The group's bounds change behind tide's back: AWS's ValidationError is reported with the
  // bounds tide last read.
  ASSERT_TRUE(target->status().has_value());
  fake_.seed(
      {{"autoscaling_groups", {{{"name", "web-asg"}, {"min", 1}, {"max", 3}, {"desired", 2}}}}});
  r = target->scale({.desired = 4});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(contains(r.error().message,
                       "rejected desired capacity 4 (its MinSize/MaxSize were "
                       "2/4 when last read)"))
      << r.error().message;
  EXPECT_TRUE(contains(r.error().message, "ValidationError")) << r.error().message;
  EXPECT_TRUE(contains(r.error().message, "(request id ")) << r.error().message;
  EXPECT_EQ(fake_.requests("SetDesiredCapacity").size(), 1u) << "not retried";
  EXPECT_EQ(group("web-asg")["desired"], 2);
}

// An active schedule's bounds go to the group with the capacity, in one UpdateAutoScalingGroup.
TEST_F(AwsTest, AsgWritesAScheduledPolicysBoundsWithTheCapacity) {
  fake_.seed(
      {{"autoscaling_groups", {{{"name", "web-asg"}, {"min", 1}, {"max", 4}, {"desired", 2}}}}});
  auto target = make_target("aws-asg", {{"name", "web-asg"}});
  ASSERT_NE(target, nullptr);
  ASSERT_TRUE(target->status().has_value());

  // Business hours: min 6, max 20; desired 6 is above the group's own MaxSize 4, but the
  // schedule raises it.
  auto r = target->scale({.desired = 6, .min = 6, .max = 20});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(fake_.requests("UpdateAutoScalingGroup").size(), 1u);
  EXPECT_TRUE(fake_.requests("SetDesiredCapacity").empty());
  auto g = group("web-asg");
  EXPECT_EQ(g["min"], 6);
  EXPECT_EQ(g["max"], 20);
  EXPECT_EQ(g["desired"], 6);

  // Without schedule bounds (or with the group's own) a plain SetDesiredCapacity.
  ASSERT_TRUE(target->status().has_value());
  r = target->scale({.desired = 8, .min = 6, .max = 20});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(fake_.requests("UpdateAutoScalingGroup").size(), 1u);
  EXPECT_EQ(fake_.requests("SetDesiredCapacity").size(), 1u);
  EXPECT_EQ(group("web-asg")["desired"], 8);

  // A desired value outside the schedule's own bounds is refused before calling AWS.
  r = target->scale({.desired = 3, .min = 4, .max = 10});
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(contains(r.error().message, "below the Auto Scaling group 'web-asg''s own MinSize 4"))
      << r.error().message;
  EXPECT_EQ(fake_.requests("UpdateAutoScalingGroup").size(), 1u);

  // The schedule ends: the group's own bounds (1..4) come back with the next capacity.
  ASSERT_TRUE(target->status().has_value());
  r = target->scale({.desired = 2});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(fake_.requests("UpdateAutoScalingGroup").size(), 2u);
  g = group("web-asg");
  EXPECT_EQ(g["min"], 1);
  EXPECT_EQ(g["max"], 4);
  EXPECT_EQ(g["desired"], 2);
  // And then plain SetDesiredCapacity again.
  ASSERT_TRUE(target->status().has_value());
  r = target->scale({.desired = 3});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(fake_.requests("UpdateAutoScalingGroup").size(), 2u);
  EXPECT_EQ(group("web-asg")["desired"], 3);
}

TEST_F(AwsTest, AsgUnknownGroupIsNotFound) {
  auto target = make_target("aws-asg", {{"name", "nope-asg"}});
  ASSERT_NE(target, nullptr);
  auto s = target->status();
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(contains(s.error().message, "'nope-asg' not found in us-east-1"))
      << s.error().message;
}

// ================================ aws-ec2 ================================

// 17 hex digits after "i-", as EC2's long ids.
const std::string kA = "i-0000000000000000a", kB = "i-0000000000000000b",
                  kC = "i-0000000000000000c", kD = "i-0000000000000000d",
                  kE = "i-0000000000000000e", kOther = "i-0000000000000000f";

TEST_F(AwsTest, Ec2StartsStoppedInstancesStopsNewestOrOldestAndNeverTouchesTransitions) {
  const json pool = {{"pool", "render"}};
  fake_.seed({{"instances",
               {{{"id", kA},
                 {"state", "running"},
                 {"tags", pool},
                 {"launch_time", "2024-01-01T00:00:00Z"}},
                {{"id", kB},
                 {"state", "running"},
                 {"tags", pool},
                 {"launch_time", "2024-06-01T00:00:00Z"}},
                {{"id", kC}, {"state", "stopped"}, {"tags", pool}},
                {{"id", kD}, {"state", "stopped"}, {"tags", pool}},
                {{"id", kE}, {"state", "stopping"}, {"tags", pool}},
                {{"id", kOther}, {"state", "stopped"}, {"tags", {{"pool", "other"}}}}}}});
  auto newest = make_target("aws-ec2", {{"tags", pool}});
  auto oldest = make_target("aws-ec2", {{"tags", pool}, {"stop_order", "oldest"}});
  ASSERT_NE(newest, nullptr);
  ASSERT_NE(oldest, nullptr);

  auto s = newest->status();
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->desired, 2);
  ASSERT_EQ(count_state(*s, InstanceState::kReady), 2);
  for (const InstanceStatus& i : s->instances) EXPECT_FALSE(i.address.empty()) << "private IP";

  // Up by two: the two stopped instances of the pool; the stopping one is left alone.
  ASSERT_TRUE(newest->scale({.desired = 4}).has_value());
  json starts = fake_.requests("StartInstances");
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(ids_of(starts[0]), (std::vector<std::string>{kC, kD}));
  s = newest->status();
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->desired, 4);
  EXPECT_EQ(count_state(*s, InstanceState::kWarming), 2) << "pending";

  // Up by one more: nothing is stopped, kE is still stopping: an error that says so, no call.
  auto r = newest->scale({.desired = 5});
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(
      contains(r.error().message, "only 0 stopped instance(s) to start; 1 stopping (" + kE + ")"))
      << r.error().message;
  EXPECT_EQ(fake_.requests("StartInstances").size(), 1u);

  fake_.advance(5);  // pending -> running, stopping -> stopped
  s = newest->status();
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(count_state(*s, InstanceState::kReady), 4);

  // Down by one, newest first: kC and kD were launched just now (same time: by id), A and B
  // long ago.
  ASSERT_TRUE(newest->scale({.desired = 3}).has_value());
  json stops = fake_.requests("StopInstances");
  ASSERT_EQ(stops.size(), 1u);
  EXPECT_EQ(ids_of(stops[0]), (std::vector<std::string>{kC}));

  // Down by one more with stop_order: oldest: kA (launched 2024-01-01).
  ASSERT_TRUE(oldest->scale({.desired = 2}).has_value());
  stops = fake_.requests("StopInstances");
  ASSERT_EQ(stops.size(), 2u);
  EXPECT_EQ(ids_of(stops[1]), (std::vector<std::string>{kA}));

  // Up by two while kA and kC are stopping: only kE (stopped by now) can start.
  r = oldest->scale({.desired = 4});
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(contains(r.error().message,
                       "only 1 stopped instance(s) to start; 2 stopping (" + kA + ", " + kC + ")"))
      << r.error().message;
  starts = fake_.requests("StartInstances");
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(ids_of(starts[1]), (std::vector<std::string>{kE}));

  // Down to zero while kE is pending: the running ones stop, kE is left alone.
  r = oldest->scale({.desired = 0});
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(contains(r.error().message, "1 pending (" + kE + ")")) << r.error().message;
  stops = fake_.requests("StopInstances");
  ASSERT_EQ(stops.size(), 3u);
  EXPECT_EQ(ids_of(stops[2]), (std::vector<std::string>{kB, kD}));

  const json fleet = fake_.state()["instances"];
  for (const auto& st : fleet) {
    if (st["id"] == kOther) {
      EXPECT_EQ(st["state"], "stopped") << "not in the pool";
    }
  }
}

// ================================ aws-lambda-memory ================================

TEST_F(AwsTest, LambdaMemoryUpdatesMemoryAndTimeoutOneUpdateAtATime) {
  fake_.seed({{"functions", {{{"name", "thumbs"}, {"memory", 512}, {"timeout", 3}}}}});
  auto target = make_target("aws-lambda-memory", {{"function", "thumbs"}, {"timeout", 30000}});
  ASSERT_NE(target, nullptr);

  auto s = target->status();
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->desired, 512);
  EXPECT_TRUE(s->instances.empty());

  ASSERT_TRUE(target->scale({.desired = 1024}).has_value());
  json updates = fake_.requests("UpdateFunctionConfiguration");
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0]["params"].value("MemorySize", 0), 1024);
  EXPECT_EQ(updates[0]["params"].value("Timeout", 0), 30);
  json f = function("thumbs");
  EXPECT_EQ(f["memory"], 1024);
  EXPECT_EQ(f["timeout"], 30);
  EXPECT_EQ(f["last_update_status"], "InProgress");

  s = target->status();
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->desired, 1024);
  ASSERT_EQ(s->instances.size(), 1u);
  EXPECT_EQ(s->instances[0].state, InstanceState::kWarming);
  EXPECT_TRUE(contains(s->instances[0].detail, "LastUpdateStatus InProgress"))
      << s->instances[0].detail;

  // No second update on top of a running one (Lambda would answer ResourceConflictException).
  auto r = target->scale({.desired = 2048});
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(contains(r.error().message, "an update is in progress")) << r.error().message;
  EXPECT_EQ(fake_.requests("UpdateFunctionConfiguration").size(), 1u);

  fake_.advance(5);  // lambda_update: InProgress -> Successful
  EXPECT_EQ(function("thumbs")["last_update_status"], "Successful");
  s = target->status();
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_TRUE(s->instances.empty());
  ASSERT_TRUE(target->scale({.desired = 2048}).has_value());
  EXPECT_EQ(function("thumbs")["memory"], 2048);

  r = target->scale({.desired = 64});
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(contains(r.error().message, "128 to 10240 MB")) << r.error().message;
  EXPECT_EQ(fake_.requests("UpdateFunctionConfiguration").size(), 2u);
}

// ================================ aws-lambda-concurrency ================================

TEST_F(AwsTest, LambdaConcurrencyIsAllocatedThenReadyAndDeletedForZero) {
  fake_.seed(
      {{"functions", {{{"name", "checkout"}, {"versions", {"1"}}, {"aliases", {{"live", "1"}}}}}}});
  auto target =
      make_target("aws-lambda-concurrency", {{"function", "checkout"}, {"qualifier", "live"}});
  ASSERT_NE(target, nullptr);

  auto s = target->status();
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->desired, 0) << "no config is capacity 0";

  ASSERT_TRUE(target->scale({.desired = 5}).has_value());
  json puts = fake_.requests("PutProvisionedConcurrencyConfig");
  ASSERT_EQ(puts.size(), 1u);
  EXPECT_EQ(puts[0]["params"].value("ProvisionedConcurrentExecutions", 0), 5);
  EXPECT_EQ(puts[0]["params"].value("Qualifier", ""), "live");
  s = target->status();
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->desired, 5);
  EXPECT_EQ(count_state(*s, InstanceState::kWarming), 5) << "IN_PROGRESS";
  for (const InstanceStatus& i : s->instances)
    EXPECT_TRUE(i.id.starts_with("checkout:live#")) << i.id;

  fake_.advance(5);  // provisioned_ready: IN_PROGRESS -> READY
  s = target->status();
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(count_state(*s, InstanceState::kReady), 5);

  ASSERT_TRUE(target->scale({.desired = 0}).has_value());
  EXPECT_EQ(fake_.requests("DeleteProvisionedConcurrencyConfig").size(), 1u);
  EXPECT_FALSE(function("checkout")["provisioned"].contains("live"));
  s = target->status();
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->desired, 0);
  // Deleting what is already gone is done, not an error.
  ASSERT_TRUE(target->scale({.desired = 0}).has_value());

  // More than the account can spare (it keeps 100 unreserved): AWS's error, not retried.
  fake_.config({{"account_concurrency", 150}});
  auto r = target->scale({.desired = 60});
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(contains(r.error().message, "InvalidParameterValueException")) << r.error().message;
  EXPECT_EQ(fake_.requests("PutProvisionedConcurrencyConfig").size(), 2u);
}

// ================================ cloudwatch ================================

json cpu_query(const std::string& asg) {
  return {{"namespace", "AWS/EC2"},
          {"name", "CPUUtilization"},
          {"dimensions", {{"AutoScalingGroupName", asg}}},
          {"statistic", "Average"},
          {"period", 60000}};
}

json cpu_metric(const std::string& asg, double value) {
  return {{"namespace", "AWS/EC2"},
          {"name", "CPUUtilization"},
          {"dimensions", {{"AutoScalingGroupName", asg}}},
          {"value", value}};
}

TEST_F(AwsTest, CloudWatchReadsTheNewestCompletePeriod) {
  // Period 60 s, delay 60 s: the datapoint 30 s old is in a period that is not over; the one
  // 150 s old is the newest complete one; 270 s is older.
  fake_.seed({{"metrics",
               {{{"namespace", "AWS/Lambda"},
                 {"name", "Duration"},
                 {"dimensions", {{"FunctionName", "thumbs"}}},
                 {"datapoints",
                  {{{"ago", 30}, {"value", 999}},
                   {{"ago", 150}, {"value", 70}},
                   {{"ago", 270}, {"value", 10}}}}}}}});
  auto cw = make_source("cloudwatch");
  ASSERT_NE(cw, nullptr);
  auto r = read_once(*cw,
                     {{"namespace", "AWS/Lambda"},
                      {"name", "Duration"},
                      {"dimensions", {{"FunctionName", "thumbs"}}},
                      {"statistic", "p99"},
                      {"period", 60000}},
                     fake_.now());
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].value, 70);
  json calls = fake_.requests("GetMetricData");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0]["params"]["MetricDataQueries"][0]["MetricStat"].value("Stat", ""), "p99");

  // A metric nobody published: no data, not an error.
  r = read_once(*cw, cpu_query("nothing-here"), fake_.now());
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_TRUE(r->empty());
}

TEST_F(AwsTest, CloudWatchBatchesSeveralGroupsQueriesIntoOneCall) {
  fake_.seed(
      {{"metrics",
        {cpu_metric("web-asg", 81), cpu_metric("api-asg", 42), cpu_metric("batch-asg", 7)}}});
  auto cw = make_source("cloudwatch");
  ASSERT_NE(cw, nullptr);
  // Three groups' policies read the same source.
  std::vector<int> handles;
  for (const char* asg : {"web-asg", "api-asg", "batch-asg"}) {
    auto h = cw->prepare(cpu_query(asg));
    ASSERT_TRUE(h.has_value()) << h.error().message;
    handles.push_back(*h);
  }
  const std::vector<double> want = {81, 42, 7};
  auto read_all = [&](TimePoint now) {
    for (std::size_t i = 0; i < handles.size(); ++i) {
      auto r = cw->read(handles[i], {}, now, seconds(5));
      ASSERT_TRUE(r.has_value()) << r.error().message;
      ASSERT_EQ(r->size(), 1u);
      EXPECT_EQ((*r)[0].value, want[i]);
    }
  };
  read_all(fake_.now());  // the first reads make each query known
  const std::size_t before = fake_.requests("GetMetricData").size();

  // A period later every query is out of date: the first read fetches all three in one call and
  // the other two are served from it.
  fake_.advance(60);
  const TimePoint later = fake_.now();
  read_all(later);
  json calls = fake_.requests("GetMetricData");
  ASSERT_EQ(calls.size(), before + 1) << calls.dump();
  json queries = calls.back()["params"]["MetricDataQueries"];
  ASSERT_EQ(queries.size(), 3u);
  std::set<std::string> asgs;
  for (const auto& q : queries) {
    asgs.insert(q["MetricStat"]["Metric"]["Dimensions"][0]["Value"].get<std::string>());
  }
  EXPECT_EQ(asgs, (std::set<std::string>{"web-asg", "api-asg", "batch-asg"}));

  // Within the same period: no call at all.
  read_all(later);
  EXPECT_EQ(fake_.requests("GetMetricData").size(), before + 1);
}

// ================================ sqs ================================

TEST_F(AwsTest, SqsAddsVisibleAndInFlightMessages) {
  fake_.seed(
      {{"queues", {{{"name", "jobs"}, {"visible", 12}, {"not_visible", 3}, {"delayed", 4}}}}});
  auto sqs = make_source("sqs");
  ASSERT_NE(sqs, nullptr);
  const TimePoint now = kClock.now();

  auto r = read_once(*sqs, {{"queue_name", "jobs"}}, now);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].value, 15) << "visible + not visible";
  EXPECT_EQ(fake_.requests("GetQueueUrl").size(), 1u);
  json attrs = fake_.requests("GetQueueAttributes");
  ASSERT_EQ(attrs.size(), 1u);
  EXPECT_EQ(attrs[0]["params"]["AttributeNames"],
            json({"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}));

  r = read_once(*sqs, {{"queue_name", "jobs"}, {"include_in_flight", false}}, now);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ((*r)[0].value, 12);
  r = read_once(*sqs, {{"queue_name", "jobs"}, {"include_delayed", true}}, now);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ((*r)[0].value, 19);

  // By URL: no GetQueueUrl.
  const std::string url = fake_.url() + "/123456789012/jobs";
  r = read_once(*sqs, {{"queue_url", url}, {"include_in_flight", false}, {"include_delayed", true}},
                now);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ((*r)[0].value, 16);

  // The queue changes: a read more than a second later sees it.
  fake_.seed({{"queues", {{{"name", "jobs"}, {"visible", 100}, {"not_visible", 0}}}}});
  std::this_thread::sleep_for(milliseconds(1100));
  r = read_once(*sqs, {{"queue_name", "jobs"}}, kClock.now());
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ((*r)[0].value, 100);
  EXPECT_EQ(fake_.requests("GetQueueUrl").size(), 1u) << "the URL is looked up once";

  r = read_once(*sqs, {{"queue_name", "missing"}}, now);
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(contains(r.error().message, "AWS.SimpleQueueService.NonExistentQueue"))
      << r.error().message;
}

// ================================ faults, for every target and source
// ================================

// One AWS call of a target or source that a fault is injected into.
struct Subject {
  const char* name;
  const char* service;    // the fake's service name
  const char* operation;  // the call the fault hits
  json seed;
  // Creates the target or source (through the registry) and makes the call; `timeout` is the
  // source's read timeout (targets take theirs from TIDE_AWS_CALL_TIMEOUT).
  std::function<Result<void>(FakeAws&, Duration timeout)> act;
  const char* expired_code;  // the service's expired-credentials error
  const char* denied_code;   // the service's AccessDenied
};

Result<void> scale_to(const std::string& type, const json& params, int desired) {
  auto target = make_target(type, params);
  if (!target) return fail(ErrorCode::kInvalidArgument, "no target");
  return target->scale({.desired = desired, .reason = "fault test"});
}

Result<void> read_one(FakeAws& fake, const std::string& type, const json& query, Duration timeout) {
  auto source = make_source(type);
  if (!source) return fail(ErrorCode::kInvalidArgument, "no source");
  auto r = read_once(*source, query, fake.now(), timeout);
  if (!r) return std::unexpected(r.error());
  if (r->size() != 1) return fail(ErrorCode::kUnavailable, "expected one sample");
  return {};
}

const std::vector<Subject>& subjects() {
  static const std::vector<Subject> all = {
      {"asg",
       "autoscaling",
       "SetDesiredCapacity",
       {{"autoscaling_groups", {{{"name", "web-asg"}, {"min", 1}, {"max", 10}, {"desired", 2}}}}},
       [](FakeAws&, Duration) {
         return scale_to("aws-asg", {{"name", "web-asg"}}, 4);
       },
       "ExpiredToken",
       "AccessDenied"},
      {"ec2",
       "ec2",
       "StartInstances",
       {{"instances", {{{"id", kA}, {"state", "stopped"}, {"tags", {{"pool", "p"}}}}}}},
       [](FakeAws&, Duration) {
         return scale_to("aws-ec2", {{"tags", {{"pool", "p"}}}}, 1);
       },
       "RequestExpired",
       "UnauthorizedOperation"},
      {"lambda_memory",
       "lambda",
       "UpdateFunctionConfiguration",
       {{"functions", {{{"name", "thumbs"}, {"memory", 512}}}}},
       [](FakeAws&, Duration) {
         return scale_to("aws-lambda-memory", {{"function", "thumbs"}}, 1024);
       },
       "ExpiredTokenException",
       "AccessDeniedException"},
      {"lambda_concurrency",
       "lambda",
       "PutProvisionedConcurrencyConfig",
       {{"functions", {{{"name", "checkout"}, {"versions", {"1"}}, {"aliases", {{"live", "1"}}}}}}},
       [](FakeAws&, Duration) {
         return scale_to("aws-lambda-concurrency",
                         {{"function", "checkout"}, {"qualifier", "live"}}, 5);
       },
       "ExpiredTokenException",
       "AccessDeniedException"},
      {"cloudwatch",
       "monitoring",
       "GetMetricData",
       {{"metrics", {cpu_metric("web-asg", 80)}}},
       [](FakeAws& fake, Duration timeout) {
         return read_one(fake, "cloudwatch", cpu_query("web-asg"), timeout);
       },
       "ExpiredToken",
       "AccessDenied"},
      {"sqs",
       "sqs",
       "GetQueueAttributes",
       {{"queues", {{{"name", "jobs"}, {"visible", 5}}}}},
       [](FakeAws& fake, Duration timeout) {
         return read_one(fake, "sqs", {{"queue_name", "jobs"}}, timeout);
       },
       "ExpiredToken",
       "AccessDenied"},
  };
  return all;
}

enum class Fault {
  kThrottle,
  kInternal,
  kUnavailable,
  kReset,
  kDelay,
  kExpired,
  kDenied,
  kEchoedSecret
};

const char* fault_name(Fault f) {
  switch (f) {
    case Fault::kThrottle:
      return "throttle";
    case Fault::kInternal:
      return "internal";
    case Fault::kUnavailable:
      return "unavailable";
    case Fault::kReset:
      return "reset";
    case Fault::kDelay:
      return "delay";
    case Fault::kExpired:
      return "expired";
    case Fault::kDenied:
      return "denied";
    case Fault::kEchoedSecret:
      return "echoed_secret";
  }
  return "?";
}

// Sets (or, with nullptr, unsets) an environment variable for the life of the object; targets and
// sources read the environment when they are made.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class AwsFaultTest : public AwsTest,
                     public ::testing::WithParamInterface<std::tuple<std::size_t, Fault>> {};

TEST_P(AwsFaultTest, IsHandled) {
  const Subject& subject = subjects()[std::get<0>(GetParam())];
  const Fault fault = std::get<1>(GetParam());
  fake_.seed(subject.seed);
  const json where = {{"service", subject.service}, {"operation", subject.operation}};
  auto inject = [&](json f) {
    f.update(where);
    fake_.fault(f);
  };

  // Every subject has its happy path first: the fault is the only difference.
  switch (fault) {
    case Fault::kThrottle: {  // retried; the third attempt succeeds
      inject({{"kind", "throttle"}, {"count", 2}});
      auto r = subject.act(fake_, seconds(5));
      ASSERT_TRUE(r.has_value()) << r.error().message;
      json calls = fake_.requests(subject.operation);
      ASSERT_EQ(calls.size(), 3u) << calls.dump();
      EXPECT_EQ(calls[0]["fault"], "throttle");
      EXPECT_EQ(calls[1]["fault"], "throttle");
      EXPECT_TRUE(ok_status(calls[2])) << calls[2].dump();
      break;
    }
    case Fault::kInternal:
    case Fault::kUnavailable:
    case Fault::kReset: {  // transient: retried once, succeeds
      inject({{"kind", fault_name(fault)}});
      auto r = subject.act(fake_, seconds(5));
      ASSERT_TRUE(r.has_value()) << r.error().message;
      json calls = fake_.requests(subject.operation);
      ASSERT_EQ(calls.size(), 2u) << calls.dump();
      EXPECT_EQ(calls[0]["fault"], fault_name(fault));
      if (fault == Fault::kInternal) {
        EXPECT_EQ(calls[0]["status"], 500);
      }
      if (fault == Fault::kUnavailable) {
        EXPECT_EQ(calls[0]["status"], 503);
      }
      EXPECT_TRUE(ok_status(calls[1])) << calls[1].dump();
      break;
    }
    case Fault::kDelay: {  // longer than the call may take: a timeout error, soon
      inject({{"kind", "delay"}, {"seconds", 2.5}});
      ScopedEnv timeout("TIDE_AWS_CALL_TIMEOUT", "1s");
      const auto start = Steady::now();
      auto r = subject.act(fake_, seconds(1));
      const auto took = Steady::now() - start;
      ASSERT_FALSE(r.has_value());
      EXPECT_EQ(r.error().code, ErrorCode::kTimeout) << r.error().message;
      EXPECT_TRUE(contains(r.error().message, "timed out")) << r.error().message;
      EXPECT_TRUE(contains(r.error().message, subject.operation)) << r.error().message;
      EXPECT_LT(took, milliseconds(2000)) << "the call's budget is 1 s";
      // The fake finishes the delayed request (and applies it) before the next test resets it.
      const auto deadline = Steady::now() + seconds(10);
      while (Steady::now() < deadline && fake_.requests(subject.operation).empty()) {
        std::this_thread::sleep_for(milliseconds(100));
      }
      EXPECT_EQ(fake_.requests(subject.operation).size(), 1u) << "no time left for a retry";
      break;
    }
    case Fault::kExpired: {  // the credentials are fetched again and the call retried once
      inject({{"kind", "expired"}});
      auto r = subject.act(fake_, seconds(5));
      ASSERT_TRUE(r.has_value()) << r.error().message;
      json calls = fake_.requests(subject.operation);
      ASSERT_EQ(calls.size(), 2u) << calls.dump();
      EXPECT_EQ(calls[0]["error"], subject.expired_code);
      EXPECT_TRUE(ok_status(calls[1])) << calls[1].dump();
      break;
    }
    case Fault::kDenied: {  // not retried; the code, AWS's message and the request id, no secret
      inject({{"kind", "denied"}});
      auto r = subject.act(fake_, seconds(5));
      ASSERT_FALSE(r.has_value());
      const std::string& m = r.error().message;
      EXPECT_TRUE(contains(m, std::string(subject.denied_code) + ": ")) << m;
      EXPECT_TRUE(contains(m, "is not authorized to perform")) << m;
      EXPECT_TRUE(contains(m, "(request id ")) << m;
      EXPECT_FALSE(contains(m, kSecret)) << m;
      EXPECT_FALSE(contains(m, "(after ")) << "not retried: " << m;
      EXPECT_EQ(fake_.requests(subject.operation).size(), 1u);
      break;
    }
    case Fault::kEchoedSecret: {  // a service that repeats the secret: it is scrubbed
      inject({{"kind", "error"},
              {"status", 403},
              {"code", subject.denied_code},
              {"message", std::string("denied for key AKIDEXAMPLE/") + kSecret}});
      auto r = subject.act(fake_, seconds(5));
      ASSERT_FALSE(r.has_value());
      EXPECT_FALSE(contains(r.error().message, kSecret)) << r.error().message;
      EXPECT_TRUE(contains(r.error().message, "denied for key AKIDEXAMPLE/***"))
          << r.error().message;
      break;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Faults, AwsFaultTest,
    ::testing::Combine(::testing::Range<std::size_t>(0, 6),
                       ::testing::Values(Fault::kThrottle, Fault::kInternal, Fault::kUnavailable,
                                         Fault::kReset, Fault::kDelay, Fault::kExpired,
                                         Fault::kDenied, Fault::kEchoedSecret)),
    [](const auto& info) {
      return std::string(subjects()[std::get<0>(info.param)].name) + "_" +
             fault_name(std::get<1>(info.param));
    });

// ================================ credentials ================================

// Temporary credentials from the container endpoint expire on the fake's clock while tide still
// believes them valid: the service answers ExpiredToken, tide fetches new ones and retries.
TEST_F(AwsTest, ExpiredTemporaryCredentialsAreFetchedAgain) {
  fake_.seed(
      {{"autoscaling_groups", {{{"name", "web-asg"}, {"min", 1}, {"max", 10}, {"desired", 2}}}}});
  fake_.config({{"credentials_ttl", 3600}});
  // A region of its own gives this test its own credentials chain (one per profile and region),
  // made with the environment below.
  ScopedEnv uri("AWS_CONTAINER_CREDENTIALS_FULL_URI",
                (fake_.url() + "/v2/credentials/tide").c_str());
  ScopedEnv key("AWS_ACCESS_KEY_ID", nullptr);
  ScopedEnv secret("AWS_SECRET_ACCESS_KEY", nullptr);
  auto target = make_target("aws-asg", {{"name", "web-asg"}, {"region", "us-west-2"}});
  ASSERT_NE(target, nullptr);

  auto s = target->status();
  ASSERT_TRUE(s.has_value()) << s.error().message;
  ASSERT_EQ(fake_.requests("GetCredentials").size(), 1u);
  json describes = fake_.requests("DescribeAutoScalingGroups");
  ASSERT_EQ(describes.size(), 1u);
  const std::string first_key = describes[0].value("access_key", "");
  EXPECT_TRUE(first_key.starts_with("ASIA")) << "temporary credentials: " << first_key;
  EXPECT_EQ(describes[0].value("region", ""), "us-west-2");

  fake_.advance(3700);  // expired for the fake; tide's copy says an hour is left
  ASSERT_TRUE(target->scale({.desired = 3}).has_value());
  EXPECT_EQ(fake_.requests("GetCredentials").size(), 2u);
  json sets = fake_.requests("SetDesiredCapacity");
  ASSERT_EQ(sets.size(), 2u) << sets.dump();
  EXPECT_EQ(sets[0]["error"], "ExpiredToken");
  EXPECT_EQ(sets[0]["access_key"], first_key);
  EXPECT_TRUE(ok_status(sets[1])) << sets[1].dump();
  EXPECT_NE(sets[1]["access_key"], first_key);
  EXPECT_EQ(group("web-asg")["desired"], 3);
}

}  // namespace
}  // namespace tide
