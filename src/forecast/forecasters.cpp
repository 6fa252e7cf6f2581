// The forecasting models (forecaster.hpp, docs/predictive.md "Forecasters").
#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "forecast/forecaster.hpp"

namespace tide::forecast {
namespace {

constexpr ForecastModel kConcrete[] = {
    ForecastModel::kHoltWintersAdditiveWeekly,
    ForecastModel::kHoltWintersAdditiveDaily,
    ForecastModel::kSeasonalNaiveWeekly,
    ForecastModel::kSeasonalNaiveDaily,
    ForecastModel::kRegression,
    ForecastModel::kHoltWintersMultiplicativeWeekly,
    ForecastModel::kHoltWintersMultiplicativeDaily,
    ForecastModel::kRecentMean,
};

// Writes `v` to every forecast step, clamped to >= 0 (and 0 for a non-finite `v`).
void fill(std::span<double> out, double v) {
  std::fill(out.begin(), out.end(), std::isfinite(v) && v > 0 ? v : 0.0);
}

// A forecast value made safe: finite and >= 0; a non-finite value is replaced by `fallback`.
double safe(double v, double fallback) {
  if (!std::isfinite(v)) v = fallback;
  return v > 0 ? v : 0.0;
}

double mean_of(std::span<const double> x) {
  if (x.empty()) return 0;
  double sum = 0;
  for (double v : x) sum += v;
  return sum / static_cast<double>(x.size());
}

// ---- recent mean ------------------------------------------------------------------------------
// The mean of the last hour (at least one step): the fallback when nothing seasonal is possible.
class RecentMean final : public Forecaster {
 public:
  explicit RecentMean(const Shape& shape) : shape_(shape) {}
  ForecastModel model() const override { return ForecastModel::kRecentMean; }
  bool forecast(std::span<const double> history, std::span<double> out) override {
    const int n = static_cast<int>(history.size());
    if (n < 1 || n > shape_.max_history || static_cast<int>(out.size()) > shape_.max_horizon) {
      return false;
    }
    const int k = std::min(n, std::max(1, shape_.day / 24));
    fill(out, mean_of(history.subspan(static_cast<std::size_t>(n - k))));
    return true;
  }

 private:
  Shape shape_;
};

// ---- seasonal naive ---------------------------------------------------------------------------
// Tomorrow (next week) repeats today (this week): y(n + h) = y(n + h - m).
class SeasonalNaive final : public Forecaster {
 public:
  SeasonalNaive(ForecastModel model, int season, const Shape& shape)
      : model_(model), season_(season), shape_(shape) {}
  ForecastModel model() const override { return model_; }
  bool forecast(std::span<const double> history, std::span<double> out) override {
    const int n = static_cast<int>(history.size());
    const int m = season_;
    if (n < m || n > shape_.max_history || static_cast<int>(out.size()) > shape_.max_horizon) {
      return false;
    }
    for (std::size_t h = 0; h < out.size(); ++h) {
      out[h] = safe(history[static_cast<std::size_t>(n - m + static_cast<int>(h) % m)], 0);
    }
    return true;
  }

 private:
  ForecastModel model_;
  int season_;
  Shape shape_;
};

// ---- Holt-Winters -----------------------------------------------------------------------------
// Triple exponential smoothing with an additive or multiplicative season of m steps and an
// optional (damped) trend. Initialised from the first season (level, seasonal indices) and, when
// there are two, the trend from the difference of their means; the smoothing parameters are the
// set of a fixed grid with the least squared one-step-ahead error over the history (forecast()),
// or those of the last search (update(): one pass instead of 27).
// Multiplicative guards: the level never falls below a floor (1e-6 of the mean), a seasonal index
// divides only once floored at 0.05 and is clamped to [0, 50], so zeros and near-zero levels
// cannot blow the forecast up.
class HoltWinters final : public Forecaster {
 public:
  HoltWinters(ForecastModel model, int season, bool multiplicative, const Shape& shape)
      : model_(model),
        season_(season),
        multiplicative_(multiplicative),
        shape_(shape),
        seasonal_(static_cast<std::size_t>(season)) {}
  ForecastModel model() const override { return model_; }

  bool forecast(std::span<const double> history, std::span<double> out) override {
    return fit(history, out, true);
  }
  bool update(std::span<const double> history, std::span<double> out) override {
    return fit(history, out, !fitted_);
  }

