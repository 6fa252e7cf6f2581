// The replay engine (docs/simulate.md, "The model"). One loop serves a group (decide() every
// interval) and a constant capacity (no decisions); the oracle (oracle.cpp) plans its supply
// offline and shares the accumulators of metrics.hpp.
//
// Time. The trace is a step function: the load is constant over a trace step. The simulation
// tick is gcd(trace step, group interval) (= the smaller of the two when one divides the other);
// the supply is constant over a tick, and decide() runs at the start of every interval-th tick,
// the first at the trace start. No wall clock, no randomness: integer milliseconds for time,
// doubles summed in trace order, so two runs give the same bits.
//
// Order inside a tick starting at t:
//   1. instances whose boot ends at or before t become ready (a boot that ends inside a tick
//      counts from the next tick: readiness is rounded up to the tick grid);
//   2. on a decision tick, each policy's reading is the latest datapoint visible at t, decide()
//      and record(..., applied = true, ...) run as in tide run, and the new capacity is applied:
//      a scale-out launches instances (billed from t, ready after boot_delay), a scale-in removes
//      booting instances first, then the newest ready ones (billed until t + drain_delay, serving
//      nothing from t). Billing stops at the trace end, for running and draining instances alike;
//   3. the work of the tick is served by the ready instances (metrics.hpp, WorkQueue);
//   4. the sources accumulate what they would measure over the tick.
#include "simulate/simulator.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>
#include <thread>

#include "simulate/metrics.hpp"

namespace tide::sim {

int demand_at(double load, const WorkloadModel& model) {
  return demand_of(load, model.capacity_per_instance);
}

namespace {

// The target's instances, oldest launch first. The newest are the booting ones (boot_delay is
// the same for all), so a scale-in that pops from the back removes booting instances first and
// then the newest ready ones. Two flat vectors, reused: no allocation per instance once they
// reached the largest capacity.
class Fleet {
 public:
  void reserve(std::size_t n) {
    ready_at_.reserve(n);
    bill_from_.reserve(n);
  }
  int size() const { return static_cast<int>(ready_at_.size()); }
  int ready() const { return static_cast<int>(ready_); }

  void launch(int n, long long now, long long ready_at) {
    for (int i = 0; i < n; ++i) {
      ready_at_.push_back(ready_at);
      bill_from_.push_back(now);
    }
  }
  void advance(long long now) {
    while (ready_ < ready_at_.size() && ready_at_[ready_] <= now) ++ready_;
  }
  // Nothing after the trace end (`end`) is billed, a drain included.
  void remove(int n, long long now, long long drain, long long end, BillingMeter& meter) {
    for (int i = 0; i < n && !ready_at_.empty(); ++i) {
      meter.charge(std::min(now + drain, end) - bill_from_.back());
      ready_at_.pop_back();
      bill_from_.pop_back();
    }
    ready_ = std::min(ready_, ready_at_.size());
  }
  // Every running instance is billed from `now` on, as if launched then (the start of a
  // measured part); what it ran before is forgotten.
  void rebill(long long now) { std::fill(bill_from_.begin(), bill_from_.end(), now); }
  // The trace ends: every instance still running is billed up to the end (no drain).
  void finish(long long end, BillingMeter& meter) {
    for (long long from : bill_from_) meter.charge(end - from);
    ready_at_.clear();
    bill_from_.clear();
    ready_ = 0;
  }

 private:
  std::vector<long long> ready_at_;
  std::vector<long long> bill_from_;
  std::size_t ready_ = 0;
};

// A simulated metric source: what the real source would report. Each tick adds its value
// (time-weighted); a datapoint averages the period [k*period, (k+1)*period) over the ticks where
// the value is defined (no data when none is) and becomes visible `delay` after the period ends.
// A reading is the latest visible datapoint; before the first one there is no data.
class SourceTracker {
 public:
  SourceTracker(const SimulatedSource& source, long long tick_ms)
      : kind_(source.kind),
        period_(source.period.count()),
        delay_(source.delay.count()),
        period_end_(source.period.count()) {
    const long long pending = delay_ / period_ + 2 + tick_ms / period_;
    ring_.resize(static_cast<std::size_t>(pending));
  }

  MetricKind kind() const { return kind_; }

  void add(long long t, long long dt, bool defined, double value) {
    const long long end = t + dt;
    long long cursor = t;
    while (period_end_ <= end) {
      if (defined) accumulate(value, period_end_ - cursor);
      finalize();
      cursor = period_end_;
      period_end_ += period_;
    }
    if (defined && cursor < end) accumulate(value, end - cursor);
  }

