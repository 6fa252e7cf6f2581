// The path `tide run` takes for targets: config text -> checked TargetRef -> the registry's
// factory. Every implemented type must get through it (the AWS ones without touching AWS: their
// clients resolve credentials at the first call).
#include "targets/registry.hpp"

#include <gtest/gtest.h>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "targets/target.hpp"

namespace tide {
namespace {

TEST(TargetRegistryTest, EveryTypeHasAFactory) {
  for (const TargetType& t : builtin_targets().types()) {
    EXPECT_TRUE(static_cast<bool>(t.create)) << t.name;
  }
}

constexpr const char* kConfig = R"yaml(
groups:
  - { name: asg, target: { type: aws-asg, name: web-asg, region: eu-west-1 }, max: 5, policies: [ { type: scheduled, cron: "0 8 * * *", duration: 1h, capacity: 2 } ] }
  - { name: ec2-ids, target: { type: aws-ec2, instance_ids: [i-1, i-2], stop_order: oldest, region: eu-west-1 }, max: 2, policies: [ { type: scheduled, cron: "0 8 * * *", duration: 1h, capacity: 2 } ] }
  - { name: ec2-tags, target: { type: aws-ec2, tags: { Role: worker }, wait_timeout: 2m, region: us-east-1, endpoint_url: "http://127.0.0.1:4566" }, max: 5, policies: [ { type: scheduled, cron: "0 8 * * *", duration: 1h, capacity: 2 } ] }
  - { name: pc, target: { type: aws-lambda-concurrency, function: worker, qualifier: live, region: eu-west-1 }, max: 50, policies: [ { type: scheduled, cron: "0 8 * * *", duration: 1h, capacity: 2 } ] }
  - { name: mem, target: { type: aws-lambda-memory, function: worker, timeout: 30s, region: eu-west-1 }, min: 128, max: 2048, policies: [ { type: scheduled, cron: "0 8 * * *", duration: 1h, capacity: 256 } ] }
)yaml";

TEST(TargetRegistryTest, AwsTargetsFromConfig) {
  auto config = parse_config(kConfig, "test.yaml");
  ASSERT_TRUE(config.has_value()) << (config ? "" : format_diagnostic(config.error().front()));
  ManualClock clock;
  for (const GroupSpec& g : config->groups) {
    const TargetType* t = builtin_targets().find(g.target.type);
    ASSERT_NE(t, nullptr) << g.target.type;
    TargetContext context{g.name, nullptr, &clock, g.min};
    auto target = t->create(g.target, context);
    ASSERT_TRUE(target.has_value()) << g.name << ": " << target.error().message;
    EXPECT_NE(*target, nullptr);
  }
}

}  // namespace
}  // namespace tide
