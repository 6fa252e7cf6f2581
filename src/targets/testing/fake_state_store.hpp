// An in-memory StateStore for target tests: only the targets' key/value space does anything
// (plus switches to make get/put fail); the rest answers empty. Thread-safe.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "state/state.hpp"

namespace tide::testing {

class FakeStateStore final : public StateStore {
 public:
  Result<GroupHistory> load_history(std::string_view) override { return GroupHistory{}; }
  Result<long long> commit(std::string_view, const GroupHistory&, const DecisionRecord&) override {
    return 1;
  }
  Result<void> set_outcome(long long, std::string_view) override { return {}; }
  Result<std::vector<DecisionRecord>> decisions(std::string_view, int,
                                                std::optional<long long>) override {
    return std::vector<DecisionRecord>{};
  }
  Result<std::optional<DecisionRecord>> decision(long long) override {
    return std::optional<DecisionRecord>{};
  }
  Result<GroupFlags> flags(std::string_view) override { return GroupFlags{}; }
  Result<void> set_flags(std::string_view, const GroupFlags&) override { return {}; }
  Result<void> prune(std::string_view, int) override { return {}; }
  Result<void> put_metric_points(std::string_view, std::string_view,
                                 std::span<const MetricPoint>) override {
    return {};
  }
  Result<std::vector<MetricPoint>> metric_points(std::string_view, std::string_view,
                                                 TimePoint) override {
    return std::vector<MetricPoint>{};
  }
  Result<void> prune_metric_points(std::string_view, std::string_view, TimePoint) override {
    return {};
  }

  Result<std::optional<std::string>> get(std::string_view group, std::string_view key) override {
    std::lock_guard lock(mu_);
    if (fail_get) return fail(ErrorCode::kUnavailable, "fake store: get failed");
    auto it = kv_.find({std::string(group), std::string(key)});
    if (it == kv_.end()) return std::optional<std::string>{};
    return std::optional<std::string>{it->second};
  }
  Result<void> put(std::string_view group, std::string_view key, std::string_view value) override {
    std::lock_guard lock(mu_);
    if (fail_put) return fail(ErrorCode::kUnavailable, "fake store: put failed");
    kv_[{std::string(group), std::string(key)}] = std::string(value);
    puts++;
    return {};
  }

  // Test access.
  std::optional<std::string> value(const std::string& group, const std::string& key) {
    std::lock_guard lock(mu_);
    auto it = kv_.find({group, key});
    if (it == kv_.end()) return std::nullopt;
    return it->second;
  }
  void set(const std::string& group, const std::string& key, std::string value) {
    std::lock_guard lock(mu_);
    kv_[{group, key}] = std::move(value);
  }
  std::atomic<bool> fail_get{false};
  std::atomic<bool> fail_put{false};
  std::atomic<int> puts{0};

 private:
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, std::string> kv_;
};

}  // namespace tide::testing
