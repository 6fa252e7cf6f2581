#include "simulate/scenario.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace tide::sim {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

std::string dump(const Diagnostics& diags) {
  std::string out;
  for (const Diagnostic& d : diags) out += format_diagnostic(d) + "\n";
  return out;
}

// Lines 1-3: the smallest valid scenario.
constexpr const char* kMinimal = R"y(trace: { path: t.csv, time_column: t, load_column: v }
model: { capacity_per_instance: 10 }
bounds: { max: 50 }
)y";

std::expected<Scenario, Diagnostics> parse(const std::string& text) {
  return parse_scenario(text, "s.yaml", "/data");
}

const ScenarioPolicy* find(const Scenario& sc, std::string_view name) {
  for (const ScenarioPolicy& p : sc.policies) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const SimulatedSource* find_source(const Scenario& sc, std::string_view name) {
  for (const SimulatedSource& s : sc.model.sources) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::vector<std::string> names(const Scenario& sc) {
  std::vector<std::string> out;
  for (const ScenarioPolicy& p : sc.policies) out.push_back(p.name);
  return out;
}

// ---- what loads -------------------------------------------------------------------------------

TEST(ScenarioParse, MinimalGetsDefaultsAndTheTwoReferences) {
  auto sc = parse(kMinimal);
  ASSERT_TRUE(sc.has_value()) << dump(sc.error());
  EXPECT_EQ(sc->name, "s");
  EXPECT_EQ(sc->path, "s.yaml");
  EXPECT_EQ(sc->trace.path, "/data/t.csv");
  EXPECT_EQ(sc->trace.separator, ',');
  EXPECT_TRUE(sc->trace.header);
  EXPECT_EQ(sc->trace.time_format, TimeFormat::kDateTime);
  EXPECT_EQ(sc->trace.load_kind, LoadKind::kCount);
  EXPECT_FALSE(sc->trace.step.has_value());
  EXPECT_FALSE(sc->trace.missing_rows_zero);
  EXPECT_EQ(sc->trace.multiplier, 1.0);
  EXPECT_EQ(sc->model.capacity_per_instance, 10);
  EXPECT_EQ(sc->model.boot_delay, seconds(120));
  EXPECT_EQ(sc->model.drain_delay, Duration{0});
  EXPECT_EQ(sc->model.billing.kind, BillingKind::kPerSecond);
  EXPECT_EQ(sc->model.billing.minimum, seconds(60));
  EXPECT_EQ(sc->model.price_per_hour, 0.1);
  EXPECT_EQ(sc->model.queue_limit, 0);
  EXPECT_EQ(sc->model.slo_wait, seconds(1));
  EXPECT_EQ(sc->model.initial_capacity, -1);
  EXPECT_EQ(sc->min, 1);
  EXPECT_EQ(sc->max, 50);
  EXPECT_EQ(names(*sc), (std::vector<std::string>{"hpa", "oracle"}));
  ASSERT_EQ(sc->model.sources.size(), 1u);
  EXPECT_EQ(sc->model.sources[0].name, "hpa-cpu");
}

TEST(ScenarioParse, EveryKey) {
  auto sc = parse(R"y(name: full
trace:
  path: /abs/trace.txt
  separator: tab
  header: false
  time_column: 0
  load_column: 2
  gap_column: 3
  missing: zero
  time_format: datetime
  utc_offset: "-04:00"
  step: 1m
  load_kind: rate
  multiplier: 2.5
  from: 1995-07-01 00:00
  to: 1995-08-01T00:00:00Z
model:
  capacity_per_instance: 0.25
  boot_delay: 3m
  drain_delay: 30s
  billing: { kind: per-second, minimum: 10m }
  price_per_hour: 3.06
  queue_limit: 300
  slo_wait: 10s
  initial_capacity: 7
sources:
  - { name: cpu, kind: utilization, period: 15s, delay: 30s }
  - { name: rps, kind: per-instance-rate }
  - { name: total, kind: total-rate, period: 1s }
  - { name: q, kind: backlog, delay: 0 }
bounds: { min: 2, max: 40 }
policies:
  - preset: oracle
  - preset: static-peak
  - preset: hpa
)y");
  ASSERT_TRUE(sc.has_value()) << dump(sc.error());
  EXPECT_EQ(sc->name, "full");
  const TraceSpec& t = sc->trace;
  EXPECT_EQ(t.path, "/abs/trace.txt");
  EXPECT_EQ(t.separator, '\t');
  EXPECT_FALSE(t.header);
  EXPECT_EQ(t.time_column, "0");
  EXPECT_EQ(t.load_column, "2");
  EXPECT_EQ(t.gap_column, "3");
  EXPECT_TRUE(t.missing_rows_zero);
  EXPECT_EQ(t.utc_offset, -std::chrono::hours(4));
  EXPECT_EQ(t.step, minutes(1));
  EXPECT_EQ(t.load_kind, LoadKind::kRate);
  EXPECT_EQ(t.multiplier, 2.5);
  // `from` has no zone: local time, 4 h behind UTC.
  EXPECT_EQ(format_time(*t.from), "1995-07-01T04:00:00Z");
  EXPECT_EQ(format_time(*t.to), "1995-08-01T00:00:00Z");
  const WorkloadModel& m = sc->model;
  EXPECT_EQ(m.capacity_per_instance, 0.25);
  EXPECT_EQ(m.boot_delay, minutes(3));
  EXPECT_EQ(m.drain_delay, seconds(30));
  EXPECT_EQ(m.billing.minimum, minutes(10));
  EXPECT_EQ(m.price_per_hour, 3.06);
  EXPECT_EQ(m.queue_limit, 300);
  EXPECT_EQ(m.slo_wait, seconds(10));
  EXPECT_EQ(m.initial_capacity, 7);
  ASSERT_EQ(m.sources.size(), 5u);  // four written + hpa-cpu
  EXPECT_EQ(m.sources[0].kind, MetricKind::kUtilization);
  EXPECT_EQ(m.sources[0].period, seconds(15));
  EXPECT_EQ(m.sources[0].delay, seconds(30));
  EXPECT_EQ(m.sources[1].kind, MetricKind::kPerInstanceRate);
  EXPECT_EQ(m.sources[1].period, seconds(60));  // default
  EXPECT_EQ(m.sources[1].delay, Duration{0});   // default
  EXPECT_EQ(m.sources[2].kind, MetricKind::kTotalRate);
  EXPECT_EQ(m.sources[3].kind, MetricKind::kBacklog);
  EXPECT_EQ(sc->min, 2);
  EXPECT_EQ(sc->max, 40);
  // Listed presets keep their places.
  EXPECT_EQ(names(*sc), (std::vector<std::string>{"oracle", "static-peak", "hpa"}));
  EXPECT_EQ(sc->policies[0].kind, PolicyKind::kOracle);
  EXPECT_EQ(sc->policies[1].kind, PolicyKind::kStaticPeak);
  EXPECT_EQ(sc->policies[1].preset, "static-peak");
}

struct TraceVariant {
  const char* name;
  const char* trace;
  std::function<void(const TraceSpec&)> check;
};

class ScenarioTrace : public testing::TestWithParam<TraceVariant> {};

TEST_P(ScenarioTrace, Parses) {
  std::string text = std::string("trace: ") + GetParam().trace +
                     "\nmodel: { capacity_per_instance: 1 }\nbounds: { max: 5 }\n";
  auto sc = parse(text);
  ASSERT_TRUE(sc.has_value()) << dump(sc.error());
  GetParam().check(sc->trace);
}

INSTANTIATE_TEST_SUITE_P(
    Formats, ScenarioTrace,
    testing::Values(
        TraceVariant{"row_index_with_start",
                     "{ path: g.csv, time_format: row-index, step: 5m, start: 2019-05-01 00:00Z, "
                     "load_column: avg_cpu, load_kind: rate, multiplier: 1000 }",
                     [](const TraceSpec& t) {
                       EXPECT_EQ(t.time_format, TimeFormat::kRowIndex);
                       EXPECT_EQ(t.step, minutes(5));
                       EXPECT_EQ(format_time(*t.start), "2019-05-01T00:00:00Z");
                       EXPECT_EQ(t.multiplier, 1000);
                     }},
        TraceVariant{"per_request",
                     "{ path: a.csv, time_column: TIMESTAMP, per_request: true, "
                     "step: 10s }",
                     [](const TraceSpec& t) {
                       EXPECT_TRUE(t.per_request);
                       EXPECT_EQ(t.load_column, "");
                       EXPECT_EQ(t.step, seconds(10));
                     }},
        TraceVariant{"unix_with_unix_range",
                     "{ path: v.csv, time_column: timestamp, time_format: unix, load_column: c, "
                     "from: 86400, to: 172800.5 }",
                     [](const TraceSpec& t) {
                       EXPECT_EQ(t.time_format, TimeFormat::kUnixSeconds);
                       EXPECT_EQ(*t.from, from_unix_seconds(86400));
                       EXPECT_EQ(*t.to, from_unix_seconds(172800.5));
                     }},
        TraceVariant{"semicolon_and_space_separators_offsets",
                     "{ path: w.csv, separator: ';', time_column: t, load_column: v, "
                     "utc_offset: +5h30m }",
                     [](const TraceSpec& t) {
                       EXPECT_EQ(t.separator, ';');
                       EXPECT_EQ(t.utc_offset, minutes(330));
                     }},
        TraceVariant{"whitespace_separator",
                     "{ path: w.txt, separator: space, time_column: 0, "
                     "load_column: 1, header: false, utc_offset: '+0100' }",
                     [](const TraceSpec& t) {
                       EXPECT_EQ(t.separator, ' ');
                       EXPECT_EQ(t.utc_offset, minutes(60));
                     }},
        TraceVariant{"relative_path_against_base_dir",
                     "{ path: ../traces/x.csv, time_column: t, load_column: v }",
                     [](const TraceSpec& t) { EXPECT_EQ(t.path, "/traces/x.csv"); }}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- presets: full group specs, as a config would write them ---------------------------------

TEST(ScenarioPresets, Hpa) {
  auto sc = parse(kMinimal);
  ASSERT_TRUE(sc.has_value()) << dump(sc.error());
  const ScenarioPolicy* p = find(*sc, "hpa");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->kind, PolicyKind::kGroup);
  EXPECT_EQ(p->preset, "hpa");
  const GroupSpec& g = p->group;
  EXPECT_EQ(g.name, "hpa");
  EXPECT_EQ(g.interval, seconds(15));
  EXPECT_EQ(g.target.type, "static");
  EXPECT_EQ(g.min, 1);
  EXPECT_EQ(g.max, 50);
  ASSERT_EQ(g.policies.size(), 1u);
  const auto& tt = std::get<TargetTrackingSpec>(g.policies[0].spec);
  EXPECT_EQ(tt.metric.source, "hpa-cpu");
  EXPECT_EQ(tt.kind, TargetKind::kUtilization);
  EXPECT_EQ(tt.target, 80);
  EXPECT_EQ(tt.tolerance_up, 0.1);
  EXPECT_EQ(tt.tolerance_down, 0.1);
  // The HPA default behavior, untouched.
  BehaviorSpec defaults;
  EXPECT_EQ(g.behavior.scale_up.stabilization, defaults.scale_up.stabilization);
  EXPECT_EQ(g.behavior.scale_up.policies.size(), 2u);
  EXPECT_EQ(g.behavior.scale_down.stabilization, seconds(300));
  EXPECT_EQ(g.behavior.scale_down.policies.size(), 1u);
  const SimulatedSource* s = find_source(*sc, "hpa-cpu");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->kind, MetricKind::kUtilization);
  EXPECT_EQ(s->period, seconds(15));
  EXPECT_EQ(s->delay, seconds(15));
  EXPECT_EQ(p->group_json["policies"][0]["target"], 80);
  EXPECT_EQ(p->group_json["target"]["type"], "static");
}

TEST(ScenarioPresets, AwsTargetTracking) {
  auto sc = parse(std::string(kMinimal) + "policies: [ { preset: aws-target-tracking } ]\n");
  ASSERT_TRUE(sc.has_value()) << dump(sc.error());
  EXPECT_EQ(names(*sc), (std::vector<std::string>{"hpa", "aws-target-tracking", "oracle"}));
  const GroupSpec& g = find(*sc, "aws-target-tracking")->group;
  EXPECT_EQ(g.interval, seconds(60));
  const auto& tt = std::get<TargetTrackingSpec>(g.policies[0].spec);
  EXPECT_EQ(tt.metric.source, "aws-cpu");
  EXPECT_EQ(tt.kind, TargetKind::kUtilization);
  EXPECT_EQ(tt.target, 50);
  EXPECT_EQ(tt.tolerance_up, 0);
  EXPECT_EQ(tt.tolerance_down, 0.1);
  EXPECT_EQ(g.behavior.scale_up.stabilization, minutes(3));
  EXPECT_TRUE(g.behavior.scale_up.policies.empty());
  EXPECT_EQ(g.behavior.scale_down.stabilization, minutes(15));
  EXPECT_TRUE(g.behavior.scale_down.policies.empty());
  EXPECT_EQ(g.behavior.warmup, seconds(300));
  const SimulatedSource* s = find_source(*sc, "aws-cpu");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->kind, MetricKind::kUtilization);
  EXPECT_EQ(s->period, seconds(60));
  EXPECT_EQ(s->delay, seconds(60));
}

TEST(ScenarioPresets, Kpa) {
  auto sc = parse(std::string(kMinimal) + "policies: [ { preset: kpa } ]\n");
  ASSERT_TRUE(sc.has_value()) << dump(sc.error());
  const GroupSpec& g = find(*sc, "kpa")->group;
  EXPECT_EQ(g.interval, seconds(2));
  const auto& panic = std::get<PanicSpec>(g.policies[0].spec);
  EXPECT_EQ(panic.metric.source, "kpa-rate");
  EXPECT_DOUBLE_EQ(panic.target, 7);  // 0.7 x capacity_per_instance 10
  EXPECT_EQ(panic.stable_window, seconds(60));
  EXPECT_EQ(panic.panic_window_percentage, 10);
  EXPECT_EQ(panic.panic_window(), seconds(6));
  EXPECT_EQ(panic.panic_threshold, 2.0);
  EXPECT_EQ(panic.max_scale_up_rate, 1000);
  EXPECT_EQ(panic.max_scale_down_rate, 2);
  EXPECT_EQ(g.behavior.scale_up.stabilization, Duration{0});
  EXPECT_EQ(g.behavior.scale_down.stabilization, Duration{0});
  EXPECT_TRUE(g.behavior.scale_up.policies.empty());
  EXPECT_TRUE(g.behavior.scale_down.policies.empty());
  const SimulatedSource* s = find_source(*sc, "kpa-rate");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->kind, MetricKind::kTotalRate);
  EXPECT_EQ(s->period, seconds(1));
  EXPECT_EQ(s->delay, Duration{0});
}

