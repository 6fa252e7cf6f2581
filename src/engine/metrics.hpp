// The engine's own metrics, rendered in the Prometheus text exposition format (0.0.4) for
// GET /metrics. Every name starts with `tide_`; docs/operations.md lists them. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <tuple>

namespace tide {

struct GroupGauges {
  int current = 0;  // the target's desired capacity at the last status read
  int desired = 0;  // the last decision's desired capacity
  int min = 0, max = 0;
  int ready = 0, warming = 0;
  bool paused = false;
  bool dry_run = false;
  bool overridden = false;  // a manual capacity (tide set) is in force
  int consecutive_failures = 0;
  long long unexpected_exits = 0;  // reported by the target since it was created
  bool have_status = false;
  bool have_decision = false;
};

class EngineMetrics {
 public:
  // Upper bounds (seconds) of the evaluation latency histogram buckets; +Inf is implicit.
  static constexpr std::array<double, 12> kLatencyBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                             0.5,   1,    2.5,   5,    10,  30};

  // Replaces the group's configured bounds and flags; keeps the last observed values.
  void set_group_config(std::string_view group, int min, int max, bool dry_run);
  void set_group_status(std::string_view group, int current, int ready, int warming,
                        long long unexpected_exits = 0);
  void set_group_decision(std::string_view group, int desired);
  void set_group_flags(std::string_view group, bool paused, bool overridden);
  void set_group_failures(std::string_view group, int consecutive_failures);
  void remove_group(std::string_view group);  // a group left the config: drop its gauges
  // The last forecast of each of a group's predictive policies: the peak load it expects over its
  // lead time and the capacity that load needs (also with forecast_only, which does not scale on
  // it). Replaces the group's previous set: a policy without a forecast now (no history yet, a
  // gap, renamed or removed by a reload) loses its gauges.
  struct PolicyForecast {
    std::string_view policy;
    double peak_load = 0;
    int capacity = 0;
  };
  void set_group_forecasts(std::string_view group, std::span<const PolicyForecast> forecasts);

  // One evaluation that produced a decision. reason: the bound_by stage, "override", or the type
  // of the winning policy; direction: up, down, none; outcome: unchanged, applied, failed,
  // dry-run, paused, pending (the store failed before acting).
  void count_decision(std::string_view group, std::string_view reason, std::string_view direction,
                      std::string_view outcome);
  // One target.scale() action (after its retries): outcome applied or failed.
  void count_action(std::string_view group, std::string_view reason, std::string_view direction,
                    std::string_view outcome);
  void count_source_error(std::string_view source);
  void count_source_read(std::string_view source);
  void count_target_error(std::string_view group, std::string_view operation);  // status|scale
  void count_store_error(std::string_view operation);
  // An evaluation outlasted the group's interval: the next one starts late (never concurrently).
  void count_overrun(std::string_view group);
  void count_reload(bool ok);
  void observe_evaluation(double seconds);

  std::string render() const;

 private:
  using Key4 = std::tuple<std::string, std::string, std::string, std::string>;
  using Key2 = std::pair<std::string, std::string>;

  void erase_forecasts_locked(std::string_view group);  // mu_ held

  mutable std::mutex mu_;
  std::map<std::string, GroupGauges, std::less<>> groups_;
  std::map<Key2, std::pair<double, int>> forecasts_;  // (group, policy) -> peak load, capacity
  std::map<Key4, std::uint64_t> decisions_;
  std::map<Key4, std::uint64_t> actions_;
  std::map<std::string, std::uint64_t, std::less<>> source_errors_;
  std::map<std::string, std::uint64_t, std::less<>> source_reads_;
  std::map<Key2, std::uint64_t> target_errors_;
  std::map<std::string, std::uint64_t, std::less<>> store_errors_;
  std::map<std::string, std::uint64_t, std::less<>> overruns_;
  std::uint64_t reloads_ok_ = 0, reloads_failed_ = 0;
  bool last_reload_ok_ = true;
  std::array<std::uint64_t, kLatencyBuckets.size()> latency_counts_{};
  std::uint64_t latency_count_ = 0;
  double latency_sum_ = 0;
};

// Escapes a label value for the exposition format (backslash, double quote, newline).
std::string escape_label_value(std::string_view value);

}  // namespace tide
