// tide tune (docs/predictive.md, "tide tune"): searches each policy family's parameters on a
// scenario's trace for the cheapest configuration that meets an SLO.
//
// Families. `hpa`, `aws-target-tracking` and `kpa` are the reactive presets with their knobs
// (target, tolerance, windows, rate limits, ...); `predictive` is a predictive policy (forecaster,
// forecast target, scheduling buffer) combined with HPA-style target tracking (target, tolerance,
// scale-down window) by the usual largest-proposal rule, searched jointly from scratch;
// `predictive+hpa`, `predictive+aws-target-tracking` and `predictive+kpa` add the predictive
// policy to a reactive family's group (the forecast's parameters, then the reactive family's).
// Each family has a grid of values per parameter (tune.cpp lists them); every candidate is one
// full replay (simulate_group) of the group it writes, in the config language, parsed by the
// config loader.
//
// Search. Per family, first a random search: the preset's own configuration plus `samples` - 1
// further workable grid points drawn at random without repetition (all of them when there are
// fewer), from a generator seeded by `seed` and the family's name. Then local refinement: rounds
// that replay every unseen neighbour of the family's incumbent (its cheapest candidate meeting
// the SLO, or its least under-provisioned when none does yet) on the grid, one parameter moved by
// one step, until the incumbent survives a round or `refine` more candidates were replayed.
// Every family is searched the same way, except that a stacked `predictive+<base>` family is
// searched after the others and its random sample keeps the base's parameters at the base's
// incumbent (its preset when the base is not searched), varying the forecast only; refinement
// then moves any parameter. So it starts from the tuned reactive configuration and asks what a
// forecast adds to it. The same seed gives the same candidates and the same
// results, whatever the number of threads. Candidates run in parallel on `threads` threads (0:
// every core).
//
// Over-fitting. The trace is split at `split` (by default 2/3 of its steps): candidates are
// replayed and chosen on the first part only; the winner of each family is then replayed over
// the whole trace and its figures are counted on the held-out part alone (the first part only
// warms it up: its history and forecasts), so they come from load the search never saw.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "simulate/result.hpp"
#include "simulate/scenario.hpp"
#include "simulate/trace.hpp"

namespace tide::sim {

// "under_provisioned_time_pct <= 1": a figure of the result, a comparison, a number.
struct SloRule {
  std::string metric;  // under_provisioned_time_pct, late_or_dropped_pct, dropped_pct, theta_u
  std::string op;      // <=, <, >=, >
  double value = 0;
};
Result<SloRule> parse_slo(std::string_view text);
std::string format_slo(const SloRule& rule);
// The figure a rule reads from a result.
double slo_figure(const PolicyResult& result, std::string_view metric);
bool meets(const PolicyResult& result, const std::vector<SloRule>& slo);

// The families tide tune knows, in report order.
const std::vector<std::string>& tune_families();

struct TuneOptions {
  std::vector<SloRule> slo;           // empty: under_provisioned_time_pct <= 1
  std::vector<std::string> families;  // empty: every family
  int samples = 40;                   // random candidates per family (the preset's included)
  int refine = 40;                    // further candidates per family for local refinement
  std::uint64_t seed = 1;
  double split = 2.0 / 3.0;  // share of the trace's steps the search sees
  int threads = 0;           // 0: every core
  // Called after each replay (from worker threads, one call at a time).
  std::function<void(std::size_t done, std::size_t total)> progress;
};

// The figures tide tune compares and reports.
struct TuneFigures {
  double money = 0;
  double instance_hours = 0;
  double under_pct = 0;  // under_provisioned_time_pct
  double late_pct = 0;   // late_or_dropped_pct
  int actions = 0;       // scale-outs + scale-ins
  std::string error;     // the replay failed
};

struct TuneCandidate {
  std::vector<std::pair<std::string, std::string>> params;  // name, value (as in the YAML)
  std::string yaml;                                         // the group, config language
  TuneFigures tune;                                         // on the tune part
  bool meets = false;                                       // the SLO on the tune part
};

struct TuneFamily {
  std::string name;
  bool predictive = false;
  std::size_t grid = 0;  // workable configurations in the family's grid
  std::vector<TuneCandidate> candidates;
  int best = -1;            // the cheapest candidate meeting the SLO on the tune part
  std::vector<int> pareto;  // candidates on the cost / under-provisioning front, by cost
  TuneFigures held_out;     // the best's figures on the held-out part
  bool held_out_meets = false;
};

struct TuneReport {
  std::string scenario;
  std::string trace;
  TimePoint start, split_at, end;
  long long tune_steps = 0, held_out_steps = 0;
  std::vector<SloRule> slo;
  std::uint64_t seed = 0;
  int samples = 0;
  std::vector<TuneFamily> families;
  // The offline optimum on the held-out part (a lower bound of every policy's cost there): the
  // oracle of tide simulate replayed on the held-out steps alone.
  TuneFigures oracle_held_out;
};

// Runs the search. Errors: an unknown family, a bad split, a trace too short to split, a source
// name the families need that the scenario already uses.
Result<TuneReport> run_tune(const Scenario& scenario, const Trace& trace,
                            const TuneOptions& options);

// The best reactive family and the predictive one on the held-out part (indexes into
// report.families, -1 when none): among the families whose best meets the SLO on the held-out
// part, the cheapest; when none does, the cheapest best.
struct TuneComparison {
  int reactive = -1;
  int predictive = -1;
  double ratio = 0;  // predictive money / reactive money on the held-out part (0: not defined)
};
TuneComparison compare_families(const TuneReport& report);

// Output (tune_report.cpp).
std::string format_tune_table(const TuneReport& report);
nlohmann::ordered_json tune_report_to_json(const TuneReport& report);
std::string render_tune_html(const TuneReport& report);
// The winners as scenario policy entries ("- group: ..."), each with a comment giving its
// figures; ready to paste into a scenario's `policies:` or, with a target and real metric
// sources, into a tide run config's `groups:`.
std::string winners_yaml(const TuneReport& report);

}  // namespace tide::sim