  // The reading at time `now` (ms since the trace start).
  const MetricReading& reading(long long now) {
    promote(now);
    return visible_;
  }

 private:
  struct Datapoint {
    long long visible_at = 0;
    bool ok = false;
    double value = 0;
  };
  void accumulate(double value, long long ms) {
    sum_ += value * static_cast<double>(ms);
    defined_ms_ += ms;
  }
  void finalize() {
    promote(period_end_);
    Datapoint d{period_end_ + delay_, defined_ms_ > 0,
                defined_ms_ > 0 ? sum_ / static_cast<double>(defined_ms_) : 0.0};
    if (count_ == ring_.size()) {
      // Cannot happen (promote keeps at most delay/period + 1 pending); keep the newest.
      head_ = (head_ + 1) % ring_.size();
      --count_;
    }
    ring_[(head_ + count_) % ring_.size()] = d;
    ++count_;
    sum_ = 0;
    defined_ms_ = 0;
  }
  void promote(long long now) {
    while (count_ > 0 && ring_[head_].visible_at <= now) {
      const Datapoint& d = ring_[head_];
      visible_.ok = d.ok;
      visible_.value = d.value;
      head_ = (head_ + 1) % ring_.size();
      --count_;
    }
  }

  MetricKind kind_;
  long long period_, delay_;
  long long period_end_;
  double sum_ = 0;
  long long defined_ms_ = 0;
  std::vector<Datapoint> ring_;
  std::size_t head_ = 0, count_ = 0;
  MetricReading visible_{};
};

std::string check_model(const Trace& trace, const WorkloadModel& model) {
  if (trace.step.count() <= 0) return "the trace has no positive step";
  if (!(model.capacity_per_instance > 0)) return "capacity_per_instance must be positive";
  if (model.boot_delay.count() < 0) return "boot_delay must not be negative";
  if (model.drain_delay.count() < 0) return "drain_delay must not be negative";
  if (model.billing.minimum.count() < 0) return "the billing minimum must not be negative";
  if (model.queue_limit < 0) return "queue_limit must not be negative";
  for (const SimulatedSource& s : model.sources) {
    if (s.period.count() <= 0) return "source '" + s.name + "': period must be positive";
    if (s.delay.count() < 0) return "source '" + s.name + "': delay must not be negative";
  }
  return {};
}

// Index into model.sources of each policy's metric source (-1 for policies without a metric).
std::string map_sources(const WorkloadModel& model, const GroupSpec& group,
                        std::vector<int>& policy_source) {
  policy_source.assign(group.policies.size(), -1);
  for (std::size_t p = 0; p < group.policies.size(); ++p) {
    if (group.policies[p].type() == PolicyType::kLambdaMemory) {
      return "policy '" + group.policies[p].name +
             "' (lambda-memory) sizes a function's memory from its duration; the simulator "
             "models instances serving a load, not memory";
    }
    const MetricRef* metric = group.policies[p].metric();
    if (metric == nullptr) continue;
    int found = -1;
    for (std::size_t s = 0; s < model.sources.size(); ++s) {
      if (model.sources[s].name == metric->source) {
        found = static_cast<int>(s);
        break;
      }
    }
    if (found < 0) {
      std::string known;
      for (const SimulatedSource& s : model.sources) {
        known += known.empty() ? "" : ", ";
        known += s.name;
      }
      return "policy '" + group.policies[p].name + "' reads source '" + metric->source +
             "', which the workload model does not simulate (sources: " +
             (known.empty() ? "none" : known) + ")";
    }
    policy_source[p] = found;
  }
  return {};
}

struct ReplayInput {
  const Trace* trace = nullptr;
  const WorkloadModel* model = nullptr;
  const GroupSpec* group = nullptr;  // nullptr: a constant capacity, no decisions
  const DecisionObserver* observer = nullptr;
  int initial = 0;
  long long tick_ms = 0;
  std::vector<int> policy_source;  // per policy: index into model.sources, or -1
  std::size_t measure_from = 0;
  std::vector<std::shared_ptr<const ForecastTrack>> tracks;  // per policy: predictive only
};

// The capacity the group's predictive policies' forecasts ask for in `decision` (the largest;
// forecast_only included), -1 when none has a forecast.
int forecast_capacity(const GroupSpec& group, const Decision& decision) {
  int out = -1;
  for (std::size_t p = 0; p < group.policies.size(); ++p) {
    const Proposal& proposal = decision.proposals[p];
    if (has_forecast(proposal)) out = std::max(out, proposal.forecast_capacity);
  }
  return out;
}

PolicyResult replay(const ReplayInput& in, PolicyResult result) {
  const Trace& trace = *in.trace;
  const WorkloadModel& model = *in.model;
  const GroupSpec* group = in.group;
  const long long tick = in.tick_ms;
  const long long step_ms = trace.step.count();
  const long long ticks_per_step = step_ms / tick;
  const long long ticks_per_decision = group != nullptr ? group->interval.count() / tick : 0;
  const long long boot = model.boot_delay.count();
  const long long drain = model.drain_delay.count();
  const double cap = model.capacity_per_instance;
  const long long end = static_cast<long long>(trace.size()) * step_ms;

  // Sources actually read by a policy, in model order; policy -> tracker index.
  std::vector<SourceTracker> trackers;
  std::vector<int> policy_tracker(in.policy_source.size(), -1);
  {
    std::vector<int> tracker_of_source(model.sources.size(), -1);
    for (std::size_t p = 0; p < in.policy_source.size(); ++p) {
      const int s = in.policy_source[p];
      if (s < 0) continue;
      if (tracker_of_source[s] < 0) {
        tracker_of_source[s] = static_cast<int>(trackers.size());
        trackers.emplace_back(model.sources[s], tick);
      }
      policy_tracker[p] = tracker_of_source[s];
    }
  }
  std::vector<MetricReading> readings(in.policy_source.size());
  std::vector<ForecastView> forecasts(in.policy_source.size());
  std::vector<std::size_t> track_pos(in.policy_source.size(), 0);

  Fleet fleet;
  fleet.reserve(static_cast<std::size_t>(std::max(in.initial, group ? group->max : 0)) + 1);
  fleet.launch(in.initial, 0, 0);
  fleet.advance(0);
  BillingMeter meter(model);
  WorkQueue work(model, tick);
  Metrics metrics(trace);
  GroupHistory history;
  const double util_scale = 100.0 / (cap * static_cast<double>(tick) * 1e-3);
  const DemandOf demand_of_load(cap);

  const bool predictive =
      group != nullptr &&
      std::any_of(group->policies.begin(), group->policies.end(),
                  [](const PolicySpec& p) { return p.type() == PolicyType::kPredictive; });

  long long t = 0;
  long long until_decision = 0;
  const std::size_t n = trace.size();
  for (std::size_t i = 0; i < n; ++i) {
    const double load = trace.load[i];
    const bool gap = std::isnan(load);
    const int demand = demand_of_load(load);
    const double rate = gap || !(load > 0) ? 0.0 : load;
    if (i == in.measure_from && i > 0) {
      // The held-out part starts: what came before only warmed the group up.
      fleet.rebill(t);
      meter = BillingMeter(model);
      const int forecast = metrics.forecast();
      metrics = Metrics(trace);
      metrics.set_forecast(forecast);
      work.reset_counts();
      result.decisions = 0;
      result.scale_out = 0;
      result.scale_in = 0;
    }
    metrics.begin_step(i, load, demand);
    for (long long k = 0; k < ticks_per_step; ++k) {
      fleet.advance(t);
      if (group != nullptr) {
        if (until_decision == 0) {
          for (std::size_t p = 0; p < readings.size(); ++p) {
            const int tr = policy_tracker[p];
            readings[p] = tr >= 0 ? trackers[tr].reading(t) : MetricReading{};
          }
          const int current = fleet.size();
          const int ready = fleet.ready();
          const TimePoint now = trace.start + Duration(t);
          for (std::size_t p = 0; p < in.tracks.size(); ++p) {
            const ForecastTrack* track = in.tracks[p].get();
            if (track == nullptr || track->size() == 0) continue;
            std::size_t& pos = track_pos[p];
            while (pos + 1 < track->size() && track->made_at[pos + 1] <= now) ++pos;
            forecasts[p] = track->made_at[pos] <= now ? track->view(pos) : ForecastView{};
          }
          const Observation obs{current, ready, current - ready, readings, forecasts};
          const Decision decision = decide(*group, obs, history, now);
          if (*in.observer) (*in.observer)(*group, obs, history, now, decision);
          record(*group, obs, decision, /*applied=*/true, history);
          if (predictive) metrics.set_forecast(forecast_capacity(*group, decision));
          ++result.decisions;
          if (decision.desired > current) {
            ++result.scale_out;
            fleet.launch(decision.desired - current, t, t + boot);
            fleet.advance(t);
          } else if (decision.desired < current) {
            ++result.scale_in;
            fleet.remove(current - decision.desired, t, drain, end, meter);
          }
          until_decision = ticks_per_decision;
        }
        --until_decision;
      }
      const int ready = fleet.ready();
      const double served = work.tick(t, tick, rate, static_cast<double>(ready) * cap);
      for (SourceTracker& tr : trackers) {
        switch (tr.kind()) {
          case MetricKind::kUtilization:
            tr.add(t, tick, !gap && ready > 0,
                   ready > 0 ? std::min(100.0, served * util_scale / ready) : 0.0);
            break;
          case MetricKind::kPerInstanceRate:
            tr.add(t, tick, !gap && ready > 0, ready > 0 ? rate / ready : 0.0);
            break;
          case MetricKind::kTotalRate:
            tr.add(t, tick, !gap, rate);
            break;
          case MetricKind::kBacklog:
            tr.add(t, tick, !gap, work.queued());
            break;
        }
      }
      metrics.add_tick(tick, ready, fleet.size());
      t += tick;
    }
    metrics.end_step();
  }
  fleet.finish(t, meter);
  work.finish();
  metrics.finish(work, result);
  result.cost = meter.cost();
  return result;
}

// Instances ready at the start: the model's initial_capacity, or the first known demand.
int initial_capacity(const Trace& trace, const WorkloadModel& model) {
  if (model.initial_capacity >= 0) return model.initial_capacity;
  for (double load : trace.load) {
    if (!std::isnan(load)) return std::max(0, demand_of(load, model.capacity_per_instance));
  }
  return 0;
}

PolicyResult failed(std::string name, std::string kind, std::string error) {
  PolicyResult r;
  r.name = std::move(name);
  r.kind = std::move(kind);
  r.error = std::move(error);
  return r;
}

double floored(double v) {
  return std::max(v, 1e-3);
}

}  // namespace

Result<std::shared_ptr<const ForecastTrack>> forecast_track_for(const Trace& trace,
                                                                const WorkloadModel& model,
                                                                const GroupSpec& group,
                                                                std::size_t index) {
  if (index >= group.policies.size()) {
    return fail(ErrorCode::kInvalidArgument, "no such policy");
  }
  const PolicySpec& policy = group.policies[index];
  const auto* predictive = std::get_if<PredictiveSpec>(&policy.spec);
  if (predictive == nullptr) {
    return fail(ErrorCode::kInvalidArgument,
                "policy '" + policy.name + "' is not a predictive policy");
  }
  const SimulatedSource* source = nullptr;
  for (const SimulatedSource& s : model.sources) {
    if (s.name == predictive->metric.source) source = &s;
  }
  if (source == nullptr) {
    return fail(ErrorCode::kInvalidArgument, "policy '" + policy.name + "' reads source '" +
                                                 predictive->metric.source +
                                                 "', which the workload model does not simulate");
  }
  if (source->kind != MetricKind::kTotalRate) {
    return fail(ErrorCode::kInvalidArgument,
                "predictive policy '" + policy.name + "' reads source '" + source->name +
                    "', which is not a total-rate source: a predictive policy forecasts the "
                    "group's load, which must not depend on the capacity");
  }
  return std::make_shared<const ForecastTrack>(
      make_forecast_track(trace, *source, predictive->forecast, predictive->lead()));
}

PolicyResult simulate_group(const Trace& trace, const WorkloadModel& model, const GroupSpec& group,
                            const DecisionObserver& observer) {
  ReplayOptions options;
  options.observer = observer;
  return simulate_group(trace, model, group, options);
}

PolicyResult simulate_group(const Trace& trace, const WorkloadModel& model, const GroupSpec& group,
                            const ReplayOptions& options) {
  const DecisionObserver& observer = options.observer;
  std::string error = check_model(trace, model);
  if (error.empty() && group.interval.count() <= 0) error = "the group's interval must be positive";
  if (error.empty() && group.policies.size() > static_cast<std::size_t>(kMaxPolicies)) {
    error = "a group holds at most " + std::to_string(kMaxPolicies) + " policies";
  }
  ReplayInput in;
  if (error.empty()) error = map_sources(model, group, in.policy_source);
  if (error.empty()) {
    in.tracks.resize(group.policies.size());
    for (std::size_t p = 0; p < group.policies.size() && error.empty(); ++p) {
      if (group.policies[p].type() != PolicyType::kPredictive) continue;
      if (p < options.tracks.size() && options.tracks[p]) {
        in.tracks[p] = options.tracks[p];
        continue;
      }
      auto track = forecast_track_for(trace, model, group, p);
      if (track) {
        in.tracks[p] = std::move(*track);
      } else {
        error = track.error().message;
      }
    }
  }
  if (!error.empty()) return failed(group.name, "group", error);
  in.measure_from = options.measure_from;

  in.trace = &trace;
  in.model = &model;
  in.group = &group;
  in.observer = &observer;
  in.tick_ms = std::gcd(trace.step.count(), group.interval.count());
  in.initial = std::clamp(initial_capacity(trace, model), std::min(group.min, group.max),
                          std::max(group.min, group.max));
  PolicyResult result;
  result.name = group.name;
  result.kind = "group";
  return replay(in, std::move(result));
}

PolicyResult simulate_static(const Trace& trace, const WorkloadModel& model, int capacity) {
  const std::string error = check_model(trace, model);
  if (!error.empty()) return failed("static", "static-peak", error);
  static const DecisionObserver kNone;
  ReplayInput in;
  in.trace = &trace;
  in.model = &model;
  in.observer = &kNone;
  in.tick_ms = trace.step.count();
  in.initial = std::max(0, capacity);
  PolicyResult result;
  result.name = "static";
  result.kind = "static-peak";
  return replay(in, std::move(result));
}

SimulationReport run_scenario(const Scenario& scenario, const Trace& trace, int threads) {
  SimulationReport report;
  report.scenario = scenario.name;
  report.trace = trace.name;
  report.start = trace.start;
  report.step = trace.step;
  report.steps = static_cast<long long>(trace.size());
  report.end = trace.start + trace.step * report.steps;
  int peak = 0;
  for (double load : trace.load) {
    if (std::isnan(load)) {
      ++report.gap_steps;
    } else {
      peak = std::max(peak, demand_of(load, scenario.model.capacity_per_instance));
    }
  }

  const std::size_t count = scenario.policies.size();
  report.policies.resize(count);
  auto run_one = [&](std::size_t i) {
    const ScenarioPolicy& p = scenario.policies[i];
    PolicyResult r;
    switch (p.kind) {
      case PolicyKind::kGroup:
        r = simulate_group(trace, scenario.model, p.group);
        r.kind = p.preset.empty() ? "group" : "preset:" + p.preset;
        break;
      case PolicyKind::kStaticPeak:
        r = simulate_static(trace, scenario.model, peak);
        r.kind = "static-peak";
        break;
      case PolicyKind::kOracle:
        r = simulate_oracle(trace, scenario.model);
        r.kind = "oracle";
        break;
    }
    r.name = p.name;
    report.policies[i] = std::move(r);
  };

  std::size_t workers =
      threads > 0 ? static_cast<std::size_t>(threads) : std::thread::hardware_concurrency();
  workers = std::clamp<std::size_t>(workers, 1, std::max<std::size_t>(count, 1));
  if (workers <= 1) {
    for (std::size_t i = 0; i < count; ++i) run_one(i);
  } else {
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> pool;
    pool.reserve(workers);
    for (std::size_t w = 0; w < workers; ++w) {
      pool.emplace_back([&] {
        for (std::size_t i = next.fetch_add(1); i < count; i = next.fetch_add(1)) run_one(i);
      });
    }
    for (std::thread& th : pool) th.join();
  }

  // Ratios to the references.
  const PolicyResult* oracle = nullptr;
  const PolicyResult* hpa = nullptr;
  for (std::size_t i = 0; i < count; ++i) {
    const PolicyResult& r = report.policies[i];
    if (!r.error.empty()) continue;
    if (scenario.policies[i].kind == PolicyKind::kOracle && oracle == nullptr) oracle = &r;
    if (scenario.policies[i].preset == "hpa" && hpa == nullptr) hpa = &r;
  }
  for (PolicyResult& r : report.policies) {
    if (!r.error.empty()) continue;
    // Undefined (0) when the oracle costs nothing (no demand at all).
    if (oracle != nullptr && oracle->cost.money > 0)
      r.cost_vs_oracle = r.cost.money / oracle->cost.money;
    if (hpa != nullptr) {
      const Elasticity& b = hpa->elasticity;
      const Elasticity& e = r.elasticity;
      const double log_sum = std::log(floored(b.theta_u) / floored(e.theta_u)) +
                             std::log(floored(b.theta_o) / floored(e.theta_o)) +
                             std::log(floored(b.tau_u) / floored(e.tau_u)) +
                             std::log(floored(b.tau_o) / floored(e.tau_o)) +
                             std::log(floored(b.upsilon) / floored(e.upsilon));
      r.elastic_speedup_vs_hpa = std::exp(log_sum / 5.0);
    }
  }
  return report;
}

}  // namespace tide::sim
