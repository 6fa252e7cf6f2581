// For tests only: an EngineControl over in-memory groups, for the API and CLI client tests.
#pragma once

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "engine/control.hpp"
#include "policy/decide.hpp"
#include "policy/decision_json.hpp"

namespace tide::testing {

class FakeEngine final : public EngineControl {
 public:
  struct SetCall {
    std::string group;
    int capacity = 0;
    TimePoint until;
  };

  void add_group(GroupView view, std::vector<DecisionRecord> decisions = {}) {
    std::lock_guard lock(mu_);
    std::sort(decisions.begin(), decisions.end(),
              [](const auto& a, const auto& b) { return a.id < b.id; });
    if (!decisions.empty()) view.last = decisions.back();
    decisions_[view.name] = std::move(decisions);
    groups_[view.name] = std::move(view);
  }

  std::vector<GroupView> groups() override {
    std::lock_guard lock(mu_);
    std::vector<GroupView> out;
    for (const auto& [name, view] : groups_) out.push_back(view);
    return out;
  }

  std::optional<GroupView> group(std::string_view name) override {
    std::lock_guard lock(mu_);
    auto it = groups_.find(std::string(name));
    if (it == groups_.end()) return std::nullopt;
    return it->second;
  }

  Result<std::vector<DecisionRecord>> decisions(std::string_view name, int limit,
                                                std::optional<long long> before) override {
    std::lock_guard lock(mu_);
    if (fail_next_) return take_failure();
    auto it = decisions_.find(std::string(name));
    if (it == decisions_.end()) return unknown(name);
    std::vector<DecisionRecord> out;
    for (auto r = it->second.rbegin(); r != it->second.rend(); ++r) {
      if (before && r->id >= *before) continue;
      if (static_cast<int>(out.size()) >= limit) break;
      out.push_back(*r);
    }
    return out;
  }

  Result<std::optional<DecisionRecord>> decision(std::string_view name, long long id) override {
    std::lock_guard lock(mu_);
    auto it = decisions_.find(std::string(name));
    if (it == decisions_.end()) return unknown(name);
    for (const auto& r : it->second) {
      if (r.id == id) return std::optional<DecisionRecord>(r);
    }
    return std::optional<DecisionRecord>();
  }

  Result<void> pause(std::string_view name) override { return set_paused(name, true); }
  Result<void> resume(std::string_view name) override { return set_paused(name, false); }

  Result<void> set_capacity(std::string_view name, int capacity, TimePoint until) override {
    std::lock_guard lock(mu_);
    if (fail_next_) return take_failure();
    auto it = groups_.find(std::string(name));
    if (it == groups_.end()) return unknown(name);
    if (capacity < it->second.min || capacity > it->second.max) {
      return fail(ErrorCode::kInvalidArgument, "capacity outside the bounds");
    }
    it->second.flags.override_capacity = capacity;
    it->second.flags.override_until = until;
    set_calls_.push_back({std::string(name), capacity, until});
    return {};
  }

  std::string metrics_text() override {
    std::lock_guard lock(mu_);
    return metrics_;
  }
  bool healthy() override {
    std::lock_guard lock(mu_);
    return healthy_;
  }

  // ---- test controls ----
  void set_healthy(bool healthy) {
    std::lock_guard lock(mu_);
    healthy_ = healthy;
  }
  void set_metrics(std::string text) {
    std::lock_guard lock(mu_);
    metrics_ = std::move(text);
  }
  // The next decisions() / pause() / resume() / set_capacity() call fails with `error`.
  void fail_next(Error error) {
    std::lock_guard lock(mu_);
    fail_next_ = std::move(error);
  }
  std::vector<SetCall> set_calls() {
    std::lock_guard lock(mu_);
    return set_calls_;
  }

 private:
  Result<void> set_paused(std::string_view name, bool paused) {
    std::lock_guard lock(mu_);
    if (fail_next_) return take_failure();
    auto it = groups_.find(std::string(name));
    if (it == groups_.end()) return unknown(name);
    it->second.flags.paused = paused;
    return {};
  }
  std::unexpected<Error> unknown(std::string_view name) {
    return fail(ErrorCode::kNotFound, fmt::format("unknown group '{}'", name));
  }
  std::unexpected<Error> take_failure() {
    Error e = *fail_next_;
    fail_next_.reset();
    return std::unexpected(std::move(e));
  }

