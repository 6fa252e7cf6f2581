// Knative KPA decider: kpa_spec.md section 4 (Scale), 4.1 (scale-down delay window) and the window
// averages of section 3, adapted to tide's evaluation model.
#include "policy/panic.hpp"

#include <algorithm>
#include <cmath>

#include "policy/capacity.hpp"
#include "policy/policies.hpp"

namespace tide {
namespace {

// Upstream TargetMin (pkg/apis/autoscaling/register.go): the target is never below 0.01.
constexpr double kTargetMin = 0.01;
// Upstream tickInterval: the delay window counts in 2-second buckets.
constexpr long long kDelayBucketSeconds = 2;

// Go: int(now.Unix()) / 2, integer division truncating toward zero; Unix() floors to seconds.
long long delay_bucket(TimePoint t) {
  return std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count() /
         kDelayBucketSeconds;
}

double round6(double v) {
  return std::round(v * 1e6) / 1e6;
}

}  // namespace

KpaState kpa_initial_state(int ready, TimePoint now) {
  KpaState s;
  if (ready > 1) s.panic_time = now;
  s.max_panic_pods = ready;
  return s;
}

int kpa_delay_buckets(const PanicSpec& spec) {
  if (spec.scale_down_delay.count() <= 0) return 0;
  const long long ms = spec.scale_down_delay.count();
  const long long bucket_ms = kDelayBucketSeconds * 1000;
  return static_cast<int>((ms + bucket_ms - 1) / bucket_ms);
}

bool kpa_records_delay(const PanicSpec& spec) {
  return spec.reachable && kpa_delay_buckets(spec) > 0;
}

KpaResult kpa_decide(const PanicSpec& spec, double stable, double panic, std::optional<int> ready,
                     const KpaState& state, std::span<const Recommendation> delay_window,
                     TimePoint now) {
  KpaResult r;
  r.next = state;
  r.stable = stable;
  r.panic = panic;
  // readyRaw error (not NotFound) -> invalid: {0, 0, false}, state untouched.
  if (!ready) return r;
  r.valid = true;

  const int ready_raw = std::max(0, *ready);
  const double ready_pods = std::max(1, ready_raw);  // rate limits never see 0 pods
  const double target = std::max(kTargetMin, spec.target);

  const double max_scale_up = std::ceil(spec.max_scale_up_rate * ready_pods);
  const double max_scale_down =
      spec.reachable ? std::floor(ready_pods / spec.max_scale_down_rate) : 0;

  const double dspc = std::ceil(stable / target);
  const double dppc = std::ceil(panic / target);
  int desired_stable =
      detail::clamp_capacity(std::min(std::max(dspc, max_scale_down), max_scale_up));
  int desired_panic =
      detail::clamp_capacity(std::min(std::max(dppc, max_scale_down), max_scale_up));

  // activation-scale lifts non-zero recommendations only: zero still scales to zero.
  if (spec.activation_scale > 1) {
    if (dspc > 0 && spec.activation_scale > desired_stable) desired_stable = spec.activation_scale;
    if (dppc > 0 && spec.activation_scale > desired_panic) desired_panic = spec.activation_scale;
  }

  // Panic entry and extension use the unclamped panic count; leaving needs a full stable window
  // (strictly) since the last over-threshold tick.
  const bool over = dppc / ready_pods >= spec.panic_threshold;
  KpaState& next = r.next;
  if (over) {
    next.panic_time = now;  // enter or extend
  } else if (next.panic_time && *next.panic_time + spec.stable_window < now) {
    next.panic_time.reset();
    next.max_panic_pods = 0;
  }

  int desired = desired_stable;
  if (next.panic_time) {
    // Never scale down while panicking.
    desired = std::max(desired_stable, desired_panic);
    if (desired > next.max_panic_pods) next.max_panic_pods = desired;
    desired = next.max_panic_pods;
  }
  r.pre_delay = desired;

  // Scale-down delay: the maximum recorded within the last N buckets (the current one included).
  // Bypassed for unreachable revisions.
  if (kpa_records_delay(spec)) {
    const long long idx = delay_bucket(now);
    const int n = kpa_delay_buckets(spec);
    for (const Recommendation& e : delay_window) {
      if (idx - delay_bucket(e.at) < n) desired = std::max(desired, e.value);
    }
  }
  r.desired = desired;

  if (spec.target_burst_capacity == 0) {
    r.excess_burst_capacity = 0;
  } else if (spec.target_burst_capacity > 0) {
    // Uses the raw ready count (0 when none), unlike the rate limits.
    r.excess_burst_capacity =
        std::floor(ready_raw * spec.total - spec.target_burst_capacity - panic);
  } else {
    r.excess_burst_capacity = -1;
  }
  return r;
}

// How tide averages (kpa_spec.md section 3 vs tide):
// Knative scrapes every pod about once a second and sums each second's scrapes into a 1 s
// bucket; WindowAverage is the mean of the buckets between the first and the last write inside
// the window, so for a steadily scraped revision it is the mean of one sample per second. tide
// gets one reading per evaluation (every `interval`, typically 2-15 s), so a 1 s bucketing would
// count the seconds between evaluations as zeros and grossly underestimate the load. tide
// therefore averages the readings themselves: the plain mean of the recorded points whose age is
// in [0, window) plus the current reading (age 0). With a regular interval each reading stands
// for the same span of time, so this equals the time average that Knative's buckets approximate.
// Like upstream: a young series is averaged over its actual age (only the points that exist),
// a failed read is a gap rather than a zero (record() stores only ok readings), and the result
// is rounded to 6 decimals so float noise cannot push ceil(avg / target) up by one. A panic
// window shorter than the interval holds just the current reading.
KpaAverages kpa_window_averages(const PanicSpec& spec, std::span<const MetricPoint> points,
                                double current, TimePoint now) {
  const Duration stable_window = spec.stable_window;
  const Duration panic_window = spec.panic_window();
  double stable_sum = current, panic_sum = current;
  int stable_n = 1, panic_n = 1;
  for (const MetricPoint& p : points) {
    const Duration age = now - p.at;
    if (age.count() < 0) continue;  // from the future (clock stepped back): not part of a window
    if (age < stable_window) {
      stable_sum += p.value;
      ++stable_n;
    }
    if (age < panic_window) {
      panic_sum += p.value;
      ++panic_n;
    }
  }
  return {round6(stable_sum / stable_n), round6(panic_sum / panic_n)};
}

void kpa_record_delay(const PanicSpec& spec, int value, TimePoint now,
                      std::vector<Recommendation>& window) {
  const int n = kpa_delay_buckets(spec);
  if (n == 0) {
    window.clear();
    return;
  }
  const long long idx = delay_bucket(now);
  while (!window.empty() && window.back().value <= value) window.pop_back();
  auto first_kept = std::find_if(window.begin(), window.end(), [&](const Recommendation& e) {
    return idx - delay_bucket(e.at) < n;
  });
  window.erase(window.begin(), first_kept);
  if (!window.empty() && delay_bucket(window.back().at) == idx) {
    window.back().value = std::max(window.back().value, value);
  } else {
    window.push_back({now, value});
  }
}

Proposal propose_panic(const PanicSpec& spec, const MetricReading& reading, int ready,
                       const PolicyState& state, TimePoint now) {
  const KpaState current = state.panic_initialized
                               ? KpaState{state.panic_time, state.max_panic_pods}
                               : kpa_initial_state(ready, now);
  Proposal p;
  // Carried through unchanged when there is no data, so record() may store them either way.
  p.panic_time = current.panic_time;
  p.max_panic_pods = current.max_panic_pods;
  if (!reading.ok) {
    // Upstream: ErrNoData -> invalid ScaleResult, nothing changes. tide: a no-data proposal, which
    // blocks scale-in for this evaluation (DESIGN section 3).
    p.status = ProposalStatus::kNoData;
    p.reason = Reason::kNoData;
    return p;
  }
  const KpaAverages avg = kpa_window_averages(spec, state.metric, reading.value, now);
  const KpaResult r =
      kpa_decide(spec, avg.stable, avg.panic, ready, current, state.delay_window, now);
  p.status = ProposalStatus::kValue;
  p.capacity = r.desired;
  p.reason = r.next.panic_time ? Reason::kPanicking : Reason::kStable;
  p.a = avg.stable;
  p.b = avg.panic;
  p.c = spec.target;
  p.d = ready;
  p.panic_time = r.next.panic_time;
  p.max_panic_pods = r.next.max_panic_pods;
  p.pre_delay_capacity = r.pre_delay;
  p.excess_burst_capacity = r.excess_burst_capacity;
  return p;
}

}  // namespace tide
