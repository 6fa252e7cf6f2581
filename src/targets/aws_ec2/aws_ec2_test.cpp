#include "targets/aws_ec2/aws_ec2.hpp"

#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "aws/testing/fake_aws.hpp"

namespace tide {
namespace {

using nlohmann::json;
using std::chrono::minutes;
using std::chrono::seconds;

const TimePoint kNow = TimePoint(std::chrono::seconds(1767225600));  // 2026-01-01T00:00:00Z

TimePoint at(const char* text) {
  return *parse_time(text);
}

// As in the DescribeInstances API reference (trimmed to what tide reads, plus neighbours).
std::string instance_xml(const std::string& id, const std::string& state, const std::string& launch,
                         const std::string& ip, const std::string& reason = "") {
  return R"(<item>
          <instanceId>)" +
         id + R"(</instanceId>
          <imageId>ami-bff32ccc</imageId>
          <instanceState><code>16</code><name>)" +
         state + R"(</name></instanceState>
          <privateDnsName>ip-192-168-1-88.eu-west-1.compute.internal</privateDnsName>
          <reason/>
          <instanceType>t3.micro</instanceType>
          <launchTime>)" +
         launch + R"(</launchTime>
          <placement><availabilityZone>eu-west-1c</availabilityZone><groupName/><tenancy>default</tenancy></placement>
          <privateIpAddress>)" +
         ip + "</privateIpAddress>" +
         (reason.empty()
              ? ""
              : "<stateReason><code>Server.InsufficientInstanceCapacity</code><message>" + reason +
                    "</message></stateReason>") +
         R"(<groupSet><item><groupId>sg-1</groupId><groupName>web</groupName></item></groupSet>
          <tagSet><item><key>Role</key><value>worker</value></item></tagSet>
        </item>)";
}

std::string describe_xml(const std::string& items, const std::string& next_token = "") {
  return R"(<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>8f7724cf-496f-496e-8fe3-example</requestId>
  <reservationSet>
    <item>
      <reservationId>r-1234567890abcdef0</reservationId>
      <ownerId>123456789012</ownerId>
      <groupSet/>
      <instancesSet>)" +
         items + R"(</instancesSet>
    </item>
  </reservationSet>)" +
         (next_token.empty() ? "" : "<nextToken>" + next_token + "</nextToken>") +
         "</DescribeInstancesResponse>";
}

TEST(ParseEc2FleetConfig, ChecksTheKeys) {
  auto ids = parse_ec2_fleet_config({{"instance_ids", {"i-1", "i-2"}}, {"stop_order", "oldest"}});
  ASSERT_TRUE(ids.has_value()) << ids.error().message;
  EXPECT_EQ(ids->instance_ids.size(), 2u);
  EXPECT_TRUE(ids->stop_oldest);
  EXPECT_EQ(ids->wait_timeout, minutes(5));
  auto tags = parse_ec2_fleet_config({{"tags", {{"Role", "worker"}}}, {"wait_timeout", 60000}});
  ASSERT_TRUE(tags.has_value());
  EXPECT_EQ(tags->tags.size(), 1u);
  EXPECT_EQ(tags->wait_timeout, seconds(60));
  EXPECT_FALSE(parse_ec2_fleet_config(json::object()).has_value());
  EXPECT_FALSE(
      parse_ec2_fleet_config({{"instance_ids", {"i-1"}}, {"tags", {{"a", "b"}}}}).has_value());
  EXPECT_FALSE(
      parse_ec2_fleet_config({{"instance_ids", {"i-1"}}, {"stop_order", "random"}}).has_value());
}

TEST(DescribeInstancesParams, ByIdsOrByTags) {
  Ec2FleetConfig ids;
  ids.instance_ids = {"i-1", "i-2"};
  EXPECT_EQ(describe_instances_params(ids, ""),
            (aws::QueryParams{{"InstanceId.1", "i-1"}, {"InstanceId.2", "i-2"}}));
  Ec2FleetConfig tags;
  tags.tags = {{"Role", "worker"}, {"Env", "prod"}};
  EXPECT_EQ(describe_instances_params(tags, "tok"),
            (aws::QueryParams{{"Filter.1.Name", "tag:Role"},
                              {"Filter.1.Value.1", "worker"},
                              {"Filter.2.Name", "tag:Env"},
                              {"Filter.2.Value.1", "prod"},
                              {"Filter.3.Name", "instance-state-name"},
                              {"Filter.3.Value.1", "pending"},
                              {"Filter.3.Value.2", "running"},
                              {"Filter.3.Value.3", "stopping"},
                              {"Filter.3.Value.4", "stopped"},
                              {"MaxResults", "1000"},
                              {"NextToken", "tok"}}));
}