TEST(ScenarioPresets, PresetSourcesOnlyWhenUsed) {
  auto sc = parse(kMinimal);
  ASSERT_TRUE(sc.has_value());
  EXPECT_EQ(find_source(*sc, "aws-cpu"), nullptr);
  EXPECT_EQ(find_source(*sc, "kpa-rate"), nullptr);
}

// ---- hand-written groups ------------------------------------------------------------------------

TEST(ScenarioGroups, ParsedAsInAConfigWithTargetAndBoundsFilledIn) {
  auto sc = parse(std::string(kMinimal) + R"y(sources:
  - { name: cpu, kind: utilization }
  - { name: backlog, kind: backlog, period: 15s }
policies:
  - group:
      name: mine
      interval: 30s
      policies:
        - { type: target-tracking, metric: { source: cpu }, target: 60, disable_scale_in: true }
        - { type: queue, metric: backlog, target_per_instance: "50" }
      behavior: { scale_down: { stabilization: 10m } }
      dry_run: false
)y");
  ASSERT_TRUE(sc.has_value()) << dump(sc.error());
  EXPECT_EQ(names(*sc), (std::vector<std::string>{"hpa", "mine", "oracle"}));
  const ScenarioPolicy* p = find(*sc, "mine");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->kind, PolicyKind::kGroup);
  EXPECT_EQ(p->preset, "");
  EXPECT_EQ(p->group.interval, seconds(30));
  EXPECT_EQ(p->group.target.type, "static");
  EXPECT_EQ(p->group.min, 1);   // bounds
  EXPECT_EQ(p->group.max, 50);  // bounds
  EXPECT_EQ(p->group.policies.size(), 2u);
  EXPECT_EQ(p->group.behavior.scale_down.stabilization, minutes(10));
  // The group as JSON, as written plus the filled-in keys: numbers, booleans, quoted strings.
  const nlohmann::json& j = p->group_json;
  EXPECT_EQ(j["name"], "mine");
  EXPECT_EQ(j["interval"], "30s");
  EXPECT_EQ(j["target"], nlohmann::json({{"type", "static"}}));
  EXPECT_EQ(j["min"], 1);
  EXPECT_EQ(j["max"], 50);
  EXPECT_TRUE(j["policies"][0]["target"].is_number_integer());
  EXPECT_EQ(j["policies"][0]["target"], 60);
  EXPECT_EQ(j["policies"][0]["disable_scale_in"], true);
  EXPECT_EQ(j["policies"][1]["metric"], "backlog");
  EXPECT_EQ(j["policies"][1]["target_per_instance"], "50");  // quoted in the YAML
  EXPECT_EQ(j["dry_run"], false);
}

