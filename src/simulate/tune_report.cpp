// What `tide tune` prints and writes (tune.hpp): the table, the JSON document, the HTML page and
// the winners as YAML. Pure functions of the report.
#include <algorithm>
#include <cmath>
#include <sstream>

#include <fmt/format.h>

#include "simulate/charts.hpp"
#include "simulate/report.hpp"
#include "simulate/tune.hpp"

namespace tide::sim {
namespace {

std::string money(double v) {
  return v >= 1000 ? fmt::format("{:.0f}", v) : fmt::format("{:.2f}", v);
}
std::string pct(double v) {
  return std::isfinite(v) ? fmt::format("{:.2f}", v) : std::string("-");
}

std::string params_text(const TuneCandidate& c) {
  std::string out;
  for (const auto& [name, value] : c.params) {
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", name, value);
  }
  return out;
}

std::string slo_text(const TuneReport& r) {
  std::string out;
  for (const SloRule& rule : r.slo) out += (out.empty() ? "" : " and ") + format_slo(rule);
  return out;
}

std::string span_text(TimePoint from, TimePoint to, long long steps) {
  return fmt::format("{} .. {} ({} steps)", format_time(from), format_time(to), steps);
}

// The candidate's group without the simulator's target line, indented under "- group:".
std::string group_block(const TuneCandidate& c, const std::string& comment) {
  std::string out = comment;
  out += "- group:\n";
  std::istringstream lines(c.yaml);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with("target:")) continue;
    out += "    " + line + "\n";
  }
  return out;
}

const TuneCandidate* best_of(const TuneFamily& f) {
  return f.best >= 0 ? &f.candidates[static_cast<std::size_t>(f.best)] : nullptr;
}

int meeting(const TuneFamily& f) {
  int n = 0;
  for (const TuneCandidate& c : f.candidates) n += c.meets ? 1 : 0;
  return n;
}

std::string comparison_text(const TuneReport& r) {
  const TuneComparison c = compare_families(r);
  if (c.reactive < 0 || c.predictive < 0) {
    return "No comparison: no reactive or no predictive family has a configuration that meets "
           "the SLO on the tune part.\n";
  }
  const TuneFamily& re = r.families[static_cast<std::size_t>(c.reactive)];
  const TuneFamily& pr = r.families[static_cast<std::size_t>(c.predictive)];
  std::string out = fmt::format(
      "Held-out part: the best predictive family, {}, costs {} ({}), the best reactive family, "
      "{}, costs {} ({}): predictive / reactive = {:.3f}.\n",
      pr.name, money(pr.held_out.money), pr.held_out_meets ? "meets the SLO" : "MISSES the SLO",
      re.name, money(re.held_out.money), re.held_out_meets ? "meets the SLO" : "MISSES the SLO",
      c.ratio);
  if (r.oracle_held_out.money > 0 && re.held_out.money > 0) {
    out += fmt::format(
        "The offline optimum (oracle) costs {} there: no policy can cost less than {:.3f} x the "
        "best reactive one.\n",
        money(r.oracle_held_out.money), r.oracle_held_out.money / re.held_out.money);
  }
  return out;
}

}  // namespace

