#include "forecast/runner.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace tide::forecast {
namespace {

long long floor_div(long long a, long long b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

ForecastRunner::ForecastRunner(const ForecastSettings& settings, Duration lead)
    : settings_(settings) {
  step_ms_ = std::max<long long>(1, settings.resolution.count());
  interval_ms_ = std::max<long long>(1, settings.interval.count());
  const long long reach = interval_ms_ + std::max<long long>(0, lead.count());
  horizon_ = static_cast<int>((reach + step_ms_ - 1) / step_ms_) + 1;
  shape_ = shape_for(settings.resolution, settings.history, horizon_);
  ring_.resize(static_cast<std::size_t>(shape_.max_history) + 2);
  raw_.resize(static_cast<std::size_t>(shape_.max_history));
  history_.resize(static_cast<std::size_t>(shape_.max_history));
  output_.resize(static_cast<std::size_t>(horizon_));
  window_refreshes_ = static_cast<std::size_t>(
      std::max<long long>(24, std::chrono::milliseconds(kAutoWindow).count() / interval_ms_));

  std::vector<ForecastModel> models;
  if (settings.model == ForecastModel::kAuto) {
    for (ForecastModel m : concrete_models()) models.push_back(m);
  } else {
    for (ForecastModel m = settings.model;; m = fallback_of(m)) {
      models.push_back(m);
      if (m == ForecastModel::kRecentMean) break;
    }
  }
  candidates_.resize(models.size());
  for (std::size_t i = 0; i < models.size(); ++i) {
    Candidate& c = candidates_[i];
    c.forecaster = make_forecaster(models[i], shape_);
    c.values.resize(static_cast<std::size_t>(horizon_));
    if (settings.model == ForecastModel::kAuto) {
      c.errors.resize(window_refreshes_);
      c.loads.resize(window_refreshes_);
    }
  }
  view_.step = settings.resolution;
}

long long ForecastRunner::bucket_of(TimePoint t) const {
  return floor_div(t.time_since_epoch().count(), step_ms_);
}

TimePoint ForecastRunner::bucket_start(long long k) const {
  return TimePoint(Duration(k * step_ms_));
}

void ForecastRunner::observe(TimePoint at, double value) {
  if (!std::isfinite(value)) return;
  const long long k = bucket_of(at);
  const long long size = static_cast<long long>(ring_.size());
  if (!any_) {
    any_ = true;
    newest_ = k;
    std::fill(ring_.begin(), ring_.end(), Bucket{});
  } else if (k > newest_) {
    const long long clear = std::min(k - newest_, size);
    for (long long j = 1; j <= clear; ++j) {
      ring_[slot(newest_ + j)] = Bucket{};
    }
    newest_ = k;
  } else if (k <= newest_ - size) {
    return;  // older than the kept history
  }
  Bucket& b = ring_[slot(k)];
  b.sum += value;
  b.max = b.count == 0 ? value : std::max(b.max, value);
  ++b.count;
}

std::optional<double> ForecastRunner::bucket_value(long long k) const {
  const long long size = static_cast<long long>(ring_.size());
  if (!any_ || k > newest_ || k <= newest_ - size) return std::nullopt;
  const Bucket& b = ring_[slot(k)];
  if (b.count == 0) return std::nullopt;
  return settings_.statistic == BucketStatistic::kMax ? b.max : b.sum / b.count;
}

std::size_t ForecastRunner::slot(long long k) const {
  const long long size = static_cast<long long>(ring_.size());
  return static_cast<std::size_t>(((k % size) + size) % size);
}

std::optional<long long> ForecastRunner::newest_bucket() const {
  if (!any_) return std::nullopt;
  return newest_;
}

bool ForecastRunner::due(TimePoint now) const {
  if (!made_at_) return true;
  const long long since = (now - *made_at_).count();
  return since >= interval_ms_ || since < 0;
}

bool ForecastRunner::usable(ForecastModel model, int length, std::span<const double> raw) const {
  const int n = static_cast<int>(raw.size());
  if (model == ForecastModel::kRecentMean) {
    // Any datapoint in the last day.
    for (int i = std::max(0, n - shape_.day); i < n; ++i) {
      if (!std::isnan(raw[static_cast<std::size_t>(i)])) return true;
    }
    return false;
  }
  const int need = min_history_steps(model, shape_);
  if (length < need || need > n) return false;
  int gaps = 0;
  for (int i = n - need; i < n; ++i) gaps += std::isnan(raw[static_cast<std::size_t>(i)]) ? 1 : 0;
  return 2 * gaps <= need;
}

void ForecastRunner::score_previous(Candidate& c, long long now_bucket) {
  if (!c.have || c.errors.empty()) return;
  double error = 0, load = 0;
  const long long end = std::min(now_bucket, c.start + static_cast<long long>(c.values.size()));
  for (long long k = c.start; k < end; ++k) {
    const auto actual = bucket_value(k);
    if (!actual) continue;
    error += std::fabs(c.values[static_cast<std::size_t>(k - c.start)] - *actual);
    load += std::fabs(*actual);
  }
  if (load <= 0 && error <= 0) return;
  const std::size_t size = c.errors.size();
  const std::size_t slot = (c.head + c.count) % size;
  if (c.count == size) {
    c.head = (c.head + 1) % size;
  } else {
    ++c.count;
  }
  c.errors[slot] = error;
  c.loads[slot] = load;
  // Re-summed (not updated) so that rounding never drifts.
  c.error_sum = 0;
  c.load_sum = 0;
  for (std::size_t i = 0; i < c.count; ++i) {
    c.error_sum += c.errors[(c.head + i) % size];
    c.load_sum += c.loads[(c.head + i) % size];
  }
}

std::optional<double> ForecastRunner::score(ForecastModel model) const {
  for (const Candidate& c : candidates_) {
    if (c.forecaster->model() != model) continue;
    if (c.count == 0 || !(c.load_sum > 0)) return std::nullopt;
    return c.error_sum / c.load_sum;
  }
  return std::nullopt;
}

void ForecastRunner::refresh(TimePoint now) {
  made_at_ = now;
  const long long kn = bucket_of(now);
  const int n = shape_.max_history;
  int first = -1;
  for (int i = 0; i < n; ++i) {
    const auto mean = bucket_value(kn - n + i);
    raw_[static_cast<std::size_t>(i)] = mean ? *mean : kNaN;
    if (mean && first < 0) first = i;
  }
  const bool automatic = settings_.model == ForecastModel::kAuto;
  if (automatic) {
    for (Candidate& c : candidates_) score_previous(c, kn);
  }
  view_ = ForecastView{};
  view_.step = settings_.resolution;
  for (Candidate& c : candidates_) c.have = false;
  if (first < 0) return;

  const int length = n - first;
  std::copy(raw_.begin() + first, raw_.end(), history_.begin());
  const std::span<double> history(history_.data(), static_cast<std::size_t>(length));
  impute_gaps(history, shape_.day);

  // Parameters are searched at the first refresh of each day (UTC) and kept in between.
  const long long day = floor_div(kn, shape_.day);
  const bool search = !searched_day_ || *searched_day_ != day;
  searched_day_ = day;
  Candidate* chosen = nullptr;
  double best = std::numeric_limits<double>::infinity();
  for (Candidate& c : candidates_) {
    if (!usable(c.forecaster->model(), length, raw_)) continue;
    const bool made = search ? c.forecaster->forecast(history, c.values)
                             : c.forecaster->update(history, c.values);
    if (!made) continue;
    c.have = true;
    c.start = kn;
    if (!automatic) {
      chosen = &c;
      break;
    }
    const double s = c.count > 0 && c.load_sum > 0 ? c.error_sum / c.load_sum
                                                   : std::numeric_limits<double>::infinity();
    if (chosen == nullptr || s < best) {
      chosen = &c;
      best = s;
    }
  }
  if (chosen == nullptr) return;
  std::copy(chosen->values.begin(), chosen->values.end(), output_.begin());
  view_.made_at = now;
  view_.start = bucket_start(kn);
  view_.values = std::span<const double>(output_.data(), output_.size());
  view_.model = chosen->forecaster->model();
}

}  // namespace tide::forecast
