// Streaming accumulators shared by every replay (a group, the static allocation, the oracle): the
// billing of instance runs, the work model (served, queued, late, dropped) and the figures of
// ../shared/ELASTICITY.md with bounded curves. Each takes one value at a time and keeps a constant
// amount of memory, whatever the trace length. Deterministic: integer milliseconds where possible,
// doubles summed in trace order.
//
// Time inside a replay is measured in milliseconds since the trace start (`long long`). A replay
// walks the trace step by step; each step is cut into ticks of equal length (the simulation
// tick), and the supply is constant over a tick.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <vector>

#include "simulate/model.hpp"
#include "simulate/result.hpp"
#include "simulate/trace.hpp"

namespace tide::sim {

inline constexpr long long kMsPerHour = 3'600'000;

// d_t = ceil(load / capacity_per_instance), computed as load x (1 / capacity) with 1e-9 absorbing
// binary representation error (0.3 x 10 = 3.0000000000000004 is 3 instances, not 4). Negative
// loads count as 0, gaps (NaN) give -1, a non-positive capacity gives 0. Every replay uses this
// one function, so the group, the static allocation and the oracle see the same demand.
class DemandOf {
 public:
  explicit DemandOf(double capacity_per_instance)
      : inverse_(capacity_per_instance > 0 ? 1.0 / capacity_per_instance : 0.0) {}
  int operator()(double load) const {
    if (std::isnan(load)) return -1;
    const double q = load * inverse_ - 1e-9;
    if (!(q > 0)) return 0;
    if (q >= 2147483647.0) return 2147483647;
    const int whole = static_cast<int>(q);  // truncation = floor for q > 0
    return whole < q ? whole + 1 : whole;
  }

 private:
  double inverse_;
};

inline int demand_of(double load, double capacity_per_instance) {
  return DemandOf(capacity_per_instance)(load);
}

// ---- billing ---------------------------------------------------------------------------------
// Charges instance runs (launch -> stop + drain, in ms) under the billing rule:
//  - kPerSecond: the run's exact length, at least `minimum` (tide bills milliseconds, so a run is
//    never rounded up to a whole second);
//  - kPerHour: every started hour of the run in full.
class BillingMeter {
 public:
  explicit BillingMeter(const WorkloadModel& model)
      : per_hour_(model.billing.kind == BillingKind::kPerHour),
        minimum_ms_(std::max<long long>(0, model.billing.minimum.count())),
        price_(model.price_per_hour) {}

  // What one run of `run_ms` costs, in charged milliseconds.
  long long charged_ms(long long run_ms) const {
    if (run_ms < 0) run_ms = 0;
    if (per_hour_) return (run_ms + kMsPerHour - 1) / kMsPerHour * kMsPerHour;
    return std::max(run_ms, minimum_ms_);
  }
  void charge(long long run_ms) {
    instance_ms_ += std::max(0LL, run_ms);
    charged_ms_ += charged_ms(run_ms);
  }
  Cost cost() const;
  long long instance_ms() const { return instance_ms_; }
  long long total_charged_ms() const { return charged_ms_; }

 private:
  bool per_hour_;
  long long minimum_ms_;
  double price_;
  long long instance_ms_ = 0;
  long long charged_ms_ = 0;
};

// ---- work ------------------------------------------------------------------------------------
// The work model, a fluid FIFO queue. In a tick [t0, t1) work arrives uniformly at `rate` (load
// units per second; work is measured in load units x seconds) and the ready instances serve up to
// `capacity` (ready x capacity_per_instance) per second, oldest work first. What cannot be served
// waits in the queue; what exceeds `queue_limit` at the end of a tick is dropped, newest first.
//
// Late work: work is late when it is served more than `slo_wait` after it arrived (exact FIFO
// waiting time of the fluid model: a unit that arrived at x and is served at y waited y - x).
// Work still queued when the trace ends counts as late. Work served on arrival is never late.
// Gaps: no arrivals (rate 0), the queue is still served.
class WorkQueue {
 public:
  WorkQueue(const WorkloadModel& model, long long tick_ms);

  // One tick starting at `t0_ms`; returns the work served in it.
  double tick(long long t0_ms, long long dt_ms, double rate, double capacity) {
    const double dt = static_cast<double>(dt_ms) * 1e-3;
    const double arriving = rate * dt;
    arrived_ += arriving;
    if (empty_ && rate <= capacity) return arriving;  // the common case: served on arrival
    return tick_slow(t0_ms, dt_ms, rate, capacity);
  }
  // Ends the replay: what is still queued is late.
  void finish();
  // Forgets the work counted so far (arrived, late, dropped); queued work stays queued.
  void reset_counts() { arrived_ = late_ = dropped_ = 0; }

  double queued() const { return queued_; }  // work waiting now (load units x seconds)
  double arrived() const { return arrived_; }
  double late() const { return late_; }
  double dropped() const { return dropped_; }

 private:
  struct Chunk {
    double x0 = 0, x1 = 0;  // arrival times (s since the trace start) of the work still queued
    double density = 0;     // work per second of arrival time
    double amount() const { return density * (x1 - x0); }
  };
  double tick_slow(long long t0_ms, long long dt_ms, double rate, double capacity);
  double serve_chunk(Chunk& c, double& y, double& budget, double capacity);
  void push(const Chunk& c);
  void recount();