TEST(ParseDescribeInstances, ReadsStatesTimesAddressesAndReasons) {
  auto page = parse_describe_instances(
      describe_xml(instance_xml("i-1", "running", "2026-01-01T00:00:00.000Z", "10.0.0.1") +
                       instance_xml("i-2", "stopped", "2025-12-31T00:00:00.000Z", "10.0.0.2",
                                    "Server.InsufficientInstanceCapacity: Insufficient capacity."),
                   "next"));
  ASSERT_TRUE(page.has_value()) << page.error().message;
  EXPECT_EQ(page->next_token, "next");
  ASSERT_EQ(page->instances.size(), 2u);
  EXPECT_EQ(page->instances[0].id, "i-1");
  EXPECT_EQ(page->instances[0].state, "running");
  EXPECT_EQ(page->instances[0].private_ip, "10.0.0.1");
  EXPECT_EQ(page->instances[0].launch_time, at("2026-01-01T00:00:00Z"));
  EXPECT_EQ(page->instances[1].state_reason,
            "Server.InsufficientInstanceCapacity: Insufficient capacity.");
  EXPECT_FALSE(parse_describe_instances("<Response/>").has_value());
}

Ec2Instance inst(const char* id, const char* state, const char* launch = "2026-01-01T00:00:00Z",
                 const char* reason = "") {
  return Ec2Instance{id, state, at(launch), "10.0.0.1", reason};
}

TEST(Ec2Status, RunningReadyPendingWarmingFailedStartsMissing) {
  std::vector<Ec2Instance> fleet = {
      inst("i-1", "running"),
      inst("i-2", "pending"),
      inst("i-3", "stopped", "2026-01-01T00:00:00Z", "Server.InsufficientInstanceCapacity"),
      inst("i-4", "stopped"),
      inst("i-5", "stopping"),
      inst("i-6", "pending"),
  };
  Ec2Starts started = {{"i-3", kNow - minutes(1)}, {"i-6", kNow - minutes(6)}};
  TargetStatus s = ec2_status(fleet, started, kNow, minutes(5));
  EXPECT_EQ(s.desired, 3);
  ASSERT_EQ(s.instances.size(), 4u);
  EXPECT_EQ(s.instances[0].state, InstanceState::kReady);
  EXPECT_EQ(s.instances[0].address, "10.0.0.1");
  EXPECT_EQ(s.instances[1].state, InstanceState::kWarming);
  EXPECT_EQ(s.instances[1].detail, "pending");
  EXPECT_EQ(s.instances[2].id, "i-3");
  EXPECT_EQ(s.instances[2].state, InstanceState::kMissing);
  EXPECT_EQ(s.instances[2].detail, "failed to start: Server.InsufficientInstanceCapacity");
  EXPECT_EQ(s.instances[3].id, "i-6");
  EXPECT_EQ(s.instances[3].detail, "pending for more than 5m");
}

struct PlanCase {
  const char* name;
  std::vector<Ec2Instance> fleet;
  int desired;
  bool stop_oldest;
  Ec2Starts started;
  std::vector<std::string> want_start;
  std::vector<std::string> want_stop;
  std::string want_shortfall;
};

class PlanEc2ScaleTest : public ::testing::TestWithParam<PlanCase> {};

TEST_P(PlanEc2ScaleTest, Plans) {
  const PlanCase& c = GetParam();
  Ec2Plan p = plan_ec2_scale(c.fleet, c.desired, c.stop_oldest, c.started, kNow, minutes(5));
  EXPECT_EQ(p.start, c.want_start);
  EXPECT_EQ(p.stop, c.want_stop);
  EXPECT_EQ(p.shortfall, c.want_shortfall);
}

const std::vector<Ec2Instance> kFleet = {
    inst("i-a", "running", "2026-01-01T00:00:00Z"),
    inst("i-b", "running", "2025-06-01T00:00:00Z"),
    inst("i-c", "running", "2026-01-01T00:00:00Z"),
    inst("i-d", "stopped"),
    inst("i-e", "stopped"),
    inst("i-f", "pending"),
};

INSTANTIATE_TEST_SUITE_P(
    Cases, PlanEc2ScaleTest,
    ::testing::Values(
        PlanCase{"unchanged", kFleet, 4, false, {}, {}, {}, ""},
        PlanCase{"start_stopped_by_id", kFleet, 5, false, {}, {"i-d"}, {}, ""},
        PlanCase{"recent_failures_last",
                 kFleet,
                 5,
                 false,
                 {{"i-d", kNow - minutes(1)}},
                 {"i-e"},
                 {},
                 ""},
        PlanCase{"stop_newest_first_ties_by_id", kFleet, 2, false, {}, {}, {"i-a", "i-c"}, ""},
        PlanCase{"stop_oldest_first", kFleet, 3, true, {}, {}, {"i-b"}, ""},
        PlanCase{"never_stops_pending",
                 kFleet,
                 0,
                 false,
                 {},
                 {},
                 {"i-a", "i-c", "i-b"},
                 "only 3 running instance(s) to stop; 1 pending (i-f)"},
        PlanCase{"fleet_too_small",
                 kFleet,
                 9,
                 false,
                 {},
                 {"i-d", "i-e"},
                 {},
                 "the fleet has only 6 instance(s)"},
        PlanCase{"stopping_is_not_started",
                 {inst("i-a", "running"), inst("i-b", "stopping"), inst("i-c", "stopped")},
                 3,
                 false,
                 {},
                 {"i-c"},
                 {},
                 "only 1 stopped instance(s) to start; 1 stopping (i-b)"}),
    [](const auto& info) { return std::string(info.param.name); });

