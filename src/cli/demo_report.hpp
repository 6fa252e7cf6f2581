// The account of a `tide demo` run: what the live view printed each second, the summary at the
// end and the HTML chart. Pure functions of the recorded samples (tested without processes).
#pragma once

#include <string>
#include <vector>

#include "cli/demo_load.hpp"

namespace tide::cli {

// One second of the demo, as observed.
struct DemoSample {
  int second = 0;
  std::string trace_time;  // the trace minute replayed at the start of this second
  double offered = 0;      // requests/s sent
  SecondStats requests;    // their outcomes
  int desired = 0;         // the target's capacity (processes asked for)
  int ready = 0;           // processes passing their readiness check
  int warming = 0;         // started, not ready yet
};

// A capacity change tide applied, from its decision log.
struct DemoAction {
  double at = 0;  // seconds since the demo started
  int from = 0, to = 0;
  std::string explanation;
};

// How each worker serves: `capacity_rps` is its throughput with every slot busy, `target_rps`
// the rate at which it runs at the policy's target utilization.
struct DemoModel {
  double capacity_rps = 0;
  double target_rps = 0;
  // A load step is offered load this far above what the capacity asked for carries at the target
  // (the policy's 10 % tolerance plus margin for the noise of a 1 s utilization window).
  double step_margin = 0.25;
  std::chrono::milliseconds slo{300};
};

struct DemoSummary {
  int seconds = 0;
  long long sent = 0, ok = 0, late = 0, rejected = 0, errors = 0;
  double p50_ms = 0, p95_ms = 0, p99_ms = 0;
  int scale_outs = 0, scale_ins = 0;
  int under_provisioned_seconds = 0;  // offered load above what the ready workers can serve
  double worker_seconds = 0;          // processes running (ready + warming), summed per second
  int peak_workers = 0;               // most processes asked for at once
  // Load steps: seconds where the offered load first exceeds what the capacity asked for can
  // carry at the target utilization (by more than DemoModel::step_margin), and how long until
  // tide applied a scale-out. `reactions` holds one delay per step answered within the run.
  int load_steps = 0;
  std::vector<double> reactions;
};

DemoSummary summarize(const std::vector<DemoSample>& samples,
                      const std::vector<DemoAction>& actions, const DemoModel& model);

// The summary as text for the terminal (several lines, no trailing newline).
std::string format_summary(const DemoSummary& summary);

// A self-contained HTML page (inline SVG, no external assets): load against ready capacity, the
// workers over time with tide's actions, the summary and the decision list.
std::string render_demo_html(const std::vector<DemoSample>& samples,
                             const std::vector<DemoAction>& actions, const DemoModel& model,
                             const DemoSummary& summary, const std::string& title);

// The q-quantile (0..1) of `values` (nearest rank); 0 when empty.
double quantile(std::vector<float> values, double q);

}  // namespace tide::cli