 private:
  bool fit(std::span<const double> history, std::span<double> out, bool search) {
    const int n = static_cast<int>(history.size());
    const int m = season_;
    if (n < m + 1 || n > shape_.max_history || static_cast<int>(out.size()) > shape_.max_horizon) {
      return false;
    }
    mean_ = mean_of(history);
    floor_ = 1e-6 * mean_ + 1e-12;

    Params best = params_;
    double best_sse = std::numeric_limits<double>::infinity();
    if (search) {
      for (double alpha : kAlphas) {
        for (double gamma : kGammas) {
          for (const Trend& trend : kTrends) {
            const Params p{alpha, trend.beta, gamma, trend.phi, trend.on};
            const double sse = run(history, p);
            if (sse < best_sse) {
              best_sse = sse;
              best = p;
            }
          }
        }
      }
      params_ = best;
      fitted_ = std::isfinite(best_sse);
    } else {
      best_sse = run(history, best);
    }
    if (!std::isfinite(best_sse)) {
      // Nothing fitted (non-finite data slipped through): repeat the last season.
      for (std::size_t h = 0; h < out.size(); ++h) {
        out[h] = safe(history[static_cast<std::size_t>(n - m + static_cast<int>(h) % m)], 0);
      }
      return true;
    }
    run(history, best);
    const double last = history[static_cast<std::size_t>(n - 1)];
    double damp = 0, phi_h = 1;
    for (std::size_t h = 0; h < out.size(); ++h) {
      phi_h *= best.phi;
      damp += phi_h;
      const double s = seasonal_[static_cast<std::size_t>((n + static_cast<int>(h)) % m)];
      const double base = level_ + damp * trend_;
      // A level at its floor is a level of zero (all zeros in: zeros out).
      out[h] = safe(multiplicative_ ? (base > 2 * floor_ ? base : 0.0) * s : base + s, last);
    }
    return true;
  }

  struct Params {
    double alpha = 0.3, beta = 0, gamma = 0.2, phi = 1;
    bool trend = false;
  };
  struct Trend {
    bool on;
    double beta, phi;
  };
  static constexpr std::array<double, 3> kAlphas = {0.1, 0.3, 0.6};
  static constexpr std::array<double, 3> kGammas = {0.05, 0.2, 0.5};
  static constexpr std::array<Trend, 3> kTrends = {Trend{false, 0.0, 1.0}, Trend{true, 0.05, 0.98},
                                                   Trend{true, 0.05, 1.0}};

  // Initialises from the first season(s), smooths over the rest; leaves the final state in
  // level_, trend_ and seasonal_ and returns the sum of squared one-step-ahead errors.
  double run(std::span<const double> x, const Params& p) {
    const int n = static_cast<int>(x.size());
    const int m = season_;
    const double first = mean_of(x.first(static_cast<std::size_t>(m)));
    double b = 0;
    if (p.trend && n >= 2 * m) {
      const double second =
          mean_of(x.subspan(static_cast<std::size_t>(m), static_cast<std::size_t>(m)));
      b = (second - first) / m;
    }
    const double mid = (m - 1) / 2.0;
    double l = first + b * mid;  // the level at the end of the first season
    double seasonal_sum = 0;
    for (int i = 0; i < m; ++i) {
      const double base = first + b * (i - mid);
      double s = multiplicative_ ? x[static_cast<std::size_t>(i)] / std::max(base, floor_)
                                 : x[static_cast<std::size_t>(i)] - base;
      if (multiplicative_) s = std::clamp(s, 0.0, kMaxIndex);
      seasonal_[static_cast<std::size_t>(i)] = s;
      seasonal_sum += s;
    }
    if (multiplicative_) {
      // Normalise the indices to a mean of 1 (all-zero first season: flat indices).
      const double mean_index = seasonal_sum / m;
      for (double& s : seasonal_) s = mean_index > 0 ? s / mean_index : 1.0;
      l = std::max(l, floor_);
    }

    double sse = 0;
    for (int t = m; t < n; ++t) {
      const double v = x[static_cast<std::size_t>(t)];
      double& s = seasonal_[static_cast<std::size_t>(t % m)];
      const double projected = l + p.phi * b;
      if (multiplicative_) {
        const double e = v - std::max(projected, 0.0) * s;
        sse += e * e;
        double next = p.alpha * v / std::max(s, 0.05) + (1 - p.alpha) * projected;
        next = std::max(next, floor_);
        b = p.trend ? p.beta * (next - l) + (1 - p.beta) * p.phi * b : 0.0;
        l = next;
        s = std::clamp(p.gamma * v / l + (1 - p.gamma) * s, 0.0, kMaxIndex);
      } else {
        const double e = v - (projected + s);
        sse += e * e;
        const double next = p.alpha * (v - s) + (1 - p.alpha) * projected;
        b = p.trend ? p.beta * (next - l) + (1 - p.beta) * p.phi * b : 0.0;
        l = next;
        s = p.gamma * (v - l) + (1 - p.gamma) * s;
      }
    }
    level_ = l;
    trend_ = b;
    return std::isfinite(sse) ? sse : std::numeric_limits<double>::infinity();
  }