TEST(ScenarioGroups, OwnTargetAndBoundsKept) {
  auto sc = parse(std::string(kMinimal) + R"y(sources: [ { name: cpu, kind: utilization } ]
policies:
  - group:
      name: mine
      target: { type: aws-asg, name: web }
      min: 3
      max: 9
      policies: [ { type: target-tracking, metric: { source: cpu }, target: 0.5e2 } ]
)y");
  ASSERT_TRUE(sc.has_value()) << dump(sc.error());
  const ScenarioPolicy* p = find(*sc, "mine");
  EXPECT_EQ(p->group.target.type, "aws-asg");
  EXPECT_EQ(p->group.min, 3);
  EXPECT_EQ(p->group.max, 9);
  EXPECT_TRUE(p->group_json["policies"][0]["target"].is_number_float());
  EXPECT_EQ(p->group_json["policies"][0]["target"], 50.0);
}

TEST(ScenarioGroups, MayReadThePresetSources) {
  auto sc = parse(std::string(kMinimal) + R"y(policies:
  - group: { name: mine, policies: [ { type: target-tracking, metric: hpa-cpu, target: 60 } ] }
)y");
  ASSERT_TRUE(sc.has_value()) << dump(sc.error());
}

TEST(ScenarioGroups, PredictiveBootDelayDefaultsToTheModels) {
  auto sc = parse(R"y(trace: { path: t.csv, time_column: t, load_column: v }
model: { capacity_per_instance: 10, boot_delay: 4m }
sources: [ { name: load, kind: total-rate } ]
bounds: { max: 50 }
policies:
  - group:
      name: p
      policies:
        - { type: predictive, metric: load, target: 8 }
        - { type: predictive, name: own, metric: load, target: 8, boot_delay: 1m }
)y");
  ASSERT_TRUE(sc.has_value()) << dump(sc.error());
  const ScenarioPolicy* p = find(*sc, "p");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(std::get<PredictiveSpec>(p->group.policies[0].spec).boot_delay, minutes(4));
  EXPECT_EQ(std::get<PredictiveSpec>(p->group.policies[1].spec).boot_delay, minutes(1));
  // The group as written for tide decide carries it too.
  EXPECT_EQ(p->group_json["policies"][0]["boot_delay"], "4m");
}

