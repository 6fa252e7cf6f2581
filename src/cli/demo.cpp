// `tide demo`: until the live daemon exists, the demo replays one real day (the NASA web server on
// 13 July 1995, with the STS-70 launch flash crowd) through the decision core, with a simple
// supply model: new instances serve after a boot delay. Every scaling decision is printed with
// its reason.
#include <fstream>
#include <ostream>
#include <sstream>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "config/config.hpp"
#include "policy/decide.hpp"

namespace tide::cli {
namespace {

// The embedded default: an HPA-like group tracking requests per instance per minute.
constexpr std::string_view kDemoConfig = R"(
sources:
  - name: replay
    type: static
    value: 0
groups:
  - name: nasa-web
    interval: 1m
    target: { type: static }
    min: 2
    max: 30
    policies:
      - name: requests-per-instance
        type: target-tracking
        metric: { source: replay }
        target_type: value
        target: 20
    behavior:
      scale_down:
        stabilization: 15m
        policies: [ { type: percent, value: 50, period: 1m } ]
)";

constexpr double kCapacityPerInstance = 25;  // requests per minute one instance serves
constexpr int kBootMinutes = 2;

struct Row {
  std::string time;
  TimePoint at;
  double requests;
};

std::expected<std::vector<Row>, std::string> load_day(const std::string& path,
                                                      std::string_view day) {
  std::ifstream in(path);
  if (!in) return std::unexpected(fmt::format("{}: cannot open the trace", path));
  std::vector<Row> rows;
  std::string line;
  std::getline(in, line);  // header: timestamp_edt,unix_ts,requests,in_log_gap
  while (std::getline(in, line)) {
    if (line.rfind(day, 0) != 0) continue;
    std::stringstream fields(line);
    std::string time, unix_ts, requests, gap;
    std::getline(fields, time, ',');
    std::getline(fields, unix_ts, ',');
    std::getline(fields, requests, ',');
    std::getline(fields, gap, ',');
    if (gap == "1") continue;  // no log coverage: not zero load
    rows.push_back({time, from_unix_seconds(std::stod(unix_ts)), std::stod(requests)});
  }
  if (rows.empty()) return std::unexpected(fmt::format("{}: no rows for {}", path, day));
  return rows;
}

}  // namespace

int run_demo(const std::string& trace, std::ostream& out, std::ostream& err) {
  auto config = parse_config(kDemoConfig, "<demo>");
  if (!config) {
    for (const Diagnostic& d : config.error()) err << format_diagnostic(d) << '\n';
    return 1;
  }
  const GroupSpec& spec = config->groups.front();
  auto rows = load_day(trace, "1995-07-13");
  if (!rows) {
    err << "error: " << rows.error() << '\n';
    return 1;
  }

  out << fmt::format(
      "tide demo: NASA-HTTP, 13 July 1995 (STS-70 launch at 09:41 EDT), one decision a minute.\n"
      "group '{}': target {} requests/min per instance, {}..{} instances, boot {} min, "
      "capacity {} requests/min per instance\n\n",
      spec.name, std::get<TargetTrackingSpec>(spec.policies[0].spec).target, spec.min, spec.max,
      kBootMinutes, kCapacityPerInstance);
  out << fmt::format("{:<17} {:>8} {:>6} {:>8}  {}\n", "time (EDT)", "req/min", "ready", "desired",
                     "why");

  GroupHistory history;
  std::vector<MetricReading> readings(1);
  std::vector<TimePoint> booting;  // ready times of instances still booting
  int desired = spec.min, ready = spec.min;
  int scale_outs = 0, scale_ins = 0, short_minutes = 0;
  double instance_minutes = 0;
  for (const Row& row : *rows) {
    const TimePoint now = row.at;
    // Instances whose boot delay has passed start serving.
    std::erase_if(booting, [&](TimePoint t) {
      if (t > now) return false;
      ++ready;
      return true;
    });
    ready = std::min(ready, desired);
    readings[0] = {true, row.requests / std::max(ready, 1), {}};
    const int warming = static_cast<int>(booting.size());
    const Observation obs{desired, ready, warming, readings};
    const Decision d = decide(spec, obs, history, now);
    record(spec, obs, d, /*applied=*/true, history);
    if (d.desired != desired) {
      (d.desired > desired ? scale_outs : scale_ins)++;
      std::string why = describe(d.proposals[0], spec.policies[0]);
      if (d.bound_by) why += fmt::format(" [bound by {}]", stage_name(*d.bound_by));
      out << fmt::format("{:<17} {:>8.0f} {:>6} {:>3} -> {:<3} {}\n", row.time, row.requests, ready,
                         desired, d.desired, why);
      for (int i = desired; i < d.desired; ++i)
        booting.push_back(now + std::chrono::minutes(kBootMinutes));
      if (d.desired < desired) {
        // Scale-in removes booting instances first, then ready ones.
        int remove = desired - d.desired;
        while (remove > 0 && !booting.empty()) booting.pop_back(), --remove;
        ready -= remove;
      }
      desired = d.desired;
    }
    instance_minutes += desired;
    if (row.requests > ready * kCapacityPerInstance) ++short_minutes;
  }
  out << fmt::format(
      "\n{} minutes replayed: {} scale-outs, {} scale-ins, {:.1f} instance-hours, "
      "{} minutes with load above ready capacity.\n",
      rows->size(), scale_outs, scale_ins, instance_minutes / 60.0, short_minutes);
  return 0;
}

}  // namespace tide::cli
