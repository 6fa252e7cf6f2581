#include "policy/decide.hpp"

#include <algorithm>
#include <variant>

#include "policy/behavior.hpp"
#include "policy/panic.hpp"
#include "policy/policies.hpp"

namespace tide {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};

const MetricReading kNoReading{};

const ForecastView kNoForecast{};

Proposal propose(const PolicySpec& policy, const MetricReading& reading,
                 const ForecastView& forecast, const Observation& obs, const PolicyState& state,
                 TimePoint now) {
  // Step and simple adjustments apply to the capacity without warming instances, so repeated
  // alarms inside one step add capacity once (AWS warmup semantics).
  const int base = std::max(0, obs.current - obs.warming);
  return std::visit(
      Overloaded{
          [&](const TargetTrackingSpec& s) {
            return propose_target_tracking(s, reading, obs.current, obs.ready);
          },
          [&](const StepSpec& s) { return propose_step(s, reading, base); },
          [&](const SimpleSpec& s) { return propose_simple(s, reading, base, state, now); },
          [&](const ScheduledSpec& s) { return propose_scheduled(s, now); },
          [&](const QueueSpec& s) { return propose_queue(s, reading); },
          [&](const PanicSpec& s) { return propose_panic(s, reading, obs.ready, state, now); },
          [&](const LambdaMemorySpec& s) { return propose_lambda_memory(s, reading, obs.current); },
          [&](const PredictiveSpec& s) { return propose_predictive(s, forecast, now); },
      },
      policy.spec);
}

// Bounds of the group, replaced by the min/max of active schedules, read from their proposals
// (a/b/c = capacity/min/max, -1 when unset). The later policy in the list wins when several are
// active, as the more specific one is usually written last. A predictive policy with
// max_capacity_breach: increase then raises the max to its forecast capacity plus buffer (AWS).
void effective_bounds(const GroupSpec& spec, const Decision& d, int& min, int& max) {
  min = spec.min;
  max = spec.max;
  for (int i = 0; i < d.proposal_count; ++i) {
    const Proposal& p = d.proposals[i];
    if (p.reason != Reason::kScheduleActive) continue;
    if (p.b >= 0) min = static_cast<int>(p.b);
    if (p.c >= 0) max = static_cast<int>(p.c);
  }
  for (int i = 0; i < d.proposal_count; ++i) {
    const Proposal& p = d.proposals[i];
    if (p.reason == Reason::kForecast && p.raised_max > max) max = p.raised_max;
  }
  if (min > max) min = max;
}

template <class T>
void drop_older_than(std::vector<T>& items, TimePoint cutoff) {
  // Items are appended in time order; erase-from-front keeps capacity, so no allocation.
  auto first_kept =
      std::find_if(items.begin(), items.end(), [&](const T& item) { return item.at > cutoff; });
  items.erase(items.begin(), first_kept);
}

}  // namespace

