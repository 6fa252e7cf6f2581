#include "engine/observe.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace tide {
namespace {

PolicySpec tracking(TargetKind kind) {
  return {"tt", TargetTrackingSpec{{"s", {}}, kind, 50, 0.1, 0.1, false}};
}
PolicySpec step(Aggregation a) {
  StepSpec s;
  s.aggregation = a;
  return {"step", s};
}
PolicySpec queue() {
  return {"q", QueueSpec{{"s", {}}, 10, 0}};
}

TargetStatus three_instances() {
  return {3,
          {{"i-1", "10.0.0.1:80", InstanceState::kReady, ""},
           {"i-2", "10.0.0.2:80", InstanceState::kReady, ""},
           {"i-3", "10.0.0.3:80", InstanceState::kWarming, ""}}};
}

struct Case {
  const char* name;
  PolicySpec policy;
  std::vector<Sample> samples;
  TargetStatus status;
  bool want_ok;
  double want_value;
  std::vector<InstanceState> want_states;  // empty: no per-instance samples expected
  std::vector<double> want_values = {};
};

class ToReading : public ::testing::TestWithParam<Case> {};

TEST_P(ToReading, Maps) {
  const Case& c = GetParam();
  std::vector<InstanceSample> storage;
  MetricReading r = to_reading(c.policy, c.samples, c.status, storage);
  EXPECT_EQ(r.ok, c.want_ok);
  if (c.want_ok) {
    EXPECT_DOUBLE_EQ(r.value, c.want_value);
  }
  ASSERT_EQ(r.instances.size(), c.want_states.size());
  for (std::size_t i = 0; i < c.want_states.size(); ++i) {
    EXPECT_EQ(r.instances[i].state, c.want_states[i]) << i;
    if (i < c.want_values.size()) {
      EXPECT_DOUBLE_EQ(r.instances[i].value, c.want_values[i]) << i;
    }
  }
}

const TimePoint t0 = from_unix_seconds(1'800'000'000);
using S = InstanceState;

INSTANTIATE_TEST_SUITE_P(
    Cases, ToReading,
    ::testing::Values(
        Case{"no_samples_is_no_data",
             tracking(TargetKind::kUtilization),
             {},
             three_instances(),
             false,
             0,
             {}},
        Case{"aggregate_average",
             tracking(TargetKind::kPerInstance),
             {{10, t0, ""}, {20, t0, ""}},
             three_instances(),
             true,
             15,
             {}},
        Case{"aggregate_sum_for_total",
             tracking(TargetKind::kTotal),
             {{10, t0, ""}, {20, t0, ""}},
             three_instances(),
             true,
             30,
             {}},
        Case{"aggregate_sum_for_queue", queue(), {{4, t0, ""}, {5, t0, ""}}, {}, true, 9, {}},
        Case{"aggregate_step_maximum",
             step(Aggregation::kMaximum),
             {{4, t0, ""}, {9, t0, ""}, {5, t0, ""}},
             {},
             true,
             9,
             {}},
        Case{"per_instance_by_id_address_and_url",
             tracking(TargetKind::kUtilization),
             {{80, t0, "i-1"}, {60, t0, "http://10.0.0.2:80/metrics"}, {5, t0, "10.0.0.3:80"}},
             three_instances(),
             true,
             70,  // average of the ready ones
             {S::kReady, S::kReady, S::kWarming},
             {80, 60, 5}},
        Case{"unmatched_instance_is_missing",
             tracking(TargetKind::kPerInstance),
             {{80, t0, "i-1"}, {7, t0, "i-99"}},
             three_instances(),
             true,
             80,
             {S::kReady, S::kMissing, S::kMissing},
             {80}},
        Case{"newest_sample_wins",
             tracking(TargetKind::kPerInstance),
             {{1, t0, "i-1"}, {2, t0 + std::chrono::seconds(5), "i-1"}, {3, t0, "i-1"}},
             three_instances(),
             true,
             2,
             {S::kReady, S::kMissing, S::kMissing},
             {2}},
        Case{"per_instance_total_sums_all",
             tracking(TargetKind::kTotal),
             {{80, t0, "i-1"}, {60, t0, "i-2"}, {5, t0, "i-3"}},
             three_instances(),
             true,
             145,
             {}},
        Case{"no_match_falls_back_to_aggregate",
             tracking(TargetKind::kPerInstance),
             {{4, t0, "lb-1"}, {6, t0, "lb-2"}},
             three_instances(),
             true,
             5,
             {}},
        Case{"non_finite_dropped",
             tracking(TargetKind::kPerInstance),
             {{std::nan(""), t0, ""}, {3, t0, ""}},
             {},
             true,
             3,
             {}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ToReading, UtilizationSamplesCarryARequest) {
  std::vector<InstanceSample> storage;
  std::vector<Sample> samples = {{80, t0, "i-1"}};
  MetricReading r =
      to_reading(tracking(TargetKind::kUtilization), samples, three_instances(), storage);
  ASSERT_EQ(r.instances.size(), 3u);
  EXPECT_EQ(r.instances[0].request, 100);
  r = to_reading(tracking(TargetKind::kPerInstance), samples, three_instances(), storage);
  EXPECT_EQ(r.instances[0].request, 0);
}

}  // namespace
}  // namespace tide
