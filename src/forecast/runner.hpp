// The forecast of one predictive policy, kept up to date by a driver (the simulator, the engine,
// `tide forecast`): it gathers the metric's history in buckets of the resolution, recomputes the
// forecast every forecast interval (not at every evaluation) and hands decide() a ForecastView.
//
// History. observe() gathers datapoints into buckets of `resolution` aligned to the unix epoch,
// each keeping the mean or the highest of its datapoints (settings.statistic); a bucket without a
// datapoint is a gap. Only the last `history` of buckets is kept (a ring).
//
// Refresh at `now`: the history is the `history` window of buckets before now's bucket; leading
// gaps are dropped, inner gaps imputed (impute_gaps). The forecast starts at now's bucket and runs
// `horizon` buckets: the forecast interval plus the policy's lead plus one, so that until the next
// refresh every window [t, t + lead] a decision asks about is covered.
//
// Model choice. A configured model is used when the history allows it (at least its minimum
// history, and at most half of the most recent minimum-history span gaps); otherwise its fallback
// (weekly -> daily -> recent-mean). `auto` runs every model whose history suffices at each refresh
// and scores each one's previous forecast against the buckets that have since been observed
// (absolute error over absolute load, summed over the last `kAutoWindow` of refreshes: a rolling
// backtest); the model with the lowest error wins, and without any score yet the first usable one
// in concrete_models() order.
//
// Parameters: models with fitted parameters (Holt-Winters) search them at the first refresh of
// each UTC day and keep them for the day's other refreshes (Forecaster::update).
//
// Allocation: everything is sized at construction; observe() and refresh() allocate nothing.
// Deterministic: the same datapoints and refresh times give the same forecasts, bit for bit.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "forecast/forecaster.hpp"
#include "policy/observation.hpp"
#include "policy/spec.hpp"

namespace tide::forecast {

// Refreshes `auto` scores over: one week of refreshes (at least 24).
inline constexpr Duration kAutoWindow = std::chrono::hours(24 * 7);

class ForecastRunner {
 public:
  // `lead`: how far past a decision the policy looks (boot delay + scheduling buffer).
  ForecastRunner(const ForecastSettings& settings, Duration lead);
  ForecastRunner(const ForecastRunner&) = delete;
  ForecastRunner& operator=(const ForecastRunner&) = delete;

  // A datapoint of the metric measured at `at`. Non-finite values are ignored (no data).
  // Datapoints older than the history window (relative to the newest) are dropped.
  void observe(TimePoint at, double value);

  // Whether the forecast should be recomputed at `now`: never made, or made at least one
  // interval before `now` (or in `now`'s future: a clock that went back).
  bool due(TimePoint now) const;

  // Recomputes the forecast from the history before now's bucket.
  void refresh(TimePoint now);

  // The current forecast (empty before the first refresh that had any history). Points into the
  // runner's buffer: valid until the next refresh().
  const ForecastView& view() const { return view_; }

  // Buckets: index k covers [k x resolution, (k + 1) x resolution) since the epoch.
  long long bucket_of(TimePoint t) const;
  TimePoint bucket_start(long long k) const;
  // The value of bucket k (the mean or the highest of its datapoints, as the settings say), when
  // it is inside the kept history and has a datapoint.
  std::optional<double> bucket_value(long long k) const;
  // The newest bucket with a datapoint (nullopt before the first).
  std::optional<long long> newest_bucket() const;

  const ForecastSettings& settings() const { return settings_; }
  int horizon() const { return horizon_; }
  const Shape& shape() const { return shape_; }

  // auto: the model's current score (absolute error / absolute load over the window), when it
  // has one.
  std::optional<double> score(ForecastModel model) const;

 private:
  struct Bucket {
    double sum = 0;
    double max = 0;
    int count = 0;
  };
  struct Candidate {
    std::unique_ptr<Forecaster> forecaster;
    std::vector<double> values;  // the last forecast, `horizon_` long
    long long start = 0;         // its first bucket
    bool have = false;
    // Ring of (error, load) per refresh.
    std::vector<double> errors, loads;
    std::size_t head = 0, count = 0;
    double error_sum = 0, load_sum = 0;
  };

  std::size_t slot(long long k) const;
  bool usable(ForecastModel model, int length, std::span<const double> raw) const;
  void score_previous(Candidate& c, long long now_bucket);

  ForecastSettings settings_;
  Shape shape_;
  int horizon_ = 1;
  long long step_ms_ = 1;
  long long interval_ms_ = 1;

  std::vector<Bucket> ring_;  // shape_.max_history + 2 buckets, by k modulo size
  long long newest_ = 0;
  bool any_ = false;

  std::vector<double> raw_;            // the history window of a refresh, NaN for gaps
  std::vector<double> history_;        // the same, imputed
  std::vector<Candidate> candidates_;  // auto: every concrete model; else the model's chain
  std::vector<double> output_;         // the view's values
  std::optional<TimePoint> made_at_;
  std::optional<long long> searched_day_;  // the day whose first refresh searched parameters
  ForecastView view_;
  std::size_t window_refreshes_ = 24;
};

}  // namespace tide::forecast
