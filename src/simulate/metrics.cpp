#include "simulate/metrics.hpp"

#include <cmath>
#include <limits>
#include <utility>

#include <fmt/format.h>

namespace tide::sim {

namespace {
constexpr std::size_t kWindowSteps = 200;
}  // namespace

// ---- billing ---------------------------------------------------------------------------------

Cost BillingMeter::cost() const {
  Cost c;
  c.instance_hours = static_cast<double>(instance_ms_) / static_cast<double>(kMsPerHour);
  c.charged_hours = static_cast<double>(charged_ms_) / static_cast<double>(kMsPerHour);
  c.money = c.charged_hours * price_;
  return c;
}

// ---- work ------------------------------------------------------------------------------------

WorkQueue::WorkQueue(const WorkloadModel& model, long long tick_ms)
    : slo_(static_cast<double>(std::max<long long>(0, model.slo_wait.count())) * 1e-3),
      limit_(model.queue_limit > 0 ? model.queue_limit : 0) {
  const long long slo_ms = std::max<long long>(0, model.slo_wait.count());
  const long long slots = (tick_ms > 0 ? slo_ms / tick_ms : 0) + 3;
  ring_.resize(static_cast<std::size_t>(slots));
}

void WorkQueue::push(const Chunk& c) {
  if (count_ == ring_.size()) {
    // Cannot happen with the tick given at construction (chunks are at most slo_wait old); grow
    // rather than lose work if a caller used longer ticks.
    std::vector<Chunk> bigger(ring_.size() * 2);
    for (std::size_t i = 0; i < count_; ++i) bigger[i] = ring_[(head_ + i) % ring_.size()];
    ring_.swap(bigger);
    head_ = 0;
  }
  ring_[(head_ + count_) % ring_.size()] = c;
  ++count_;
}

void WorkQueue::recount() {
  double q = overdue_;
  for (std::size_t i = 0; i < count_; ++i) q += ring_[(head_ + i) % ring_.size()].amount();
  queued_ = q;
  empty_ = count_ == 0 && !(overdue_ > 0);
}

// Serves the front of chunk `c` from server time `y` at `capacity` per second, FIFO. A unit that
// arrived at x is served at y + (x - x0) * density / capacity, so its wait is linear in x and the
// late part (wait > slo) is an interval. Returns the work served.
double WorkQueue::serve_chunk(Chunk& c, double& y, double& budget, double capacity) {
  const double amount = c.amount();
  const double s = std::min(amount, budget);
  const double xs = s >= amount ? c.x1 : c.x0 + s / c.density;
  const double k = c.density / capacity - 1.0;  // d(wait)/dx
  const double w0 = y - c.x0 - slo_;            // wait of the front minus slo
  double late_len = 0;
  if (k == 0) {
    late_len = w0 > 0 ? xs - c.x0 : 0;
  } else if (k > 0) {
    const double from = std::max(c.x0, c.x0 - w0 / k);
    late_len = std::max(0.0, xs - from);
  } else if (w0 > 0) {
    const double to = std::min(xs, c.x0 + w0 / -k);
    late_len = std::max(0.0, to - c.x0);
  }
  late_ += c.density * late_len;
  y += s / capacity;
  budget -= s;
  c.x0 = xs;
  return s;
}

double WorkQueue::tick_slow(long long t0_ms, long long dt_ms, double rate, double capacity) {
  const double t0 = static_cast<double>(t0_ms) * 1e-3;
  const double dt = static_cast<double>(dt_ms) * 1e-3;
  const double t1 = t0 + dt;
  const double arriving = rate * dt;
  if (capacity < 0) capacity = 0;
  double budget = capacity * dt;

  if (!(limit_ > 0)) {
    // No queue at all: served on arrival up to the capacity, the rest dropped at once.
    const double served = std::min(arriving, budget);
    dropped_ += arriving - served;
    return served;
  }

  double served = 0;
  double y = t0;  // server time: when the next unit of queued work can start being served
  if (overdue_ > 0 && budget > 0) {
    const double s = std::min(overdue_, budget);
    overdue_ -= s;
    budget -= s;
    late_ += s;
    served += s;
    y += s / capacity;
  }
  while (count_ > 0 && budget > 0) {
    Chunk& c = ring_[head_];
    served += serve_chunk(c, y, budget, capacity);
    if (c.x0 >= c.x1) {
      head_ = (head_ + 1) % ring_.size();
      --count_;
    }
  }
  if (arriving > 0) {
    Chunk fresh{t0, t1, rate};
    if (budget > 0) served += serve_chunk(fresh, y, budget, capacity);
    if (fresh.x0 < fresh.x1) push(fresh);
  }

  // Tail drop: within a tick the queue grows or shrinks linearly, so what exceeds the limit at the
  // end of the tick is exactly what a full queue would have turned away.
  recount();
  double excess = queued_ - limit_;
  if (excess > 0) {
    dropped_ += excess;
    while (excess > 0 && count_ > 0) {
      Chunk& c = ring_[(head_ + count_ - 1) % ring_.size()];
      const double a = c.amount();
      if (a <= excess) {
        excess -= a;
        --count_;
      } else {
        c.x1 -= excess / c.density;
        excess = 0;
      }
    }
    if (excess > 0) overdue_ = std::max(0.0, overdue_ - excess);
  }

  // Work that has already waited longer than slo_wait will be late whenever it is served.
  const double cutoff = t1 - slo_;
  while (count_ > 0) {
    Chunk& c = ring_[head_];
    if (c.x0 >= cutoff) break;
    if (c.x1 <= cutoff) {
      overdue_ += c.amount();
      head_ = (head_ + 1) % ring_.size();
      --count_;
    } else {
      overdue_ += c.density * (cutoff - c.x0);
      c.x0 = cutoff;
      break;
    }
  }
  recount();
  return served;
}

void WorkQueue::finish() {
  recount();
  late_ += queued_;
  overdue_ = 0;
  count_ = 0;
  head_ = 0;
  recount();
}

// ---- metrics ---------------------------------------------------------------------------------

Metrics::Metrics(const Trace& trace) : trace_(&trace) {
  const std::size_t n = std::max<std::size_t>(1, trace.size());
  const std::size_t points = static_cast<std::size_t>(kCurvePoints);
  bucket_steps_ = (n + points - 1) / points;
  window_steps_ = std::min(n, kWindowSteps);
  curve_.reserve(std::min(n, points));
  current_.points.reserve(window_steps_);
  worst_.reserve(static_cast<std::size_t>(kWorstWindows));
}

void Metrics::end_step() {
  if (demand_ >= 0) {
    if (prev_step_ok_) {
      ++step_pairs_;
      const long long ds = step_ready_ms_ - prev_step_ready_ms_;
      const int dd = demand_ - prev_demand_;
      const int sgn_s = (ds > 0) - (ds < 0);
      const int sgn_d = (dd > 0) - (dd < 0);
      if (sgn_s != sgn_d) ++unstable_pairs_;
      unit_changes_demand_ += std::abs(dd);
    }
    prev_step_ok_ = true;
    prev_demand_ = demand_;
    prev_step_ready_ms_ = step_ready_ms_;
  } else {
    prev_step_ok_ = false;
  }

  const CurvePoint p{trace_->time_at(index_),      load_,    std::max(demand_, 0),
                     std::max(step_min_ready_, 0), desired_, forecast_};
  const bool last = index_ + 1 >= trace_->size();

  // Curve bucket: max demand, min supply, desired at the end, mean load of non-gap steps.
  if (bucket_fill_ == 0) {
    bucket_ = p;
    bucket_load_ = 0;
    bucket_load_n_ = 0;
  } else {
    bucket_.demand = std::max(bucket_.demand, p.demand);
    bucket_.supply = std::min(bucket_.supply, p.supply);
    bucket_.desired = p.desired;
    bucket_.forecast = std::max(bucket_.forecast, p.forecast);
  }
  if (!std::isnan(load_)) {
    bucket_load_ += load_;
    ++bucket_load_n_;
  }
  if (++bucket_fill_ == bucket_steps_ || last) {
    bucket_.load = bucket_load_n_ > 0 ? bucket_load_ / bucket_load_n_
                                      : std::numeric_limits<double>::quiet_NaN();
    curve_.push_back(bucket_);
    bucket_fill_ = 0;
  }

  // Worst-window candidate at full resolution.
  if (current_.points.empty()) current_.first = index_;
  current_.points.push_back(p);
  current_.short_ms += step_short_ms_;
  if (current_.points.size() >= window_steps_ || last) close_window();
}

void Metrics::close_window() {
  if (current_.short_ms > 0) {
    const std::size_t k = static_cast<std::size_t>(kWorstWindows);
    if (worst_.size() < k) {
      worst_.push_back(std::move(current_));
      current_ = WindowBuffer{};
      current_.points.reserve(window_steps_);
    } else {
      // Replace the least bad (the latest of equals), if this one is worse.
      std::size_t least = 0;
      for (std::size_t i = 1; i < worst_.size(); ++i) {
        if (worst_[i].short_ms <= worst_[least].short_ms) least = i;
      }
      if (current_.short_ms > worst_[least].short_ms) std::swap(worst_[least], current_);
    }
  }
  current_.short_ms = 0;
  current_.points.clear();
}

void Metrics::finish(const WorkQueue& work, PolicyResult& out) {
  Elasticity& e = out.elasticity;
  e = Elasticity{};
  if (time_ms_ > 0) {
    const double t = static_cast<double>(time_ms_);
    e.theta_u = 100.0 * theta_u_ / t;
    e.theta_o = 100.0 * theta_o_ / t;
    e.tau_u = 100.0 * static_cast<double>(under_ms_) / t;
    e.tau_o = 100.0 * static_cast<double>(over_ms_) / t;
    e.a_u = static_cast<double>(short_ms_) / t;
    e.a_o = static_cast<double>(excess_ms_) / t;
    e.jitter = static_cast<double>(unit_changes_supply_ - unit_changes_demand_) / (t / 60'000.0);
  }
  if (step_pairs_ > 0) {
    e.upsilon = 100.0 * static_cast<double>(unstable_pairs_) / static_cast<double>(step_pairs_);
  }

  out.slo = Slo{};
  if (work.arrived() > 0) {
    out.slo.late_or_dropped_pct = 100.0 * (work.late() + work.dropped()) / work.arrived();
    out.slo.dropped_pct = 100.0 * work.dropped() / work.arrived();
  }
  out.slo.under_provisioned_time_pct = e.tau_u;

  out.curve = curve_;
  std::vector<WindowBuffer> sorted = worst_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const WindowBuffer& a, const WindowBuffer& b) {
    return a.short_ms > b.short_ms || (a.short_ms == b.short_ms && a.first < b.first);
  });
  out.worst.clear();
  for (const WindowBuffer& w : sorted) {
    Window win;
    const TimePoint from = trace_->time_at(w.first);
    const TimePoint to = trace_->time_at(w.first + w.points.size());
    win.label =
        fmt::format("{} .. {}: {:.3g} instance-hours short", format_time(from), format_time(to),
                    static_cast<double>(w.short_ms) / static_cast<double>(kMsPerHour));
    win.points = w.points;
    out.worst.push_back(std::move(win));
  }
}

}  // namespace tide::sim
