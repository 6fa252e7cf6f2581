// Knative KPA vectors (kpa_vectors.json) mapped onto tide's code:
//  - decider_cases: every Scale() step goes through kpa_decide() (src/policy/panic.hpp), the same
//    function propose_panic() uses, with tide's KpaState and delay-window bookkeeping between
//    steps (kpa_record_delay, as record() keeps PolicyState).
//  - scaler_cases: scaler.scale() mixes bounds (min/max-scale) with Kubernetes machinery (PA
//    Active condition and its age, SKS proxy mode, activator probes, initial scale, re-enqueues).
//    Cases whose outcome is decided by bounds alone go through decide(); the others are skipped
//    with the precise reason. See docs/conformance-kpa.md.
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <date/date.h>
#include <fmt/format.h>

#include "policy/decide.hpp"
#include "policy/panic.hpp"
#include "report.hpp"

namespace tide::conformance {
namespace {

using nlohmann::json;

const std::string kDeciderSection = "decider_cases";
const std::string kScalerSection = "scaler_cases";

double number(const json& j, const char* key, double fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

// Vector times are seconds on upstream's test clock. The delay-window tests start from Go's zero
// time.Time{} (0001-01-01T00:00:00Z, Unix -62135596800), and the 2 s delay buckets are
// int(now.Unix()) / 2 with Go's truncating division, so odd seconds pair up differently than
// they would from the Unix epoch. Using the same origin keeps the buckets identical; nothing else
// depends on the origin.
const TimePoint kTestClockOrigin = TimePoint(date::sys_days(date::year(1) / 1 / 1));

TimePoint at_seconds(double s) {
  return kTestClockOrigin + seconds(s);
}
double seconds_since_origin(TimePoint t) {
  return to_seconds(t - kTestClockOrigin);
}

// DeciderSpec -> PanicSpec. The scaling metric (concurrency or rps) and the activator capacity
// do not enter the decider's arithmetic; the observed window averages are given directly.
PanicSpec panic_spec(const json& d) {
  PanicSpec s;
  s.target = number(d, "target_value", s.target);
  s.total = number(d, "total_value", s.total);
  s.target_burst_capacity = number(d, "target_burst_capacity", s.target_burst_capacity);
  s.panic_threshold = number(d, "panic_threshold", s.panic_threshold);
  s.max_scale_up_rate = number(d, "max_scale_up_rate", s.max_scale_up_rate);
  s.max_scale_down_rate = number(d, "max_scale_down_rate", s.max_scale_down_rate);
  s.stable_window = seconds(number(d, "stable_window_s", to_seconds(s.stable_window)));
  s.scale_down_delay = seconds(number(d, "scale_down_delay_s", to_seconds(s.scale_down_delay)));
  s.activation_scale = static_cast<int>(number(d, "activation_scale", s.activation_scale));
  if (auto it = d.find("reachable"); it != d.end() && it->is_boolean()) s.reachable = *it;
  return s;
}

// Panic state fields a step's expectation may check, in the conventions' units (panic_time in
// seconds relative to the first step's t, null when not panicking).
void add_panic_fields(json& got, const json& expected, const KpaState& state, double first_t) {
  if (!expected.is_object()) return;
  if (expected.contains("panic_time")) {
    got["panic_time"] =
        state.panic_time ? json(seconds_since_origin(*state.panic_time) - first_t) : json(nullptr);
  }
  if (expected.contains("max_panic_pods")) got["max_panic_pods"] = state.max_panic_pods;
  for (const char* key : {"in_panic", "panicking", "in_panic_mode", "panic_mode"}) {
    if (expected.contains(key)) got[key] = state.panic_time.has_value();
  }
}

void run_decider_case(const json& c, Report& report) {
  const std::string name = c.value("upstream_test", std::string("?"));
  const json& steps = c.at("steps");
  if (!steps.is_array() || steps.empty()) {
    report.skip(kDeciderSection, "Scale", name, "case has no steps");
    return;
  }
  PanicSpec spec = panic_spec(c.at("decider_spec"));
  const double first_t = number(steps[0], "t_seconds", 0);

  // Construction: ready > 1 starts in panic at t0 = 0 with maxPanicPods = ready.
  KpaState state;
  if (auto it = c.find("ready_pods_at_creation"); it != c.end() && it->is_number()) {
    state = kpa_initial_state(it->get<int>(), at_seconds(0));
  }
  if (auto it = c.find("state_override_after_creation"); it != c.end() && it->is_object()) {
    if (auto pt = it->find("panic_time"); pt != it->end()) {
      state.panic_time =
          pt->is_number() ? std::optional(at_seconds(first_t + pt->get<double>())) : std::nullopt;
    }
    if (auto mp = it->find("max_panic_pods"); mp != it->end() && mp->is_number()) {
      state.max_panic_pods = mp->get<int>();
    }
  }

  std::vector<Recommendation> delay_window;
  json got_steps = json::array();
  json expected_steps = json::array();
  bool any_expected = false;
  for (const json& step : steps) {
    if (auto it = step.find("spec_update_before_step"); it != step.end() && it->is_object()) {
      spec = panic_spec(*it);  // Update(): new spec, state kept
    }
    const json expected = step.value("expected", json(nullptr));
    if (!step.contains("observed_stable") && !step.contains("observed_panic")) {
      // A state check without a Scale() call (e.g. right after construction).
      json got = json::object();
      add_panic_fields(got, expected, state, first_t);
      got_steps.push_back(std::move(got));
      if (expected.is_object()) any_expected = true;
      expected_steps.push_back(expected.is_object() ? expected : json::object());
      continue;
    }
    const TimePoint now = at_seconds(number(step, "t_seconds", 0));
    std::optional<int> ready;
    if (auto it = step.find("ready_pods"); it != step.end() && it->is_number()) {
      ready = it->get<int>();
    }
    const KpaResult r =
        kpa_decide(spec, number(step, "observed_stable", 0), number(step, "observed_panic", 0),
                   ready, state, delay_window, now);
    if (r.valid) {
      state = r.next;
      if (kpa_records_delay(spec)) kpa_record_delay(spec, r.pre_delay, now, delay_window);
    }
    json got = {{"desired_pod_count", r.desired},
                {"excess_burst_capacity", static_cast<long long>(r.excess_burst_capacity)},
                {"scale_valid", r.valid}};
    add_panic_fields(got, expected, state, first_t);
    got_steps.push_back(std::move(got));
    if (expected.is_object()) any_expected = true;
    expected_steps.push_back(expected.is_object() ? expected : json::object());
  }
  report.result(kDeciderSection, "Scale", name, json{{"steps", got_steps}},
                any_expected ? json{{"steps", expected_steps}} : json(nullptr),
                {"excess_burst_capacity"});
}

// ---- scaler_cases ------------------------------------------------------------------------------

int annotation_int(const json& annotations, const char* key, int fallback, bool& present) {
  present = false;
  auto it = annotations.find(key);
  if (it == annotations.end()) return fallback;
  try {
    present = true;
    return it->is_number() ? it->get<int>() : std::stoi(it->get<std::string>());
  } catch (const std::exception&) {
    present = false;
    return fallback;
  }
}

// A bounded scale of 0 goes through handleScaleToZero, whose outcome depends on Kubernetes state
// tide does not have. Names the branch the case exercises, with its inputs.
std::string scale_to_zero_reason(const json& c) {
  const json& pa = c.at("pa");
  const json& cfg = c.at("config");
  const json sks = c.value("sks", json::object());
  const json annotations = pa.value("annotations", json::object());
  const std::string condition = pa.value("active_condition", std::string());
  const double age = number(pa, "active_condition_age_seconds", 0);
  const char* tail =
      "; tide has no PodAutoscaler conditions, activator or serverless service: a group whose "
      "policies propose 0 and whose min is 0 goes to zero at once (delays come from its "
      "stabilization window and the panic policy's scale-down delay)";
  if (condition == "True") {
    std::string window = fmt::format("{:g} s", number(cfg, "stable_window_seconds", 0));
    if (auto it = annotations.find("autoscaling.knative.dev/window");
        it != annotations.end() && it->is_string()) {
      window = it->get<std::string>() + " (PA annotation)";
    }
    return fmt::format(
        "scale to zero from an Active PA (active for {:g} s, stable window {}): Knative holds 1 "
        "pod and re-enqueues until the PA has been Active for a whole stable window, then marks "
        "it Inactive{}",
        age, window, tail);
  }
  if (condition == "Unknown") {
    return fmt::format(
        "scale to zero while the PA is Activating (for {:g} s): Knative gives up and scales to "
        "zero only after the progress deadline + 30 s (config {:g} s, or the revision's "
        "serving.knative.dev/progress-deadline), re-enqueuing until then{}",
        age, number(cfg, "progress_deadline_seconds", 0), tail);
  }
  std::string tbc = fmt::format("{:g}", number(cfg, "target_burst_capacity", 0));
  if (auto it = annotations.find("autoscaling.knative.dev/target-burst-capacity");
      it != annotations.end() && it->is_string()) {
    tbc = it->get<std::string>() + " (PA annotation)";
  }
  return fmt::format(
      "scale to zero from an Inactive PA (inactive for {:g} s): Knative first needs the activator "
      "in the data path (probe result '{}', target burst capacity {}; -1 skips the probe), then "
      "waits out the scale-to-zero grace period ({:g} s, less the {:g} s the SKS has been in "
      "proxy mode) and the pod retention period ({:g} s or the PA annotation; ignored when "
      "Unreachable){}",
      age, c.value("activator_probe_result", std::string()), tbc,
      number(cfg, "scale_to_zero_grace_period_seconds", 0), number(sks, "proxy_for_seconds", 0),
      number(cfg, "scale_to_zero_pod_retention_period_seconds", 0), tail);
}

// Why a scaler case cannot be expressed with tide's inputs, or nullopt when it can. Mirrors the
// order of scaler.scale(): the -1 sentinel, then bounds (min lifted by initial scale, dropped for
// unreachable revisions), then handleScaleToZero for a bounded value of 0.
std::optional<std::string> scaler_skip_reason(const json& c) {
  const int desired = static_cast<int>(number(c, "desired_scale_from_decider", 0));
  if (desired < 0) {
    return "desired scale -1 is Knative's 'metrics not yet collected' sentinel, a no-op; tide has "
           "no such value (a policy without data proposes nothing and the no-data guard holds the "
           "current capacity, so nothing is patched either, but there is no -1 to compare)";
  }
  const json& pa = c.at("pa");
  const json& cfg = c.at("config");
  const json annotations = pa.value("annotations", json::object());
  const bool unreachable = pa.value("reachability", std::string()) == "Unreachable";
  int min = static_cast<int>(number(c, "min_scale_annotation", 0));
  if (min == 0) min = static_cast<int>(number(cfg, "min_scale", 0));
  if (unreachable && min > 0) {
    return "Knative ignores min-scale for an Unreachable revision (an old revision no route "
           "points to); tide has no reachability: a group's min always applies";
  }
  bool set = false;
  int initial = annotation_int(annotations, "autoscaling.knative.dev/initial-scale",
                               static_cast<int>(number(cfg, "initial_scale", 1)), set);
  if (set && initial == 0 && !cfg.value("allow_zero_initial_scale", false)) {
    initial = static_cast<int>(number(cfg, "initial_scale", 1));
  }
  if (initial > 1 && !pa.value("scale_target_initialized", false) && !unreachable) {
    return "initial-scale > 1 lifts min-scale until the revision first reaches it "
           "(ScaleTargetInitialized); tide has no initial-scale: a new group starts at the "
           "target's current capacity and min applies throughout";
  }
  int max = static_cast<int>(number(c, "max_scale_annotation", 0));
  if (max == 0) max = static_cast<int>(number(cfg, "max_scale", 0));
  int bounded = std::max(desired, min);
  if (max > 0) bounded = std::min(bounded, max);
  if (bounded == 0 && cfg.value("enable_scale_to_zero", true)) return scale_to_zero_reason(c);
  return std::nullopt;
}

// A bounds-only scaler case through decide(): the decider's desired count enters as a policy
// proposing exactly that many instances (a queue policy with one unit of backlog per instance and
// no activation threshold), with no stabilization, rate limits, cooldowns or warmup, so only the
// bounds stage can change it. min/max-scale become the group's min/max (0 = unbounded max);
// enable-scale-to-zero: false is expressed as min >= 1, as a tide user would configure it.
json scaler_got(const json& c) {
  const json& cfg = c.at("config");
  const int desired = static_cast<int>(number(c, "desired_scale_from_decider", 0));
  const int current = static_cast<int>(number(c, "start_replicas", 0));
  int min = static_cast<int>(number(c, "min_scale_annotation", 0));
  if (min == 0) min = static_cast<int>(number(cfg, "min_scale", 0));
  int max = static_cast<int>(number(c, "max_scale_annotation", 0));
  if (max == 0) max = static_cast<int>(number(cfg, "max_scale", 0));
  if (!cfg.value("enable_scale_to_zero", true)) min = std::max(min, 1);

  GroupSpec group;
  group.name = "kpa";
  group.min = min;
  group.max = max > 0 ? max : std::numeric_limits<int>::max();
  group.policies.push_back({"decider", QueueSpec{{}, 1.0, 0.0}});
  group.behavior.scale_up = {Duration{0}, SelectPolicy::kMax, {}};
  group.behavior.scale_down = {Duration{0}, SelectPolicy::kMax, {}};
  GroupHistory history;
  history.initialized = true;
  const MetricReading readings[] = {{true, static_cast<double>(desired), {}}};
  const Observation obs{current, current, 0, readings};
  const Decision d = decide(group, obs, history, at_seconds(0));
  // tide evaluates on a fixed interval and never probes: no re-enqueue, no probe, in these cases
  // as in Knative (handleScaleToZero returns at once for a non-zero scale).
  return {{"returned_scale", d.desired},
          {"scale_patched", d.scales()},
          {"requeue_callbacks", 0},
          {"async_probes_started", 0}};
}

void run_scaler_case(const json& c, Report& report) {
  const std::string name = c.value("upstream_test", std::string("?"));
  if (auto why = scaler_skip_reason(c)) {
    report.skip(kScalerSection, "scale", name, *why);
    return;
  }
  report.result(kScalerSection, "scale", name, scaler_got(c), c.value("expected", json(nullptr)));
}

}  // namespace

void run_kpa_vectors(const json& doc, Report& report) {
  // A malformed case (missing or mistyped field) is reported as skipped, never a crash.
  auto guarded = [&](const std::string& section, const json& c, auto run) {
    try {
      run(c, report);
    } catch (const std::exception& e) {
      const std::string name =
          c.is_object() ? c.value("upstream_test", std::string("?")) : std::string("?");
      report.skip(section, section == kDeciderSection ? "Scale" : "scale", name,
                  std::string("malformed case: ") + e.what());
    }
  };
  if (auto it = doc.find("decider_cases"); it != doc.end() && it->is_array()) {
    for (const json& c : *it) guarded(kDeciderSection, c, run_decider_case);
  }
  if (auto it = doc.find("scaler_cases"); it != doc.end() && it->is_array()) {
    for (const json& c : *it) guarded(kScalerSection, c, run_scaler_case);
  }
}

}  // namespace tide::conformance
