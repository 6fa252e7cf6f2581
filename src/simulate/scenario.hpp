// A simulation scenario (docs/simulate.md): a trace, the workload model and the policies to
// compare. Groups are written exactly as in a `tide run` config and parsed by the same code;
// presets are groups tide ships (hpa, aws-target-tracking, kpa) plus the two references
// (static-peak, oracle).
#pragma once

#include <expected>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "policy/spec.hpp"
#include "simulate/model.hpp"
#include "simulate/trace.hpp"

namespace tide::sim {

enum class PolicyKind {
  kGroup,       // a group spec (written in the scenario or expanded from a preset)
  kStaticPeak,  // a constant capacity at the trace's peak demand
  kOracle,      // the offline optimum
};

struct ScenarioPolicy {
  std::string name;
  PolicyKind kind = PolicyKind::kGroup;
  std::string preset;         // "hpa", "aws-target-tracking", "kpa", "static-peak", "oracle" or ""
  GroupSpec group;            // kGroup
  nlohmann::json group_json;  // kGroup: the group as written (config schema), for tide decide dumps
};

struct Scenario {
  std::string path;
  std::string name;
  TraceSpec trace;
  WorkloadModel model;
  int min = 1;  // bounds the presets use
  int max = 100;
  std::vector<ScenarioPolicy> policies;  // always includes hpa (the speedup baseline) and oracle
};

// Every problem as a Diagnostic (file:line:col), like config loading.
std::expected<Scenario, Diagnostics> load_scenario(const std::string& path);
std::expected<Scenario, Diagnostics> parse_scenario(std::string_view text,
                                                    std::string_view filename,
                                                    const std::string& base_dir);

}  // namespace tide::sim
