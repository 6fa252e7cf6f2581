#include "policy/spec.hpp"

#include <algorithm>
#include <cmath>

namespace tide {

Duration PanicSpec::panic_window() const {
  // Knative: stable window x percentage, rounded to a whole second, at least one second.
  double ms = static_cast<double>(stable_window.count()) * panic_window_percentage / 100.0;
  long long secs = std::llround(ms / 1000.0);
  return std::chrono::seconds(std::max(1LL, secs));
}

const MetricRef* PolicySpec::metric() const {
  return std::visit(
      [](const auto& s) -> const MetricRef* {
        if constexpr (requires { s.metric; }) {
          return &s.metric;
        } else {
          return nullptr;
        }
      },
      spec);
}

const char* policy_type_name(PolicyType type) {
  switch (type) {
    case PolicyType::kTargetTracking:
      return "target-tracking";
    case PolicyType::kStep:
      return "step";
    case PolicyType::kSimple:
      return "simple";
    case PolicyType::kScheduled:
      return "scheduled";
    case PolicyType::kQueue:
      return "queue";
    case PolicyType::kPanic:
      return "panic";
    case PolicyType::kLambdaMemory:
      return "lambda-memory";
    case PolicyType::kPredictive:
      return "predictive";
  }
  return "unknown";
}

const char* forecast_model_name(ForecastModel model) {
  switch (model) {
    case ForecastModel::kAuto:
      return "auto";
    case ForecastModel::kSeasonalNaiveDaily:
      return "seasonal-naive-daily";
    case ForecastModel::kSeasonalNaiveWeekly:
      return "seasonal-naive-weekly";
    case ForecastModel::kHoltWintersAdditiveDaily:
      return "holt-winters-additive-daily";
    case ForecastModel::kHoltWintersAdditiveWeekly:
      return "holt-winters-additive-weekly";
    case ForecastModel::kHoltWintersMultiplicativeDaily:
      return "holt-winters-multiplicative-daily";
    case ForecastModel::kHoltWintersMultiplicativeWeekly:
      return "holt-winters-multiplicative-weekly";
    case ForecastModel::kRegression:
      return "regression";
    case ForecastModel::kRecentMean:
      return "recent-mean";
  }
  return "unknown";
}

Duration PredictiveSpec::lead() const {
  return boot_delay.value_or(std::chrono::minutes(5)) + scheduling_buffer;
}

Duration GroupSpec::retention() const {
  Duration longest = std::max(behavior.scale_up.stabilization, behavior.scale_down.stabilization);
  for (const ScalingRules* rules : {&behavior.scale_up, &behavior.scale_down}) {
    for (const RateLimit& limit : rules->policies) longest = std::max(longest, limit.period);
  }
  longest =
      std::max({longest, behavior.scale_out_cooldown, behavior.scale_in_cooldown, behavior.warmup});
  for (const PolicySpec& policy : policies) {
    if (const auto* panic = std::get_if<PanicSpec>(&policy.spec)) {
      longest = std::max({longest, panic->stable_window, panic->scale_down_delay});
    } else if (const auto* simple = std::get_if<SimpleSpec>(&policy.spec)) {
      longest = std::max(longest, simple->cooldown);
    }
  }
  return longest;
}

}  // namespace tide
