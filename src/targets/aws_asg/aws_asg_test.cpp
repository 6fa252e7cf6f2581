#include "targets/aws_asg/aws_asg.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "aws/testing/fake_aws.hpp"

namespace tide {
namespace {

// A DescribeAutoScalingGroups response as the API reference shows it (trimmed).
std::string describe_xml(const std::string& name, int min, int max, int desired,
                         const std::string& instances) {
  return R"(<DescribeAutoScalingGroupsResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/">
  <DescribeAutoScalingGroupsResult>
    <AutoScalingGroups>
      <member>
        <AutoScalingGroupARN>arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:1:autoScalingGroupName/)" +
         name + R"(</AutoScalingGroupARN>
        <AutoScalingGroupName>)" +
         name + R"(</AutoScalingGroupName>
        <HealthCheckType>EC2</HealthCheckType>
        <CreatedTime>2026-01-01T00:00:00.000Z</CreatedTime>
        <LaunchTemplate><LaunchTemplateName>web</LaunchTemplateName><Version>$Latest</Version></LaunchTemplate>
        <MinSize>)" +
         std::to_string(min) + "</MinSize>\n        <MaxSize>" + std::to_string(max) +
         "</MaxSize>\n        <DesiredCapacity>" + std::to_string(desired) +
         R"(</DesiredCapacity>
        <DefaultCooldown>300</DefaultCooldown>
        <AvailabilityZones><member>eu-west-1a</member></AvailabilityZones>
        <Instances>)" +
         instances + R"(</Instances>
        <TerminationPolicies><member>Default</member></TerminationPolicies>
      </member>
    </AutoScalingGroups>
  </DescribeAutoScalingGroupsResult>
  <ResponseMetadata><RequestId>0f02a07d-b677-11e2-9eb0-dd50EXAMPLE</RequestId></ResponseMetadata>
</DescribeAutoScalingGroupsResponse>)";
}

std::string instance_xml(const std::string& id, const std::string& lifecycle,
                         const std::string& health = "Healthy") {
  return "<member><InstanceId>" + id +
         "</InstanceId><InstanceType>t3.micro</InstanceType><AvailabilityZone>eu-west-1a"
         "</AvailabilityZone><LifecycleState>" +
         lifecycle + "</LifecycleState><HealthStatus>" + health +
         "</HealthStatus><ProtectedFromScaleIn>false</ProtectedFromScaleIn></member>";
}

struct StateCase {
  const char* name;
  const char* lifecycle;
  const char* health;
  std::optional<InstanceState> want;
};

class AsgInstanceStateTest : public ::testing::TestWithParam<StateCase> {};

