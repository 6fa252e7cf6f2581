#include "targets/static/static_target.hpp"

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/clock.hpp"
#include "state/state.hpp"
#include "targets/params.hpp"

namespace tide {
namespace {

constexpr const char* kType = "static";
constexpr int kMaxCapacity = 1'000'000;

struct Unit {
  long long id = 0;
  std::optional<TimePoint> started;  // none: there from the start (ready)
};

class StaticTarget final : public Target {
 public:
  StaticTarget(StaticTargetConfig config, const TargetContext& context)
      : config_(config),
        state_(context.state),
        clock_(context.clock != nullptr ? context.clock : &system_clock_) {
    for (int i = 0; i < config_.capacity; ++i) units_.push_back({next_id_++, std::nullopt});
  }

  Result<void> load() {
    if (state_ == nullptr) return {};
    auto text = state_->get(kStaticStateKey);
    if (!text) {
      return fail(text.error().code,
                  "static target: cannot read saved state: " + text.error().message);
    }
    if (!*text) return persist();  // first start: save the initial capacity
    nlohmann::json j = nlohmann::json::parse(**text, nullptr, /*allow_exceptions=*/false);
    auto units = j.is_object() ? j.find("units") : j.end();
    auto next = j.is_object() ? j.find("next_id") : j.end();
    if (units == j.end() || !units->is_array() || next == j.end() || !next->is_number_integer()) {
      return fail(ErrorCode::kInvalidArgument, "static target: saved state is unreadable");
    }
    std::vector<Unit> restored;
    for (const nlohmann::json& u : *units) {
      if (!u.is_object() || !u.contains("id") || !u["id"].is_number_integer()) {
        return fail(ErrorCode::kInvalidArgument, "static target: saved state is unreadable");
      }
      Unit unit{u["id"].get<long long>(), std::nullopt};
      if (u.contains("started_ms") && u["started_ms"].is_number_integer()) {
        unit.started = TimePoint(Duration(u["started_ms"].get<long long>()));
      }
      restored.push_back(unit);
    }
    if (restored.size() > static_cast<std::size_t>(kMaxCapacity)) {
      return fail(ErrorCode::kInvalidArgument, "static target: saved state is unreadable");
    }
    std::lock_guard lock(mu_);
    units_ = std::move(restored);
    next_id_ = next->get<long long>();
    return {};
  }

  Result<TargetStatus> status() override {
    std::lock_guard lock(mu_);
    const TimePoint now = clock_->now();
    TargetStatus status;
    status.desired = static_cast<int>(units_.size());
    status.instances.reserve(units_.size());
    for (const Unit& u : units_) {
      InstanceStatus instance;
      instance.id = std::to_string(u.id);
      instance.state = InstanceState::kReady;
      if (u.started && now < *u.started + config_.boot_delay) {
        instance.state = InstanceState::kWarming;
        instance.detail = fmt::format("booting, ready in {}",
                                      format_duration(*u.started + config_.boot_delay - now));
      }
      status.instances.push_back(std::move(instance));
    }
    return status;
  }

  Result<void> scale(const ScaleRequest& request) override {
    if (request.desired < 0 || request.desired > kMaxCapacity) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("static target: capacity {} is outside 0..{}", request.desired,
                              kMaxCapacity));
    }
    std::lock_guard lock(mu_);
    const auto desired = static_cast<std::size_t>(request.desired);
    if (desired == units_.size()) return {};
    const TimePoint now = clock_->now();
    while (units_.size() < desired) units_.push_back({next_id_++, now});
    if (units_.size() > desired) units_.resize(desired);  // units_ is oldest first
    return persist_locked();
  }

 private:
  Result<void> persist() {
    std::lock_guard lock(mu_);
    return persist_locked();
  }

  Result<void> persist_locked() {
    if (state_ == nullptr) return {};
    nlohmann::json units = nlohmann::json::array();
    for (const Unit& u : units_) {
      nlohmann::json j = {{"id", u.id}};
      if (u.started) j["started_ms"] = u.started->time_since_epoch().count();
      units.push_back(std::move(j));
    }
    nlohmann::json doc = {{"version", 1}, {"next_id", next_id_}, {"units", std::move(units)}};
    auto put = state_->put(kStaticStateKey, doc.dump());
    if (!put) {
      return fail(put.error().code, "static target: cannot save state: " + put.error().message);
    }
    return {};
  }

  StaticTargetConfig config_;
  TargetStateStore* state_;
  SystemClock system_clock_;
  const Clock* clock_;
  std::mutex mu_;
  std::vector<Unit> units_;  // oldest first
  long long next_id_ = 0;
};

}  // namespace

Result<StaticTargetConfig> parse_static_target_config(const nlohmann::json& p,
                                                      int default_capacity) {
  if (!p.is_object()) return fail(ErrorCode::kInvalidArgument, "static target: expected a mapping");
  StaticTargetConfig c;
  auto capacity = params::integer(p, kType, "capacity", default_capacity);
  if (!capacity) return std::unexpected(capacity.error());
  if (*capacity < 0 || *capacity > kMaxCapacity) {
    return fail(
        ErrorCode::kInvalidArgument,
        fmt::format("static target: capacity must be in 0..{}, got {}", kMaxCapacity, *capacity));
  }
  c.capacity = static_cast<int>(*capacity);
  auto boot_delay = params::duration(p, kType, "boot_delay", c.boot_delay);
  if (!boot_delay) return std::unexpected(boot_delay.error());
  c.boot_delay = *boot_delay;
  return c;
}

Result<std::unique_ptr<Target>> make_static_target(const TargetRef& ref,
                                                   const TargetContext& context) {
  auto config = parse_static_target_config(ref.params, std::max(0, context.min));
  if (!config) return std::unexpected(config.error());
  auto target = std::make_unique<StaticTarget>(*config, context);
  if (auto loaded = target->load(); !loaded) return std::unexpected(loaded.error());
  return std::unique_ptr<Target>(std::move(target));
}

}  // namespace tide