std::string format_tune_table(const TuneReport& r) {
  std::string out = fmt::format("tide tune: {}\n", r.scenario);
  out += fmt::format("tuned on:  {}; the search saw only this part\n",
                     span_text(r.start, r.split_at, r.tune_steps));
  out += fmt::format("held out:  {}; the held-out figures come from it alone\n",
                     span_text(r.split_at, r.end, r.held_out_steps));
  out += fmt::format("SLO:       {}; seed {}, up to {} candidates per family\n\n", slo_text(r),
                     r.seed, r.samples);
  // The family column fits the longest name (predictive+aws-target-tracking).
  std::size_t width = 20;
  for (const TuneFamily& f : r.families) width = std::max(width, f.name.size());
  auto pad = [&](const std::string& name) { return name + std::string(width - name.size(), ' '); };
  out += fmt::format("{} {:>11} {:>5}   {:>9} {:>7} {:>6}   {:>9} {:>7} {:>6} {:>4}\n", pad(""), "",
                     "", "tune part", "", "", "held-out", "", "", "");
  out += fmt::format("{} {:>11} {:>5}   {:>9} {:>7} {:>6}   {:>9} {:>7} {:>6} {:>4}\n",
                     pad("family"), "candidates", "meet", "money", "under%", "late%", "money",
                     "under%", "late%", "SLO");
  for (const TuneFamily& f : r.families) {
    const TuneCandidate* b = best_of(f);
    const std::string tried = fmt::format("{}/{}", f.candidates.size(), f.grid);
    if (b == nullptr) {
      out += fmt::format("{} {:>11} {:>5}   no configuration meets the SLO\n", pad(f.name), tried,
                         meeting(f));
      continue;
    }
    out += fmt::format("{} {:>11} {:>5}   {:>9} {:>7} {:>6}   {:>9} {:>7} {:>6} {:>4}\n",
                       pad(f.name), tried, meeting(f), money(b->tune.money), pct(b->tune.under_pct),
                       pct(b->tune.late_pct), money(f.held_out.money), pct(f.held_out.under_pct),
                       pct(f.held_out.late_pct), f.held_out_meets ? "yes" : "no");
  }
  out += "\nThe cheapest configuration per family that meets the SLO on the tune part:\n";
  bool any = false;
  for (const TuneFamily& f : r.families) {
    if (const TuneCandidate* b = best_of(f)) {
      out += fmt::format("  {} {}\n", pad(f.name), params_text(*b));
      any = true;
    }
  }
  if (!any) out += "  none\n";
  out += "\nPareto front of cost against under-provisioning on the tune part (money / under%):\n";
  for (const TuneFamily& f : r.families) {
    std::string front;
    for (int i : f.pareto) {
      const TuneFigures& t = f.candidates[static_cast<std::size_t>(i)].tune;
      front += fmt::format("  {}/{}", money(t.money), pct(t.under_pct));
    }
    out += fmt::format("  {}{}\n", pad(f.name), front.empty() ? std::string("  -") : front);
  }
  out += "\n" + comparison_text(r);
  out +=
      "\nmoney   charged instance-hours x price      under%  time with demand above the ready "
      "supply\nlate%   work that waited beyond the SLO or was dropped      meet  candidates "
      "meeting the SLO on the tune part\n";
  return out;
}

nlohmann::ordered_json tune_report_to_json(const TuneReport& r) {
  auto figures_json = [](const TuneFigures& f) {
    nlohmann::ordered_json j;
    j["money"] = f.money;
    j["instance_hours"] = f.instance_hours;
    j["under_provisioned_time_pct"] = f.under_pct;
    j["late_or_dropped_pct"] = f.late_pct;
    j["actions"] = f.actions;
    if (!f.error.empty()) j["error"] = f.error;
    return j;
  };
  auto params_json = [](const TuneCandidate& c) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    for (const auto& [name, value] : c.params) j[name] = value;
    return j;
  };
  nlohmann::ordered_json families = nlohmann::ordered_json::array();
  for (const TuneFamily& f : r.families) {
    nlohmann::ordered_json fam;
    fam["family"] = f.name;
    fam["predictive"] = f.predictive;
    fam["grid"] = f.grid;
    fam["candidates_tried"] = f.candidates.size();
    fam["candidates_meeting_slo"] = meeting(f);
    if (const TuneCandidate* b = best_of(f)) {
      nlohmann::ordered_json best;
      best["params"] = params_json(*b);
      best["tune"] = figures_json(b->tune);
      best["held_out"] = figures_json(f.held_out);
      best["held_out_meets_slo"] = f.held_out_meets;
      best["yaml"] = group_block(*b, "");
      fam["best"] = std::move(best);
    } else {
      fam["best"] = nullptr;
    }
    nlohmann::ordered_json front = nlohmann::ordered_json::array();
    for (int i : f.pareto) {
      const TuneCandidate& c = f.candidates[static_cast<std::size_t>(i)];
      front.push_back({{"params", params_json(c)}, {"tune", figures_json(c.tune)}});
    }
    fam["pareto"] = std::move(front);
    nlohmann::ordered_json all = nlohmann::ordered_json::array();
    for (const TuneCandidate& c : f.candidates) {
      all.push_back(
          {{"params", params_json(c)}, {"tune", figures_json(c.tune)}, {"meets_slo", c.meets}});
    }
    fam["candidates"] = std::move(all);
    families.push_back(std::move(fam));
  }
  nlohmann::ordered_json slo = nlohmann::ordered_json::array();
  for (const SloRule& rule : r.slo) slo.push_back(format_slo(rule));
  nlohmann::ordered_json out;
  out["scenario"] = r.scenario;
  out["trace"] = r.trace;
  out["tune_part"] = {
      {"from", format_time(r.start)}, {"to", format_time(r.split_at)}, {"steps", r.tune_steps}};
  out["held_out_part"] = {
      {"from", format_time(r.split_at)}, {"to", format_time(r.end)}, {"steps", r.held_out_steps}};
  out["slo"] = std::move(slo);
  out["seed"] = r.seed;
  out["samples"] = r.samples;
  out["families"] = std::move(families);
  const TuneComparison c = compare_families(r);
  nlohmann::ordered_json cmp;
  cmp["best_reactive"] =
      c.reactive >= 0
          ? nlohmann::ordered_json(r.families[static_cast<std::size_t>(c.reactive)].name)
          : nlohmann::ordered_json();
  cmp["predictive"] =
      c.predictive >= 0
          ? nlohmann::ordered_json(r.families[static_cast<std::size_t>(c.predictive)].name)
          : nlohmann::ordered_json();
  cmp["held_out_cost_ratio"] =
      c.ratio > 0 ? nlohmann::ordered_json(c.ratio) : nlohmann::ordered_json();
  cmp["oracle_held_out_money"] = r.oracle_held_out.money;
  out["comparison"] = std::move(cmp);
  return out;
}