  static constexpr double kMaxIndex = 50.0;

  ForecastModel model_;
  int season_;
  bool multiplicative_;
  Shape shape_;
  std::vector<double> seasonal_;
  double level_ = 0, trend_ = 0, mean_ = 0, floor_ = 0;
  Params params_;        // of the last parameter search
  bool fitted_ = false;  // params_ come from a search
};

// ---- regression on recent and seasonal lags
// ------------------------------------------------------ y(t) = c0 + c1 y(t-1) + c2 y(t-2) + c3
// y(t-3) + cD y(t-day) [+ cW y(t-week)], least squares with a tiny ridge on the series scaled by
// its mean, forecast recursively (forecasts feed the recent lags). The weekly lag is used once the
// history holds a week and a day. Forecasts are clamped to [0, 3 x the history's maximum] so that
// an unstable fit cannot run away.
class Regression final : public Forecaster {
 public:
  explicit Regression(const Shape& shape)
      : shape_(shape), forecasts_(static_cast<std::size_t>(shape.max_horizon)) {}
  ForecastModel model() const override { return ForecastModel::kRegression; }

  bool forecast(std::span<const double> history, std::span<double> out) override {
    const int n = static_cast<int>(history.size());
    const int day = shape_.day;
    const int week = 7 * day;
    const int horizon = static_cast<int>(out.size());
    if (n < 2 * day || n > shape_.max_history || horizon > shape_.max_horizon) return false;
    const bool weekly = n >= week + day;
    const int p = weekly ? 6 : 5;
    const int first = weekly ? week : day;

    double scale = mean_of(history);
    double peak = 0;
    for (double v : history) peak = std::max(peak, v);
    if (!(scale > 0)) {
      fill(out, 0);
      return true;
    }
    const double inv = 1.0 / scale;

    // Normal equations A c = r over t in [first, n).
    std::array<double, 36> a{};
    std::array<double, 6> r{};
    std::array<double, 6> f{};
    auto features = [&](auto value_at, int t) {
      f[0] = 1;
      f[1] = value_at(t - 1);
      f[2] = value_at(t - 2);
      f[3] = value_at(t - 3);
      f[4] = value_at(t - day);
      if (weekly) f[5] = value_at(t - week);
    };
    auto hist = [&](int t) { return history[static_cast<std::size_t>(t)] * inv; };
    for (int t = first; t < n; ++t) {
      features(hist, t);
      const double y = hist(t);
      for (int i = 0; i < p; ++i) {
        r[i] += f[i] * y;
        for (int j = 0; j <= i; ++j) a[i * 6 + j] += f[i] * f[j];
      }
    }
    const double ridge = 1e-6 * (n - first);
    for (int i = 0; i < p; ++i) a[i * 6 + i] += ridge;
    std::array<double, 6> c{};
    if (!solve(a, r, p, c)) {
      // Singular even with the ridge: repeat yesterday.
      for (int h = 0; h < horizon; ++h) {
        out[static_cast<std::size_t>(h)] =
            safe(history[static_cast<std::size_t>(n - day + h % day)], 0);
      }
      return true;
    }
    const double cap = 3.0 * peak * inv;
    auto value = [&](int t) {
      return t < n ? history[static_cast<std::size_t>(t)] * inv
                   : forecasts_[static_cast<std::size_t>(t - n)];
    };
    for (int h = 0; h < horizon; ++h) {
      features(value, n + h);
      double y = 0;
      for (int i = 0; i < p; ++i) y += c[i] * f[i];
      if (!std::isfinite(y)) y = value(n + h - day);
      forecasts_[static_cast<std::size_t>(h)] = std::clamp(y, 0.0, cap);
    }
    for (int h = 0; h < horizon; ++h) {
      out[static_cast<std::size_t>(h)] = safe(forecasts_[static_cast<std::size_t>(h)] * scale, 0);
    }
    return true;
  }

 private:
  // Cholesky solve of the symmetric system (lower triangle of `a`, row-major 6x6) in place.
  static bool solve(std::array<double, 36>& a, const std::array<double, 6>& r, int p,
                    std::array<double, 6>& c) {
    for (int j = 0; j < p; ++j) {
      double d = a[j * 6 + j];
      for (int k = 0; k < j; ++k) d -= a[j * 6 + k] * a[j * 6 + k];
      if (!(d > 0)) return false;
      const double l = std::sqrt(d);
      a[j * 6 + j] = l;
      for (int i = j + 1; i < p; ++i) {
        double s = a[i * 6 + j];
        for (int k = 0; k < j; ++k) s -= a[i * 6 + k] * a[j * 6 + k];
        a[i * 6 + j] = s / l;
      }
    }
    std::array<double, 6> y{};
    for (int i = 0; i < p; ++i) {
      double s = r[i];
      for (int k = 0; k < i; ++k) s -= a[i * 6 + k] * y[k];
      y[i] = s / a[i * 6 + i];
    }
    for (int i = p - 1; i >= 0; --i) {
      double s = y[i];
      for (int k = i + 1; k < p; ++k) s -= a[k * 6 + i] * c[k];
      c[i] = s / a[i * 6 + i];
    }
    for (int i = 0; i < p; ++i) {
      if (!std::isfinite(c[i])) return false;
    }
    return true;
  }