Decision decide(const GroupSpec& spec, const Observation& obs, const GroupHistory& history,
                TimePoint now) {
  Decision d;
  d.at = now;
  d.current = obs.current;
  const int current = obs.current;

  // 2-3. Propose and combine: the largest proposal wins.
  const int count = std::min<int>(static_cast<int>(spec.policies.size()), kMaxPolicies);
  d.proposal_count = count;
  bool any_value = false;
  int largest = 0;
  for (int i = 0; i < count; ++i) {
    const MetricReading& reading =
        i < static_cast<int>(obs.metrics.size()) ? obs.metrics[i] : kNoReading;
    Proposal& p = d.proposals[i];
    const ForecastView& forecast =
        i < static_cast<int>(obs.forecasts.size()) ? obs.forecasts[i] : kNoForecast;
    p = propose(spec.policies[i], reading, forecast, obs, history.policies[i], now);
    if (p.status == ProposalStatus::kValue) {
      largest = any_value ? std::max(largest, p.capacity) : p.capacity;
      any_value = true;
    } else if (p.status == ProposalStatus::kNoData) {
      d.any_no_data = true;
    }
  }
  int value = any_value ? largest : current;
  d.after[static_cast<int>(Stage::kCombine)] = value;

  // No scale-in while any policy lacks data (HPA computeReplicasForMetrics).
  if (d.any_no_data && value < current) value = current;
  d.after[static_cast<int>(Stage::kNoDataGuard)] = value;

  // KEDA fallback after N consecutive evaluations without complete data.
  if (spec.fallback && d.any_no_data &&
      history.consecutive_no_data + 1 >= spec.fallback->failures) {
    value = spec.fallback->capacity;
  }
  d.after[static_cast<int>(Stage::kFallback)] = value;
  d.recommendation = value;

  // 4. Normalize.
  const BehaviorSpec& behavior = spec.behavior;
  value = stabilize(current, value, history.recommendations, behavior.scale_up.stabilization,
                    behavior.scale_down.stabilization, now);
  if (!history.initialized) {
    // The virtual first recommendation {current, now} sits inside every non-zero window.
    if (behavior.scale_down.stabilization.count() > 0 && value < current) value = current;
    if (behavior.scale_up.stabilization.count() > 0 && value > current) value = current;
  }
  d.after[static_cast<int>(Stage::kStabilization)] = value;

  value = rate_limit(current, value, behavior, history, now);
  d.after[static_cast<int>(Stage::kRateLimit)] = value;

  value = cooldown(current, value, behavior, history, now);
  d.after[static_cast<int>(Stage::kCooldown)] = value;

  value = warmup(current, value, obs.warming, behavior, history, now);
  d.after[static_cast<int>(Stage::kWarmup)] = value;

  effective_bounds(spec, d, d.min, d.max);
  value = std::clamp(value, d.min, d.max);
  d.after[static_cast<int>(Stage::kBounds)] = value;

  for (int s = 1; s < kStageCount; ++s) {
    if (d.after[s] != d.after[s - 1]) {
      d.bound_by = static_cast<Stage>(s);
      break;
    }
  }
  d.desired = value;
  return d;
}

void record(const GroupSpec& spec, const Observation& obs, const Decision& decision, bool applied,
            GroupHistory& history) {
  const TimePoint now = decision.at;
  const Duration retention = spec.retention();

  if (!history.initialized) {
    history.recommendations.push_back({now, obs.current});
    history.initialized = true;
  }
  // HPA bookkeeping: the slot of an entry outside both windows is reused, so the list stays as
  // long as the windows need.
  store_recommendation(history.recommendations, decision.recommendation,
                       spec.behavior.scale_up.stabilization, spec.behavior.scale_down.stabilization,
                       now);

  history.consecutive_no_data = decision.any_no_data ? history.consecutive_no_data + 1 : 0;

  if (applied && decision.desired != decision.current) {
    const int change = decision.desired - decision.current;
    if (change > 0) {
      store_scale_event(history.scale_up_events, spec.behavior.scale_up, change, now);
      history.last_scale_out = now;
    } else {
      store_scale_event(history.scale_down_events, spec.behavior.scale_down, -change, now);
      history.last_scale_in = now;
    }
  }

  for (int i = 0; i < decision.proposal_count; ++i) {
    const Proposal& p = decision.proposals[i];
    PolicyState& state = history.policies[i];
    if (p.triggered) state.last_triggered = now;
    const auto* panic = std::get_if<PanicSpec>(&spec.policies[i].spec);
    if (panic == nullptr) continue;
    const MetricReading* reading =
        i < static_cast<int>(obs.metrics.size()) ? &obs.metrics[i] : nullptr;
    if (p.status != ProposalStatus::kNoData) {
      state.panic_time = p.panic_time;
      state.max_panic_pods = p.max_panic_pods;
      state.panic_initialized = true;
      if (kpa_records_delay(*panic)) {
        kpa_record_delay(*panic, p.pre_delay_capacity, now, state.delay_window);
      }
    }
    if (reading != nullptr && reading->ok) {
      drop_older_than(state.metric, now - std::max(retention, panic->stable_window));
      state.metric.push_back({now, reading->value});
    }
  }
}

}  // namespace tide
