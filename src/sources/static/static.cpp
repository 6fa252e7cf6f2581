#include "sources/static/static.hpp"

#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "sources/params.hpp"

namespace tide {
namespace {

class StaticSource final : public Source {
 public:
  StaticSource(std::optional<double> value, std::vector<double> series, Duration step)
      : value_(value), series_(std::move(series)), step_(step) {}

  Result<int> prepare(const nlohmann::json& query) override {
    std::lock_guard lock(mu_);
    overrides_.push_back(params::number(query, "value"));
    return static_cast<int>(overrides_.size() - 1);
  }

  Result<std::vector<Sample>> read(int query, const std::vector<InstanceEndpoint>&, TimePoint now,
                                   Duration) override {
    std::lock_guard lock(mu_);
    if (query < 0 || static_cast<std::size_t>(query) >= overrides_.size()) {
      return fail(ErrorCode::kInvalidArgument, "static: unknown query handle");
    }
    if (auto v = overrides_[static_cast<std::size_t>(query)]) return one(*v, now);
    if (value_) return one(*value_, now);
    if (!first_) first_ = now;
    long long index = 0;
    if (now > *first_ && step_.count() > 0) index = (now - *first_) / step_;
    return one(series_[static_cast<std::size_t>(index % static_cast<long long>(series_.size()))],
               now);
  }

 private:
  static std::vector<Sample> one(double v, TimePoint now) { return {Sample{v, now, ""}}; }

  const std::optional<double> value_;
  const std::vector<double> series_;
  const Duration step_;
  std::mutex mu_;
  std::deque<std::optional<double>> overrides_;
  std::optional<TimePoint> first_;
};

}  // namespace

Result<std::unique_ptr<Source>> make_static_source(const SourceSpec& spec) {
  std::optional<double> value = params::number(spec.params, "value");
  std::vector<double> series;
  if (auto it = spec.params.find("series"); it != spec.params.end() && it->is_array()) {
    for (const auto& v : *it) {
      if (v.is_number()) series.push_back(v.get<double>());
    }
  }
  if (value && !series.empty()) {
    return fail(
        ErrorCode::kInvalidArgument,
        fmt::format("source '{}': 'value' and 'series' cannot be used together", spec.name));
  }
  if (!value && series.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("source '{}': needs 'value' or a non-empty 'series'", spec.name));
  }
  Duration step = params::duration(spec.params, "step", Duration(15000));
  if (step.count() <= 0) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("source '{}': step must be more than 0", spec.name));
  }
  return std::make_unique<StaticSource>(value, std::move(series), step);
}

}  // namespace tide
