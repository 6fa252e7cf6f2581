// Load forecasting for the predictive policy (docs/predictive.md). A Forecaster fits one model on
// a metric's recent history and forecasts the steps that follow it. Forecasters run outside
// decide() (the driver calls them on a schedule, see runner.hpp); the policy only reads their
// output.
//
// Series. A history is a regular series, oldest first, one value per step (the resolution), every
// value finite and >= 0: the runner imputes gaps before fitting (impute_gaps below). Seasons are
// whole numbers of steps (`day` and `week` steps of the resolution).
//
// Cost. Every buffer is allocated at construction, sized by the longest history and horizon the
// forecaster will see (Shape), so fitting and forecasting allocate nothing; a fit is O(history)
// (Holt-Winters: a fixed grid of 27 smoothing parameter sets, each one pass, or one pass with the
// last parameters; regression: one pass to accumulate the normal equations of a 6-parameter least
// squares problem).
#pragma once

#include <memory>
#include <span>

#include "policy/spec.hpp"

namespace tide::forecast {

// Sizes in steps of the resolution.
struct Shape {
  int day = 288;           // steps per day (288 at 5 minutes)
  int max_history = 4032;  // the longest history passed to forecast()
  int max_horizon = 24;    // the most steps forecast() is asked for
};

// Shape for a resolution, a history window and a horizon.
Shape shape_for(Duration resolution, Duration history, int horizon_steps);

// The least history each model needs, in steps (docs/predictive.md, "Minimum history"):
//   recent-mean                    1 step
//   seasonal-naive-daily           1 day      (repeats the last day)
//   seasonal-naive-weekly          7 days     (repeats the last week)
//   holt-winters-*-daily           2 days     (one season to initialise, one to smooth)
//   holt-winters-*-weekly          8 days     (one week to initialise, a day to smooth)
//   regression                     2 days     (daily lag; the weekly lag from 8 days on)
// AWS predictive scaling asks for 24 hours of history before it forecasts at all.
int min_history_steps(ForecastModel model, const Shape& shape);

// What a model falls back to when its history is too short or too gappy: weekly -> daily ->
// recent-mean; daily models and regression -> recent-mean; recent-mean -> itself.
ForecastModel fallback_of(ForecastModel model);

// Every concrete model (all but kAuto), in the order auto prefers them on ties.
std::span<const ForecastModel> concrete_models();

class Forecaster {
 public:
  virtual ~Forecaster() = default;

  virtual ForecastModel model() const = 0;

  // Fits the model on `history` (finite, >= 0, at most shape.max_history steps, at least
  // min_history_steps(model())) and writes forecasts for the out.size() (<= shape.max_horizon)
  // steps right after it. Forecasts are finite and >= 0. Returns false, leaving `out` untouched,
  // when the history is shorter than the model's minimum or the sizes exceed the shape.
  virtual bool forecast(std::span<const double> history, std::span<double> out) = 0;

  // As forecast(), but a model with fitted parameters (Holt-Winters' smoothing parameters) may
  // keep those of its last forecast() instead of searching them again: one pass over the history
  // instead of a search. The runner searches once a day and updates in between.
  virtual bool update(std::span<const double> history, std::span<double> out) {
    return forecast(history, out);
  }
};

// A forecaster for a concrete model (not kAuto), its buffers sized by `shape`.
std::unique_ptr<Forecaster> make_forecaster(ForecastModel model, const Shape& shape);

// Replaces the NaNs of `values` in place: by the value one day earlier when there is one (so a
// gap repeats yesterday's pattern), else by the last value before the gap, else (leading gaps) by
// the first finite value. Negative values become 0. Returns the number of finite values found;
// when it is 0 the series is left all NaN.
int impute_gaps(std::span<double> values, int day);

}  // namespace tide::forecast
