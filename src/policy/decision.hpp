// The full account of one evaluation: every proposal, the value after each behavior stage, which
// stage bound the result, and what record() must remember. Fixed-size so decide() never allocates.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "core/time.hpp"
#include "policy/spec.hpp"

namespace tide {

enum class ProposalStatus : std::uint8_t {
  kValue,     // the policy proposes `capacity`
  kNoData,    // the policy's metric was unavailable: blocks scale-in (DESIGN section 3)
  kInactive,  // the policy abstains (a schedule outside its window): blocks nothing
};

// Why a policy proposed what it did. Rendered to text by describe() only when someone reads it.
enum class Reason : std::uint8_t {
  kNoData,
  // target-tracking   a=metric b=target c=ratio d=instances the ratio was applied to
  kWithinTolerance,
  kProportional,
  kFilledUnreadyOrMissing,  // HPA second pass with conservative fills; c,d = after filling
  kDirectionFlipHeld,       // after filling, the direction reversed: hold current
  kTotal,                   // ceil(total/target): a=total c=total/target d=current
  kScaleInDisabled,
  // step / simple     a=metric b=threshold c=adjustment
  kStepAdjustment,
  kNoStepMatched,
  kSimpleTriggered,
  kSimpleNotBreached,
  kSimpleCooldown,  // a=seconds left
  // scheduled         a=capacity (or -1) b=min (or -1) c=max (or -1)
  kScheduleActive,
  kScheduleInactive,
  // queue             a=backlog b=target per instance c=activation
  kBacklog,
  kBelowActivation,
  // panic (KPA)       a=stable avg b=panic avg c=target d=ready
  kStable,
  kPanicking,
  kFallback,  // a=consecutive failures
  // lambda-memory     a=duration ms b=target ms c=estimated ms at the proposal
  //                   d=estimated GB-seconds per invocation at the proposal
  kMemoryRightSized,  // the cheapest memory estimated to meet the target
  kMemoryHeld,        // current meets the target and a change would save <= tolerance
  kMemoryFastest,     // no memory meets the target: the fastest (and cheapest of those)
  // predictive        a=peak forecast load b=target per instance c=lead (s) d=forecast age (s)
  kForecast,      // ceil(a / b), the forecast made by `forecast_model`
  kForecastOnly,  // forecast_only: would propose `forecast_capacity`, abstains
  kNoForecast,    // no forecast covers [now, now + lead] yet: abstains
};

struct Proposal {
  ProposalStatus status = ProposalStatus::kNoData;
  int capacity = 0;
  Reason reason = Reason::kNoData;
  double a = 0, b = 0, c = 0, d = 0;  // reason arguments, meaning per Reason above

  // State the policy wants record() to keep (policy-specific; unused fields stay default).
  bool triggered = false;               // simple: the action fired (starts its cooldown)
  std::optional<TimePoint> panic_time;  // KPA: next panic time (nullopt = not panicking)
  int max_panic_pods = 0;               // KPA
  int pre_delay_capacity = 0;           // KPA: desired before the scale-down delay window
  double excess_burst_capacity = 0;     // KPA: informational
  // Predictive: the model that made the forecast, the capacity the forecast asks for (also when
  // forecast_only), and the max the group may reach (max_capacity_breach: increase; -1 = none).
  ForecastModel forecast_model = ForecastModel::kAuto;
  int forecast_capacity = 0;
  int raised_max = -1;
};

// A predictive proposal that carries a forecast (it proposes on it, or would with forecast_only):
// `a` is the peak forecast load and `forecast_capacity` the capacity it asks for.
inline bool has_forecast(const Proposal& p) {
  return p.reason == Reason::kForecast || p.reason == Reason::kForecastOnly;
}

// Behavior stages in the order they apply (DESIGN section 3, step 4).
enum class Stage : std::uint8_t {
  kCombine,        // largest proposal (or current when nothing proposes)
  kNoDataGuard,    // no scale-in while a policy lacks data
  kFallback,       // KEDA fallback capacity after N failures
  kStabilization,  // HPA stabilization windows
  kRateLimit,      // HPA rate-limit policies
  kCooldown,       // AWS cooldowns
  kWarmup,         // AWS instance warmup: no scale-in while warming
  kBounds,         // min/max (possibly replaced by an active schedule)
  kCount,
};
inline constexpr int kStageCount = static_cast<int>(Stage::kCount);
const char* stage_name(Stage stage);  // "combine", "no-data-guard", ...

struct Decision {
  TimePoint at;
  int current = 0;
  std::array<Proposal, kMaxPolicies> proposals{};
  int proposal_count = 0;
  std::array<int, kStageCount> after{};  // value after each stage
  std::optional<Stage> bound_by;         // first stage after combine that changed the value
  int min = 0, max = 0;                  // effective bounds used
  int desired = 0;                       // final value
  bool any_no_data = false;
  int recommendation = 0;  // what the stabilization window remembers (post-guard combined value)

  bool scales() const { return desired != current; }
};

// Human-readable reason of one proposal, e.g. "utilization 83 vs target 50: ceil(3 x 1.66) = 5".
std::string describe(const Proposal& proposal, const PolicySpec& policy);

// One line per stage that changed the value, plus the proposals; what `tide explain` prints.
std::string describe(const Decision& decision, const GroupSpec& spec);

}  // namespace tide