// ---- errors: position and message ---------------------------------------------------------------

struct ErrorCase {
  const char* name;
  std::string yaml;
  // Where the error points: the first occurrence of `anchor` in `yaml`, or line 1, column 1
  // when empty (or `at` when given: the end of the input).
  std::string anchor;
  const char* fragment;
  std::pair<int, int> at = {1, 1};
};

std::pair<int, int> position(const ErrorCase& c) {
  if (c.anchor.empty()) return c.at;
  std::size_t pos = c.yaml.find(c.anchor);
  if (pos == std::string::npos) return {-1, -1};
  int line = 1 + static_cast<int>(std::count(c.yaml.begin(), c.yaml.begin() + pos, '\n'));
  std::size_t start = c.yaml.rfind('\n', pos);
  int column = static_cast<int>(start == std::string::npos ? pos + 1 : pos - start);
  return {line, column};
}

// kMinimal with its model line replaced (line 2).
std::string with_model(const std::string& model) {
  return "trace: { path: t.csv, time_column: t, load_column: v }\nmodel: " + model +
         "\nbounds: { max: 50 }\n";
}
// kMinimal with its trace line replaced (line 1).
std::string with_trace(const std::string& trace) {
  return "trace: " + trace + "\nmodel: { capacity_per_instance: 10 }\nbounds: { max: 50 }\n";
}
// kMinimal with its bounds line replaced (line 3).
std::string with_bounds(const std::string& bounds) {
  return "trace: { path: t.csv, time_column: t, load_column: v }\nmodel: { "
         "capacity_per_instance: 1 }\n" +
         bounds;
}
// kMinimal plus lines from line 4 on.
std::string plus(const std::string& rest) {
  return std::string(kMinimal) + rest;
}
// kMinimal, a source `cpu` (line 4), `policies:` (line 5) and `rest` from line 6 on.
std::string with_cpu(const std::string& rest) {
  return plus("sources: [ { name: cpu, kind: utilization } ]\npolicies:\n" + rest);
}