  std::mutex mu_;
  std::map<std::string, GroupView> groups_;
  std::map<std::string, std::vector<DecisionRecord>> decisions_;
  std::vector<SetCall> set_calls_;
  std::optional<Error> fail_next_;
  std::string metrics_ = "# HELP tide_up 1\n# TYPE tide_up gauge\ntide_up 1\n";
  bool healthy_ = true;
};

// Two groups for API and CLI tests, as of `now`:
//  web    local-process 1..10, 3 instances (2 ready, 1 warming), decisions 1..30; the last (30) is
//  a
//         real decide() account: cpu 150 vs 50 proposes 6, a 1-per-15s rate limit holds it at 4,
//         and the "latency" policy had no data.
//  batch  exec 0..5, paused, override 2 for 10 more minutes, failing, no status, decisions
//  100..102.
inline void add_sample_groups(FakeEngine& engine, TimePoint now) {
  GroupSpec spec;
  spec.name = "web";
  spec.min = 1;
  spec.max = 10;
  spec.policies = {
      {"cpu", TargetTrackingSpec{{"prom", {}}, TargetKind::kUtilization, 50, 0.1, 0.1, false}},
      {"latency", TargetTrackingSpec{{"prom", {}}, TargetKind::kPerInstance, 0.2, 0.1, 0.1, false}},
  };
  spec.behavior.scale_up = {
      Duration{0}, SelectPolicy::kMax, {{RateLimitType::kInstances, 1, std::chrono::seconds(15)}}};
  const MetricReading readings[] = {{true, 150, {}}, {}};
  GroupHistory history;
  history.initialized = true;
  const Decision d = decide(spec, Observation{3, 2, 1, readings}, history, now - Duration(5000));

  std::vector<DecisionRecord> web;
  for (int i = 1; i <= 30; ++i) {
    DecisionRecord r;
    r.id = i;
    r.group = "web";
    r.at = now - std::chrono::seconds(15 * (31 - i));
    r.current = 3;
    r.desired = 3;
    r.outcome = "unchanged";
    r.account = {{"current", 3}, {"desired", 3}, {"explanation", "current 3 -> desired 3\n"}};
    if (i == 30) {
      r.at = d.at;
      r.current = d.current;
      r.desired = d.desired;
      r.bound_by = d.bound_by ? stage_name(*d.bound_by) : "";
      r.outcome = "applied";
      r.account = decision_to_json(d, spec);
    }
    web.push_back(std::move(r));
  }
  GroupView w;
  w.name = "web";
  w.target_type = "local-process";
  w.min = 1;
  w.max = 10;
  w.interval = std::chrono::seconds(15);
  TargetStatus status;
  status.desired = 3;
  status.instances = {{"101", "127.0.0.1:9001", InstanceState::kReady, ""},
                      {"102", "127.0.0.1:9002", InstanceState::kReady, ""},
                      {"103", "127.0.0.1:9003", InstanceState::kWarming, "started 4s ago"}};
  w.status = status;
  w.next_evaluation = now + std::chrono::seconds(10);
  engine.add_group(w, std::move(web));

  std::vector<DecisionRecord> batch;
  for (int i = 100; i <= 102; ++i) {
    DecisionRecord r;
    r.id = i;
    r.group = "batch";
    r.at = now - std::chrono::minutes(103 - i);
    r.current = 1;
    r.desired = 2;
    r.bound_by = "bounds";
    r.outcome = "paused";
    r.account = {{"current", 1}, {"desired", 2}, {"explanation", "current 1 -> desired 2\n"}};
    batch.push_back(std::move(r));
  }
  GroupView b;
  b.name = "batch";
  b.target_type = "exec";
  b.min = 0;
  b.max = 5;
  b.interval = std::chrono::seconds(60);
  b.dry_run = true;
  b.flags.paused = true;
  b.flags.override_capacity = 2;
  b.flags.override_until = now + std::chrono::minutes(10);
  b.consecutive_failures = 2;
  b.last_error = "source prom: connection refused";
  engine.add_group(b, std::move(batch));
}

}  // namespace tide::testing
