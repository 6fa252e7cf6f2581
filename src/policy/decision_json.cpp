#include "policy/decision_json.hpp"

namespace tide {

nlohmann::json decision_to_json(const Decision& d, const GroupSpec& spec) {
  nlohmann::json proposals = nlohmann::json::array();
  for (int i = 0; i < d.proposal_count; ++i) {
    const Proposal& p = d.proposals[i];
    const PolicySpec& policy = spec.policies[i];
    nlohmann::json entry = {{"policy", policy.name},
                            {"type", policy_type_name(policy.type())},
                            {"reason", describe(p, policy)}};
    switch (p.status) {
      case ProposalStatus::kValue:
        entry["status"] = "value";
        entry["capacity"] = p.capacity;
        break;
      case ProposalStatus::kNoData:
        entry["status"] = "no-data";
        break;
      case ProposalStatus::kInactive:
        entry["status"] = "inactive";
        break;
    }
    if (policy.type() == PolicyType::kPanic && p.status != ProposalStatus::kNoData) {
      entry["panicking"] = p.panic_time.has_value();
      entry["excess_burst_capacity"] = p.excess_burst_capacity;
    }
    if (policy.type() == PolicyType::kLambdaMemory && p.status == ProposalStatus::kValue) {
      entry["duration_ms"] = p.a;
      entry["target_ms"] = p.b;
      entry["estimated_duration_ms"] = p.c;
      entry["estimated_gb_seconds"] = p.d;
    }
    if (policy.type() == PolicyType::kPredictive && p.reason != Reason::kNoForecast) {
      entry["forecast"] = {{"model", forecast_model_name(p.forecast_model)},
                           {"peak_load", p.a},
                           {"target", p.b},
                           {"lead_seconds", p.c},
                           {"age_seconds", p.d},
                           {"capacity", p.forecast_capacity}};
      if (p.raised_max >= 0) entry["forecast"]["raised_max"] = p.raised_max;
    }
    proposals.push_back(std::move(entry));
  }
  nlohmann::json stages = nlohmann::json::array();
  for (int s = 0; s < kStageCount; ++s) {
    stages.push_back({{"stage", stage_name(static_cast<Stage>(s))}, {"value", d.after[s]}});
  }
  return {{"at", format_time(d.at)},
          {"current", d.current},
          {"desired", d.desired},
          {"scale", d.scales()},
          {"bound_by", d.bound_by ? nlohmann::json(stage_name(*d.bound_by)) : nlohmann::json()},
          {"min", d.min},
          {"max", d.max},
          {"any_no_data", d.any_no_data},
          {"proposals", std::move(proposals)},
          {"stages", std::move(stages)},
          {"explanation", describe(d, spec)}};
}

}  // namespace tide