std::vector<ErrorCase> error_cases() {
  const std::string tt = "{ path: t.csv, time_column: t, load_column: v, ";
  return {
      // the document
      {"yaml_syntax", "trace: { path: t.csv\n", "", "invalid YAML", {2, 1}},
      {"empty", "", "", "the scenario is empty"},
      {"top_level_list", "- a\n", "", "expected a mapping at the top level, got a list"},
      // unknown and missing keys
      {"unknown_top_key", plus("polices: []\n"), "polices",
       "unknown key 'polices' in the scenario (did you mean 'policies'?)"},
      {"unknown_trace_key", with_trace("{ path: t.csv, time_colum: t, load_column: v }"),
       "time_colum", "unknown key 'time_colum' in trace (did you mean 'time_column'?)"},
      {"unknown_model_key", with_model("{ capacity_per_instance: 1, boot_dely: 1m }"), "boot_dely",
       "unknown key 'boot_dely' in model (did you mean 'boot_delay'?)"},
      {"sources_under_model", with_model("{ capacity_per_instance: 1, sources: [] }"), "[]",
       "write the simulated sources at the top level"},
      {"missing_trace", "model: { capacity_per_instance: 1 }\nbounds: { max: 5 }\n", "",
       "missing required key 'trace' in the scenario"},
      {"missing_path", with_trace("{ time_column: t, load_column: v }"), "{ time_column",
       "missing required key 'path' in trace"},
      {"missing_time_column", with_trace("{ path: t.csv, load_column: v }"), "{ path",
       "missing required key 'time_column' in trace (or time_format: row-index)"},
      {"missing_load_column", with_trace("{ path: t.csv, time_column: t }"), "{ path",
       "missing required key 'load_column' in trace"},
      {"missing_capacity", with_model("{ boot_delay: 3m }"), "{ boot_delay",
       "missing required key 'capacity_per_instance' in model"},
      {"missing_bounds", with_bounds(""), "",
       "missing required key 'bounds' in the scenario (min and max capacity of the presets)"},
      {"missing_bounds_max", with_bounds("bounds: { min: 2 }\n"), "{ min",
       "missing required key 'max' in bounds (e.g. 4 x the trace's peak demand)"},
      // wrong types and values
      {"trace_not_a_mapping", with_trace("t.csv"), "t.csv",
       "trace: expected a mapping with 'path', got 't.csv'"},
      {"capacity_not_a_number", with_model("{ capacity_per_instance: abc }"), "abc",
       "capacity_per_instance: expected a number, got 'abc'"},
      {"negative_capacity", with_model("{ capacity_per_instance: -5 }"), "-5",
       "capacity_per_instance must be greater than 0, got -5"},
      {"zero_capacity", with_model("{ capacity_per_instance: 0 }"), "0 }",
       "capacity_per_instance must be greater than 0, got 0"},
      {"bad_duration", with_model("{ capacity_per_instance: 1, boot_delay: 3 }"), "3 }",
       "boot_delay: invalid duration '3': missing unit"},
      {"negative_duration", with_model("{ capacity_per_instance: 1, drain_delay: -1s }"), "-1s",
       "drain_delay: invalid duration '-1s': negative"},
      {"negative_price", with_model("{ capacity_per_instance: 1, price_per_hour: -1 }"), "-1",
       "price_per_hour must not be negative, got -1"},
      {"negative_queue_limit", with_model("{ capacity_per_instance: 1, queue_limit: -1 }"), "-1",
       "queue_limit must not be negative"},
      {"fractional_initial_capacity",
       with_model("{ capacity_per_instance: 1, initial_capacity: 2.5 }"), "2.5",
       "initial_capacity: expected a whole number, got '2.5'"},
      {"unknown_billing_kind",
       with_model("{ capacity_per_instance: 1, billing: { kind: per-minute } }"), "per-minute",
       "kind: unknown value 'per-minute'; expected one of: per-second, per-hour"},
      {"billing_minimum_per_hour",
       with_model("{ capacity_per_instance: 1, billing: { kind: per-hour, minimum: 60s } }"), "60s",
       "minimum: only per-second billing has a minimum"},
      {"billing_not_a_mapping", with_model("{ capacity_per_instance: 1, billing: per-hour }"),
       "per-hour", "billing: expected a mapping such as {kind: per-second, minimum: 60s}"},
      {"header_not_a_bool", with_trace(tt + "header: yes }"), "yes",
       "header: expected true or false, got 'yes'"},
      {"unknown_time_format", with_trace(tt + "time_format: iso }"), "iso",
       "time_format: unknown value 'iso'; expected one of: datetime, unix, row-index"},
      {"unknown_load_kind", with_trace(tt + "load_kind: rat }"), "rat }",
       "load_kind: unknown value 'rat' (did you mean 'rate'?)"},
      {"unknown_missing", with_trace(tt + "missing: nan }"), "nan",
       "missing: unknown value 'nan'; expected one of: gap, zero"},
      {"bad_separator", with_trace(tt + "separator: ';;' }"), "';;'",
       "separator: expected one character"},
      {"bad_utc_offset", with_trace(tt + "utc_offset: EDT }"), "EDT",
       "utc_offset: invalid offset 'EDT'"},
      {"zero_step", with_trace(tt + "step: 0 }"), "0 }", "step must be greater than 0"},
      {"zero_multiplier", with_trace(tt + "multiplier: 0 }"), "0 }",
       "multiplier must be greater than 0, got 0"},
      {"bad_from", with_trace(tt + "from: 1995-07-32 }"), "1995-07-32",
       "from: time '1995-07-32' is not a valid date-time: day 32 is out of range"},
      {"to_before_from", with_trace(tt + "from: 1995-08-01, to: 1995-07-01 }"), "1995-07-01",
       "to (1995-07-01T00:00:00Z) must be after from (1995-08-01T00:00:00Z)"},
      {"row_index_without_step",
       with_trace("{ path: t.csv, time_format: row-index, load_column: v }"), "{ path",
       "missing required key 'step' in trace (the time between rows of a row-index trace)"},
      {"row_index_with_time_column",
       with_trace("{ path: t.csv, time_format: row-index, step: 1m, time_column: t, load_column: "
                  "v }"),
       "t, load", "time_column: a row-index trace has no time column"},
      {"start_without_row_index", with_trace(tt + "start: 2020-01-01 }"), "2020",
       "start: only a row-index trace has a start"},
      {"per_request_without_step", with_trace("{ path: t.csv, time_column: t, per_request: true }"),
       "{ path", "missing required key 'step' in trace (the bin width of a per-request trace)"},
      {"per_request_rate",
       with_trace("{ path: t.csv, time_column: t, per_request: true, step: 1s, load_kind: rate }"),
       "rate", "a per-request trace counts arrivals per step; it cannot be a rate"},
      {"per_request_gap_column",
       with_trace("{ path: t.csv, time_column: t, per_request: true, step: 1s, gap_column: g }"),
       "g }", "gap_column: a per-request trace has no gap column"},
      // bounds
      {"bounds_not_a_mapping", with_bounds("bounds: 50\n"), "50",
       "bounds: expected a mapping {min, max}, got '50'"},
      {"bounds_min_above_max", with_bounds("bounds: { min: 9, max: 5 }\n"), "5 }",
       "max (5) is less than min (9)"},
      {"bounds_negative_min", with_bounds("bounds: { min: -1, max: 5 }\n"), "-1",
       "min must not be negative, got -1"},
      {"bounds_max_zero", with_bounds("bounds: { max: 0 }\n"), "0 }",
       "max must be at least 1, got 0"},
      {"bounds_max_fraction", with_bounds("bounds: { max: 2.5 }\n"), "2.5",
       "max: expected a whole number, got '2.5'"},
      {"bounds_max_too_large", with_bounds("bounds: { max: 2000000 }\n"), "2000000",
       "max must be at most 1000000, got 2000000"},
      // sources
      {"source_unknown_kind", plus("sources: [ { name: cpu, kind: cpu } ]\n"), "cpu }",
       "kind: unknown value 'cpu'; expected one of: utilization, per-instance-rate, total-rate, "
       "backlog"},
      {"source_missing_kind", plus("sources: [ { name: cpu } ]\n"), "{ name",
       "missing required key 'kind' in source"},
      {"source_bad_name", plus("sources: [ { name: -cpu, kind: backlog } ]\n"), "-cpu",
       "invalid source name '-cpu'"},
      {"source_reserved_name", plus("sources: [ { name: hpa-cpu, kind: backlog } ]\n"), "hpa-cpu",
       "source name 'hpa-cpu' is reserved for the hpa preset"},
      {"source_duplicate",
       plus("sources:\n  - { name: q, kind: backlog }\n  - { name: q, kind: backlog, period: 1s "
            "}\n"),
       "q, kind: backlog, period", "duplicate source name 'q' (first defined at line 5)"},
      {"source_zero_period", plus("sources: [ { name: q, kind: backlog, period: 0 } ]\n"), "0 } ]",
       "period must be greater than 0"},
      {"sources_not_a_list", plus("sources: { cpu: utilization }\n"), "{ cpu",
       "sources: expected a list of simulated sources, got a mapping"},
      // policies
      {"policies_not_a_list", plus("policies: hpa\n"), "hpa",
       "policies: expected a list of {preset: NAME} or {group: {...}}, got 'hpa'"},
      {"policy_scalar", plus("policies: [ hpa ]\n"), "hpa",
       "policy: expected {preset: NAME} or {group: {...}}, got 'hpa'"},
      {"unknown_preset", plus("policies:\n  - preset: hpaa\n"), "hpaa",
       "unknown preset 'hpaa' (did you mean 'hpa'?); known presets: hpa, aws-target-tracking, "
       "kpa, static-peak, oracle"},
      {"unknown_policy_key", plus("policies:\n  - presets: kpa\n"), "presets",
       "unknown key 'presets' in policy (did you mean 'preset'?)"},
      {"empty_policy", plus("policies:\n  - {}\n"), "{}",
       "policy: expected 'preset: NAME' or 'group: {...}'"},
      {"preset_and_group", plus("policies:\n  - { preset: kpa, group: {} }\n"), "{ preset",
       "'preset' and 'group' cannot be used together"},
      {"duplicate_preset",
       plus("policies:\n  - preset: kpa\n  - preset: oracle\n  - preset: kpa\n"),
       "",
       "duplicate policy 'kpa' (first at line 5)",
       {7, 5}},
      {"group_not_a_mapping", plus("policies:\n  - group: mine\n"), "mine",
       "group: expected a mapping (a group as in a tide run config), got 'mine'"},
      // groups: the config's own checks, at the scenario's line and column
      {"group_unknown_policy_key",
       with_cpu("  - group:\n      name: g\n      policies:\n"
                "        - { type: target-tracking, metric: cpu, target: 60, tolerence: 0.2 }\n"),
       "tolerence",
       "unknown key 'tolerence' in target-tracking policy (did you mean 'tolerance'?)"},
      {"group_bad_interval",
       with_cpu("  - group: { name: g, interval: 15, policies: [ { type: queue, metric: cpu, "
                "target_per_instance: 1 } ] }\n"),
       "15", "interval: invalid duration '15'"},
      {"group_missing_policies", with_cpu("  - group: { name: g }\n"), "{ name: g",
       "missing required key 'policies' in group"},
      {"group_metric_source_undefined",
       with_cpu("  - group: { name: g, policies: [ { type: queue, metric: cpux, "
                "target_per_instance: 1 } ] }\n"),
       "cpux", "metric source 'cpux' is not defined under 'sources:' (did you mean 'cpu'?)"},
      {"group_metric_source_not_simulated",
       with_cpu("  - group: { name: g, policies: [ { type: queue, metric: { source: system, name: "
                "cpu }, target_per_instance: 1 } ] }\n"),
       "system",
       "metric source 'system' is not a simulated source; the scenario's sources are: "
       "cpu, hpa-cpu"},
      {"group_metric_query_keys",
       with_cpu("  - group: { name: g, policies: [ { type: queue, metric: { source: cpu, query: up "
                "}, target_per_instance: 1 } ] }\n"),
       "cpu, query", "metric: a simulated source takes no query keys, got 'query'"},
      {"group_name_reserved",
       with_cpu("  - group: { name: kpa, policies: [ { type: queue, metric: cpu, "
                "target_per_instance: 1 } ] }\n"),
       "kpa", "group name 'kpa' is reserved for the preset of that name"},
      {"group_duplicate_name",
       with_cpu("  - group: { name: g, policies: [ { type: queue, metric: cpu, "
                "target_per_instance: 1 } ] }\n  - group: { name: g, policies: [ { type: queue, "
                "metric: cpu, target_per_instance: 2 } ] }\n"),
       "",
       "duplicate policy 'g' (first at line 6)",
       {7, 5}},
      {"group_min_above_bounds_max",
       with_cpu("  - group: { name: g, min: 60, policies: [ { type: queue, metric: cpu, "
                "target_per_instance: 1 } ] }\n"),
       "60", "min (60) is greater than max (50)"},
  };
}

