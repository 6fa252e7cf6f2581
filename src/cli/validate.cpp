#include "cli/validate.hpp"

#include <ostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "config/config.hpp"

namespace tide::cli {
namespace {

std::string policy_list(const GroupSpec& g) {
  std::string out;
  for (const PolicySpec& p : g.policies) {
    if (!out.empty()) out += ", ";
    out += policy_type_name(p.type());
  }
  return out;
}

// "web: target aws-asg, capacity 2..40, every 15s, policies: target-tracking, scheduled"
std::string summary_line(const GroupSpec& g) {
  return fmt::format("{}: target {}, capacity {}..{}, every {}, policies: {}{}", g.name,
                     g.target.type, g.min, g.max, format_duration(g.interval), policy_list(g),
                     g.dry_run ? " (dry run)" : "");
}

nlohmann::json group_json(const GroupSpec& g) {
  nlohmann::json policies = nlohmann::json::array();
  for (const PolicySpec& p : g.policies) {
    nlohmann::json entry = {{"name", p.name}, {"type", policy_type_name(p.type())}};
    if (const MetricRef* m = p.metric()) entry["source"] = m->source;
    policies.push_back(std::move(entry));
  }
  return {{"name", g.name},
          {"target", g.target.type},
          {"min", g.min},
          {"max", g.max},
          {"interval", format_duration(g.interval)},
          {"dry_run", g.dry_run},
          {"policies", std::move(policies)}};
}

nlohmann::json diagnostic_json(const Diagnostic& d) {
  return {{"file", d.file}, {"line", d.line}, {"column", d.column}, {"message", d.message}};
}

}  // namespace

int run_validate(const std::vector<std::string>& files, bool json, std::ostream& out,
                 std::ostream& err) {
  if (files.empty()) {
    err << "tide validate: no config file given\n";
    return 1;
  }
  bool all_ok = true;
  nlohmann::json report = {{"ok", true}, {"files", nlohmann::json::array()}};
  for (const std::string& file : files) {
    auto config = load_config(file);
    nlohmann::json entry = {{"file", file}, {"ok", config.has_value()}};
    if (!config) {
      all_ok = false;
      nlohmann::json errors = nlohmann::json::array();
      for (const Diagnostic& d : config.error()) {
        if (json) {
          errors.push_back(diagnostic_json(d));
        } else {
          err << format_diagnostic(d) << '\n';
        }
      }
      if (!json) {
        std::size_t n = config.error().size();
        err << fmt::format("{}: {} error{}\n", file, n, n == 1 ? "" : "s");
      }
      entry["errors"] = std::move(errors);
    } else {
      const Config& c = *config;
      if (json) {
        nlohmann::json sources = nlohmann::json::array();
        for (const SourceSpec& s : c.sources) {
          sources.push_back({{"name", s.name}, {"type", s.type}, {"implicit", s.implicit}});
        }
        nlohmann::json groups = nlohmann::json::array();
        for (const GroupSpec& g : c.groups) groups.push_back(group_json(g));
        entry["sources"] = std::move(sources);
        entry["groups"] = std::move(groups);
      } else {
        out << fmt::format("{}: ok, {} group{}, {} source{}\n", file, c.groups.size(),
                           c.groups.size() == 1 ? "" : "s", c.sources.size(),
                           c.sources.size() == 1 ? "" : "s");
        for (const GroupSpec& g : c.groups) out << "  " << summary_line(g) << '\n';
      }
    }
    report["files"].push_back(std::move(entry));
  }
  if (json) {
    report["ok"] = all_ok;
    out << report.dump(2) << '\n';
  }
  return all_ok ? 0 : 1;
}

}  // namespace tide::cli
