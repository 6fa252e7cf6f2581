// Kubernetes HPA vectors (hpa_vectors.json) mapped onto tide's code. Every `got` is computed from
// the case's inputs by tide's own functions; nothing reads `expected` except Report. The mapping
// of each section and every skip are explained in docs/conformance.md.
//
//  - replica_calculator_cases -> propose_target_tracking() (+ instance_metric() for the figures
//    HPA reports in its status: utilization percent, raw average, usage).
//  - behavior_cases           -> stabilize(), store_recommendation(), rate_limit() + the bounds
//    clamp, scale_up_limit(), scale_down_limit(), change_in_period(), record() (scale events).
//  - reconcile_cases          -> decide() on a GroupSpec/Observation/GroupHistory built from the
//    case; HPA's status conditions are derived from the Decision's stage values.
//  - group_pods_cases         -> skipped: tide has no pod classification (see kGroupPodsWhy).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "policy/behavior.hpp"
#include "policy/decide.hpp"
#include "policy/policies.hpp"
#include "report.hpp"

namespace tide::conformance {
namespace {

using nlohmann::json;

// The evaluation instant; case times are ages before it.
const TimePoint kNow = from_unix_seconds(1'800'000'000);

const char* kGroupPodsWhy =
    "groupPods classifies Kubernetes pods from their phase, deletion timestamp, Ready condition "
    "transition time, start time and metric timestamp (CPU initialization period, initial "
    "readiness delay). tide has no such function: the target reports each instance's state "
    "(ready/warming/missing) directly, so there is no tide code to run these inputs through.";

// ---- small helpers ---------------------------------------------------------------------------

std::string name_of(const json& c) {
  return c.value("upstream_test", std::string("?"));
}

TimePoint ago(const json& age_seconds) {
  return kNow - seconds(age_seconds.get<double>());
}

const json& expected_of(const json& c, const char* key = "expected") {
  static const json kNull;
  auto it = c.find(key);
  return it != c.end() ? *it : kNull;
}

bool is_null(const json& c, const char* key) {
  auto it = c.find(key);
  return it == c.end() || it->is_null();
}

// Saturating sum of int64 milli-values (HPA External metrics saturate at MaxInt64).
double saturating_sum(const json& values) {
  std::int64_t sum = 0;
  for (const json& v : values) {
    const std::int64_t x = v.get<std::int64_t>();
    if (x > 0 && sum > std::numeric_limits<std::int64_t>::max() - x) {
      sum = std::numeric_limits<std::int64_t>::max();
    } else {
      sum += x;
    }
  }
  return static_cast<double>(sum);
}

// HPA reports milli-quantities as integers; tide's averages are doubles in the source's unit.
double as_milli_integer(double v) {
  return std::floor(v);
}

// Runs one case; a case whose fields do not have the documented shape is reported as skipped
// with the parse error instead of aborting the whole run.
template <class Run>
void guarded(const std::string& section, const json& c, Report& report, Run&& run) {
  try {
    run();
  } catch (const json::exception& e) {
    report.skip(section, c.value("function", std::string("?")), name_of(c),
                std::string("malformed case: ") + e.what());
  }
}

// ---- pods -> instances -----------------------------------------------------------------------

struct Instances {
  std::vector<InstanceSample> samples;
  int ready = 0;
  int warming = 0;
};

// HPA pod groups onto tide's instance states (conventions.pod_groups): deleted and failed pods are
// not part of the group at all (a target does not report them); pending pods and, for CPU, pods
// whose readiness HPA derived as unready are warming; pods without a metric row are missing.
Instances instances_from_pods(const json& pods, bool cpu) {
  Instances out;
  for (const json& pod : pods) {
    const std::string phase = pod.value("phase", std::string("Running"));
    if (pod.value("deleting", false) || phase == "Failed") continue;
    InstanceSample s;
    s.request = is_null(pod, "request_milli") ? 0 : pod["request_milli"].get<double>();
    const bool cpu_unready = pod.contains("cpu_unready_derived")
                                 ? pod.value("cpu_unready_derived", false)
                                 : !pod.value("ready_condition", true);
    if (phase == "Pending") {
      s.state = InstanceState::kWarming;
    } else if (is_null(pod, "usage_milli")) {
      s.state = InstanceState::kMissing;
    } else if (cpu && cpu_unready) {
      s.state = InstanceState::kWarming;
    } else {
      s.state = InstanceState::kReady;
    }
    if (!is_null(pod, "usage_milli")) s.value = pod["usage_milli"].get<double>();
    if (s.state == InstanceState::kReady) ++out.ready;
    if (s.state == InstanceState::kWarming) ++out.warming;
    out.samples.push_back(s);
  }
  return out;
}

TargetTrackingSpec tracking(TargetKind kind, double target, const json& tolerances) {
  TargetTrackingSpec s;
  s.kind = kind;
  s.target = target;
  s.tolerance_down = tolerances.value("scale_down", 0.1);
  s.tolerance_up = tolerances.value("scale_up", 0.1);
  return s;
}

// ---- replica_calculator_cases ----------------------------------------------------------------

const std::string kReplicaSection = "replica_calculator_cases";

// Resource (Utilization) and Pods metrics: per-instance samples.
void run_per_instance_case(const json& c, Report& report) {
  const std::string function = c.at("function");
  const bool utilization = function == "GetResourceReplicas";
  const bool cpu = utilization && c.value("resource", std::string()) == "cpu";
  const TargetTrackingSpec spec =
      utilization
          ? tracking(TargetKind::kUtilization, c.at("target_utilization_percent"),
                     c.at("tolerances"))
          : tracking(TargetKind::kPerInstance, c.at("target_usage_milli"), c.at("tolerances"));
  const Instances inst = instances_from_pods(c.at("pods"), cpu);
  const int current = c.at("current_replicas");
  const MetricReading reading{true, 0, inst.samples};

  const Proposal p = propose_target_tracking(spec, reading, current, inst.ready);
  const auto figures = instance_metric(spec, inst.samples);
  json got;
  if (p.status != ProposalStatus::kValue || !figures) {
    got["error_contains"] = figures ? std::string("no data") : figures.error().message;
  } else {
    got["replicas"] = p.capacity;
    if (utilization) {
      got["utilization_percent"] = figures->metric;
      got["raw_average_milli"] = as_milli_integer(figures->average);
    } else {
      got["usage_milli"] = as_milli_integer(figures->average);
    }
  }
  report.result(kReplicaSection, function, name_of(c), got, expected_of(c));
}

// Object/External `Value`: one aggregate value, ratio applied to the ready instances.
void run_value_case(const json& c, Report& report) {
  const double usage = c.contains("metric_values_milli") ? saturating_sum(c["metric_values_milli"])
                                                         : c.at("metric_value_milli").get<double>();
  const TargetTrackingSpec spec =
      tracking(TargetKind::kPerInstance, c.at("target_usage_milli"), c.at("tolerances"));
  const MetricReading reading{true, usage, {}};
  const Proposal p =
      propose_target_tracking(spec, reading, c.at("current_replicas"), c.at("ready_pod_count"));
  json got;
  if (p.status != ProposalStatus::kValue) {
    got["error_contains"] = "no data";
  } else {
    got["replicas"] = p.capacity;
    got["usage_milli"] = p.a;
  }
  report.result(kReplicaSection, c.at("function"), name_of(c), got, expected_of(c));
}

// Object/External `AverageValue`: a group total, desired = ceil(total / target).
void run_total_case(const json& c, Report& report) {
  const double usage = c.contains("metric_values_milli") ? saturating_sum(c["metric_values_milli"])
                                                         : c.at("metric_value_milli").get<double>();
  const TargetTrackingSpec spec =
      tracking(TargetKind::kTotal, c.at("target_average_milli"), c.at("tolerances"));
  const int current = c.at("status_replicas");
  const MetricReading reading{true, usage, {}};
  const Proposal p = propose_target_tracking(spec, reading, current, current);
  json got;
  if (p.status != ProposalStatus::kValue) {
    got["error_contains"] = "no data";
  } else {
    got["replicas"] = p.capacity;
    // HPA's status figure: the total per current instance, rounded up.
    got["usage_milli"] = current > 0 ? std::ceil(p.a / current) : 0.0;
  }
  report.result(kReplicaSection, c.at("function"), name_of(c), got, expected_of(c));
}

void run_replica_cases(const json& cases, Report& report) {
  for (const json& c : cases) {
    guarded(kReplicaSection, c, report, [&] {
      const std::string function = c.value("function", std::string());
      if (c.contains("extra_metrics")) {
        report.skip(
            kReplicaSection, function, name_of(c),
            "the case feeds a metric row for a pod that does not exist; tide's samples "
            "belong to the instances the target reports, so a sample of an unknown instance "
            "cannot be expressed. What remains (one instance without a sample) gives no "
            "data in tide, as HPA refuses to compute, but HPA's error text is about the "
            "unmatched row.");
      } else if (function == "GetResourceReplicas" || function == "GetMetricReplicas") {
        run_per_instance_case(c, report);
      } else if (function == "GetObjectMetricReplicas" || function == "GetExternalMetricReplicas") {
        run_value_case(c, report);
      } else if (function == "GetObjectPerPodMetricReplicas" ||
                 function == "GetExternalPerPodMetricReplicas") {
        run_total_case(c, report);
      } else {
        report.skip(kReplicaSection, function, name_of(c), "no tide mapping for " + function);
      }
    });
  }
}

// ---- behavior_cases --------------------------------------------------------------------------

SelectPolicy select_of(const std::string& s) {
  if (s == "Min") return SelectPolicy::kMin;
  if (s == "Disabled") return SelectPolicy::kDisabled;
  return SelectPolicy::kMax;
}

// HPAScalingRules -> ScalingRules. A null rules object means HPA's default for that direction
// (BehaviorSpec's defaults are HPA's); a null window means `default_window`.
ScalingRules rules_of(const json& j, const ScalingRules& defaults, Duration default_window) {
  ScalingRules r = defaults;
  r.stabilization = default_window;
  if (j.is_null()) return r;
  if (!is_null(j, "stabilization_window_seconds")) {
    r.stabilization = seconds(j["stabilization_window_seconds"].get<double>());
  }
  if (!is_null(j, "select_policy")) r.select = select_of(j["select_policy"]);
  if (!is_null(j, "policies")) {
    r.policies.clear();
    for (const json& p : j["policies"]) {
      r.policies.push_back(
          {p.at("type") == "Pods" ? RateLimitType::kInstances : RateLimitType::kPercent,
           p.at("value").get<double>(), seconds(p.at("period_seconds").get<double>())});
    }
  }
  return r;
}

std::vector<ScaleEvent> events_of(const json& list) {
  std::vector<ScaleEvent> out;
  for (const json& e : list) {
    out.push_back(
        {ago(e.at("age_seconds")), e.at("replica_change").get<int>(), e.value("outdated", false)});
  }
  return out;
}

std::vector<Recommendation> recommendations_of(const json& list) {
  std::vector<Recommendation> out;
  for (const json& r : list) out.push_back({ago(r.at("age_seconds")), r.at("value").get<int>()});
  return out;
}

// HPA's ScalingLimited reason for a value limited from `desired` to `final` (tide: by the rate
// limit stage, then the bounds stage).
std::string limited_reason(int current, int desired, int final_value, int min, int max) {
  if (final_value == desired) return "DesiredWithinRange";
  if (desired > current) return final_value == max ? "TooManyReplicas" : "ScaleUpLimit";
  return final_value == min ? "TooFewReplicas" : "ScaleDownLimit";
}

// rate_limit() then the bounds stage, as decide() chains them.
json rate_then_bounds(int current, int desired, int min, int max, const BehaviorSpec& behavior,
                      const GroupHistory& history) {
  const int limited = rate_limit(current, desired, behavior, history, kNow);
  const int final_value = std::clamp(limited, min, max);
  return {{"replicas", final_value},
          {"condition_reason", limited_reason(current, desired, final_value, min, max)}};
}

void run_rate_cases(const std::string& section, const json& cases, Report& report) {
  const BehaviorSpec defaults;
  for (const json& c : cases) {
    guarded(section, c, report, [&] {
      BehaviorSpec b;
      b.scale_up = rules_of(c.at("scale_up_rules"), defaults.scale_up, Duration{0});
      b.scale_down = rules_of(c.at("scale_down_rules"), defaults.scale_down,
                              defaults.scale_down.stabilization);
      GroupHistory h;
      h.scale_up_events = events_of(c.at("scale_up_events"));
      h.scale_down_events = events_of(c.at("scale_down_events"));
      const json got =
          rate_then_bounds(c.at("current_replicas"), c.at("prenormalized_desired_replicas"),
                           c.at("min_replicas"), c.at("max_replicas"), b, h);
      report.result(section, c.at("function"), name_of(c), got, expected_of(c));
    });
  }
}

std::vector<int> values_of(const std::vector<Recommendation>& list) {
  std::vector<int> out;
  for (const Recommendation& r : list) out.push_back(r.value);
  return out;
}

void run_stabilize_cases(const std::string& section, const json& cases, Report& report) {
  for (const json& c : cases) {
    guarded(section, c, report, [&] {
      const Duration up = seconds(c.at("scale_up_stabilization_window_seconds").get<double>());
      const Duration down = seconds(c.at("scale_down_stabilization_window_seconds").get<double>());
      const int current = c.at("current_replicas");
      const int proposal = c.at("prenormalized_desired_replicas");
      std::vector<Recommendation> list = recommendations_of(c.at("recommendations"));
      const int stabilized = stabilize(current, proposal, list, up, down, kNow);
      store_recommendation(list, proposal, up, down, kNow);
      const std::vector<int> stored = values_of(list);
      // The label HPA would give if stabilization changed the proposal; tide's Decision records the
      // stage values instead, so this is derived from the inputs the same way HPA derives it.
      const json got = {
          {"stabilized_replicas", stabilized},
          {"stored_recommendation_values_after", stored},
          {"stored_recommendation_values_after_derived", stored},
          {"reason_if_changed", proposal >= current ? "ScaleUpStabilized" : "ScaleDownStabilized"}};
      report.result(section, c.at("function"), name_of(c), got, expected_of(c));
    });
  }
}

// Legacy (no behavior) stabilization = tide's stabilize with a 0 s up window and the controller's
// downscale window. The legacy function takes no `current`: it returns the largest recommendation
// in the window, which is what stabilize gives for any current at or above that maximum, i.e.
// when scaling down, the only case the legacy window is for. The largest value of the case serves.
void run_legacy_stabilize_cases(const std::string& section, const json& cases, Report& report) {
  for (const json& c : cases) {
    guarded(section, c, report, [&] {
      const Duration down = seconds(c.at("downscale_stabilization_window_seconds").get<double>());
      const int proposal = c.at("prenormalized_desired_replicas");
      std::vector<Recommendation> list = recommendations_of(c.at("recommendations"));
      int current = proposal;
      for (const Recommendation& r : list) current = std::max(current, r.value);
      const int stabilized = stabilize(current, proposal, list, Duration{0}, down, kNow);
      store_recommendation(list, proposal, Duration{0}, down, kNow);
      const json got = {{"stabilized_replicas", stabilized},
                        {"recommendation_log_length", list.size()}};
      report.result(section, c.at("function"), name_of(c), got, expected_of(c));
    });
  }
}

// Legacy scale-up cap max(factor x current, minimum) per evaluation, as tide rate-limit policies:
// percent (factor - 1) x 100 and `minimum` instances, select max, no scale-down limit. The two are
// equal for current = 0 and whenever (factor - 1) x current >= minimum; the upstream test
// constants (factor 8, minimum 4) satisfy that for every current. Production's factor 2 does not
// for current 1..3, so only the upstream test's expectation is mapped.
void run_legacy_rules_cases(const std::string& section, const json& cases, Report& report) {
  constexpr double kFactor = 8;  // horizontal_test.go init()
  constexpr double kMinimum = 4;
  for (const json& c : cases) {
    guarded(section, c, report, [&] {
      const int current = c.at("current_replicas");
      if (current != 0 && (kFactor - 1) * current < kMinimum) {
        report.skip(
            section, c.at("function"), name_of(c),
            "legacy cap max(8 x current, 4) is not a rate-limit policy pair at this current");
        return;
      }
      BehaviorSpec b;
      b.scale_up = {Duration{0},
                    SelectPolicy::kMax,
                    {{RateLimitType::kPercent, (kFactor - 1) * 100, b.scale_up.policies[0].period},
                     {RateLimitType::kInstances, kMinimum, b.scale_up.policies[0].period}}};
      b.scale_down = {Duration{0}, SelectPolicy::kMax, {}};  // no policy: no scale-down limit
      const json got =
          rate_then_bounds(current, c.at("prenormalized_desired_replicas"), c.at("min_replicas"),
                           c.at("max_replicas"), b, GroupHistory{});
      report.result(section, c.at("function"), name_of(c), got,
                    expected_of(c, "expected_with_test_scale_up_limit_factor_8"));
    });
  }
}

// storeScaleEvent through record(): an applied decision 10 -> 15 (then 10 -> 5) must store the
// event in the per-direction list exactly as HPA does, with the case's rules for that direction.
void run_store_event_cases(const std::string& section, const json& cases, Report& report) {
  for (const json& c : cases) {
    guarded(section, c, report, [&] {
      if (c.at("behavior_rules_for_direction").is_null()) {
        report.skip(section, c.at("function"), name_of(c),
                    "HPA stores no event when spec.behavior is nil because its legacy path never "
                    "reads them; tide has no legacy path: every group has a behavior (HPA's "
                    "defaults when none is configured), so record() always keeps the events.");
        return;
      }
      const ScalingRules rules =
          rules_of(c["behavior_rules_for_direction"], BehaviorSpec{}.scale_up, Duration{0});
      const int prev = c.at("prev_replicas");
      const int change = c.at("replica_change");
      const std::vector<ScaleEvent> previous = events_of(c.at("previous_events"));

      GroupSpec spec;
      spec.min = 0;
      spec.max = std::numeric_limits<int>::max();
      spec.behavior.scale_up = rules;
      spec.behavior.scale_down = rules;
      json per_direction[2];
      for (int direction = 0; direction < 2; ++direction) {
        const bool up = direction == 0;
        GroupHistory h;
        h.initialized = true;
        (up ? h.scale_up_events : h.scale_down_events) = previous;
        const std::vector<ScaleEvent>& list = up ? h.scale_up_events : h.scale_down_events;
        const int before = change_in_period(list, std::chrono::seconds(60), kNow);
        Decision d;
        d.at = kNow;
        d.current = prev;
        d.desired = up ? prev + change : prev - change;
        d.recommendation = d.desired;
        record(spec, Observation{prev, prev, 0, {}}, d, /*applied=*/true, h);
        json stored = json::array();
        for (const ScaleEvent& e : list) {
          stored.push_back({{"replica_change", e.change}, {"outdated", e.outdated}});
        }
        per_direction[direction] = {{"replicas_change_in_last_60s_before_store", before},
                                    {"events_after_store", stored}};
      }
      json got = per_direction[0];
      if (per_direction[0] != per_direction[1]) {
        got["events_after_store"] = {{"scale_up", per_direction[0]["events_after_store"]},
                                     {"scale_down", per_direction[1]["events_after_store"]}};
      }
      report.result(section, c.at("function"), name_of(c), got, expected_of(c));
    });
  }
}

void run_limit_function_cases(const std::string& section, const json& cases, Report& report) {
  for (const json& c : cases) {
    guarded(section, c, report, [&] {
      const std::string function = c.at("function");
      const ScalingRules rules = rules_of(c.at("rules"), BehaviorSpec{}.scale_up, Duration{0});
      const std::vector<ScaleEvent> up = events_of(c.at("scale_up_events"));
      const std::vector<ScaleEvent> down = events_of(c.at("scale_down_events"));
      const int current = c.at("current_replicas");
      const bool is_up = function == "calculateScaleUpLimitWithScalingRules";
      const int limit = is_up ? scale_up_limit(current, up, down, rules, kNow)
                              : scale_down_limit(current, up, down, rules, kNow);
      report.result(section, function, name_of(c), json{{"limit", limit}}, expected_of(c));
    });
  }
}

void run_behavior_cases(const json& groups, Report& report) {
  for (auto it = groups.begin(); it != groups.end(); ++it) {
    const std::string section = "behavior_cases/" + it.key();
    const json& cases = it.value();
    if (it.key() == "convertDesiredReplicasWithBehaviorRate") {
      run_rate_cases(section, cases, report);
    } else if (it.key() == "stabilizeRecommendationWithBehaviors") {
      run_stabilize_cases(section, cases, report);
    } else if (it.key() == "stabilizeRecommendation_no_behavior") {
      run_legacy_stabilize_cases(section, cases, report);
    } else if (it.key() == "convertDesiredReplicasWithRules_no_behavior") {
      run_legacy_rules_cases(section, cases, report);
    } else if (it.key() == "storeScaleEvent") {
      run_store_event_cases(section, cases, report);
    } else if (it.key() == "scale_limit_functions") {
      run_limit_function_cases(section, cases, report);
    } else {
      for (const json& c : cases) {
        report.skip(section, c.value("function", std::string()), name_of(c),
                    "no tide mapping for section " + it.key());
      }
    }
  }
}

// ---- reconcile_cases -------------------------------------------------------------------------

const std::string kReconcileSection = "reconcile_cases";

struct MetricMapping {
  PolicySpec policy;
  MetricReading reading;
  std::string failed_reason;  // HPA's ScalingActive reason when this metric has no data
};

// One HPA MetricSpec as a tide policy and its reading. Returns nullopt for a metric tide cannot
// express from the case's inputs.
std::optional<MetricMapping> map_metric(const json& m, const Instances& inst, double tolerance) {
  const json tolerances = {{"scale_down", tolerance}, {"scale_up", tolerance}};
  const std::string type = m.value("type", std::string());
  const bool failed = m.value("fetch_error", false);
  MetricMapping out;
  out.failed_reason = "FailedGet" + type + "Metric";
  if (type == "Resource" && m.contains("target_average_utilization")) {
    out.policy = {"cpu",
                  tracking(TargetKind::kUtilization, m["target_average_utilization"], tolerances)};
    out.reading = {!failed, 0, inst.samples};
    return out;
  }
  if ((type == "External" || type == "Object") && failed) {
    // The value never arrives, so only the target kind matters: Value -> per-instance ratio,
    // AverageValue -> total.
    const bool total = m.contains("target_average_value_milli");
    const double target =
        total ? m["target_average_value_milli"].get<double>() : m.value("target_value_milli", 1.0);
    out.policy = {
        m.value("name", type),
        tracking(total ? TargetKind::kTotal : TargetKind::kPerInstance, target, tolerances)};
    out.reading = {false, 0, {}};
    return out;
  }
  return std::nullopt;
}

json condition(const char* type, bool status, const std::string& reason) {
  return {{"type", type}, {"status", status ? "True" : "False"}, {"reason", reason}};
}

int stage(const Decision& d, Stage s) {
  return d.after[static_cast<int>(s)];
}

// HPA's status conditions for the Decision, in upstream's test notation: when the controller sets
// all three conditions, only those differing from statusOk (AbleToScale/SucceededRescale,
// ScalingActive/ValidMetricFound, ScalingLimited False/DesiredWithinRange) are listed, as
// statusOkWithOverrides() writes them; when it sets fewer, all of them are listed.
json hpa_conditions(const Decision& d, const GroupSpec& spec,
                    const std::vector<MetricMapping>& metrics) {
  const int current = d.current;
  // HPA short-circuits an out-of-bounds current to min/max and sets only AbleToScale. In tide the
  // bounds stage brings it back the same way.
  if (current < spec.min || current > spec.max) {
    json list = json::array();
    if (d.desired != current) list.push_back(condition("AbleToScale", true, "SucceededRescale"));
    return list;
  }
  // HPA aborts (no scaling, no normalization) when every metric failed or when the valid ones
  // ask for less than current: tide's no-data guard holds current in exactly these cases.
  int values = 0;
  const MetricMapping* first_failed = nullptr;
  for (int i = 0; i < d.proposal_count; ++i) {
    if (d.proposals[i].status == ProposalStatus::kValue) ++values;
    if (d.proposals[i].status == ProposalStatus::kNoData && first_failed == nullptr) {
      first_failed = &metrics[i];
    }
  }
  if (first_failed != nullptr && (values == 0 || stage(d, Stage::kCombine) < current)) {
    return json::array({condition("AbleToScale", true, "SucceededGetScale"),
                        condition("ScalingActive", false, first_failed->failed_reason)});
  }

  json overrides = json::array();
  const int proposal = stage(d, Stage::kFallback);
  const int stabilized = stage(d, Stage::kStabilization);
  if (d.desired == current) {
    const std::string reason = stabilized == proposal ? "ReadyForNewScale"
                               : proposal >= current  ? "ScaleUpStabilized"
                                                      : "ScaleDownStabilized";
    overrides.push_back(condition("AbleToScale", true, reason));
  }
  const std::string limited = limited_reason(current, stabilized, d.desired, d.min, d.max);
  if (limited != "DesiredWithinRange") {
    overrides.push_back(condition("ScalingLimited", true, limited));
  }
  return overrides;
}

void run_reconcile_case(const json& c, Report& report) {
  const json& controller = c.at("controller");
  const double tolerance = controller.value("tolerance", 0.1);
  const Instances inst = instances_from_pods(c.at("pods"), /*cpu=*/true);

  GroupSpec spec;
  spec.name = "hpa";
  spec.min = c.value("min_replicas", 1);
  spec.max = c.at("max_replicas");
  std::vector<MetricMapping> metrics;
  for (const json& m : c.at("metrics")) {
    auto mapped = map_metric(m, inst, tolerance);
    if (!mapped) {
      report.skip(kReconcileSection, c.at("function"), name_of(c),
                  "metric " + m.dump() + " has no tide mapping from this case's inputs");
      return;
    }
    metrics.push_back(*mapped);
    spec.policies.push_back(mapped->policy);
  }

  // No behavior: tide has no legacy path and uses HPA's default behavior (BehaviorSpec's
  // defaults) with the controller's downscale window. A given behavior fills its null side with
  // the same defaults, as HPA's API defaulting does.
  const Duration down_window =
      seconds(controller.value("downscale_stabilization_window_seconds", 300.0));
  const BehaviorSpec defaults;
  const json behavior = c.value("behavior", json());
  const json none;
  spec.behavior.scale_up = rules_of(behavior.is_null() ? none : behavior.value("scale_up", json()),
                                    defaults.scale_up, Duration{0});
  spec.behavior.scale_down =
      rules_of(behavior.is_null() ? none : behavior.value("scale_down", json()),
               defaults.scale_down, down_window);

  std::vector<MetricReading> readings;
  for (const MetricMapping& m : metrics) readings.push_back(m.reading);
  const Observation obs{c.at("scale_spec_replicas"), inst.ready, inst.warming, readings};

  // "nil": HPA has no recommendation list yet and records {current, now} first; tide's
  // GroupHistory::initialized = false means the same. [] or a list: the controller knows the HPA.
  GroupHistory history;
  const json& initial = c.at("initial_recommendations");
  history.initialized = initial.is_array();
  if (initial.is_array()) history.recommendations = recommendations_of(initial);

  const Decision d = decide(spec, obs, history, kNow);
  const json got = {{"desired_replicas", d.desired},
                    {"conditions", hpa_conditions(d, spec, metrics)}};
  report.result(kReconcileSection, c.at("function"), name_of(c), got, expected_of(c));
}

}  // namespace

void run_hpa_vectors(const json& doc, Report& report) {
  if (auto it = doc.find("replica_calculator_cases"); it != doc.end()) {
    run_replica_cases(*it, report);
  }
  if (auto it = doc.find("behavior_cases"); it != doc.end()) run_behavior_cases(*it, report);
  if (auto it = doc.find("reconcile_cases"); it != doc.end()) {
    for (const json& c : *it) {
      guarded(kReconcileSection, c, report, [&] { run_reconcile_case(c, report); });
    }
  }
  if (auto it = doc.find("group_pods_cases"); it != doc.end()) {
    for (const json& c : *it) {
      report.skip("group_pods_cases", c.value("function", std::string("groupPods")), name_of(c),
                  kGroupPodsWhy);
    }
  }
}

}  // namespace tide::conformance
