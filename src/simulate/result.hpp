// What one replay of one policy produced: the figures of the report (cost, SLO, elasticity,
// actions) and bounded curves for the charts. Memory is bounded by the number of curve points,
// not by the trace length.
#pragma once

#include <string>
#include <vector>

#include "core/time.hpp"

namespace tide::sim {

// ../shared/ELASTICITY.md, all in % except a_u/a_o (instances) and jitter (changes per minute).
// Steps with d_t = 0 are counted with max(d_t, 1) in the denominators of theta; gap steps are left
// out of every metric (their time is not in T).
struct Elasticity {
  double theta_u = 0, theta_o = 0;  // under/over-provisioning accuracy
  double tau_u = 0, tau_o = 0;      // under/over-provisioning timeshare
  double upsilon = 0;               // instability
  double a_u = 0, a_o = 0;          // BUNGEE absolute accuracy (instances)
  double jitter = 0;                // (E_S - E_D) / T_minutes
};

struct Cost {
  double instance_hours = 0;  // booting, ready and draining time of every instance
  double charged_hours = 0;   // under the billing rule
  double money = 0;           // charged_hours x price
};

struct Slo {
  double late_or_dropped_pct = 0;         // share of work that waited beyond slo_wait or dropped
  double dropped_pct = 0;                 // of which dropped
  double under_provisioned_time_pct = 0;  // share of time with d_t > s_t (= tau_u)
};

// One point of a chart: over a bucket of steps, the maximum demand and minimum supply (so
// shortfalls stay visible when downsampled), and the desired capacity at its end.
struct CurvePoint {
  TimePoint at;
  double load = 0;  // mean load rate in the bucket (NaN if all gap)
  int demand = 0;   // max d_t
  int supply = 0;   // min s_t (ready)
  int desired = 0;  // the policy's capacity (ready + booting) at the end of the bucket
  // The capacity the group's predictive policies' forecasts asked for (the largest; also with
  // forecast_only), the highest in the bucket; -1 without a forecast.
  int forecast = -1;
};

// A stretch of the trace at full resolution, kept for the report's zoom: the worst periods by
// under-provisioning (instance-seconds short).
struct Window {
  std::string label;
  std::vector<CurvePoint> points;
};

struct PolicyResult {
  std::string name;
  std::string kind;   // "group", "preset:hpa", ..., "oracle", "static-peak"
  std::string error;  // non-empty: the replay could not run (e.g. an unknown metric source)
  Cost cost;
  double cost_vs_oracle = 0;
  Slo slo;
  Elasticity elasticity;
  // Geometric mean over theta_u, theta_o, tau_u, tau_o, upsilon of hpa_metric / metric, each
  // floored at 1e-3.
  double elastic_speedup_vs_hpa = 0;
  int scale_out = 0, scale_in = 0;  // actions
  long long decisions = 0;
  std::vector<CurvePoint> curve;  // at most kCurvePoints
  std::vector<Window> worst;      // at most kWorstWindows
};

inline constexpr int kCurvePoints = 2000;
inline constexpr int kWorstWindows = 3;

struct SimulationReport {
  std::string scenario;
  std::string trace;
  TimePoint start;
  TimePoint end;
  Duration step{0};
  long long steps = 0;
  long long gap_steps = 0;
  std::vector<PolicyResult> policies;  // in scenario order; oracle and static-peak included
};

}  // namespace tide::sim
