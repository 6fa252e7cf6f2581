// Behavior stages: HPA stabilization and rate limits (hpa_spec.md section 7), AWS cooldowns and
// warmup (aws_policies_spec.md section 1.3). Pure; nothing here allocates except the push_back of
// store_recommendation/store_scale_event while a list is still growing.
//
// Time boundaries follow the HPA vectors' convention everywhere: something is inside a window,
// period or cooldown iff its age < the duration, and old iff age >= the duration.
#include "policy/behavior.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace tide {
namespace {

constexpr int kIntMax = std::numeric_limits<int>::max();
constexpr int kIntMin = std::numeric_limits<int>::min();

bool younger_than(TimePoint at, Duration window, TimePoint now) {
  return now - at < window;
}

int clamp_to_int(long long v) {
  return static_cast<int>(std::clamp<long long>(v, kIntMin, kIntMax));
}

int clamp_to_int(double v) {
  if (std::isnan(v)) return 0;
  if (v >= static_cast<double>(kIntMax)) return kIntMax;
  if (v <= static_cast<double>(kIntMin)) return kIntMin;
  return static_cast<int>(v);
}

// Capacity at the start of `period`: undo the changes made inside it (HPA periodStartReplicas).
long long period_start(int current, std::span<const ScaleEvent> up,
                       std::span<const ScaleEvent> down, Duration period, TimePoint now) {
  return static_cast<long long>(current) - change_in_period(up, period, now) +
         change_in_period(down, period, now);
}

// Instance counts are whole: a fractional `value` is truncated (less change either way).
long long whole_instances(double value) {
  return std::isfinite(value) ? static_cast<long long>(value) : 0;
}

// Percent limits in exact decimal arithmetic: start x (100 + p) is an exact double for integer
// inputs, and dividing by 100 cannot land on the wrong side of an integer. HPA multiplies by
// (1 + p/100), where 100 x 1.1 = 110.00000000000001 rounds up to 111; tide gives 110.
double percent_of(long long start, double percent_change) {
  return static_cast<double>(start) * (100.0 + percent_change) / 100.0;
}

}  // namespace

int stabilize(int current, int proposal, std::span<const Recommendation> recommendations,
              Duration up_window, Duration down_window, TimePoint now) {
  int up = proposal;    // scale up no further than the smallest recent recommendation
  int down = proposal;  // scale down no further than the largest recent recommendation
  for (const Recommendation& r : recommendations) {
    if (younger_than(r.at, up_window, now)) up = std::min(up, r.value);
    if (younger_than(r.at, down_window, now)) down = std::max(down, r.value);
  }
  int result = current;
  if (result < up) result = up;
  if (result > down) result = down;
  return result;
}

void store_recommendation(std::vector<Recommendation>& recommendations, int proposal,
                          Duration up_window, Duration down_window, TimePoint now) {
  Recommendation* old = nullptr;
  for (Recommendation& r : recommendations) {
    if (!younger_than(r.at, up_window, now) && !younger_than(r.at, down_window, now)) old = &r;
  }
  if (old != nullptr) {
    *old = {now, proposal};
  } else {
    recommendations.push_back({now, proposal});
  }
}

int change_in_period(std::span<const ScaleEvent> events, Duration period, TimePoint now) {
  long long sum = 0;
  // The outdated flag only marks a slot for reuse; HPA still counts the event by its age.
  for (const ScaleEvent& e : events) {
    if (younger_than(e.at, period, now)) sum += e.change;
  }
  return clamp_to_int(sum);
}

int scale_up_limit(int current, std::span<const ScaleEvent> up, std::span<const ScaleEvent> down,
                   const ScalingRules& rules, TimePoint now) {
  if (rules.select == SelectPolicy::kDisabled) return current;
  // No policy means no limit (HPA validation requires at least one, so this never contradicts it).
  if (rules.policies.empty()) return kIntMax;
  const bool pick_max = rules.select == SelectPolicy::kMax;  // Max = allow the largest change
  int result = pick_max ? kIntMin : kIntMax;
  for (const RateLimit& policy : rules.policies) {
    const long long start = period_start(current, up, down, policy.period, now);
    const int proposed = policy.type == RateLimitType::kInstances
                             ? clamp_to_int(start + whole_instances(policy.value))
                             : clamp_to_int(std::ceil(percent_of(start, policy.value)));
    result = pick_max ? std::max(result, proposed) : std::min(result, proposed);
  }
  return result;
}

