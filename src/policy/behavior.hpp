// The behavior stages as separate pure functions, exposed so the conformance runner can check each
// against the upstream vectors. decide() chains them.
#pragma once

#include <span>
#include <vector>

#include "core/time.hpp"
#include "policy/history.hpp"
#include "policy/spec.hpp"

namespace tide {

// HPA stabilizeRecommendationWithBehaviors: starting from `current`, scale up only to the minimum
// and down only to the maximum of the recommendations inside each window (age < window), the new
// `proposal` included.
int stabilize(int current, int proposal, std::span<const Recommendation> recommendations,
              Duration up_window, Duration down_window, TimePoint now);

// HPA's bookkeeping at the end of stabilizeRecommendationWithBehaviors: stores {proposal, now},
// reusing the slot of the last recommendation outside both windows (age >= window), else
// appending. The list stays as short as the windows need, so storing is allocation-free in steady
// state; it is not kept in time order.
void store_recommendation(std::vector<Recommendation>& recommendations, int proposal,
                          Duration up_window, Duration down_window, TimePoint now);

// HPA convertDesiredReplicasWithBehaviorRate without min/max: the largest scale-up (or smallest
// scale-down) the rate-limit policies allow from `current` given recent events.
int scale_up_limit(int current, std::span<const ScaleEvent> up, std::span<const ScaleEvent> down,
                   const ScalingRules& rules, TimePoint now);
int scale_down_limit(int current, std::span<const ScaleEvent> up, std::span<const ScaleEvent> down,
                     const ScalingRules& rules, TimePoint now);
// Sum of changes of events younger than `period` (HPA getReplicasChangePerPeriod).
int change_in_period(std::span<const ScaleEvent> events, Duration period, TimePoint now);

// Applies rate limits to `desired`, returning the allowed value (unchanged when within limits).
int rate_limit(int current, int desired, const BehaviorSpec& behavior, const GroupHistory& history,
               TimePoint now);

// AWS cooldowns: holds `desired` at `current` when the direction is inside its cooldown.
int cooldown(int current, int desired, const BehaviorSpec& behavior, const GroupHistory& history,
             TimePoint now);

// AWS warmup: with behavior.warmup > 0, no scale-in while instances warm up (`warming` > 0 or a
// scale-out younger than behavior.warmup). With no warmup configured the stage passes through.
int warmup(int current, int desired, int warming, const BehaviorSpec& behavior,
           const GroupHistory& history, TimePoint now);

// HPA storeScaleEvent: adds a change to the per-direction list, reusing the slot of the last
// event older than the longest policy period.
void store_scale_event(std::vector<ScaleEvent>& events, const ScalingRules& rules, int change,
                       TimePoint now);

}  // namespace tide