std::string winners_yaml(const TuneReport& r) {
  std::string out = fmt::format(
      "# tide tune {}: the cheapest configuration per family meeting {} on {} .. {};\n"
      "# figures on the held-out part {} .. {}. Paste under a scenario's `policies:`; for tide "
      "run,\n# add a target and point each metric at a real source.\n"
      "# Sources they read: hpa-cpu, aws-cpu and kpa-rate come with the hpa, aws-target-tracking "
      "and kpa\n# presets; the predictive groups' load is, under the scenario's `sources:`,\n"
      "#   - {{ name: tune-load, kind: total-rate, period: 60s, delay: 60s }}\n",
      r.scenario, slo_text(r), format_time(r.start), format_time(r.split_at),
      format_time(r.split_at), format_time(r.end));
  for (const TuneFamily& f : r.families) {
    const TuneCandidate* b = best_of(f);
    if (b == nullptr) continue;
    const std::string comment = fmt::format(
        "# {}: tune part money {}, under {} %; held-out money {}, under {} %, late {} % ({})\n",
        f.name, money(b->tune.money), pct(b->tune.under_pct), money(f.held_out.money),
        pct(f.held_out.under_pct), pct(f.held_out.late_pct),
        f.held_out_meets ? "meets the SLO" : "misses the SLO");
    out += group_block(*b, comment);
  }
  return out;
}

