#include "targets/static/static_target.hpp"

#include <gtest/gtest.h>

#include "core/clock.hpp"
#include "targets/testing/fake_state_store.hpp"

namespace tide {
namespace {

using nlohmann::json;
using std::chrono::seconds;

const TimePoint kStart = from_unix_seconds(1'800'000'000);

std::unique_ptr<Target> make(json params, const TargetContext& context) {
  auto target = make_static_target({"static", std::move(params)}, context);
  EXPECT_TRUE(target.has_value()) << target.error().message;
  return target ? std::move(*target) : nullptr;
}

struct Step {
  Duration advance;  // move the clock first
  int scale_to;      // -1: no scale call
  int want_desired;
  int want_ready;
  int want_warming;
};

struct Case {
  const char* name;
  json params;
  int group_min;
  std::vector<Step> steps;
};

class StaticTargetTest : public ::testing::TestWithParam<Case> {};

TEST_P(StaticTargetTest, Follows) {
  const Case& c = GetParam();
  ManualClock clock(kStart);
  auto target = make(c.params, {.group = "g", .clock = &clock, .min = c.group_min});
  ASSERT_TRUE(target);
  for (std::size_t i = 0; i < c.steps.size(); ++i) {
    const Step& s = c.steps[i];
    clock.advance(s.advance);
    if (s.scale_to >= 0) {
      ASSERT_TRUE(target->scale({.desired = s.scale_to}).has_value()) << i;
    }
    auto status = target->status();
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(status->desired, s.want_desired) << "step " << i;
    EXPECT_EQ(status->ready(), s.want_ready) << "step " << i;
    EXPECT_EQ(status->warming(), s.want_warming) << "step " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, StaticTargetTest,
    ::testing::Values(
        Case{"initial_capacity_is_ready",
             {{"capacity", 3}, {"boot_delay", 45000}},
             2,
             {{seconds(0), -1, 3, 3, 0}}},
        Case{"default_capacity_is_the_group_min", json::object(), 2, {{seconds(0), -1, 2, 2, 0}}},
        Case{"new_instances_warm_for_the_boot_delay",
             {{"capacity", 1}, {"boot_delay", 45000}},
             0,
             {{seconds(0), 4, 4, 1, 3}, {seconds(44), -1, 4, 1, 3}, {seconds(1), -1, 4, 4, 0}}},
        Case{"scale_in_removes_the_newest_first",
             {{"capacity", 2}, {"boot_delay", "10s"}},
             0,
             {{seconds(0), 4, 4, 2, 2}, {seconds(1), 3, 3, 2, 1}, {seconds(0), 1, 1, 1, 0}}},
        Case{"no_boot_delay", {{"capacity", 0}}, 1, {{seconds(0), 2, 2, 2, 0}}},
        Case{"staggered",
             {{"capacity", 0}, {"boot_delay", "10s"}},
             0,
             {{seconds(0), 1, 1, 0, 1},
              {seconds(5), 2, 2, 0, 2},
              {seconds(5), -1, 2, 1, 1},
              {seconds(5), -1, 2, 2, 0}}}),
    [](const auto& info) { return info.param.name; });

TEST(StaticTarget, WarmingDetailSaysWhenReady) {
  ManualClock clock(kStart);
  auto target = make({{"capacity", 0}, {"boot_delay", 30000}}, {.clock = &clock});
  ASSERT_TRUE(target->scale({.desired = 1}).has_value());
  clock.advance(seconds(10));
  auto status = target->status();
  ASSERT_TRUE(status.has_value());
  ASSERT_EQ(status->instances.size(), 1u);
  EXPECT_EQ(status->instances[0].detail, "booting, ready in 20s");
}

TEST(StaticTarget, PersistsAndRestores) {
  testing::FakeStateStore store;
  TargetStateStore state(store, "g");
  ManualClock clock(kStart);
  {
    auto target =
        make({{"capacity", 2}, {"boot_delay", 60000}}, {.state = &state, .clock = &clock});
    ASSERT_TRUE(target->scale({.desired = 5}).has_value());
  }
  clock.advance(seconds(30));
  // A new target (a tide restart) continues from the saved state, not from `capacity`.
  auto target = make({{"capacity", 2}, {"boot_delay", 60000}}, {.state = &state, .clock = &clock});
  auto status = target->status();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->desired, 5);
  EXPECT_EQ(status->ready(), 2);
  EXPECT_EQ(status->warming(), 3);
  clock.advance(seconds(30));
  status = target->status();
  EXPECT_EQ(status->ready(), 5);
  // Ids keep counting after a restart.
  ASSERT_TRUE(target->scale({.desired = 6}).has_value());
  status = target->status();
  EXPECT_EQ(status->instances.back().id, "5");
}

TEST(StaticTarget, ReportsStoreFailures) {
  testing::FakeStateStore store;
  TargetStateStore state(store, "g");
  auto target = make({{"capacity", 1}}, {.state = &state});
  store.fail_put = true;
  auto r = target->scale({.desired = 2});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("static target: cannot save state"), std::string::npos);
  EXPECT_FALSE(target->scale({.desired = -1}).has_value());

  store.fail_get = true;
  auto broken = make_static_target({"static", {{"capacity", 1}}}, {.state = &state});
  EXPECT_FALSE(broken.has_value());
}

TEST(StaticTargetConfig, RejectsBadValues) {
  EXPECT_FALSE(parse_static_target_config({{"capacity", -1}}, 0).has_value());
  EXPECT_FALSE(parse_static_target_config({{"capacity", "x"}}, 0).has_value());
  EXPECT_FALSE(parse_static_target_config({{"boot_delay", "later"}}, 0).has_value());
  auto c = parse_static_target_config(json::object(), 4);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->capacity, 4);
  EXPECT_EQ(c->boot_delay, Duration::zero());
}

}  // namespace
}  // namespace tide