  Shape shape_;
  std::vector<double> forecasts_;  // scaled forecasts, read back as recent lags
};

}  // namespace

Shape shape_for(Duration resolution, Duration history, int horizon_steps) {
  Shape s;
  const long long step = std::max<long long>(1, resolution.count());
  s.day = static_cast<int>(
      std::max<long long>(1, std::chrono::milliseconds(std::chrono::hours(24)).count() / step));
  s.max_history = static_cast<int>(std::max<long long>(1, history.count() / step));
  s.max_horizon = std::max(1, horizon_steps);
  return s;
}

int min_history_steps(ForecastModel model, const Shape& shape) {
  const int day = shape.day;
  switch (model) {
    case ForecastModel::kRecentMean:
      return 1;
    case ForecastModel::kSeasonalNaiveDaily:
      return day;
    case ForecastModel::kSeasonalNaiveWeekly:
      return 7 * day;
    case ForecastModel::kHoltWintersAdditiveDaily:
    case ForecastModel::kHoltWintersMultiplicativeDaily:
    case ForecastModel::kRegression:
      return 2 * day;
    case ForecastModel::kHoltWintersAdditiveWeekly:
    case ForecastModel::kHoltWintersMultiplicativeWeekly:
      return 8 * day;
    case ForecastModel::kAuto:
      return 1;
  }
  return 1;
}

ForecastModel fallback_of(ForecastModel model) {
  switch (model) {
    case ForecastModel::kSeasonalNaiveWeekly:
      return ForecastModel::kSeasonalNaiveDaily;
    case ForecastModel::kHoltWintersAdditiveWeekly:
      return ForecastModel::kHoltWintersAdditiveDaily;
    case ForecastModel::kHoltWintersMultiplicativeWeekly:
      return ForecastModel::kHoltWintersMultiplicativeDaily;
    default:
      return ForecastModel::kRecentMean;
  }
}

std::span<const ForecastModel> concrete_models() {
  return kConcrete;
}

std::unique_ptr<Forecaster> make_forecaster(ForecastModel model, const Shape& shape) {
  const int day = shape.day;
  switch (model) {
    case ForecastModel::kSeasonalNaiveDaily:
      return std::make_unique<SeasonalNaive>(model, day, shape);
    case ForecastModel::kSeasonalNaiveWeekly:
      return std::make_unique<SeasonalNaive>(model, 7 * day, shape);
    case ForecastModel::kHoltWintersAdditiveDaily:
      return std::make_unique<HoltWinters>(model, day, false, shape);
    case ForecastModel::kHoltWintersAdditiveWeekly:
      return std::make_unique<HoltWinters>(model, 7 * day, false, shape);
    case ForecastModel::kHoltWintersMultiplicativeDaily:
      return std::make_unique<HoltWinters>(model, day, true, shape);
    case ForecastModel::kHoltWintersMultiplicativeWeekly:
      return std::make_unique<HoltWinters>(model, 7 * day, true, shape);
    case ForecastModel::kRegression:
      return std::make_unique<Regression>(shape);
    case ForecastModel::kRecentMean:
    case ForecastModel::kAuto:
      return std::make_unique<RecentMean>(shape);
  }
  return std::make_unique<RecentMean>(shape);
}

int impute_gaps(std::span<double> values, int day) {
  const int n = static_cast<int>(values.size());
  int finite = 0;
  int first = -1;
  for (int i = 0; i < n; ++i) {
    double& v = values[static_cast<std::size_t>(i)];
    if (std::isfinite(v)) {
      if (v < 0) v = 0;
      ++finite;
      if (first < 0) first = i;
    } else {
      v = std::numeric_limits<double>::quiet_NaN();
    }
  }
  if (first < 0) return 0;
  for (int i = 0; i < first; ++i)
    values[static_cast<std::size_t>(i)] = values[static_cast<std::size_t>(first)];
  for (int i = first + 1; i < n; ++i) {
    double& v = values[static_cast<std::size_t>(i)];
    if (!std::isnan(v)) continue;
    // Earlier values are already imputed, so a gap longer than a day repeats the last day.
    v = i - day >= first ? values[static_cast<std::size_t>(i - day)]
                         : values[static_cast<std::size_t>(i - 1)];
  }
  return finite;
}

}  // namespace tide::forecast
