#include "simulate/tune.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "config/config.hpp"
#include "simulate/simulator.hpp"

namespace tide::sim {
namespace {

// ---- families
// ------------------------------------------------------------------------------------

struct Param {
  const char* name;
  std::vector<std::string> values;
  std::size_t preset = 0;  // index of the preset's value
};

struct Context {
  int min = 1, max = 100;
  double capacity = 1;     // capacity_per_instance
  Duration boot{0};        // the model's boot delay
  Duration resolution{0};  // the predictive family's forecast resolution
  // Stacked families: the group is named tuned-predictive-<family> and the forecast comes first
  // among its policies.
  std::string first_policy;
};

using Values = std::vector<std::string>;  // one per Param, in order

struct Family {
  const char* name;
  bool predictive;
  std::vector<Param> params;
  std::string (*yaml)(const Values& v, const Context& c);
  // False for a point that cannot work, which the search skips (nullptr: every point works).
  bool (*valid)(const Values& v) = nullptr;
  // A stacked family (`predictive+<base>`): a forecast added to the reactive family `base`. Its
  // parameters are the forecast's (kForecastParams, first) and then the base's; its search starts
  // from the base's winner (stacked_point).
  const char* base = nullptr;
};

// The forecast parameters every predictive family starts with: forecaster, bucket statistic,
// forecast interval (these three make a forecast track), forecast target (share of an instance's
// capacity), scheduling buffer.
constexpr std::size_t kForecastParams = 5;

// Utilization never reads above 100 %: with target x (1 + tolerance) >= 100 the ratio can never
// leave the tolerance band upwards, and the group never scales out.
bool can_scale_out(const std::string& target, const std::string& tolerance) {
  return std::stod(target) * (1 + std::stod(tolerance)) < 100;
}
bool hpa_valid(const Values& v) {
  return can_scale_out(v[0], v[1]);
}
bool predictive_valid(const Values& v) {
  return can_scale_out(v[5], v[6]);
}

// The rate limits a label stands for, in the config language.
std::string rate_limits(const std::string& label) {
  if (label == "none") return "[]";
  if (label == "hpa") {
    return "[ { type: instances, value: 4, period: 15s }, { type: percent, value: 100, period: "
           "15s } ]";
  }
  // "<percent>%/<period>"
  const auto slash = label.find('/');
  return fmt::format("[ {{ type: percent, value: {}, period: {} }} ]", label.substr(0, slash - 1),
                     label.substr(slash + 1));
}

// The group up to its `policies:` key, and the stacked forecast when there is one.
std::string head(const char* name, const char* interval, const Context& c) {
  return fmt::format(
      "name: tuned-{}{}\ninterval: {}\ntarget: {{ type: static }}\nmin: {}\nmax: {}\npolicies:\n{}",
      c.first_policy.empty() ? "" : "predictive-", name, interval, c.min, c.max, c.first_policy);
}

std::string number(double v) {
  return fmt::format("{:.6g}", v);
}

// hpa: target, tolerance, scale-down window, scale-down rate, scale-up rate.
std::string hpa_yaml(const Values& v, const Context& c) {
  return head("hpa", "15s", c) +
         fmt::format(
             "  - {{ type: target-tracking, name: cpu, metric: {{ source: hpa-cpu }}, "
             "target_type: utilization, target: {}, tolerance: {} }}\n"
             "behavior:\n"
             "  scale_up: {{ stabilization: 0s, policies: {} }}\n"
             "  scale_down: {{ stabilization: {}, policies: {} }}\n",
             v[0], v[1], rate_limits(v[4]), v[2], rate_limits(v[3]));
}

// aws-target-tracking: target, scale-up window (alarm datapoints), scale-down window, warmup,
// tolerance_down.
std::string aws_yaml(const Values& v, const Context& c) {
  return head("aws-target-tracking", "60s", c) +
         fmt::format(
             "  - {{ type: target-tracking, name: cpu, metric: {{ source: aws-cpu }}, "
             "target_type: utilization, target: {}, tolerance_up: 0, tolerance_down: {} }}\n"
             "behavior:\n"
             "  scale_up: {{ stabilization: {}, policies: [] }}\n"
             "  scale_down: {{ stabilization: {}, policies: [] }}\n"
             "  warmup: {}\n",
             v[0], v[4], v[1], v[2], v[3]);
}

// kpa: target (share of an instance's capacity), stable window, panic threshold, max scale-down
// rate, scale-down delay.
std::string kpa_yaml(const Values& v, const Context& c) {
  return head("kpa", "2s", c) +
         fmt::format(
             "  - {{ type: panic, name: kpa, metric: {{ source: kpa-rate }}, target: {}, "
             "stable_window: {}, panic_window_percentage: 10, panic_threshold: {}, "
             "max_scale_up_rate: 1000, max_scale_down_rate: {}, scale_down_delay: {} }}\n"
             "behavior:\n"
             "  scale_up: {{ stabilization: 0s, policies: [] }}\n"
             "  scale_down: {{ stabilization: 0s, policies: [] }}\n",
             number(std::stod(v[0]) * c.capacity), v[1], v[2], v[3], v[4]);
}

// The predictive policy of v[0..kForecastParams), as a `policies:` entry.
std::string forecast_policy(const Values& v, const Context& c) {
  return fmt::format(
      "  - {{ type: predictive, name: forecast, metric: {{ source: tune-load }}, target: {}, "
      "forecaster: {}, aggregation: {}, forecast_interval: {}, resolution: {}, boot_delay: {}, "
      "scheduling_buffer: {} }}\n",
      number(std::stod(v[3]) * c.capacity), v[0], v[1], v[2], format_duration(c.resolution),
      format_duration(c.boot), v[4]);
}

// predictive: the forecast with HPA-style target tracking: target, tolerance, scale-up and
// scale-down windows.
std::string predictive_yaml(const Values& v, const Context& c) {
  return head("predictive", "15s", c) + forecast_policy(v, c) +
         fmt::format(
             "  - {{ type: target-tracking, name: cpu, metric: {{ source: hpa-cpu }}, "
             "target_type: utilization, target: {}, tolerance: {} }}\n"
             "behavior:\n"
             "  scale_up: {{ stabilization: {}, policies: [] }}\n"
             "  scale_down: {{ stabilization: {}, policies: [] }}\n",
             v[5], v[6], v[7], v[8]);
}

const std::vector<Family>& families();

// predictive+<base>: the base family's group with the forecast as its first policy.
template <std::size_t Base>
std::string stacked_yaml(const Values& v, const Context& c) {
  Context stacked = c;
  stacked.first_policy = forecast_policy(v, c);
  return families()[Base].yaml(Values(v.begin() + kForecastParams, v.end()), stacked);
}
template <std::size_t Base>
bool stacked_valid(const Values& v) {
  const Family& base = families()[Base];
  return base.valid == nullptr || base.valid(Values(v.begin() + kForecastParams, v.end()));
}

const std::vector<Family>& families() {
  static const std::vector<Family> all = [] {
    std::vector<Family> all = {
        {"hpa",
         false,
         {{"target", {"50", "60", "70", "75", "80", "85", "90", "95"}, 4},
          {"tolerance", {"0", "0.05", "0.1", "0.2"}, 2},
          {"scale_down_window", {"0s", "1m", "2m", "5m", "10m"}, 3},
          {"scale_down_rate", {"100%/15s", "50%/1m", "10%/1m"}, 0},
          {"scale_up_rate", {"hpa", "none"}, 0}},
         hpa_yaml,
         hpa_valid},
        {"aws-target-tracking",
         false,
         {{"target", {"30", "40", "50", "60", "70", "80", "90"}, 2},
          {"scale_up_window", {"1m", "2m", "3m"}, 2},
          {"scale_down_window", {"5m", "10m", "15m"}, 2},
          {"warmup", {"0s", "60s", "300s"}, 2},
          {"tolerance_down", {"0", "0.1"}, 1}},
         aws_yaml},
        {"kpa",
         false,
         {{"target_share", {"0.5", "0.6", "0.7", "0.8", "0.9", "0.95"}, 2},
          {"stable_window", {"30s", "60s", "120s", "300s"}, 1},
          {"panic_threshold", {"150", "200", "300"}, 1},
          {"max_scale_down_rate", {"1.5", "2", "4"}, 1},
          {"scale_down_delay", {"0s", "1m", "5m"}, 0}},
         kpa_yaml},
        {"predictive",
         true,
         {{"forecaster",
           {"auto", "seasonal-naive-daily", "seasonal-naive-weekly", "holt-winters-additive-daily",
            "holt-winters-additive-weekly", "holt-winters-multiplicative-daily",
            "holt-winters-multiplicative-weekly", "regression"},
           0},
          {"aggregation", {"mean", "max"}, 0},
          {"forecast_interval", {"5m", "15m", "1h"}, 2},
          {"forecast_target_share", {"0.7", "0.8", "0.9", "1.0"}, 1},
          {"scheduling_buffer", {"0s", "2m", "5m", "10m"}, 2},
          {"target", {"60", "70", "80", "85", "90", "95"}, 2},
          {"tolerance", {"0", "0.05", "0.1"}, 2},
          {"scale_up_window", {"0s", "1m", "3m"}, 0},
          {"scale_down_window", {"1m", "5m", "10m"}, 1}},
         predictive_yaml,
         predictive_valid},
    };
    // A forecast on top of each reactive family's winner. The forecast target goes beyond one
    // instance's capacity so that the forecast can act as a floor under the reactive policy.
    const std::vector<Param> forecast = {
        all[3].params[0],
        all[3].params[1],
        all[3].params[2],
        {"forecast_target_share", {"0.7", "0.8", "0.9", "1.0", "1.2", "1.5"}, 3},
        all[3].params[4]};
    const std::pair<const char*, std::pair<std::string (*)(const Values&, const Context&),
                                           bool (*)(const Values&)>>
        stacked[] = {{"predictive+hpa", {stacked_yaml<0>, stacked_valid<0>}},
                     {"predictive+aws-target-tracking", {stacked_yaml<1>, stacked_valid<1>}},
                     {"predictive+kpa", {stacked_yaml<2>, stacked_valid<2>}}};
    for (std::size_t b = 0; b < 3; ++b) {
      Family f{stacked[b].first,         true,       forecast, stacked[b].second.first,
               stacked[b].second.second, all[b].name};
      f.params.insert(f.params.end(), all[b].params.begin(), all[b].params.end());
      all.push_back(std::move(f));
    }
    return all;
  }();
  return all;
}

const Family* find_family(std::string_view name) {
  for (const Family& f : families()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

// The source names the families read, and how they are simulated (the presets' and, for the
// predictive family, the group's arrival rate as CloudWatch would report it: 1-minute datapoints
// about a minute late).
constexpr const char* kLoadSource = "tune-load";
std::vector<SimulatedSource> family_sources() {
  using std::chrono::seconds;
  return {{"hpa-cpu", MetricKind::kUtilization, seconds(15), seconds(15)},
          {"aws-cpu", MetricKind::kUtilization, seconds(60), seconds(60)},
          {"kpa-rate", MetricKind::kTotalRate, seconds(1), seconds(0)},
          {kLoadSource, MetricKind::kTotalRate, seconds(60), seconds(60)}};
}

// The largest scheduling buffer of the predictive family: tracks are made with it, so one track
// per forecaster serves every buffer (a longer horizon does not change the earlier values).
constexpr Duration kMaxBuffer = std::chrono::minutes(10);

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

std::size_t grid_size(const Family& f) {
  std::size_t n = 1;
  for (const Param& p : f.params) n *= p.values.size();
  return n;
}

// Grid point `index` as one value per parameter (mixed radix, the first parameter slowest).
Values point(const Family& f, std::size_t index) {
  Values v(f.params.size());
  for (std::size_t i = f.params.size(); i-- > 0;) {
    const std::size_t k = f.params[i].values.size();
    v[i] = f.params[i].values[index % k];
    index /= k;
  }
  return v;
}

std::size_t preset_index(const Family& f) {
  std::size_t index = 0;
  for (const Param& p : f.params) index = index * p.values.size() + p.preset;
  return index;
}

bool valid_point(const Family& f, std::size_t index) {
  return f.valid == nullptr || f.valid(point(f, index));
}

// The grid points of the parameters from `first` on: the size of the tail of a mixed-radix index.
std::size_t tail_size(const Family& f, std::size_t first) {
  std::size_t n = 1;
  for (std::size_t k = first; k < f.params.size(); ++k) n *= f.params[k].values.size();
  return n;
}

// The preset first, then `samples - 1` distinct random valid grid points (all of them when there
// are fewer), in the order drawn. For a stacked family, `base_point` (a grid point of the base
// family) fixes the base's parameters: the preset is the forecast's preset on it, and the draws
// vary the forecast only (local refinement may then move any parameter).
std::vector<std::size_t> sample(const Family& f, int samples, std::uint64_t seed,
                                std::size_t base_point = 0) {
  const std::size_t tail = f.base != nullptr ? tail_size(f, kForecastParams) : 1;
  const std::size_t offset = f.base != nullptr ? base_point : 0;
  const std::size_t grid = grid_size(f) / tail;
  std::vector<std::size_t> valid;
  for (std::size_t i = 0; i < grid; ++i) {
    if (valid_point(f, i * tail + offset)) valid.push_back(i * tail + offset);
  }
  const std::size_t preset =
      f.base != nullptr ? preset_index(f) / tail * tail + offset : preset_index(f);
  const std::size_t want =
      std::min<std::size_t>(valid.size(), static_cast<std::size_t>(std::max(1, samples)));
  std::vector<std::size_t> out = {preset};
  std::set<std::size_t> seen = {out[0]};
  if (want >= valid.size()) {
    for (std::size_t i : valid) {
      if (seen.insert(i).second) out.push_back(i);
    }
    return out;
  }
  std::mt19937_64 rng(seed ^ fnv1a(f.name));
  while (out.size() < want) {
    const std::size_t i = valid[static_cast<std::size_t>(rng() % valid.size())];
    if (seen.insert(i).second) out.push_back(i);
  }
  return out;
}

TuneFigures figures(const PolicyResult& r) {
  TuneFigures f;
  f.error = r.error;
  f.money = r.cost.money;
  f.instance_hours = r.cost.instance_hours;
  f.under_pct = r.slo.under_provisioned_time_pct;
  f.late_pct = r.slo.late_or_dropped_pct;
  f.actions = r.scale_out + r.scale_in;
  return f;
}

// Runs fn(i) for i in [0, count) on `threads` threads.
template <class Fn>
void parallel_for(std::size_t count, int threads, Fn fn) {
  if (count == 0) return;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t workers =
      std::clamp<std::size_t>(threads > 0 ? static_cast<std::size_t>(threads) : cores, 1, count);
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next.fetch_add(1); i < count; i = next.fetch_add(1)) fn(i);
  };
  std::vector<std::thread> pool;
  for (std::size_t w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
}

}  // namespace

// ---- SLO rules
// -----------------------------------------------------------------------------------

namespace {
const std::vector<std::string>& slo_metrics() {
  static const std::vector<std::string> all = {"under_provisioned_time_pct", "late_or_dropped_pct",
                                               "dropped_pct", "theta_u", "tau_u"};
  return all;
}
}  // namespace

Result<SloRule> parse_slo(std::string_view text) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  std::size_t at = std::string_view::npos;
  std::string op;
  for (const char* candidate : {"<=", ">=", "<", ">"}) {
    at = text.find(candidate);
    if (at != std::string_view::npos) {
      op = candidate;
      break;
    }
  }
  auto bad = [&](std::string why) {
    std::string known;
    for (const std::string& m : slo_metrics()) known += (known.empty() ? "" : ", ") + m;
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("--slo '{}': {} (expected METRIC <= NUMBER, METRIC one of {})", text,
                            why, known));
  };
  if (at == std::string_view::npos) return bad("no comparison");
  SloRule rule;
  rule.metric = std::string(trim(text.substr(0, at)));
  rule.op = op;
  const std::string_view value = trim(text.substr(at + op.size()));
  if (std::find(slo_metrics().begin(), slo_metrics().end(), rule.metric) == slo_metrics().end()) {
    return bad(fmt::format("unknown metric '{}'", rule.metric));
  }
  auto [p, e] = std::from_chars(value.data(), value.data() + value.size(), rule.value);
  if (value.empty() || e != std::errc() || p != value.data() + value.size() ||
      !std::isfinite(rule.value)) {
    return bad(fmt::format("'{}' is not a number", value));
  }
  return rule;
}

