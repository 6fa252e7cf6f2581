// tide tune SCENARIO.yaml --slo RULE: the search of simulate/tune.hpp, with a progress bar (on a
// terminal only) and the table, JSON, HTML page and YAML of simulate/tune_report.cpp.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <ostream>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "simulate/scenario.hpp"
#include "simulate/tune.hpp"

namespace tide::cli {
namespace {

std::string clock_text(double seconds) {
  const long long s = static_cast<long long>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

bool write_file(const std::string& path, const std::string& text, std::ostream& err) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << text;
  file.close();
  if (!file) {
    err << path << ": error: cannot write the file\n";
    return false;
  }
  return true;
}

}  // namespace

int run_tune_command(const TuneCommandOptions& options, std::ostream& out, std::ostream& err) {
  sim::TuneOptions tune;
  for (const std::string& text : options.slo) {
    auto rule = sim::parse_slo(text);
    if (!rule) {
      err << "tide tune: error: " << rule.error().message << '\n';
      return 1;
    }
    tune.slo.push_back(*rule);
  }
  if (options.samples < 1) {
    err << "tide tune: error: --samples must be at least 1\n";
    return 1;
  }
  tune.families = options.families;
  tune.samples = options.samples;
  tune.refine = options.refine;
  tune.seed = options.seed;
  tune.split = options.split;
  tune.threads = options.threads;

  auto scenario = sim::load_scenario(options.scenario);
  if (!scenario) {
    for (const Diagnostic& d : scenario.error()) err << format_diagnostic(d) << '\n';
    return 1;
  }
  for (const auto& [text, slot] : {std::pair{&options.from, &scenario->trace.from},
                                   std::pair{&options.to, &scenario->trace.to}}) {
    if (text->empty()) continue;
    auto t = sim::parse_trace_time(*text, scenario->trace.utc_offset);
    if (!t) {
      err << "tide tune: error: " << (slot == &scenario->trace.from ? "--from" : "--to") << ": "
          << t.error() << '\n';
      return 1;
    }
    *slot = *t;
  }
  auto trace = sim::load_trace(scenario->trace);
  if (!trace) {
    err << trace.error() << '\n';
    return 1;
  }

  // A progress bar with the time left, on a terminal only (stderr), redrawn at most 10 times a
  // second.
  const bool tty = isatty(STDERR_FILENO) == 1;
  const auto started = std::chrono::steady_clock::now();
  auto last_draw = started - std::chrono::seconds(1);
  if (tty) {
    tune.progress = [&](std::size_t done, std::size_t total) {
      const auto now = std::chrono::steady_clock::now();
      if (done < total && now - last_draw < std::chrono::milliseconds(100)) return;
      last_draw = now;
      const double elapsed = std::chrono::duration<double>(now - started).count();
      constexpr int kWidth = 30;
      const int filled = total > 0 ? static_cast<int>(kWidth * done / total) : 0;
      std::string left = "estimating";
      if (done > 0 && done < total) {
        left = clock_text(elapsed / static_cast<double>(done) * static_cast<double>(total - done)) +
               " left";
      } else if (done >= total) {
        left = "done in " + clock_text(elapsed);
      }
      std::fprintf(stderr, "\rtide tune [%s%s] %zu/%zu replays, %s   ",
                   std::string(static_cast<std::size_t>(filled), '#').c_str(),
                   std::string(static_cast<std::size_t>(kWidth - filled), '.').c_str(), done, total,
                   left.c_str());
      if (done >= total) std::fprintf(stderr, "\n");
      std::fflush(stderr);
    };
  }

  auto report = sim::run_tune(*scenario, *trace, tune);
  if (!report) {
    err << "tide tune: error: " << report.error().message << '\n';
    return 1;
  }
  if (options.json) {
    out << sim::tune_report_to_json(*report).dump(2) << '\n';
  } else {
    out << sim::format_tune_table(*report);
    const sim::TuneComparison c = sim::compare_families(*report);
    const int winner =
        c.predictive >= 0 && (c.reactive < 0 || c.ratio < 1) ? c.predictive : c.reactive;
    if (winner >= 0) {
      sim::TuneReport only = *report;
      only.families = {report->families[static_cast<std::size_t>(winner)]};
      out << "\nThe cheapest on the held-out part, as a group block:\n\n"
          << sim::winners_yaml(only);
    }
  }
  if (!options.report.empty()) {
    if (!write_file(options.report, sim::render_tune_html(*report), err)) return 1;
    if (!options.json) out << "\nreport: " << options.report << '\n';
  }
  if (!options.write.empty()) {
    if (!write_file(options.write, sim::winners_yaml(*report), err)) return 1;
    if (!options.json) out << "winners: " << options.write << '\n';
  }
  return 0;
}

}  // namespace tide::cli
