#include "engine/metrics.hpp"

#include <fmt/format.h>

namespace tide {
namespace {

GroupGauges& gauges(std::map<std::string, GroupGauges, std::less<>>& groups,
                    std::string_view group) {
  auto it = groups.find(group);
  if (it == groups.end()) it = groups.emplace(std::string(group), GroupGauges{}).first;
  return it->second;
}

void bump(std::map<std::string, std::uint64_t, std::less<>>& counters, std::string_view key) {
  auto it = counters.find(key);
  if (it == counters.end()) {
    counters.emplace(std::string(key), 1);
  } else {
    ++it->second;
  }
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

std::string number(double v) {
  return fmt::format("{}", v);
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void EngineMetrics::set_group_config(std::string_view group, int min, int max, bool dry_run) {
  std::lock_guard lock(mu_);
  GroupGauges& g = gauges(groups_, group);
  g.min = min;
  g.max = max;
  g.dry_run = dry_run;
}

void EngineMetrics::set_group_status(std::string_view group, int current, int ready, int warming,
                                     long long unexpected_exits) {
  std::lock_guard lock(mu_);
  GroupGauges& g = gauges(groups_, group);
  g.unexpected_exits = unexpected_exits;
  g.current = current;
  g.ready = ready;
  g.warming = warming;
  g.have_status = true;
}

void EngineMetrics::set_group_decision(std::string_view group, int desired) {
  std::lock_guard lock(mu_);
  GroupGauges& g = gauges(groups_, group);
  g.desired = desired;
  g.have_decision = true;
}

void EngineMetrics::set_group_flags(std::string_view group, bool paused, bool overridden) {
  std::lock_guard lock(mu_);
  GroupGauges& g = gauges(groups_, group);
  g.paused = paused;
  g.overridden = overridden;
}

void EngineMetrics::set_group_failures(std::string_view group, int consecutive_failures) {
  std::lock_guard lock(mu_);
  gauges(groups_, group).consecutive_failures = consecutive_failures;
}

void EngineMetrics::remove_group(std::string_view group) {
  std::lock_guard lock(mu_);
  auto it = groups_.find(group);
  if (it != groups_.end()) groups_.erase(it);
  erase_forecasts_locked(group);
}

void EngineMetrics::erase_forecasts_locked(std::string_view group) {
  // The group's entries are contiguous in the (group, policy) order.
  auto first = forecasts_.lower_bound({std::string(group), std::string()});
  auto last = first;
  while (last != forecasts_.end() && last->first.first == group) ++last;
  forecasts_.erase(first, last);
}

void EngineMetrics::set_group_forecasts(std::string_view group,
                                        std::span<const PolicyForecast> forecasts) {
  std::lock_guard lock(mu_);
  erase_forecasts_locked(group);
  for (const PolicyForecast& f : forecasts) {
    forecasts_[{std::string(group), std::string(f.policy)}] = {f.peak_load, f.capacity};
  }
}

void EngineMetrics::count_decision(std::string_view group, std::string_view reason,
                                   std::string_view direction, std::string_view outcome) {
  std::lock_guard lock(mu_);
  ++decisions_[Key4{group, reason, direction, outcome}];
}

void EngineMetrics::count_action(std::string_view group, std::string_view reason,
                                 std::string_view direction, std::string_view outcome) {
  std::lock_guard lock(mu_);
  ++actions_[Key4{group, reason, direction, outcome}];
}

void EngineMetrics::count_source_error(std::string_view source) {
  std::lock_guard lock(mu_);
  bump(source_errors_, source);
}

void EngineMetrics::count_source_read(std::string_view source) {
  std::lock_guard lock(mu_);
  bump(source_reads_, source);
}

void EngineMetrics::count_target_error(std::string_view group, std::string_view operation) {
  std::lock_guard lock(mu_);
  ++target_errors_[Key2{group, operation}];
}

void EngineMetrics::count_store_error(std::string_view operation) {
  std::lock_guard lock(mu_);
  bump(store_errors_, operation);
}

void EngineMetrics::count_overrun(std::string_view group) {
  std::lock_guard lock(mu_);
  bump(overruns_, group);
}

void EngineMetrics::count_reload(bool ok) {
  std::lock_guard lock(mu_);
  (ok ? reloads_ok_ : reloads_failed_)++;
  last_reload_ok_ = ok;
}

void EngineMetrics::observe_evaluation(double seconds) {
  std::lock_guard lock(mu_);
  for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    if (seconds <= kLatencyBuckets[i]) ++latency_counts_[i];
  }
  ++latency_count_;
  latency_sum_ += seconds;
}

std::string EngineMetrics::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  out.reserve(4096 + groups_.size() * 1024);

  struct GaugeDef {
    const char* name;
    const char* help;
    int (*get)(const GroupGauges&);
    bool needs_status;
    bool needs_decision;
  };
  static const GaugeDef kGauges[] = {
      {"tide_group_current_capacity", "Capacity the target reported at the last evaluation.",
       [](const GroupGauges& g) { return g.current; }, true, false},
      {"tide_group_desired_capacity", "Desired capacity of the group's last decision.",
       [](const GroupGauges& g) { return g.desired; }, false, true},
      {"tide_group_min_capacity", "Configured lower bound of the group.",
       [](const GroupGauges& g) { return g.min; }, false, false},
      {"tide_group_max_capacity", "Configured upper bound of the group.",
       [](const GroupGauges& g) { return g.max; }, false, false},
      {"tide_group_ready_instances", "Instances the target reported ready.",
       [](const GroupGauges& g) { return g.ready; }, true, false},
      {"tide_group_warming_instances", "Instances the target reported booting or warming up.",
       [](const GroupGauges& g) { return g.warming; }, true, false},
      {"tide_group_paused", "1 while the group is paused (decisions recorded, not applied).",
       [](const GroupGauges& g) { return g.paused ? 1 : 0; }, false, false},
      {"tide_group_override_active", "1 while a manual capacity (tide set) holds the group.",
       [](const GroupGauges& g) { return g.overridden ? 1 : 0; }, false, false},
      {"tide_group_dry_run", "1 when the group runs dry (the target is never called).",
       [](const GroupGauges& g) { return g.dry_run ? 1 : 0; }, false, false},
      {"tide_group_consecutive_failures",
       "Evaluations in a row with a source, target or state store error.",
       [](const GroupGauges& g) { return g.consecutive_failures; }, false, false},
  };
  for (const GaugeDef& def : kGauges) {
    header(out, def.name, "gauge", def.help);
    for (const auto& [group, g] : groups_) {
      if (def.needs_status && !g.have_status) continue;
      if (def.needs_decision && !g.have_decision) continue;
      out +=
          fmt::format("{}{{group=\"{}\"}} {}\n", def.name, escape_label_value(group), def.get(g));
    }
  }

  header(out, "tide_forecast_load", "gauge",
         "Peak load a predictive policy's last forecast expects over its lead time.");
  for (const auto& [key, f] : forecasts_) {
    out += fmt::format("tide_forecast_load{{group=\"{}\",policy=\"{}\"}} {}\n",
                       escape_label_value(key.first), escape_label_value(key.second), f.first);
  }
  header(out, "tide_forecast_capacity", "gauge",
         "Capacity a predictive policy's last forecast asks for (also with forecast_only).");
  for (const auto& [key, f] : forecasts_) {
    out += fmt::format("tide_forecast_capacity{{group=\"{}\",policy=\"{}\"}} {}\n",
                       escape_label_value(key.first), escape_label_value(key.second), f.second);
  }

  header(out, "tide_target_unexpected_exits_total", "counter",
         "Instances that exited without being asked to (crashes), as the target reports them "
         "since it was created.");
  for (const auto& [group, g] : groups_) {
    if (!g.have_status) continue;
    out += fmt::format("tide_target_unexpected_exits_total{{group=\"{}\"}} {}\n",
                       escape_label_value(group), g.unexpected_exits);
  }

  auto render4 = [&](const char* name, const char* help,
                     const std::map<Key4, std::uint64_t>& counters) {
    header(out, name, "counter", help);
    for (const auto& [key, n] : counters) {
      const auto& [group, reason, direction, outcome] = key;
      out += fmt::format("{}{{group=\"{}\",reason=\"{}\",direction=\"{}\",outcome=\"{}\"}} {}\n",
                         name, escape_label_value(group), escape_label_value(reason),
                         escape_label_value(direction), escape_label_value(outcome), n);
    }
  };
  render4("tide_decisions_total",
          "Recorded decisions by group, reason (bound_by stage, override or winning policy type), "
          "direction and outcome.",
          decisions_);
  render4("tide_actions_total",
          "Target scale actions (retries included in one action) by group, reason, direction and "
          "outcome.",
          actions_);

  auto render1 = [&](const char* name, const char* help, const char* label,
                     const std::map<std::string, std::uint64_t, std::less<>>& counters) {
    header(out, name, "counter", help);
    for (const auto& [key, n] : counters) {
      out += fmt::format("{}{{{}=\"{}\"}} {}\n", name, label, escape_label_value(key), n);
    }
  };
  render1("tide_source_reads_total", "Source reads by source.", "source", source_reads_);
  render1("tide_source_errors_total", "Failed source reads (errors and timeouts) by source.",
          "source", source_errors_);
  header(out, "tide_target_errors_total", "counter",
         "Failed target calls by group and operation (status, scale; every attempt counts).");
  for (const auto& [key, n] : target_errors_) {
    out += fmt::format("tide_target_errors_total{{group=\"{}\",operation=\"{}\"}} {}\n",
                       escape_label_value(key.first), escape_label_value(key.second), n);
  }
  render1("tide_state_store_errors_total", "Failed state store operations by operation.",
          "operation", store_errors_);
  render1("tide_evaluation_overruns_total",
          "Evaluations that outlasted the group's interval (the next one started late; a group's "
          "evaluations never overlap).",
          "group", overruns_);

  header(out, "tide_config_reloads_total", "counter", "Config reloads (SIGHUP) by result.");
  out += fmt::format("tide_config_reloads_total{{result=\"ok\"}} {}\n", reloads_ok_);
  out += fmt::format("tide_config_reloads_total{{result=\"error\"}} {}\n", reloads_failed_);
  header(out, "tide_config_last_reload_successful", "gauge",
         "1 when the last reload succeeded (or none happened).");
  out += fmt::format("tide_config_last_reload_successful {}\n", last_reload_ok_ ? 1 : 0);

  header(out, "tide_evaluation_duration_seconds", "histogram",
         "Time of one group evaluation: status, source reads, decide, commit and scale.");
  for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    out += fmt::format("tide_evaluation_duration_seconds_bucket{{le=\"{}\"}} {}\n",
                       number(kLatencyBuckets[i]), latency_counts_[i]);
  }
  out += fmt::format("tide_evaluation_duration_seconds_bucket{{le=\"+Inf\"}} {}\n", latency_count_);
  out += fmt::format("tide_evaluation_duration_seconds_sum {}\n", number(latency_sum_));
  out += fmt::format("tide_evaluation_duration_seconds_count {}\n", latency_count_);
  return out;
}

}  // namespace tide
