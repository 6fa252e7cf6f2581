// A "situation" is everything decide() needs, read from one JSON (or YAML) document: the group
// spec, `now`, the target's capacity, one metric reading per policy, the forecasts of predictive
// policies and the group's history.
// `tide decide` reads it; tests and the simulator's cross-checks write it. Format: docs/decide.md.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/decide.hpp"

namespace tide {

struct Situation {
  GroupSpec group;
  TimePoint now;
  int current = 0;
  int ready = 0;
  int warming = 0;
  std::vector<std::vector<InstanceSample>> instances;  // storage behind readings[i].instances
  std::vector<MetricReading> readings;
  std::vector<std::vector<double>> forecast_values;  // storage behind forecasts[i].values
  std::vector<ForecastView> forecasts;               // one per policy (predictive ones)
  GroupHistory history;

  Observation observation() const { return {current, ready, warming, readings, forecasts}; }
};

// Errors come back as "FILE:LINE:COL: error: message" lines, all of them.
std::expected<Situation, std::vector<std::string>> parse_situation(std::string_view text,
                                                                   std::string_view filename);

// The inverse of parse_situation: a situation document (docs/decide.md) from exactly what decide()
// is given. `group_json` is the group as written in a config (the config schema; `target` may be
// omitted). Every time is absolute RFC 3339 (milliseconds kept), the history is complete (policy
// state included), so parse_situation(situation_to_json(...)) gives decide() the same inputs.
// Used by `tide simulate --dump-situations`.
nlohmann::json situation_to_json(const nlohmann::json& group_json, const Observation& observation,
                                 const GroupHistory& history, TimePoint now);

}  // namespace tide