int scale_down_limit(int current, std::span<const ScaleEvent> up, std::span<const ScaleEvent> down,
                     const ScalingRules& rules, TimePoint now) {
  if (rules.select == SelectPolicy::kDisabled) return current;
  if (rules.policies.empty()) return kIntMin;
  const bool pick_max = rules.select == SelectPolicy::kMax;  // Max = allow the largest change
  int result = pick_max ? kIntMax : kIntMin;
  for (const RateLimit& policy : rules.policies) {
    const long long start = period_start(current, up, down, policy.period, now);
    // Percent scale-down truncates toward zero, i.e. also rounds toward less change.
    const int proposed = policy.type == RateLimitType::kInstances
                             ? clamp_to_int(start - whole_instances(policy.value))
                             : clamp_to_int(std::trunc(percent_of(start, -policy.value)));
    result = pick_max ? std::min(result, proposed) : std::max(result, proposed);
  }
  return result;
}

int rate_limit(int current, int desired, const BehaviorSpec& behavior, const GroupHistory& history,
               TimePoint now) {
  if (desired > current) {
    // A limit below current (changes already used up the period) means "no further scale-up",
    // never a scale-down.
    const int limit =
        std::max(current, scale_up_limit(current, history.scale_up_events,
                                         history.scale_down_events, behavior.scale_up, now));
    return std::min(desired, limit);
  }
  if (desired < current) {
    const int limit =
        std::min(current, scale_down_limit(current, history.scale_up_events,
                                           history.scale_down_events, behavior.scale_down, now));
    return std::max(desired, limit);
  }
  return desired;
}

// AWS Application Auto Scaling cooldowns (aws_policies_spec.md 1.3), as tide applies them:
//  - scale-out is held at `current` while the last scale-out is younger than scale_out_cooldown.
//    AWS lets "a larger scale-out" through during the cooldown; tide's `current` is the target's
//    desired capacity, which already includes what the last scale-out added, so that exception
//    would let every scale-out through and is not modelled: the cooldown simply holds.
//  - scale-in is held at `current` while the last scale-in is younger than scale_in_cooldown,
//    unless a scale-out happened after that scale-in (a scale-out cancels the scale-in cooldown).
//  - a scale-out never waits for the scale-in cooldown; zero durations disable a cooldown.
int cooldown(int current, int desired, const BehaviorSpec& behavior, const GroupHistory& history,
             TimePoint now) {
  if (desired > current) {
    if (history.last_scale_out &&
        younger_than(*history.last_scale_out, behavior.scale_out_cooldown, now)) {
      return current;
    }
    return desired;
  }
  if (desired < current && history.last_scale_in &&
      younger_than(*history.last_scale_in, behavior.scale_in_cooldown, now)) {
    const bool cancelled =
        history.last_scale_out && *history.last_scale_out > *history.last_scale_in;
    if (!cancelled) return current;
  }
  return desired;
}

// AWS instance warmup (aws_policies_spec.md 1.3): while instances warm up the group may grow but
// not shrink, since the warming instances will soon take load the metric does not show yet. Only
// with a configured warmup: HPA (no warmup) scales in with unready pods, and so does tide then.
int warmup(int current, int desired, int warming, const BehaviorSpec& behavior,
           const GroupHistory& history, TimePoint now) {
  if (desired >= current || behavior.warmup.count() <= 0) return desired;
  const bool recent_scale_out =
      history.last_scale_out && younger_than(*history.last_scale_out, behavior.warmup, now);
  return warming > 0 || recent_scale_out ? current : desired;
}

void store_scale_event(std::vector<ScaleEvent>& events, const ScalingRules& rules, int change,
                       TimePoint now) {
  Duration longest{0};
  for (const RateLimit& policy : rules.policies) longest = std::max(longest, policy.period);
  ScaleEvent* reuse = nullptr;
  for (ScaleEvent& e : events) {
    // An event no policy period can see any more is outdated for good (the flag persists).
    if (!younger_than(e.at, longest, now)) e.outdated = true;
    if (e.outdated) reuse = &e;  // the last outdated slot, as upstream
  }
  const ScaleEvent event{now, change, false};
  if (reuse != nullptr) {
    *reuse = event;
  } else {
    events.push_back(event);
  }
}

}  // namespace tide