TEST_P(AsgInstanceStateTest, Maps) {
  EXPECT_EQ(asg_instance_state(GetParam().lifecycle, GetParam().health), GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, AsgInstanceStateTest,
    ::testing::Values(
        StateCase{"in_service", "InService", "Healthy", InstanceState::kReady},
        StateCase{"in_service_unhealthy", "InService", "Unhealthy", InstanceState::kMissing},
        StateCase{"pending", "Pending", "Healthy", InstanceState::kWarming},
        StateCase{"pending_wait", "Pending:Wait", "Healthy", InstanceState::kWarming},
        StateCase{"pending_proceed", "Pending:Proceed", "Healthy", InstanceState::kWarming},
        StateCase{"warmed_pending", "Warmed:Pending", "Healthy", InstanceState::kWarming},
        StateCase{"terminating", "Terminating", "Healthy", std::nullopt},
        StateCase{"terminating_wait", "Terminating:Wait", "Healthy", std::nullopt},
        StateCase{"standby", "Standby", "Healthy", std::nullopt},
        StateCase{"entering_standby", "EnteringStandby", "Healthy", std::nullopt},
        StateCase{"detaching", "Detaching", "Healthy", std::nullopt}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ParseDescribeAsg, ReadsBoundsDesiredAndInstances) {
  auto d = parse_describe_asg(
      describe_xml("web", 1, 10, 4,
                   instance_xml("i-1", "InService") + instance_xml("i-2", "Pending:Wait") +
                       instance_xml("i-3", "Terminating") +
                       instance_xml("i-4", "InService", "Unhealthy")),
      "web");
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_EQ(d->min_size, 1);
  EXPECT_EQ(d->max_size, 10);
  EXPECT_EQ(d->desired, 4);
  ASSERT_EQ(d->instances.size(), 3u);
  EXPECT_EQ(d->instances[0].id, "i-1");
  EXPECT_EQ(d->instances[0].state, InstanceState::kReady);
  EXPECT_EQ(d->instances[1].state, InstanceState::kWarming);
  EXPECT_EQ(d->instances[1].detail, "Pending:Wait");
  EXPECT_EQ(d->instances[2].id, "i-4");
  EXPECT_EQ(d->instances[2].state, InstanceState::kMissing);
  EXPECT_EQ(d->instances[2].detail, "InService but Unhealthy");
}

TEST(ParseDescribeAsg, MissingGroupAndBadResponses) {
  const char* empty =
      "<DescribeAutoScalingGroupsResponse xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/"
      "\"><DescribeAutoScalingGroupsResult><AutoScalingGroups/></DescribeAutoScalingGroupsResult>"
      "</DescribeAutoScalingGroupsResponse>";
  auto none = parse_describe_asg(empty, "web");
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(none.error().message, "Auto Scaling group 'web' not found");
  EXPECT_FALSE(parse_describe_asg("<nope", "web").has_value());
  EXPECT_FALSE(parse_describe_asg("<a/>", "web").has_value());
}

TEST(AsgParams, AreWhatTheApiExpects) {
  EXPECT_EQ(describe_asg_params("web"),
            (aws::QueryParams{{"AutoScalingGroupNames.member.1", "web"}}));
  EXPECT_EQ(
      set_desired_capacity_params("web", 7),
      (aws::QueryParams{
          {"AutoScalingGroupName", "web"}, {"DesiredCapacity", "7"}, {"HonorCooldown", "false"}}));
}

// A small Auto Scaling service: one group, SetDesiredCapacity checked against its bounds.
class AsgTargetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_.server().Post("/", [this](const httplib::Request& req, httplib::Response& res) {
      auto f = aws::testing::form(req);
      std::lock_guard lock(mu_);
      actions_.push_back(f["Action"]);
      if (f["Version"] != "2011-01-01") {
        res.status = 400;
        return;
      }
      if (f["Action"] == "DescribeAutoScalingGroups") {
        res.set_content(
            describe_xml(f["AutoScalingGroupNames.member.1"] == "web" ? "web" : "x", min_, max_,
                         desired_,
                         instance_xml("i-1", "InService") + instance_xml("i-2", "Pending")),
            "text/xml");
        return;
      }
      if (f["Action"] == "SetDesiredCapacity") {
        EXPECT_EQ(f["HonorCooldown"], "false");
        int want = std::stoi(f["DesiredCapacity"]);
        if (want > max_) {
          res.status = 400;
          res.set_content(
              "<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code>"
              "<Message>New SetDesiredCapacity value " +
                  std::to_string(want) + " is above max value " + std::to_string(max_) +
                  " for the AutoScalingGroup.</Message></Error><RequestId>r-9"
                  "</RequestId></ErrorResponse>",
              "text/xml");
          return;
        }
        desired_ = want;
        res.set_content(
            "<SetDesiredCapacityResponse><ResponseMetadata><RequestId>r</RequestId>"
            "</ResponseMetadata></SetDesiredCapacityResponse>",
            "text/xml");
      }
    });
    fake_.start();
  }

  std::unique_ptr<Target> target(const std::string& name = "web") {
    return make_aws_asg_target(name, aws::testing::fake_client(aws::Service::kAutoScaling, fake_));
  }

  tide::testing::FakeHttp fake_;
  std::mutex mu_;
  std::vector<std::string> actions_;
  int min_ = 1, max_ = 6, desired_ = 2;
};

TEST_F(AsgTargetTest, StatusAndScale) {
  auto t = target();
  auto s = t->status();
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->desired, 2);
  EXPECT_EQ(s->ready(), 1);
  EXPECT_EQ(s->warming(), 1);
  ASSERT_TRUE(t->scale({.desired = 5}).has_value());
  EXPECT_EQ(t->status()->desired, 5);
}

TEST_F(AsgTargetTest, RefusesValuesOutsideTheGroupsOwnBounds) {
  auto t = target();
  ASSERT_TRUE(t->status().has_value());
  auto above = t->scale({.desired = 9});
  ASSERT_FALSE(above.has_value());
  EXPECT_EQ(above.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(above.error().message,
            "desired capacity 9 is above the Auto Scaling group 'web''s own MaxSize 6; AWS would "
            "reject it (raise the group's MaxSize or lower tide's max)");
  auto below = t->scale({.desired = 0});
  ASSERT_FALSE(below.has_value());
  EXPECT_NE(below.error().message.find("below the Auto Scaling group 'web''s own MinSize 1"),
            std::string::npos);
  std::lock_guard lock(mu_);
  EXPECT_EQ(actions_, std::vector<std::string>{"DescribeAutoScalingGroups"});  // AWS not called
}

TEST_F(AsgTargetTest, ReportsWhenAwsRejectsAValue) {
  auto t = target();
  ASSERT_TRUE(t->status().has_value());
  max_ = 3;  // lowered in the console after tide read the group
  auto r = t->scale({.desired = 5});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message,
            "Auto Scaling group 'web' rejected desired capacity 5 (its MinSize/MaxSize were 1/6 "
            "when last read): autoscaling SetDesiredCapacity: ValidationError: New "
            "SetDesiredCapacity value 5 is above max value 3 for the AutoScalingGroup. (request id "
            "r-9)");
}

TEST_F(AsgTargetTest, ScaleWithoutAStatusReadsTheBoundsFirst) {
  auto t = target();
  ASSERT_FALSE(t->scale({.desired = 7}).has_value());
  ASSERT_TRUE(t->scale({.desired = 6}).has_value());
  std::lock_guard lock(mu_);
  EXPECT_EQ(actions_,
            (std::vector<std::string>{"DescribeAutoScalingGroups", "SetDesiredCapacity"}));
}

TEST_F(AsgTargetTest, UnknownGroupIsNotFound) {
  auto s = target("gone")->status();
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_NE(s.error().message.find("Auto Scaling group 'gone' not found in eu-west-1"),
            std::string::npos)
      << s.error().message;
}

}  // namespace
}  // namespace tide