std::string render_tune_html(const TuneReport& r) {
  // One per family (seven today), distinct on a white background.
  static const char* kColors[] = {"#2563eb", "#d97706", "#7c3aed", "#059669",
                                  "#dc2626", "#0891b2", "#db2777", "#4b5563"};
  std::string page = chart_page_start("tide tune: " + r.scenario);
  page += fmt::format(
      "<h1>tide tune: {}</h1><p class=\"meta\">SLO {}. Tuned on {} (the search saw only this "
      "part); the held-out figures come from {}, which it never saw. Seed {}, up to {} "
      "candidates per family.</p>",
      html_escape(r.scenario), html_escape(slo_text(r)),
      html_escape(span_text(r.start, r.split_at, r.tune_steps)),
      html_escape(span_text(r.split_at, r.end, r.held_out_steps)), r.seed, r.samples);

  page +=
      "<div class=\"card\"><h2>The cheapest configuration per family</h2><table class=\"t\">"
      "<thead><tr><th>family</th><th>tried</th><th>meet SLO</th><th>tune money</th><th>tune "
      "under %</th><th>held-out money</th><th>held-out under %</th><th>held-out late %</th>"
      "<th>held-out SLO</th></tr></thead><tbody>";
  double max_money = 0;
  for (const TuneFamily& f : r.families) max_money = std::max(max_money, f.held_out.money);
  for (const TuneFamily& f : r.families) {
    const TuneCandidate* b = best_of(f);
    if (b == nullptr) {
      page += fmt::format(
          "<tr><td class=\"l\">{}</td><td>{}/{}</td><td>0</td><td colspan=\"6\" class=\"l\">no "
          "configuration meets the SLO</td></tr>",
          html_escape(f.name), f.candidates.size(), f.grid);
      continue;
    }
    page += fmt::format(
        "<tr class=\"with-cfg\"><td "
        "class=\"l\">{}</td><td>{}/{}</td><td>{}</td><td>{}</td><td>{}</td><td "
        "class=\"bar\" style=\"--bar:{:.1f}%\">{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}"
        "</td></tr><tr class=\"cfg\"><td></td><td colspan=\"8\">{}</td></tr>",
        html_escape(f.name), f.candidates.size(), f.grid, meeting(f), money(b->tune.money),
        pct(b->tune.under_pct), max_money > 0 ? 100 * f.held_out.money / max_money : 0,
        money(f.held_out.money), pct(f.held_out.under_pct), pct(f.held_out.late_pct),
        f.held_out_meets ? "ok" : "no", f.held_out_meets ? "meets" : "misses",
        html_escape(params_text(*b)));
  }
  page += "</tbody></table><p>" + html_escape(comparison_text(r)) + "</p></div>";

  std::vector<ScatterSeries> series;
  for (std::size_t i = 0; i < r.families.size(); ++i) {
    const TuneFamily& f = r.families[i];
    ScatterSeries s;
    s.label = f.name;
    s.color = kColors[i % std::size(kColors)];
    for (const TuneCandidate& c : f.candidates) {
      if (!c.tune.error.empty()) continue;
      s.points.push_back({c.tune.under_pct, c.tune.money,
                          fmt::format("{}: {}; money {}, under {} %", f.name, params_text(c),
                                      money(c.tune.money), pct(c.tune.under_pct))});
    }
    for (int k : f.pareto) {
      const TuneCandidate& c = f.candidates[static_cast<std::size_t>(k)];
      s.front.push_back({c.tune.under_pct, c.tune.money, ""});
    }
    if (const TuneCandidate* b = best_of(f)) {
      s.highlight.push_back({b->tune.under_pct, b->tune.money,
                             fmt::format("{} winner: {}", f.name, params_text(*b))});
    }
    series.push_back(std::move(s));
  }
  double marker = std::nan("");
  for (const SloRule& rule : r.slo) {
    if (rule.metric == "under_provisioned_time_pct") marker = rule.value;
  }
  page += "<div class=\"card\"><h2>Cost against under-provisioning (tune part)</h2>" +
          scatter_chart(series, "time under-provisioned, %", "money", marker, "SLO") + "</div>";

  page +=
      "<div class=\"card\"><h2>Pareto fronts (tune part)</h2><table class=\"t\"><thead><tr>"
      "<th>family</th><th>money</th><th>under %</th><th>late %</th><th>configuration</th>"
      "</tr></thead><tbody>";
  for (const TuneFamily& f : r.families) {
    for (int k : f.pareto) {
      const TuneCandidate& c = f.candidates[static_cast<std::size_t>(k)];
      page += fmt::format(
          "<tr><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"w\">{}</td>"
          "</tr>",
          html_escape(f.name), money(c.tune.money), pct(c.tune.under_pct), pct(c.tune.late_pct),
          html_escape(params_text(c)));
    }
  }
  page += "</tbody></table></div>";
  page += "<div class=\"card\"><h2>The winners as YAML</h2><pre>" + html_escape(winners_yaml(r)) +
          "</pre></div>";
  page += "<footer>Made by tide tune. Self-contained: no scripts, no external assets.</footer>";
  page += chart_page_end();
  return page;
}

}  // namespace tide::sim