  double slo_ = 0;    // slo_wait in seconds
  double limit_ = 0;  // queue_limit
  // Queued work, oldest first: `overdue_` has already waited longer than slo_wait (it is late
  // whenever it is served), the chunks have not. Chunks are at most slo_wait old, so the ring
  // needs slo_wait / tick + 2 slots.
  double overdue_ = 0;
  std::vector<Chunk> ring_;
  std::size_t head_ = 0, count_ = 0;
  bool empty_ = true;
  double queued_ = 0;
  double arrived_ = 0, late_ = 0, dropped_ = 0;
};

// ---- elasticity, SLO and curves ----------------------------------------------------------------
// Feed it the replay step by step: begin_step() with the step's load and demand, then add_tick()
// for each tick of the step (the ticks of a step add up to the step), then end_step(). Supply is
// the ready instance count. Definitions (ELASTICITY.md), over the non-gap time T only:
//   theta_u/o = 100/T sum max(d-s,0)/max(d,1) dt (resp. s-d), tau_u/o = 100/T sum [d>s] dt,
//   a_u/o = sum max(d-s,0) dt / T, computed per tick (exact integrals of the step functions);
//   upsilon compares consecutive non-gap trace steps: s of a step is its time-averaged ready count
//   and the share of step pairs where sgn(delta s) != sgn(delta d) is reported;
//   jitter = (E_S - E_D) / T in minutes, where E_S counts the unit changes of the ready curve tick
//   by tick and E_D those of the demand step by step, neither across a gap.
class Metrics {
 public:
  // `trace` gives the start, step and length (for curve buckets and window labels); it is kept by
  // reference and must outlive the Metrics.
  explicit Metrics(const Trace& trace);

  void begin_step(std::size_t index, double load, int demand) {
    index_ = index;
    load_ = load;
    demand_ = demand;
    inv_demand_ = 1.0 / static_cast<double>(std::max(demand, 1));
    step_ready_ms_ = 0;
    step_min_ready_ = -1;
    step_short_ms_ = 0;
    if (demand < 0) have_prev_ready_ = false;
  }

  void add_tick(long long dt_ms, int ready, int desired) {
    step_ready_ms_ += static_cast<long long>(ready) * dt_ms;
    if (step_min_ready_ < 0 || ready < step_min_ready_) step_min_ready_ = ready;
    desired_ = desired;
    if (demand_ < 0) return;
    time_ms_ += dt_ms;
    if (have_prev_ready_) unit_changes_supply_ += std::abs(ready - prev_ready_);
    prev_ready_ = ready;
    have_prev_ready_ = true;
    const int diff = demand_ - ready;
    if (diff > 0) {
      theta_u_ += static_cast<double>(diff) * inv_demand_ * static_cast<double>(dt_ms);
      under_ms_ += dt_ms;
      short_ms_ += static_cast<long long>(diff) * dt_ms;
      step_short_ms_ += static_cast<long long>(diff) * dt_ms;
    } else if (diff < 0) {
      theta_o_ += static_cast<double>(-diff) * inv_demand_ * static_cast<double>(dt_ms);
      over_ms_ += dt_ms;
      excess_ms_ += static_cast<long long>(-diff) * dt_ms;
    }
  }

  void end_step();

  // The capacity the forecast asks for from now on (-1: none), until the next call.
  void set_forecast(int capacity) { forecast_ = capacity; }
  int forecast() const { return forecast_; }

  // Fills elasticity, slo (from `work`), curve and worst windows of `out`.
  void finish(const WorkQueue& work, PolicyResult& out);

  // Window length in steps for the worst-period zoom (and the bucket size of the curve).
  std::size_t window_steps() const { return window_steps_; }
  std::size_t bucket_steps() const { return bucket_steps_; }

 private:
  struct WindowBuffer {
    long long short_ms = 0;  // instance-milliseconds short
    std::size_t first = 0;   // first step
    std::vector<CurvePoint> points;
  };
  void close_window();

  const Trace* trace_;
  // Current step.
  std::size_t index_ = 0;
  double load_ = 0;
  int demand_ = -1;
  double inv_demand_ = 1;
  long long step_ready_ms_ = 0;
  int step_min_ready_ = -1;
  long long step_short_ms_ = 0;
  int desired_ = 0;
  int forecast_ = -1;

  // Elasticity sums over non-gap ticks.
  long long time_ms_ = 0;
  double theta_u_ = 0, theta_o_ = 0;
  long long under_ms_ = 0, over_ms_ = 0;
  long long short_ms_ = 0, excess_ms_ = 0;  // instance-milliseconds
  bool have_prev_ready_ = false;
  int prev_ready_ = 0;
  long long unit_changes_supply_ = 0, unit_changes_demand_ = 0;
  // Instability over consecutive non-gap steps.
  bool prev_step_ok_ = false;
  int prev_demand_ = 0;
  long long prev_step_ready_ms_ = 0;
  long long step_pairs_ = 0, unstable_pairs_ = 0;

  // Curve: fixed buckets of bucket_steps_ steps.
  std::size_t bucket_steps_ = 1;
  std::size_t bucket_fill_ = 0;
  double bucket_load_ = 0;
  int bucket_load_n_ = 0;
  CurvePoint bucket_;
  std::vector<CurvePoint> curve_;

  // Worst windows: tumbling windows of window_steps_ steps; the kWorstWindows with the most
  // instance-milliseconds short are kept (ties: the earlier one).
  std::size_t window_steps_ = 1;
  WindowBuffer current_;
  std::vector<WindowBuffer> worst_;
};

}  // namespace tide::sim