// A small EC2: instances that start (pending) and stop (stopping), one that fails to start.
class Ec2TargetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_.server().Post("/", [this](const httplib::Request& req, httplib::Response& res) {
      auto f = aws::testing::form(req);
      std::lock_guard lock(mu_);
      calls_.push_back(f["Action"]);
      std::vector<std::string> ids;
      for (int n = 1; f.contains("InstanceId." + std::to_string(n)); ++n) {
        ids.push_back(f["InstanceId." + std::to_string(n)]);
      }
      if (f["Action"] == "DescribeInstances") {
        // Two pages: the first two instances, then the rest.
        const bool second = f.contains("NextToken");
        std::string items;
        int k = 0;
        for (const auto& [id, i] : fleet_) {
          if ((k++ < 2) == second) continue;
          items +=
              instance_xml(id, i.state, format_time(i.launch_time), i.private_ip, i.state_reason);
        }
        res.set_content(describe_xml(items, second ? "" : "page-2"), "text/xml");
        return;
      }
      for (const std::string& id : ids) {
        Ec2Instance& i = fleet_.at(id);
        if (f["Action"] == "StartInstances") {
          i.state = id == fails_ ? "stopped" : "pending";
          if (id == fails_) i.state_reason = "Server.InsufficientInstanceCapacity: no capacity";
        } else if (f["Action"] == "StopInstances") {
          i.state = "stopping";
        }
      }
      res.set_content("<" + f["Action"] + "Response><instancesSet/></" + f["Action"] + "Response>",
                      "text/xml");
    });
    fake_.start();
    for (const char* id : {"i-1", "i-2", "i-3", "i-4"}) {
      fleet_[id] = Ec2Instance{id, "stopped", kNow - std::chrono::hours(1), "10.0.0.9", ""};
    }
    fleet_["i-1"].state = "running";
  }

  std::unique_ptr<Target> target() {
    Ec2FleetConfig c;
    c.tags = {{"Role", "worker"}};
    return make_aws_ec2_target(c, aws::testing::fake_client(aws::Service::kEc2, fake_), &clock_);
  }

  tide::testing::FakeHttp fake_;
  ManualClock clock_{kNow};
  std::mutex mu_;
  std::map<std::string, Ec2Instance> fleet_;
  std::vector<std::string> calls_;
  std::string fails_;
};

TEST_F(Ec2TargetTest, StartsStopsAndReportsAFailedStart) {
  auto t = target();
  auto s = t->status();
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->desired, 1);
  EXPECT_EQ(s->ready(), 1);

  fails_ = "i-2";
  ASSERT_TRUE(t->scale({.desired = 3}).has_value());  // starts i-2 (fails) and i-3
  s = t->status();
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->desired, 2);  // i-1 running, i-3 pending
  EXPECT_EQ(s->warming(), 1);
  ASSERT_EQ(s->instances.size(), 3u);
  EXPECT_EQ(s->instances[1].id, "i-2");
  EXPECT_EQ(s->instances[1].state, InstanceState::kMissing);
  EXPECT_EQ(s->instances[1].detail,
            "failed to start: Server.InsufficientInstanceCapacity: no capacity");

  // The next scale-up starts i-4 rather than i-2 again.
  {
    std::lock_guard lock(mu_);
    fleet_["i-3"].state = "running";
  }
  ASSERT_TRUE(t->scale({.desired = 3}).has_value());
  {
    std::lock_guard lock(mu_);
    EXPECT_EQ(fleet_["i-4"].state, "pending");
    EXPECT_EQ(fleet_["i-2"].state, "stopped");
    fleet_["i-4"].state = "running";
  }
  // After wait_timeout the failure is no longer listed.
  clock_.advance(minutes(6));
  s = t->status();
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->instances.size(), 3u);
  EXPECT_EQ(s->ready(), 3);

  ASSERT_TRUE(t->scale({.desired = 1}).has_value());
  std::lock_guard lock(mu_);
  EXPECT_EQ(calls_.back(), "StopInstances");
  int stopping = 0;
  for (const auto& [id, i] : fleet_) stopping += i.state == "stopping";
  EXPECT_EQ(stopping, 2);
}

}  // namespace
}  // namespace tide