std::string format_slo(const SloRule& rule) {
  return fmt::format("{} {} {}", rule.metric, rule.op, number(rule.value));
}

double slo_figure(const PolicyResult& r, std::string_view metric) {
  if (metric == "under_provisioned_time_pct") return r.slo.under_provisioned_time_pct;
  if (metric == "late_or_dropped_pct") return r.slo.late_or_dropped_pct;
  if (metric == "dropped_pct") return r.slo.dropped_pct;
  if (metric == "theta_u") return r.elasticity.theta_u;
  if (metric == "tau_u") return r.elasticity.tau_u;
  return std::nan("");
}

bool meets(const PolicyResult& r, const std::vector<SloRule>& slo) {
  if (!r.error.empty()) return false;
  for (const SloRule& rule : slo) {
    const double v = slo_figure(r, rule.metric);
    const bool ok = rule.op == "<="   ? v <= rule.value
                    : rule.op == "<"  ? v < rule.value
                    : rule.op == ">=" ? v >= rule.value
                                      : v > rule.value;
    if (!ok) return false;
  }
  return true;
}

const std::vector<std::string>& tune_families() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const Family& f : families()) out.emplace_back(f.name);
    return out;
  }();
  return names;
}

// ---- the search
// ----------------------------------------------------------------------------------

