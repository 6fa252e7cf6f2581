// Rendering of decisions for people (tide explain, tide decide, logs). Kept out of decide() so a
// decision costs no string formatting unless someone reads it.
#include <fmt/format.h>

#include "policy/decision.hpp"

namespace tide {
namespace {

std::string number(double v) {
  return fmt::format("{:.6g}", v);
}

std::string optional_int(double v) {
  return v < 0 ? std::string("-") : number(v);
}

}  // namespace

const char* stage_name(Stage stage) {
  switch (stage) {
    case Stage::kCombine:
      return "combine";
    case Stage::kNoDataGuard:
      return "no-data-guard";
    case Stage::kFallback:
      return "fallback";
    case Stage::kStabilization:
      return "stabilization";
    case Stage::kRateLimit:
      return "rate-limit";
    case Stage::kCooldown:
      return "cooldown";
    case Stage::kWarmup:
      return "warmup";
    case Stage::kBounds:
      return "bounds";
    case Stage::kCount:
      break;
  }
  return "unknown";
}

std::string describe(const Proposal& p, const PolicySpec& policy) {
  const std::string n = std::to_string(p.capacity);
  switch (p.reason) {
    case Reason::kNoData:
      return "no data from the metric source: no scale-in this evaluation";
    case Reason::kWithinTolerance:
      return fmt::format("metric {} vs target {} (ratio {}) is within tolerance: hold {}",
                         number(p.a), number(p.b), number(p.c), n);
    case Reason::kProportional:
      return fmt::format("metric {} vs target {}: ceil({} x {}) = {}", number(p.a), number(p.b),
                         number(p.d), number(p.c), n);
    case Reason::kFilledUnreadyOrMissing:
      return fmt::format(
          "metric {} vs target {}; with warming/missing instances filled conservatively the "
          "ratio is {} over {} instances: {}",
          number(p.a), number(p.b), number(p.c), number(p.d), n);
    case Reason::kDirectionFlipHeld:
      return fmt::format(
          "metric {} vs target {}, but instances without data reverse the direction (ratio {}): "
          "hold {}",
          number(p.a), number(p.b), number(p.c), n);
    case Reason::kTotal:
      return fmt::format("total {} / target {} per instance: ceil({}) = {}", number(p.a),
                         number(p.b), number(p.c), n);
    case Reason::kScaleInDisabled:
      return fmt::format("metric {} vs target {} asks for fewer, but scale-in is disabled: hold {}",
                         number(p.a), number(p.b), n);
    case Reason::kStepAdjustment:
      return fmt::format("metric {} vs threshold {}: step adjustment {} gives {}", number(p.a),
                         number(p.b), number(p.c), n);
    case Reason::kNoStepMatched:
      return fmt::format("metric {} vs threshold {}: no step adjustment applies", number(p.a),
                         number(p.b));
    case Reason::kSimpleTriggered:
      return fmt::format("metric {} breached threshold {}: adjustment {} gives {}", number(p.a),
                         number(p.b), number(p.c), n);
    case Reason::kSimpleNotBreached:
      return fmt::format("metric {} does not breach threshold {}", number(p.a), number(p.b));
    case Reason::kSimpleCooldown:
      return fmt::format("in cooldown for another {} s", number(p.a));
    case Reason::kScheduleActive:
      return fmt::format("schedule '{}' active: capacity {}, min {}, max {}",
                         std::get<ScheduledSpec>(policy.spec).cron_text, optional_int(p.a),
                         optional_int(p.b), optional_int(p.c));
    case Reason::kScheduleInactive:
      return "schedule inactive";
    case Reason::kBacklog:
      return fmt::format("backlog {} / {} per instance = {}", number(p.a), number(p.b), n);
    case Reason::kBelowActivation:
      return fmt::format("backlog {} is at or below the activation threshold {}: {}", number(p.a),
                         number(p.c), n);
    case Reason::kStable:
      return fmt::format("stable average {} / target {} over {} ready: {}", number(p.a),
                         number(p.c), number(p.d), n);
    case Reason::kPanicking:
      return fmt::format("panic mode (panic average {}, stable {}, target {}): {}", number(p.b),
                         number(p.a), number(p.c), n);
    case Reason::kFallback:
      return fmt::format("fallback after {} failed evaluations: {}", number(p.a), n);
    case Reason::kMemoryRightSized:
    case Reason::kMemoryHeld:
    case Reason::kMemoryFastest: {
      const auto* s = std::get_if<LambdaMemorySpec>(&policy.spec);
      const std::string target =
          s == nullptr
              ? fmt::format("target {} ms", number(p.b))
              : fmt::format("target {} ms ({}% of the {} timeout)", number(p.b),
                            number(s->timeout_share * 100), format_duration(s->function_timeout));
      const std::string estimate =
          fmt::format("estimated {} ms, {} GB-s per invocation", number(p.c), number(p.d));
      if (p.reason == Reason::kMemoryRightSized) {
        return fmt::format(
            "duration {} ms vs {}: {} MB is the cheapest memory estimated to meet "
            "it ({})",
            number(p.a), target, n, estimate);
      }
      if (p.reason == Reason::kMemoryHeld) {
        return fmt::format(
            "duration {} ms meets {}, and the cheapest memory that does would save "
            "no more than {}%: hold {} MB ({} GB-s per invocation)",
            number(p.a), target, number(s == nullptr ? 0 : s->tolerance * 100), n, number(p.d));
      }
      return fmt::format(
          "duration {} ms vs {}: no memory up to {} MB is estimated to meet it; {} "
          "MB is the fastest ({}{})",
          number(p.a), target, kLambdaMaxMemoryMb, n, estimate,
          s != nullptr && s->threads < 6
              ? fmt::format("; code using {} vCPU(s) gains nothing past {} MB", s->threads,
                            s->threads * kLambdaMbPerVcpu)
              : std::string());
    }
    case Reason::kForecast:
      return fmt::format(
          "forecast peak load {} over the next {} ({}, made {} ago) / target {} per instance = "
          "{}{}",
          number(p.a), format_duration(seconds(p.c)), forecast_model_name(p.forecast_model),
          format_duration(seconds(p.d)), number(p.b), n,
          p.raised_max >= 0 ? fmt::format(" (max may rise to {})", p.raised_max) : std::string());
    case Reason::kForecastOnly:
      return fmt::format(
          "forecast only: forecast peak load {} over the next {} ({}, made {} ago) / target {} "
          "per instance would be {}",
          number(p.a), format_duration(seconds(p.c)), forecast_model_name(p.forecast_model),
          format_duration(seconds(p.d)), number(p.b), p.forecast_capacity);
    case Reason::kNoForecast:
      return fmt::format("no forecast covers the next {} yet: abstains",
                         format_duration(seconds(p.c)));
  }
  return "unknown reason";
}

std::string describe(const Decision& d, const GroupSpec& spec) {
  std::string out = fmt::format("current {} -> desired {}", d.current, d.desired);
  if (d.bound_by) out += fmt::format(" (bound by {})", stage_name(*d.bound_by));
  out += '\n';
  for (int i = 0; i < d.proposal_count; ++i) {
    const Proposal& p = d.proposals[i];
    const PolicySpec& policy = spec.policies[i];
    std::string value = p.status == ProposalStatus::kValue    ? std::to_string(p.capacity)
                        : p.status == ProposalStatus::kNoData ? "no data"
                                                              : "abstains";
    out += fmt::format("  {} {}: {} - {}\n", policy_type_name(policy.type()), policy.name, value,
                       describe(p, policy));
  }
  int previous = d.after[0];
  out += fmt::format("  combine: {}\n", previous);
  for (int s = 1; s < kStageCount; ++s) {
    if (d.after[s] != previous) {
      out +=
          fmt::format("  {}: {} -> {}\n", stage_name(static_cast<Stage>(s)), previous, d.after[s]);
    }
    previous = d.after[s];
  }
  return out;
}

}  // namespace tide
