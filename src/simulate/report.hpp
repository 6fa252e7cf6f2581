// What `tide simulate` prints and writes from a SimulationReport (docs/simulate.md, "Output"):
// the terminal table (default), the --json document and the --report HTML page. Pure functions of
// the report: the same report gives the same bytes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/time.hpp"
#include "simulate/result.hpp"

namespace tide::sim {

// The terminal table: two header lines (scenario; trace, span, step, gaps), one row per policy
// with cost, SLO, elasticity, speedup vs hpa and actions in aligned columns, and a legend of the
// abbreviated column names. Fits in 120 columns for policy names up to 20 characters (longer
// names are shortened with "~"). Values that are not finite print as "-".
std::string format_table(const SimulationReport& report);

// The --json document: {"scenario","trace","start","end","step_seconds","steps","gap_steps",
// "policies":[{"name","kind","cost":{"instance_hours","charged_hours","money"},"cost_vs_oracle",
// "slo":{"late_or_dropped_pct","dropped_pct","under_provisioned_time_pct"},"elasticity":{"theta_u",
// "theta_o","tau_u","tau_o","upsilon","a_u","a_o","jitter"},"elastic_speedup_vs_hpa",
// "actions":{"scale_out","scale_in"},"decisions"}]}, keys in this order. Times are RFC 3339;
// numbers that are not finite are null.
nlohmann::ordered_json report_to_json(const SimulationReport& report);

// The --report page: one self-contained HTML document (inline CSS, SVG and JS; no external
// assets): the results table, then per policy a chart of demand, supply (ready) and capacity
// (desired) over the whole trace that zooms (drag to select, double-click or "whole trace" to
// reset, or a worst-period button), and the worst periods at full resolution as separate charts.
// Every text from the report is escaped.
std::string render_html(const SimulationReport& report);

// &, <, >, " and ' as entities.
std::string html_escape(std::string_view text);

// Time-axis ticks (the HTML page's JS computes the same ones when zooming): at most `max_ticks`
// round instants in [from, to] (1 s ... 7 d apart, then calendar months and years), UTC.
// `label` is the tick's own text ("14:30", "Jun 12", "Jun", "1998"); `context` the coarser part
// ("1998-06-12", "1998"), set on the first tick and where it changes, empty elsewhere.
struct TimeTick {
  TimePoint at;
  std::string label;
  std::string context;
};
std::vector<TimeTick> time_ticks(TimePoint from, TimePoint to, int max_ticks);

}  // namespace tide::sim