Result<TuneReport> run_tune(const Scenario& scenario, const Trace& trace,
                            const TuneOptions& options) {
  std::vector<SloRule> slo = options.slo;
  if (slo.empty()) slo.push_back(*parse_slo("under_provisioned_time_pct <= 1"));
  std::vector<const Family*> chosen;
  for (const std::string& name : options.families.empty() ? tune_families() : options.families) {
    const Family* f = find_family(name);
    if (f == nullptr) {
      std::string known;
      for (const std::string& n : tune_families()) known += (known.empty() ? "" : ", ") + n;
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("unknown family '{}' (known: {})", name, known));
    }
    if (std::find(chosen.begin(), chosen.end(), f) == chosen.end()) chosen.push_back(f);
  }
  if (!(options.split > 0 && options.split < 1)) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("the split must be between 0 and 1, got {}", options.split));
  }
  const std::size_t n = trace.size();
  const std::size_t split =
      static_cast<std::size_t>(std::floor(static_cast<double>(n) * options.split));
  if (split < 2 || split + 2 > n) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("the trace has {} steps: too short to split into a tuned and a "
                            "held-out part",
                            n));
  }

  // The model with the families' sources.
  WorkloadModel model = scenario.model;
  for (const SimulatedSource& s : family_sources()) {
    auto same = std::find_if(model.sources.begin(), model.sources.end(),
                             [&](const SimulatedSource& m) { return m.name == s.name; });
    if (same == model.sources.end()) {
      model.sources.push_back(s);
    } else if (same->kind != s.kind || same->period != s.period || same->delay != s.delay) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("the scenario defines a source '{}', a name tide tune needs for its "
                              "own; rename it",
                              s.name));
    }
  }
  std::vector<SourceSpec> specs;
  for (const SimulatedSource& s : model.sources) {
    specs.push_back(SourceSpec{s.name, "simulated", nlohmann::json::object(), false});
  }

  Context ctx;
  ctx.min = scenario.min;
  ctx.max = scenario.max;
  ctx.capacity = model.capacity_per_instance;
  ctx.boot = model.boot_delay;
  ctx.resolution = std::chrono::minutes(5);
  if (trace.step > ctx.resolution && std::chrono::hours(24) % trace.step == Duration{0}) {
    ctx.resolution = trace.step;
  }

  TuneReport report;
  report.scenario = scenario.name;
  report.trace = trace.name;
  report.start = trace.start;
  report.split_at = trace.time_at(split);
  report.end = trace.time_at(n);
  report.tune_steps = static_cast<long long>(split);
  report.held_out_steps = static_cast<long long>(n - split);
  report.slo = slo;
  report.seed = options.seed;
  report.samples = options.samples;

  // Candidates are evaluated in batches: the random sample of every family first, then rounds of
  // local refinement. A candidate is a grid point; its group is parsed by the config loader.
  struct Pending {
    std::size_t family;
    std::size_t index;  // grid point
  };
  struct Job {
    std::size_t family, candidate;
    GroupSpec group;
  };
  std::vector<std::vector<GroupSpec>> groups(chosen.size());
  std::vector<std::set<std::size_t>> seen(chosen.size());
  std::vector<std::vector<std::size_t>> points(chosen.size());
  std::map<std::string, std::shared_ptr<const ForecastTrack>> tracks;
  const SimulatedSource load =
      *std::find_if(model.sources.begin(), model.sources.end(),
                    [](const SimulatedSource& s) { return s.name == kLoadSource; });
  auto track_key = [](const Values& v) { return v[0] + "/" + v[1] + "/" + v[2]; };

  for (const Family* f : chosen) {
    TuneFamily family;
    family.name = f->name;
    family.predictive = f->predictive;
    for (std::size_t i = 0; i < grid_size(*f); ++i) family.grid += valid_point(*f, i) ? 1 : 0;
    report.families.push_back(std::move(family));
  }

  // Progress: an upper bound of the replays (refinement may stop early), lowered as it does.
  const std::size_t refine_budget = static_cast<std::size_t>(std::max(0, options.refine));
  std::size_t total = 0, done = 0;
  for (const Family* f : chosen) {
    total += std::min<std::size_t>(static_cast<std::size_t>(std::max(1, options.samples)),
                                   grid_size(*f)) +
             refine_budget + 1;
  }
  std::mutex progress_mu;
  auto tick = [&] {
    std::lock_guard lock(progress_mu);
    ++done;
    if (options.progress) options.progress(done, std::max(done, total));
  };
  if (options.progress) options.progress(0, total);

  Trace tune_trace = trace;
  tune_trace.load.resize(split);
  std::string failure;

  // Evaluates a batch of grid points on the tune part, in parallel.
  auto evaluate = [&](const std::vector<Pending>& batch) {
    std::vector<Job> jobs;
    std::set<std::string> needed;
    for (const Pending& p : batch) {
      const Family& f = *chosen[p.family];
      if (!seen[p.family].insert(p.index).second) continue;
      const Values values = point(f, p.index);
      TuneCandidate c;
      for (std::size_t k = 0; k < f.params.size(); ++k) {
        c.params.emplace_back(f.params[k].name, values[k]);
      }
      c.yaml = f.yaml(values, ctx);
      const std::string file = fmt::format("tide tune {}", f.name);
      auto node = parse_yaml(c.yaml, file);
      std::expected<GroupSpec, Diagnostics> group =
          node ? parse_group(*node, file, &specs) : std::unexpected(node.error());
      if (!group) {
        std::string why;
        for (const Diagnostic& d : group.error()) why += (why.empty() ? "" : "; ") + d.message;
        failure = fmt::format("family {}: {}\n{}", f.name, why, c.yaml);
        return;
      }
      if (f.predictive && !tracks.contains(track_key(values))) needed.insert(track_key(values));
      TuneFamily& family = report.families[p.family];
      jobs.push_back({p.family, family.candidates.size(), std::move(*group)});
      family.candidates.push_back(std::move(c));
      points[p.family].push_back(p.index);
    }
    // Forecast tracks, one per forecaster, statistic and interval, over the whole trace (the tune
    // part uses their start). Not counted as replays.
    const std::vector<std::string> names(needed.begin(), needed.end());
    std::vector<std::shared_ptr<const ForecastTrack>> made(names.size());
    parallel_for(names.size(), options.threads, [&](std::size_t i) {
      const std::string& key = names[i];
      const std::size_t a = key.find('/'), b = key.rfind('/');
      ForecastSettings settings;
      const std::string model_name = key.substr(0, a);
      for (int m = 0; m < kForecastModelCount; ++m) {
        if (model_name == forecast_model_name(static_cast<ForecastModel>(m))) {
          settings.model = static_cast<ForecastModel>(m);
        }
      }
      settings.statistic =
          key.substr(a + 1, b - a - 1) == "max" ? BucketStatistic::kMax : BucketStatistic::kMean;
      settings.interval = *parse_duration(key.substr(b + 1));
      settings.resolution = ctx.resolution;
      made[i] = std::make_shared<const ForecastTrack>(
          make_forecast_track(trace, load, settings, ctx.boot + kMaxBuffer));
    });
    for (std::size_t i = 0; i < names.size(); ++i) tracks[names[i]] = made[i];
    parallel_for(jobs.size(), options.threads, [&](std::size_t j) {
      TuneFamily& family = report.families[jobs[j].family];
      TuneCandidate& c = family.candidates[jobs[j].candidate];
      ReplayOptions o;
      if (family.predictive)
        o.tracks = {tracks.at(
            track_key(point(*chosen[jobs[j].family], points[jobs[j].family][jobs[j].candidate])))};
      const PolicyResult r = simulate_group(tune_trace, model, jobs[j].group, o);
      c.tune = figures(r);
      c.meets = meets(r, slo);
      tick();
    });
    for (Job& job : jobs) {
      std::vector<GroupSpec>& list = groups[job.family];
      if (list.size() <= job.candidate) list.resize(job.candidate + 1);
      list[job.candidate] = std::move(job.group);
    }
  };

  // Phase 1: the random sample (`base_points`: for a stacked family, the grid point of its base
  // to start from).
  auto random_sample = [&](const std::vector<std::size_t>& which,
                           const std::map<std::size_t, std::size_t>& base_points) {
    std::vector<Pending> batch;
    for (std::size_t fi : which) {
      const auto base = base_points.find(fi);
      for (std::size_t index : sample(*chosen[fi], options.samples, options.seed,
                                      base == base_points.end() ? 0 : base->second)) {
        batch.push_back({fi, index});
      }
    }
    evaluate(batch);
  };

  // The incumbent of a family: the cheapest candidate meeting the SLO, or, when none does, the
  // least under-provisioned (to walk towards the SLO).
  auto better = [&](const TuneFamily& family, std::size_t a, std::size_t b) {
    const TuneCandidate& x = family.candidates[a];
    const TuneCandidate& y = family.candidates[b];
    if (!x.tune.error.empty() || !y.tune.error.empty()) return y.tune.error.empty() ? false : true;
    if (x.meets != y.meets) return x.meets;
    if (x.meets) {
      if (x.tune.money != y.tune.money) return x.tune.money < y.tune.money;
    } else if (x.tune.under_pct != y.tune.under_pct) {
      return x.tune.under_pct < y.tune.under_pct;
    }
    return a < b;
  };
  auto incumbent = [&](std::size_t fi) {
    const TuneFamily& family = report.families[fi];
    std::size_t best = 0;
    for (std::size_t i = 1; i < family.candidates.size(); ++i) {
      if (better(family, i, best)) best = i;
    }
    return best;
  };

  // Phase 2: local refinement. Each round evaluates every unseen grid neighbour of each family's
  // incumbent (one parameter one step up or down); a family stops when its incumbent survives a
  // round or its refinement budget is spent.
  auto refine = [&](const std::vector<std::size_t>& which) {
    std::vector<std::size_t> spent(chosen.size(), 0);
    std::vector<bool> active(chosen.size(), false);
    for (std::size_t fi : which) active[fi] = refine_budget > 0;
    for (int round = 0; round < 1000; ++round) {
      std::vector<Pending> batch;
      std::vector<std::size_t> before(chosen.size());
      for (std::size_t fi = 0; fi < chosen.size(); ++fi) {
        if (!active[fi]) continue;
        const Family& f = *chosen[fi];
        before[fi] = incumbent(fi);
        std::size_t index = points[fi][before[fi]];
        // Mixed-radix digits of the incumbent.
        std::vector<std::size_t> digits(f.params.size());
        for (std::size_t k = f.params.size(); k-- > 0;) {
          digits[k] = index % f.params[k].values.size();
          index /= f.params[k].values.size();
        }
        std::vector<Pending> mine;
        for (std::size_t k = 0; k < f.params.size(); ++k) {
          for (int delta : {-1, 1}) {
            const long long d = static_cast<long long>(digits[k]) + delta;
            if (d < 0 || d >= static_cast<long long>(f.params[k].values.size())) continue;
            std::vector<std::size_t> moved = digits;
            moved[k] = static_cast<std::size_t>(d);
            std::size_t neighbour = 0;
            for (std::size_t q = 0; q < f.params.size(); ++q) {
              neighbour = neighbour * f.params[q].values.size() + moved[q];
            }
            if (seen[fi].contains(neighbour) || !valid_point(f, neighbour)) continue;
            if (std::any_of(mine.begin(), mine.end(),
                            [&](const Pending& p) { return p.index == neighbour; })) {
              continue;
            }
            mine.push_back({fi, neighbour});
          }
        }
        if (mine.size() > refine_budget - spent[fi]) mine.resize(refine_budget - spent[fi]);
        spent[fi] += mine.size();
        if (mine.empty()) active[fi] = false;
        batch.insert(batch.end(), mine.begin(), mine.end());
      }
      if (batch.empty()) break;
      evaluate(batch);
      if (!failure.empty()) return;
      for (std::size_t fi = 0; fi < chosen.size(); ++fi) {
        if (!active[fi]) continue;
        if (incumbent(fi) == before[fi] || spent[fi] >= refine_budget) active[fi] = false;
      }
    }
  };

  // The families on their own first, then the stacked ones from their base's incumbent (the base's
  // preset when the base is not searched).
  std::vector<std::size_t> plain, stacked;
  for (std::size_t fi = 0; fi < chosen.size(); ++fi) {
    (chosen[fi]->base != nullptr ? stacked : plain).push_back(fi);
  }
  for (const std::vector<std::size_t>* which : {&plain, &stacked}) {
    std::map<std::size_t, std::size_t> base_points;
    for (std::size_t fi : *which) {
      if (chosen[fi]->base == nullptr) continue;
      const Family& base = *find_family(chosen[fi]->base);
      const auto searched = std::find(chosen.begin(), chosen.end(), &base);
      const std::size_t bi = static_cast<std::size_t>(searched - chosen.begin());
      base_points[fi] = searched == chosen.end() ? preset_index(base) : points[bi][incumbent(bi)];
    }
    random_sample(*which, base_points);
    if (!failure.empty()) return fail(ErrorCode::kInternal, failure);
    refine(*which);
    if (!failure.empty()) return fail(ErrorCode::kInternal, failure);
  }
  {
    std::lock_guard lock(progress_mu);
    total = done + chosen.size();
  }

  // Per family: the winner and the front.
  for (TuneFamily& family : report.families) {
    std::vector<int> order;
    for (std::size_t i = 0; i < family.candidates.size(); ++i) {
      if (family.candidates[i].tune.error.empty()) order.push_back(static_cast<int>(i));
    }
    auto cheaper = [&](int a, int b) {
      const TuneFigures& x = family.candidates[static_cast<std::size_t>(a)].tune;
      const TuneFigures& y = family.candidates[static_cast<std::size_t>(b)].tune;
      if (x.money != y.money) return x.money < y.money;
      if (x.under_pct != y.under_pct) return x.under_pct < y.under_pct;
      return a < b;
    };
    std::sort(order.begin(), order.end(), cheaper);
    double best_under = std::numeric_limits<double>::infinity();
    for (int i : order) {
      const TuneCandidate& c = family.candidates[static_cast<std::size_t>(i)];
      if (family.best < 0 && c.meets) family.best = i;
      if (c.tune.under_pct < best_under) {
        family.pareto.push_back(i);
        best_under = c.tune.under_pct;
      }
    }
  }

  // The oracle on the held-out part.
  {
    Trace held = trace;
    held.start = trace.time_at(split);
    held.load.assign(trace.load.begin() + static_cast<std::ptrdiff_t>(split), trace.load.end());
    report.oracle_held_out = figures(simulate_oracle(held, model));
  }

  // The held-out part: each winner over the whole trace, counted from the split.
  parallel_for(report.families.size(), options.threads, [&](std::size_t fi) {
    TuneFamily& family = report.families[fi];
    if (family.best >= 0) {
      const std::size_t b = static_cast<std::size_t>(family.best);
      ReplayOptions o;
      if (family.predictive) o.tracks = {tracks.at(track_key(point(*chosen[fi], points[fi][b])))};
      o.measure_from = split;
      const PolicyResult r = simulate_group(trace, model, groups[fi][b], o);
      family.held_out = figures(r);
      family.held_out_meets = meets(r, slo);
    }
    tick();
  });
  return report;
}

TuneComparison compare_families(const TuneReport& report) {
  TuneComparison c;
  auto better = [&](int current, std::size_t candidate) {
    if (current < 0) return true;
    const TuneFamily& a = report.families[static_cast<std::size_t>(current)];
    const TuneFamily& b = report.families[candidate];
    if (a.held_out_meets != b.held_out_meets) return b.held_out_meets;
    return b.held_out.money < a.held_out.money;
  };
  for (std::size_t i = 0; i < report.families.size(); ++i) {
    const TuneFamily& f = report.families[i];
    if (f.best < 0) continue;
    int& slot = f.predictive ? c.predictive : c.reactive;
    if (better(slot, i)) slot = static_cast<int>(i);
  }
  if (c.reactive >= 0 && c.predictive >= 0) {
    const double r = report.families[static_cast<std::size_t>(c.reactive)].held_out.money;
    if (r > 0) c.ratio = report.families[static_cast<std::size_t>(c.predictive)].held_out.money / r;
  }
  return c;
}

}  // namespace tide::sim
