// situation_to_json is the inverse of parse_situation: replaying a group step by step (decide()
// then record(), as the simulator does), every intermediate situation written and read back must
// give decide() the very same inputs, so the decisions are identical down to the explanation.
#include "cli/situation.hpp"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "policy/decision_json.hpp"

namespace tide {
namespace {

// What a step of the replay observes: one reading per policy plus per-instance samples.
struct StepInput {
  std::vector<MetricReading> readings;
  std::vector<std::vector<InstanceSample>> instances;  // per policy; empty = aggregate only
  int warming = 0;
};

struct RoundTripCase {
  const char* name;
  const char* group;  // JSON, config schema
  TimePoint start;
  Duration step;  // time between evaluations (not a whole second in some cases)
  int steps;
  int initial;  // capacity before the first step
  std::function<StepInput(int k, int current)> input;
  // States the replay must reach (each at some step), so the round trip is not trivially easy.
  std::vector<std::function<bool(const GroupHistory&)>> reached;
};

MetricReading value(double v) {
  return {true, v, {}};
}
const MetricReading kNoData{};

// A spiky load: quiet, a burst that triggers panic/scale-out, then a fall that scale-in and the
// scale-down windows must handle.
double load(int k) {
  if (k < 5) return 40;
  if (k < 12) return 400 + 30 * (k % 3);
  if (k < 20) return 90.5;
  return 10.25;
}

const RoundTripCase kCases[] = {
    {"target_tracking_with_instances_and_hpa_behavior",
     R"({"name": "web", "min": 1, "max": 50, "interval": "15s",
         "policies": [{"name": "cpu", "type": "target-tracking", "metric": {"source": "m"},
                       "target": 50}],
         "behavior": {"scale_down": {"stabilization": "60s",
                                     "policies": [{"type": "instances", "value": 2,
                                                   "period": "30s"}]}}})",
     from_unix_seconds(1'700'000'000.125),
     std::chrono::milliseconds(15'250),
     30,
     4,
     [](int k, int current) {
       StepInput in;
       std::vector<InstanceSample> samples;
       for (int i = 0; i < current; ++i) {
         InstanceSample s{load(k) / current + i, 100, InstanceState::kReady};
         if (i == 0 && k % 4 == 1) s.state = InstanceState::kWarming;
         if (i == 1 && k % 5 == 2) s = {0, 100, InstanceState::kMissing};
         samples.push_back(s);
       }
       in.instances = {samples};
       in.readings = {value(load(k) / current)};
       in.warming = k % 4 == 1 ? 1 : 0;
       return in;
     },
     {[](const GroupHistory& h) { return !h.scale_down_events.empty(); },
      [](const GroupHistory& h) { return !h.scale_up_events.empty(); }}},
    {"panic_with_scale_down_delay",
     R"({"name": "api", "min": 1, "max": 30, "interval": "2s",
         "policies": [{"name": "concurrency", "type": "panic", "metric": {"source": "m"},
                       "target": 10, "total": 14, "stable_window": "20s",
                       "scale_down_delay": "10s", "activation_scale": 1}],
         "behavior": {"scale_up": {"stabilization": "0s", "policies": []},
                      "scale_down": {"stabilization": "0s", "policies": []}}})",
     from_unix_seconds(1'700'000'001),
     std::chrono::milliseconds(2'000),
     40,
     3,
     [](int k, int) {
       StepInput in;
       in.readings = {k == 7 ? kNoData : value(load(k) / 8.0)};
       return in;
     },
     {[](const GroupHistory& h) { return h.policies[0].panic_time.has_value(); },
      [](const GroupHistory& h) { return h.policies[0].delay_window.size() >= 2; },
      [](const GroupHistory& h) { return h.policies[0].metric.size() >= 5; },
      [](const GroupHistory& h) { return h.last_scale_in.has_value(); }}},
    {"scheduled_simple_cooldown_and_fallback",
     R"({"name": "batch", "min": 2, "max": 40, "interval": "1m",
         "policies": [
           {"name": "office", "type": "scheduled", "cron": "10 9 * * *",
            "timezone": "Europe/Berlin", "duration": "7m", "min": 6},
           {"name": "hot", "type": "simple", "metric": {"source": "m"}, "threshold": 70,
            "adjustment": 3, "cooldown": "3m"},
           {"name": "backlog", "type": "queue", "metric": {"source": "q"},
            "target_per_instance": 25}],
         "behavior": {"scale_down": {"stabilization": "2m"}, "scale_in_cooldown": "2m",
                      "warmup": "90s"},
         "fallback": {"failures": 2, "capacity": 9}})",
     // 2026-01-15T08:02:00.5Z = 09:02:00.5 in Berlin: the schedule starts 8 minutes in.
     from_unix_seconds(1'768'464'120.5),
     std::chrono::minutes(1),
     40,
     3,
     [](int k, int current) {
       StepInput in;
       const bool outage = k >= 14 && k < 18;
       in.readings = {MetricReading{}, outage ? kNoData : value(20 + 7 * (k % 11)),
                      outage ? kNoData : value(load(k) * current / 10.0)};
       in.warming = k % 6 == 0 ? 1 : 0;
       return in;
     },
     {[](const GroupHistory& h) { return h.policies[1].last_triggered.has_value(); },
      [](const GroupHistory& h) { return h.consecutive_no_data >= 2; },
      [](const GroupHistory& h) { return h.last_scale_in.has_value(); }}},
};

void PrintTo(const RoundTripCase& c, std::ostream* os) {
  *os << c.name;
}

class SituationRoundTrip : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(SituationRoundTrip, DecideGivesTheSameDecisionEveryStep) {
  const RoundTripCase& c = GetParam();
  const nlohmann::json group_json = nlohmann::json::parse(c.group);
  YAML::Node group_yaml = YAML::Load(c.group);
  group_yaml["target"]["type"] = "static";
  auto spec = parse_group(group_yaml, "group.json", nullptr);
  ASSERT_TRUE(spec.has_value()) << format_diagnostic(spec.error().front());

