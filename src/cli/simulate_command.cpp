// tide simulate SCENARIO.yaml: loads the scenario and its trace, replays every policy
// (simulate/simulator.hpp) and prints the table, or the JSON document, and writes the HTML page
// (simulate/report.hpp). With --dump-situations it also writes every Nth decision of every group
// as a `tide decide` situation next to the decision the simulator made.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <set>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/situation.hpp"
#include "policy/decision.hpp"
#include "simulate/report.hpp"
#include "simulate/scenario.hpp"
#include "simulate/simulator.hpp"
#include "simulate/trace.hpp"

namespace tide::cli {
namespace {

// A policy name as a file name: letters, digits, '.', '_' and '-' kept, anything else '_'.
std::string file_safe(std::string_view name) {
  std::string out;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    out += ok ? c : '_';
  }
  if (out.empty() || out[0] == '.') out.insert(out.begin(), '_');
  return out;
}

bool write_file(const std::filesystem::path& path, const std::string& text, std::ostream& err) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << text;
  file.close();
  if (!file) {
    err << path.string() << ": error: cannot write the file\n";
    return false;
  }
  return true;
}

// Replays each group policy once more with an observer that writes every `sample`-th decision:
// DIR/<policy>-<n>.json (the situation, as `tide decide` reads it) and DIR/<policy>-<n>.expected
// ({"desired", "bound_by", "current", "at"}: what the simulator decided). n counts decisions
// from 0.
bool dump_situations(const sim::Scenario& scenario, const sim::Trace& trace, const std::string& dir,
                     long long sample, std::ostream& err) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    err << dir << ": error: cannot create the directory: " << ec.message() << '\n';
    return false;
  }
  bool ok = true;
  for (const sim::ScenarioPolicy& policy : scenario.policies) {
    if (policy.kind != sim::PolicyKind::kGroup) continue;
    const std::string base = file_safe(policy.name);
    long long n = 0;
    auto observer = [&](const GroupSpec& spec, const Observation& obs, const GroupHistory& history,
                        TimePoint now, const Decision& decision) {
      const long long index = n++;
      if (!ok || index % sample != 0) return;
      const nlohmann::json situation = situation_to_json(policy.group_json, obs, history, now);
      nlohmann::json expected = {
          {"desired", decision.desired},
          {"bound_by",
           decision.bound_by ? nlohmann::json(stage_name(*decision.bound_by)) : nlohmann::json()},
          {"current", decision.current},
          {"at", format_time(now)},
          {"group", spec.name}};
      const std::filesystem::path stem =
          std::filesystem::path(dir) / fmt::format("{}-{}", base, index);
      ok = write_file(stem.string() + ".json", situation.dump(2) + "\n", err) &&
           write_file(stem.string() + ".expected", expected.dump() + "\n", err);
    };
    const sim::PolicyResult result =
        sim::simulate_group(trace, scenario.model, policy.group, observer);
    if (!result.error.empty()) continue;  // reported with the results
    if (!ok) return false;
  }
  return ok;
}

}  // namespace

int run_simulate(const SimulateOptions& options, std::ostream& out, std::ostream& err) {
  if (options.sample < 1) {
    err << "tide simulate: error: --sample must be at least 1\n";
    return 1;
  }
  auto scenario = sim::load_scenario(options.scenario);
  if (!scenario) {
    for (const Diagnostic& d : scenario.error()) err << format_diagnostic(d) << '\n';
    return 1;
  }

  if (!options.policies.empty()) {
    std::set<std::string> wanted(options.policies.begin(), options.policies.end());
    for (const std::string& name : wanted) {
      const bool known = std::any_of(scenario->policies.begin(), scenario->policies.end(),
                                     [&](const sim::ScenarioPolicy& p) { return p.name == name; });
      if (!known) {
        std::string names;
        for (const sim::ScenarioPolicy& p : scenario->policies) {
          names += fmt::format("{}{}", names.empty() ? "" : ", ", p.name);
        }
        err << fmt::format("{}: error: --policy {}: no such policy (the scenario has: {})\n",
                           options.scenario, name, names);
        return 1;
      }
    }
    // The references of the ratios stay: hpa (speedup) and the oracle (cost).
    std::erase_if(scenario->policies, [&](const sim::ScenarioPolicy& p) {
      return !wanted.contains(p.name) && p.preset != "hpa" && p.kind != sim::PolicyKind::kOracle;
    });
  }

  auto trace = sim::load_trace(scenario->trace);
  if (!trace) {
    err << trace.error() << '\n';
    return 1;
  }

  if (!options.dump_dir.empty() &&
      !dump_situations(*scenario, *trace, options.dump_dir, options.sample, err)) {
    return 1;
  }

  const sim::SimulationReport report = sim::run_scenario(*scenario, *trace, options.threads);

  if (options.json) {
    out << sim::report_to_json(report).dump(2) << '\n';
  } else {
    out << sim::format_table(report);
  }
  if (!options.report.empty()) {
    if (!write_file(options.report, sim::render_html(report), err)) return 1;
    if (!options.json) out << "\nreport: " << options.report << '\n';
  }

  int code = 0;
  for (const sim::PolicyResult& p : report.policies) {
    if (!p.error.empty()) {
      err << fmt::format("{}: error: policy {}: {}\n", options.scenario, p.name, p.error);
      code = 1;
    }
  }
  return code;
}

}  // namespace tide::cli
