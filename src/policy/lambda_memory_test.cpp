#include <gtest/gtest.h>

#include <cmath>

#include "policy/decide.hpp"
#include "policy/decision_json.hpp"
#include "policy/policies.hpp"

namespace tide {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Every case: memory `current` MB, duration `observed` ms there. Unless a case says otherwise:
// function timeout 10 s at 50 % (target 5000 ms), step 64 MB, 1 thread (cap 1769 MB), no io
// time, tolerance 0.1. Expectations are worked out by hand in the comments.
struct Case {
  const char* name;
  int current;
  double observed;
  ProposalStatus want_status;
  Reason want_reason;
  int want;
  double want_ms;  // estimated duration at `want`
  double want_gb_s;
  long long timeout_ms = 10000;
  int step = 64;
  int threads = 1;
  long long io_ms = 0;
  double tolerance = 0.1;
  bool ok = true;
};

class ProposeLambdaMemoryTest : public ::testing::TestWithParam<Case> {};

TEST_P(ProposeLambdaMemoryTest, Proposes) {
  const Case& c = GetParam();
  LambdaMemorySpec spec;
  spec.function_timeout = milliseconds(c.timeout_ms);
  spec.step = c.step;
  spec.threads = c.threads;
  spec.io_time = milliseconds(c.io_ms);
  spec.tolerance = c.tolerance;
  Proposal p = propose_lambda_memory(spec, MetricReading{c.ok, c.observed, {}}, c.current);
  EXPECT_EQ(p.status, c.want_status);
  EXPECT_EQ(p.reason, c.want_reason);
  EXPECT_EQ(p.capacity, c.want);
  if (c.want_status != ProposalStatus::kValue) return;
  EXPECT_DOUBLE_EQ(p.a, c.observed);
  EXPECT_DOUBLE_EQ(p.b, 0.5 * static_cast<double>(c.timeout_ms));
  EXPECT_NEAR(p.c, c.want_ms, 1e-6);
  EXPECT_NEAR(p.d, c.want_gb_s, 1e-9);
}

constexpr auto kValue = ProposalStatus::kValue;
constexpr auto kNoData = ProposalStatus::kNoData;

INSTANTIATE_TEST_SUITE_P(
    Cases, ProposeLambdaMemoryTest,
    ::testing::Values(
        // D(M) = 8000 x 512 / M <= 5000 needs M >= 819.2: 832 (13 x 64). M x D(M) is the same
        // 4,096,000 MB-ms below 1769 MB, so the smallest wins: 4096000/832 ms, 4.0 GB-s.
        Case{"cpu_bound_too_slow_takes_the_smallest_memory_that_meets_it", 512, 8000, kValue,
             Reason::kMemoryRightSized, 832, 4096000.0 / 832, 4.0},
        // 1000 ms at 1024 MB meets 5000 ms; 256 MB would too, at the same cost: hold.
        Case{"cpu_bound_meeting_the_target_keeps_its_free_speed", 1024, 1000, kValue,
             Reason::kMemoryHeld, 1024, 1000, 1.0},
        // Exactly at the target meets it.
        Case{"exactly_at_the_target_holds", 1024, 5000, kValue, Reason::kMemoryHeld, 1024, 5000,
             5.0},
        // 5001 x 1024 / M <= 5000 needs M >= 1024.2: 1088.
        Case{"just_over_the_target_goes_up_one_step", 1024, 5001, kValue, Reason::kMemoryRightSized,
             1088, 5001.0 * 1024 / 1088, 5.001},
        // Off the grid: 6000 x 1000 / M <= 5000 needs M >= 1200: 1216 (19 x 64).
        Case{"current_memory_off_the_grid", 1000, 6000, kValue, Reason::kMemoryRightSized, 1216,
             6e6 / 1216, 5.859375},
        // Step 100: candidates 200, 300, ...; M >= 819.2 gives 900.
        Case{"step_of_100_mb", 512, 8000, kValue, Reason::kMemoryRightSized, 900, 4096000.0 / 900,
             4.0, 10000, 100},
        // 800 of 1000 ms is io: D(M) = 800 + 200 x 1024 / M, 2400 ms at 128 MB, under 5000.
        // Cost 128 x 2400 = 307,200 vs 1024 x 1000 = 1,024,000 MB-ms: 70 % less, 0.3 GB-s.
        Case{"io_bound_shrinks_to_the_cheapest", 1024, 1000, kValue, Reason::kMemoryRightSized, 128,
             2400, 0.3, 10000, 64, 1, 800},
        // Target 1000 ms (2 s timeout); 100 of 900 ms is io: D(M) = 100 + 921,600 / M <= 1000
        // needs M >= 1024, costing 1,024,000 vs 1152 x 900 = 1,036,800 now: 1.2 % less, under
        // the 10 % tolerance: hold.
        Case{"a_small_saving_is_not_worth_a_change", 1152, 900, kValue, Reason::kMemoryHeld, 1152,
             900, 1.0125, 2000, 64, 1, 100},
        Case{"tolerance_zero_takes_even_a_small_saving", 1152, 900, kValue,
             Reason::kMemoryRightSized, 1024, 1000, 1.0, 2000, 64, 1, 100, 0.0},
        // Single-threaded: past 1769 MB nothing gets faster. 2000 ms at 3008 MB is 2000 ms at
        // 1769; D(M) = 3,538,000 / M <= 5000 needs M >= 707.6: 768, cost 3,538,000 vs 6,016,000.
        Case{"single_threaded_memory_past_one_vcpu_is_wasted", 3008, 2000, kValue,
             Reason::kMemoryRightSized, 768, 3538000.0 / 768, 3.455078125},
        // Two threads: faster up to 3538 MB. 9000 x 1792 / M <= 5000 needs M >= 3225.6: 3264.
        Case{"two_threads_keep_gaining_past_one_vcpu", 1792, 9000, kValue,
             Reason::kMemoryRightSized, 3264, 16128000.0 / 3264, 15.75, 10000, 64, 2},
        // 20000 ms at 1024 MB is 20,480,000 / 1769 = 11577 ms at best, over 5000: the fastest,
        // and of the equally fast the smallest, 1792 MB (first multiple of 64 past 1769).
        Case{"unreachable_takes_the_smallest_of_the_fastest", 1024, 20000, kValue,
             Reason::kMemoryFastest, 1792, 20480000.0 / 1769, 1.75 * 20480.0 / 1769},
        // With 6 threads the cap is 10614 MB, beyond Lambda's 10240: the largest memory.
        Case{"unreachable_with_six_threads_takes_the_largest", 1024, 100000, kValue,
             Reason::kMemoryFastest, 10240, 100000.0 * 1024 / 10240, 10.0 * 10.0, 10000, 64, 6},
        // 6000 of 7000 ms is io: at least 6000 ms whatever the memory, over 5000. Fastest: 1792
        // MB, 6000 + 512,000 / 1769 ms.
        Case{"io_time_over_the_target_takes_the_fastest", 512, 7000, kValue, Reason::kMemoryFastest,
             1792, 6000 + 512000.0 / 1769, 1.75 * (6000 + 512000.0 / 1769) / 1000, 10000, 64, 1,
             6000},
        // io_time longer than the duration: all of it is io, memory changes nothing: 128 MB.
        Case{"duration_below_io_time_is_all_io", 1024, 500, kValue, Reason::kMemoryRightSized, 128,
             500, 0.0625, 10000, 64, 1, 800},
        Case{"no_data", 1024, 0, kNoData, Reason::kNoData, 0, 0, 0, 10000, 64, 1, 0, 0.1, false},
        Case{"nan_is_no_data", 1024, std::nan(""), kNoData, Reason::kNoData, 0, 0, 0},
        Case{"negative_duration_is_no_data", 1024, -1, kNoData, Reason::kNoData, 0, 0, 0},
        Case{"unknown_memory_is_no_data", 0, 1000, kNoData, Reason::kNoData, 0, 0, 0}),
    [](const auto& info) { return std::string(info.param.name); });

GroupSpec memory_group(int min, int max) {
  GroupSpec g;
  g.name = "thumbs";
  g.target.type = "aws-lambda-memory";
  g.min = min;
  g.max = max;
  LambdaMemorySpec s;
  s.function_timeout = seconds(10);
  g.policies.push_back(PolicySpec{"memory", s});
  g.behavior.scale_up.policies.clear();
  return g;
}

// The group's bounds apply to the proposal like to any other: 832 MB is clamped to max 768.
TEST(LambdaMemoryDecide, TheGroupsBoundsApply) {
  const GroupSpec g = memory_group(256, 768);
  const MetricReading reading{true, 8000, {}};
  Observation obs{.current = 512, .ready = 0, .warming = 0, .metrics = {&reading, 1}};
  GroupHistory history;
  const Decision d = decide(g, obs, history, TimePoint(seconds(1767225600)));
  EXPECT_EQ(d.proposals[0].capacity, 832);
  EXPECT_EQ(d.desired, 768);
  ASSERT_TRUE(d.bound_by.has_value());
  EXPECT_EQ(*d.bound_by, Stage::kBounds);
}

TEST(LambdaMemoryDecide, ExplainsTheEstimate) {
  const GroupSpec g = memory_group(128, 10240);
  LambdaMemorySpec spec = std::get<LambdaMemorySpec>(g.policies[0].spec);
  auto text = [&](int current, double observed) {
    return describe(propose_lambda_memory(spec, MetricReading{true, observed, {}}, current),
                    g.policies[0]);
  };
  EXPECT_EQ(text(512, 8000),
            "duration 8000 ms vs target 5000 ms (50% of the 10s timeout): 832 MB is the cheapest "
            "memory estimated to meet it (estimated 4923.08 ms, 4 GB-s per invocation)");
  EXPECT_EQ(text(1024, 1000),
            "duration 1000 ms meets target 5000 ms (50% of the 10s timeout), and the cheapest "
            "memory that does would save no more than 10%: hold 1024 MB (1 GB-s per invocation)");
  EXPECT_EQ(text(1024, 20000),
            "duration 20000 ms vs target 5000 ms (50% of the 10s timeout): no memory up to 10240 "
            "MB is estimated to meet it; 1792 MB is the fastest (estimated 11577.2 ms, 20.26 GB-s "
            "per invocation; code using 1 vCPU(s) gains nothing past 1769 MB)");

  const MetricReading reading{true, 8000, {}};
  Observation obs{.current = 512, .ready = 0, .warming = 0, .metrics = {&reading, 1}};
  GroupHistory history;
  const nlohmann::json j =
      decision_to_json(decide(g, obs, history, TimePoint(seconds(1767225600))), g);
  const nlohmann::json& p = j["proposals"][0];
  EXPECT_EQ(p["type"], "lambda-memory");
  EXPECT_EQ(p["capacity"], 832);
  EXPECT_EQ(p["duration_ms"], 8000.0);
  EXPECT_EQ(p["target_ms"], 5000.0);
  EXPECT_NEAR(p["estimated_duration_ms"].get<double>(), 4096000.0 / 832, 1e-9);
  EXPECT_NEAR(p["estimated_gb_seconds"].get<double>(), 4.0, 1e-12);
}

}  // namespace
}  // namespace tide