  GroupHistory history;  // not initialized: the first step is the group's first evaluation
  int current = c.initial;
  int scale_events = 0;
  std::vector<bool> reached(c.reached.size(), false);
  for (int k = 0; k < c.steps; ++k) {
    SCOPED_TRACE("step " + std::to_string(k));
    const TimePoint now = c.start + c.step * k;
    StepInput in = c.input(k, current);
    in.instances.resize(in.readings.size());
    for (std::size_t i = 0; i < in.readings.size(); ++i) {
      in.readings[i].instances = in.instances[i];
    }
    const Observation obs{current, current - in.warming, in.warming, in.readings};
    const Decision want = decide(*spec, obs, history, now);

    const nlohmann::json written = situation_to_json(group_json, obs, history, now);
    auto read = parse_situation(written.dump(2), "situation.json");
    ASSERT_TRUE(read.has_value()) << read.error().front() << "\n" << written.dump(2);
    const Decision got = decide(read->group, read->observation(), read->history, read->now);

    EXPECT_EQ(decision_to_json(got, read->group), decision_to_json(want, *spec));
    EXPECT_EQ(read->now, now);
    // Writing what was read gives the same document: nothing was lost or rounded on the way.
    EXPECT_EQ(situation_to_json(group_json, read->observation(), read->history, read->now),
              written);

    record(*spec, obs, want, true, history);
    for (std::size_t r = 0; r < c.reached.size(); ++r)
      reached[r] = reached[r] || c.reached[r](history);
    if (want.desired != current) ++scale_events;
    current = want.desired;
  }
  // The replay must have exercised the windows, not held still.
  EXPECT_GE(scale_events, 2);
  for (std::size_t r = 0; r < c.reached.size(); ++r) EXPECT_TRUE(reached[r]) << "state " << r;
}

INSTANTIATE_TEST_SUITE_P(Cases, SituationRoundTrip, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

// The cases above must reach the states the writer has to carry; check them directly, so a change
// in a policy cannot silently make the round trip trivial.
TEST(SituationToJson, WritesPolicyStateAbsoluteTimesAndNullForUntouchedPolicies) {
  GroupHistory h;
  h.initialized = true;
  h.consecutive_no_data = 2;
  h.recommendations = {{from_unix_seconds(1'700'000'000.25), 7}};
  h.scale_up_events = {{from_unix_seconds(1'700'000'001), 3, true}};
  h.last_scale_out = from_unix_seconds(1'700'000'001);
  h.policies[1].panic_initialized = true;
  h.policies[1].panic_time = from_unix_seconds(1'700'000'002.5);
  h.policies[1].max_panic_pods = 12;
  h.policies[1].metric = {{from_unix_seconds(1'700'000'002), 33.125}};
  h.policies[1].delay_window = {{from_unix_seconds(1'700'000'002), 5}};
  std::vector<InstanceSample> samples = {{80, 100, InstanceState::kReady},
                                         {0, 100, InstanceState::kMissing}};
  std::vector<MetricReading> readings = {{true, 40, samples}, {false, 0, {}}, {}};
  const Observation obs{5, 4, 1, readings};

  // Not const: a missing key reads as null and fails the comparison instead of asserting.
  nlohmann::json j = situation_to_json({{"name", "g"}}, obs, h, from_unix_seconds(1'700'000'003));
  EXPECT_EQ(j["now"], "2023-11-14T22:13:23Z");
  EXPECT_EQ(j["current"], 5);
  EXPECT_EQ(j["ready"], 4);
  EXPECT_EQ(j["warming"], 1);
  EXPECT_EQ(j["metrics"][0]["instances"][1]["state"], "missing");
  EXPECT_EQ(j["metrics"][1]["ok"], false);
  EXPECT_EQ(j["history"]["recommendations"][0]["at"], "2023-11-14T22:13:20.250Z");
  EXPECT_EQ(j["history"]["scale_up_events"][0]["outdated"], true);
  EXPECT_EQ(j["history"]["consecutive_no_data"], 2);
  ASSERT_EQ(j["history"]["policies"].size(), 2u);  // the trailing untouched policy is dropped
  EXPECT_TRUE(j["history"]["policies"][0].is_null());
  EXPECT_EQ(j["history"]["policies"][1]["panic_time"], "2023-11-14T22:13:22.500Z");
  EXPECT_EQ(j["history"]["policies"][1]["max_panic_pods"], 12);
  EXPECT_EQ(j["history"]["policies"][1]["metric"][0]["value"], 33.125);
  EXPECT_EQ(j["history"]["policies"][1]["delay_window"][0]["value"], 5);
  EXPECT_FALSE(j["history"].contains("last_scale_in"));
}

// A predictive policy's forecast goes out with the situation and comes back exactly, so that
// tide decide makes the simulator's decision.
TEST(SituationForecasts, RoundTrip) {
  const nlohmann::json group = {
      {"name", "g"},
      {"max", 50},
      {"policies",
       {{{"type", "predictive"}, {"metric", "load"}, {"target", 10}, {"boot_delay", "10m"}}}}};
  const std::vector<double> values = {101.5, 230.25, 0.1 + 0.2};
  const ForecastView v{from_unix_seconds(1'700'000'000), from_unix_seconds(1'699'999'800),
                       std::chrono::minutes(5), values, ForecastModel::kRegression};
  const std::vector<ForecastView> forecasts = {v};
  const std::vector<MetricReading> readings = {{true, 120, {}}};
  const Observation obs{3, 3, 0, readings, forecasts};
  const TimePoint now = from_unix_seconds(1'700'000'060);
  const nlohmann::json j = situation_to_json(group, obs, GroupHistory{}, now);
  EXPECT_EQ(j["forecasts"][0]["model"], "regression");
  EXPECT_EQ(j["forecasts"][0]["step"], "5m");

  auto parsed = parse_situation(j.dump(), "s.json");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().front();
  const ForecastView& back = parsed->forecasts.at(0);
  EXPECT_EQ(back.made_at, v.made_at);
  EXPECT_EQ(back.start, v.start);
  EXPECT_EQ(back.step, v.step);
  EXPECT_EQ(back.model, v.model);
  ASSERT_EQ(back.values.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(back.values[i], values[i]);  // bit for bit
  const Decision d = decide(parsed->group, parsed->observation(), parsed->history, parsed->now);
  // ceil(230.25 / 10): steps 0 and 1 are within the next 10 minutes.
  EXPECT_EQ(d.proposals[0].capacity, 24);
}

TEST(SituationForecasts, Errors) {
  const std::string head =
      R"({"group": {"name": "g", "max": 5, "policies": [{"type": "predictive", "metric": "m",
          "target": 1}]}, "now": "2024-01-01T00:00:00Z", "current": 1, )";
  const struct {
    const char* name;
    std::string forecasts;
    const char* fragment;
  } cases[] = {
      {"not_a_list", R"("forecasts": {})", "expected a list"},
      {"missing_values", R"("forecasts": [{"made_at": "2024-01-01T00:00:00Z",
          "start": "2024-01-01T00:00:00Z", "step": "5m"}])",
       "a forecast needs 'values'"},
      {"bad_step", R"("forecasts": [{"made_at": "2024-01-01T00:00:00Z",
          "start": "2024-01-01T00:00:00Z", "step": "0s", "values": [1]}])",
       "step: expected a positive duration"},
      {"unknown_model", R"("forecasts": [{"made_at": "2024-01-01T00:00:00Z",
          "start": "2024-01-01T00:00:00Z", "step": "5m", "values": [1], "model": "magic"}])",
       "unknown forecast model 'magic'"},
      {"too_many", R"("forecasts": [null, null])", "2 forecasts for 1 policies"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto parsed = parse_situation(head + c.forecasts + "}", "s.json");
    ASSERT_FALSE(parsed.has_value());
    bool found = false;
    for (const std::string& e : parsed.error()) found |= e.find(c.fragment) != std::string::npos;
    EXPECT_TRUE(found) << parsed.error().front();
  }
}

}  // namespace
}  // namespace tide