class ScenarioError : public testing::TestWithParam<ErrorCase> {};

TEST_P(ScenarioError, Reports) {
  const ErrorCase& c = GetParam();
  auto sc = parse(c.yaml);
  ASSERT_FALSE(sc.has_value()) << c.yaml;
  const Diagnostics& diags = sc.error();
  auto [line, column] = position(c);
  ASSERT_GT(line, 0) << "anchor not found: " << c.anchor;
  bool found = std::any_of(diags.begin(), diags.end(), [&](const Diagnostic& d) {
    return d.file == "s.yaml" && d.line == line && d.column == column &&
           d.message.find(c.fragment) != std::string::npos;
  });
  EXPECT_TRUE(found) << "expected s.yaml:" << line << ":" << column << ": ..." << c.fragment
                     << "\ngot:\n"
                     << dump(diags);
}

INSTANTIATE_TEST_SUITE_P(Errors, ScenarioError, testing::ValuesIn(error_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ScenarioErrors, ReportsEveryProblemAtOnce) {
  auto sc = parse(R"y(trace: { path: t.csv, time_column: t, load_column: v, step: 1 }
model: { capacity_per_instance: -1, boot_delay: 3 }
bounds: { max: 5 }
policies: [ { preset: nope } ]
)y");
  ASSERT_FALSE(sc.has_value());
  EXPECT_EQ(sc.error().size(), 4u) << dump(sc.error());
}

TEST(ScenarioErrors, MissingFile) {
  auto sc = load_scenario("/nonexistent/scenario.yaml");
  ASSERT_FALSE(sc.has_value());
  ASSERT_EQ(sc.error().size(), 1u);
  EXPECT_EQ(format_diagnostic(sc.error()[0]),
            "/nonexistent/scenario.yaml: error: cannot read the scenario: No such file or "
            "directory");
}

// ---- the bundled examples: every trace loads with its scenario ------------------------------

struct ExampleExpectation {
  std::size_t steps;
  std::size_t gaps;
  Duration step;
  int peak_demand;  // ceil(max load / capacity_per_instance)
};

TEST(ScenarioExamples, EveryExampleLoadsWithItsTrace) {
  // Hand-checked against traces/PROVENANCE.md: NASA 89,280 minutes with 7,210 flagged; WorldCup
  // 125,300 rows on a 125,310-minute grid whose 10 absent minutes are zero (missing: zero);
  // Wikipedia 48,616 rows - 7 duplicates + 1,095 missing hours = 49,704 hours; Azure LLM 3,502 s
  // of arrivals in 10 s bins (18:15:40 - 19:14:10); Google 28 x 288; Azure VM 30 x 288.
  const std::map<std::string, ExampleExpectation> expected = {
      {"simulate-nasa.yaml", {89'280, 7'210, minutes(1), 68}},
      {"simulate-worldcup98.yaml", {125'310, 0, minutes(1), 153}},
      {"simulate-wikipedia.yaml", {49'704, 1'095, std::chrono::hours(1), 113}},
      {"simulate-azure-llm.yaml", {351, 0, seconds(10), 41}},
      {"simulate-google-2019.yaml", {8'064, 0, minutes(5), 149}},
      {"simulate-azure-vm.yaml", {8'640, 0, minutes(5), 196}},
  };
  namespace fs = std::filesystem;
  std::size_t seen = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(TIDE_SOURCE_DIR) / "examples")) {
    std::string file = entry.path().filename().string();
    if (!file.starts_with("simulate-") || !file.ends_with(".yaml")) continue;
    SCOPED_TRACE(file);
    ++seen;
    auto it = expected.find(file);
    ASSERT_NE(it, expected.end()) << "add the new example to this test";
    auto sc = load_scenario(entry.path().string());
    ASSERT_TRUE(sc.has_value()) << dump(sc.error());
    auto trace = load_trace(sc->trace);
    ASSERT_TRUE(trace.has_value()) << trace.error();
    const ExampleExpectation& e = it->second;
    EXPECT_EQ(trace->size(), e.steps);
    EXPECT_EQ(static_cast<std::size_t>(
                  std::count_if(trace->load.begin(), trace->load.end(), Trace::is_gap)),
              e.gaps);
    EXPECT_EQ(trace->step, e.step);
    double peak = 0;
    for (double v : trace->load) {
      if (!Trace::is_gap(v)) peak = std::max(peak, v);
    }
    int peak_demand = static_cast<int>(std::ceil(peak / sc->model.capacity_per_instance));
    EXPECT_EQ(peak_demand, e.peak_demand);
    EXPECT_GE(peak_demand, 10);
    EXPECT_LE(peak_demand, 250);
    EXPECT_GE(sc->max, 3 * peak_demand) << "bounds.max should leave room above the peak";
    EXPECT_GE(sc->model.boot_delay, minutes(3));
    // All presets and at least one hand-written group.
    for (const char* preset : {"hpa", "aws-target-tracking", "kpa", "static-peak", "oracle"}) {
      EXPECT_NE(find(*sc, preset), nullptr) << preset;
    }
    EXPECT_TRUE(std::any_of(sc->policies.begin(), sc->policies.end(), [](const ScenarioPolicy& p) {
      return p.kind == PolicyKind::kGroup && p.preset.empty();
    }));
  }
  EXPECT_EQ(seen, expected.size());
}

}  // namespace
}  // namespace tide::sim
