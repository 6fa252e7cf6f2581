#include "simulate/scenario.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "config/fields.hpp"

namespace tide::sim {
namespace {

namespace fs = std::filesystem;

// ---- presets --------------------------------------------------------------------------------
// Each preset is a group written in the config language and parsed by parse_group(), exactly as a
// group in a `tide run` config, plus the simulated source its policy reads. docs/simulate.md says
// what each models and where the numbers come from.

struct PresetSource {
  const char* name;
  MetricKind kind;
  Duration period;
  Duration delay;
};

struct Preset {
  const char* name;
  PolicyKind kind;
  std::optional<PresetSource> source;
  // fmt format string; {0} = min, {1} = max, {2} = 0.7 x capacity_per_instance.
  const char* yaml;
};

using std::chrono::seconds;

// Kubernetes HPA: `kubectl autoscale --cpu-percent` default 80, tolerance 0.1, sync period 15 s,
// the default behavior (BehaviorSpec's defaults), metrics-server resolution 15 s.
constexpr const char* kHpaYaml = R"y(name: hpa
interval: 15s
target: {{ type: static }}
min: {0}
max: {1}
policies:
  - type: target-tracking
    name: cpu
    metric: {{ source: hpa-cpu }}
    target_type: utilization
    target: 80
    tolerance: 0.1
)y";

// AWS EC2 Auto Scaling target tracking on ASGAverageCPUUtilization (console default 50 %):
// AlarmHigh 3 of 3 one-minute datapoints above the target, AlarmLow 15 of 15 below 90 % of it,
// instance warmup 300 s, no rate limits; CloudWatch 1-minute data about 1 minute late.
constexpr const char* kAwsYaml = R"y(name: aws-target-tracking
interval: 60s
target: {{ type: static }}
min: {0}
max: {1}
policies:
  - type: target-tracking
    name: cpu
    metric: {{ source: aws-cpu }}
    target_type: utilization
    target: 50
    tolerance_up: 0
    tolerance_down: 0.1
behavior:
  scale_up: {{ stabilization: 3m, policies: [] }}
  scale_down: {{ stabilization: 15m, policies: [] }}
  warmup: 300s
)y";

// Knative KPA defaults: target 70 % of the per-instance capacity (container-concurrency-target-
// percentage), stable window 60 s, panic window 10 %, panic threshold 200 %, max scale up rate
// 1000, max scale down rate 2, autoscaler tick 2 s; no HPA-style stages.
constexpr const char* kKpaYaml = R"y(name: kpa
interval: 2s
target: {{ type: static }}
min: {0}
max: {1}
policies:
  - type: panic
    name: kpa
    metric: {{ source: kpa-rate }}
    target: {2}
    stable_window: 60s
    panic_window_percentage: 10
    panic_threshold: 200
    max_scale_up_rate: 1000
    max_scale_down_rate: 2
behavior:
  scale_up: {{ stabilization: 0s, policies: [] }}
  scale_down: {{ stabilization: 0s, policies: [] }}
)y";

const std::vector<Preset>& presets() {
  static const std::vector<Preset> all = {
      {"hpa", PolicyKind::kGroup,
       PresetSource{"hpa-cpu", MetricKind::kUtilization, seconds(15), seconds(15)}, kHpaYaml},
      {"aws-target-tracking", PolicyKind::kGroup,
       PresetSource{"aws-cpu", MetricKind::kUtilization, seconds(60), seconds(60)}, kAwsYaml},
      {"kpa", PolicyKind::kGroup,
       PresetSource{"kpa-rate", MetricKind::kTotalRate, seconds(1), seconds(0)}, kKpaYaml},
      {"static-peak", PolicyKind::kStaticPeak, std::nullopt, nullptr},
      {"oracle", PolicyKind::kOracle, std::nullopt, nullptr},
  };
  return all;
}

const Preset* find_preset(std::string_view name) {
  for (const Preset& p : presets()) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::vector<std::string> preset_names() {
  std::vector<std::string> out;
  for (const Preset& p : presets()) out.emplace_back(p.name);
  return out;
}

// ---- shared with the config loader (config/fields.hpp) ---------------------------------------

using config_detail::Ctx;
using config_detail::describe;
using config_detail::did_you_mean;
using config_detail::excerpt;
using config_detail::expect_list;
using config_detail::expect_map;
using config_detail::Fields;
using config_detail::join;
using config_detail::mark_of;
using config_detail::to_bool;
using config_detail::to_choice;
using config_detail::to_duration;
using config_detail::to_string;
using config_detail::valid_name;

// YAML -> JSON with plain scalars read as numbers or booleans when they are one; quoted scalars
// stay strings.
nlohmann::json to_json(const YAML::Node& node, int depth = 0) {
  if (depth > 64) return nullptr;
  switch (node.Type()) {
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (node.Tag() == "!") return s;
      if (s == "true" || s == "True" || s == "TRUE") return true;
      if (s == "false" || s == "False" || s == "FALSE") return false;
      std::string_view v = s;
      if (v.starts_with('+')) v.remove_prefix(1);
      long long i = 0;
      auto [p, e] = std::from_chars(v.data(), v.data() + v.size(), i);
      if (!v.empty() && e == std::errc() && p == v.data() + v.size()) return i;
      double d = 0;
      auto [p2, e2] = std::from_chars(v.data(), v.data() + v.size(), d);
      if (!v.empty() && e2 == std::errc() && p2 == v.data() + v.size() && std::isfinite(d)) {
        return d;
      }
      return s;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      for (const YAML::Node& item : node) out.push_back(to_json(item, depth + 1));
      return out;
    }
    case YAML::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (auto it = node.begin(); it != node.end(); ++it) {
        out[it->first.IsScalar() ? it->first.Scalar() : std::string("?")] =
            to_json(it->second, depth + 1);
      }
      return out;
    }
    default:
      return nullptr;
  }
}

// ---- scalar values ----------------------------------------------------------------------------

std::optional<double> as_number(Ctx& ctx, const YAML::Node& node, std::string_view key) {
  if (!node.IsScalar()) {
    ctx.error(node, fmt::format("{}: expected a number, got {}", key, describe(node)));
    return std::nullopt;
  }
  std::string_view s = node.Scalar();
  if (s.starts_with('+')) s.remove_prefix(1);
  double v = 0;
  auto [p, e] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || e != std::errc() || p != s.data() + s.size() || !std::isfinite(v) ||
      std::fabs(v) > 1e15) {
    ctx.error(node, fmt::format("{}: expected a number, got '{}'", key, excerpt(node.Scalar())));
    return std::nullopt;
  }
  return v;
}

// A number checked against a lower bound (`strict`: must be greater).
std::optional<double> as_bounded(Ctx& ctx, const YAML::Node& node, std::string_view key, double lo,
                                 bool strict) {
  auto v = as_number(ctx, node, key);
  if (!v) return std::nullopt;
  if (strict ? *v <= lo : *v < lo) {
    std::string rule = lo == 0
                           ? (strict ? "must be greater than 0" : "must not be negative")
                           : fmt::format("must be {} {}", strict ? "greater than" : "at least", lo);
    ctx.error(node, fmt::format("{} {}, got {}", key, rule, *v));
    return std::nullopt;
  }
  return v;
}

std::optional<long long> as_whole(Ctx& ctx, const YAML::Node& node, std::string_view key,
                                  long long lo, long long hi) {
  auto v = as_number(ctx, node, key);
  if (!v) return std::nullopt;
  if (*v != std::floor(*v)) {
    ctx.error(node,
              fmt::format("{}: expected a whole number, got '{}'", key, excerpt(node.Scalar())));
    return std::nullopt;
  }
  if (*v < static_cast<double>(lo) || *v > static_cast<double>(hi)) {
    ctx.error(node, fmt::format("{} must {}, got {}", key,
                                *v < static_cast<double>(lo)
                                    ? (lo == 0 ? std::string("not be negative")
                                               : fmt::format("be at least {}", lo))
                                    : fmt::format("be at most {}", hi),
                                *v));
    return std::nullopt;
  }
  return static_cast<long long>(*v);
}

// A duration (`positive`: must not be 0s).
std::optional<Duration> as_duration(Ctx& ctx, const YAML::Node& node, std::string_view key,
                                    bool positive = false) {
  auto d = to_duration(ctx, node, key);
  if (!d) return std::nullopt;
  if (positive && d->count() == 0) {
    ctx.error(node, fmt::format("{} must be greater than 0, got 0s", key));
    return std::nullopt;
  }
  return d;
}

// A signed offset from UTC: -4h, +5h30m, -04:00, +0530.
std::optional<Duration> as_offset(Ctx& ctx, const YAML::Node& node, std::string_view key) {
  auto text = to_string(ctx, node, key);
  if (!text) return std::nullopt;
  std::string_view s = *text;
  int sign = 1;
  if (s.starts_with('-') || s.starts_with('+')) {
    sign = s.front() == '-' ? -1 : 1;
    s.remove_prefix(1);
  }
  auto bad = [&] {
    ctx.error(node, fmt::format("{}: invalid offset '{}' (use e.g. -4h, +5h30m or -04:00)", key,
                                excerpt(*text)));
    return std::nullopt;
  };
  Duration d{0};
  bool clock = s.size() >= 4 && std::all_of(s.begin(), s.end(), [](char c) {
                 return std::isdigit(static_cast<unsigned char>(c)) || c == ':';
               });
  if (clock) {
    std::string digits;
    for (char c : s) {
      if (c != ':') digits += c;
    }
    if (digits.size() != 4) return bad();
    int h = (digits[0] - '0') * 10 + (digits[1] - '0');
    int m = (digits[2] - '0') * 10 + (digits[3] - '0');
    if (m > 59) return bad();
    d = std::chrono::minutes(h * 60 + m);
  } else {
    auto parsed = parse_duration(s);
    if (!parsed) return bad();
    d = *parsed;
  }
  if (d > std::chrono::hours(24)) {
    ctx.error(node, fmt::format("{}: offset '{}' is more than 24h", key, excerpt(*text)));
    return std::nullopt;
  }
  return d * sign;
}

// ---- the scenario ---------------------------------------------------------------------------

class Parser {
 public:
  Parser(Ctx& ctx, std::string base_dir) : ctx_(ctx), base_dir_(std::move(base_dir)) {}

  void parse(const YAML::Node& root, Scenario& sc) {
    if (!root.IsMap()) {
      if (root.IsNull() || !root.IsDefined()) {
        ctx_.error(root, "the scenario is empty; it needs at least 'trace', 'model' and 'bounds'");
      } else {
        ctx_.error(root,
                   fmt::format("expected a mapping at the top level, got {}", describe(root)));
      }
      return;
    }
    Fields m(ctx_, root, "the scenario");
    if (auto n = m.get("name")) {
      if (auto s = to_string(ctx_, *n, "name")) sc.name = *s;
    }
    if (auto n = m.require("trace")) parse_trace(*n, sc.trace);
    if (auto n = m.require("model")) parse_model(*n, sc.model);
    if (auto n = m.get("sources")) parse_sources(*n, sc.model.sources);
    bool bounds_ok = false;
    if (auto n = m.require("bounds", " (min and max capacity of the presets)")) {
      bounds_ok = parse_bounds(*n, sc);
    }
    std::optional<YAML::Node> policies = m.get("policies");
    m.finish();
    parse_policies(policies, sc, bounds_ok);
  }

 private:
  // ---- trace ----
  void parse_trace(const YAML::Node& node, TraceSpec& t) {
    if (!expect_map(ctx_, node, "trace", "a mapping with 'path'")) return;
    Fields m(ctx_, node, "trace");
    if (auto n = m.require("path")) {
      if (auto s = to_string(ctx_, *n, "path")) {
        if (s->empty()) {
          ctx_.error(*n, "path: expected a file name, got ''");
        } else {
          fs::path p(*s);
          t.path = p.is_absolute() || base_dir_.empty()
                       ? p.string()
                       : (fs::path(base_dir_) / p).lexically_normal().string();
        }
      }
    }
    if (auto n = m.get("separator")) {
      if (auto s = to_string(ctx_, *n, "separator")) {
        if (*s == "tab" || *s == "\t") {
          t.separator = '\t';
        } else if (*s == "space" || *s == " " || *s == "whitespace") {
          t.separator = ' ';
        } else if (s->size() == 1 && *s != "\"" && *s != "\n" && *s != "\r") {
          t.separator = s->front();
        } else {
          ctx_.error(*n, fmt::format("separator: expected one character (',' ';' '|'), 'tab' or "
                                     "'space', got '{}'",
                                     excerpt(*s)));
        }
      }
    }
    if (auto n = m.get("header")) {
      if (auto b = to_bool(ctx_, *n, "header")) t.header = *b;
    }
    std::optional<YAML::Node> format_node = m.get("time_format");
    if (format_node) {
      if (auto s =
              to_choice(ctx_, *format_node, "time_format", {"datetime", "unix", "row-index"})) {
        t.time_format = *s == "datetime" ? TimeFormat::kDateTime
                        : *s == "unix"   ? TimeFormat::kUnixSeconds
                                         : TimeFormat::kRowIndex;
      }
    }
    const bool row_index = t.time_format == TimeFormat::kRowIndex;
    auto time_column =
        row_index ? m.get("time_column") : m.require("time_column", " (or time_format: row-index)");
    if (time_column) {
      if (row_index) {
        ctx_.error(*time_column, "time_column: a row-index trace has no time column");
      } else if (auto s = to_string(ctx_, *time_column, "time_column")) {
        t.time_column = *s;
      }
    }
    if (auto n = m.get("per_request")) {
      if (auto b = to_bool(ctx_, *n, "per_request")) t.per_request = *b;
    }
    auto load_column =
        t.per_request ? m.get("load_column") : m.require("load_column", " (the load per row)");
    if (load_column) {
      if (auto s = to_string(ctx_, *load_column, "load_column")) t.load_column = *s;
    }
    if (auto n = m.get("gap_column")) {
      if (t.per_request) {
        ctx_.error(*n,
                   "gap_column: a per-request trace has no gap column (bins without "
                   "arrivals are zero load)");
      } else if (auto s = to_string(ctx_, *n, "gap_column")) {
        t.gap_column = *s;
      }
    }
    if (auto n = m.get("missing")) {
      if (auto s = to_choice(ctx_, *n, "missing", {"gap", "zero"})) {
        t.missing_rows_zero = *s == "zero";
      }
    }
    if (auto n = m.get("utc_offset")) {
      if (auto d = as_offset(ctx_, *n, "utc_offset")) t.utc_offset = *d;
    }
    std::optional<YAML::Node> step = m.get("step");
    if (step) {
      if (auto d = as_duration(ctx_, *step, "step", true)) t.step = *d;
    } else if (row_index || t.per_request) {
      m.require("step", row_index ? " (the time between rows of a row-index trace)"
                                  : " (the bin width of a per-request trace)");
    }
    if (auto n = m.get("start")) {
      if (!row_index) {
        ctx_.error(*n, "start: only a row-index trace has a start (the time of row 0)");
      } else if (auto tp = as_time(*n, "start", t.utc_offset)) {
        t.start = *tp;
      }
    }
    if (auto n = m.get("load_kind")) {
      if (auto s = to_choice(ctx_, *n, "load_kind", {"count", "rate"})) {
        if (*s == "rate" && t.per_request) {
          ctx_.error(*n,
                     "load_kind: a per-request trace counts arrivals per step; it cannot be "
                     "a rate");
        }
        t.load_kind = *s == "count" ? LoadKind::kCount : LoadKind::kRate;
      }
    }
    if (auto n = m.get("multiplier")) {
      if (auto v = as_bounded(ctx_, *n, "multiplier", 0, true)) t.multiplier = *v;
    }
    std::optional<YAML::Node> from_node = m.get("from");
    std::optional<YAML::Node> to_node = m.get("to");
    if (from_node) t.from = as_time(*from_node, "from", t.utc_offset);
    if (to_node) t.to = as_time(*to_node, "to", t.utc_offset);
    if (t.from && t.to && *t.to <= *t.from) {
      ctx_.error(*to_node, fmt::format("to ({}) must be after from ({})", format_time(*t.to),
                                       format_time(*t.from)));
    }
    m.finish();
  }

  std::optional<TimePoint> as_time(const YAML::Node& node, std::string_view key,
                                   Duration utc_offset) {
    auto s = to_string(ctx_, node, key);
    if (!s) return std::nullopt;
    auto t = parse_trace_time(*s, utc_offset);
    if (!t) {
      ctx_.error(node, fmt::format("{}: {}", key, t.error()));
      return std::nullopt;
    }
    return *t;
  }

  // ---- model ----
  void parse_model(const YAML::Node& node, WorkloadModel& model) {
    if (!expect_map(ctx_, node, "model")) return;
    Fields m(ctx_, node, "model");
    if (auto n = m.require("capacity_per_instance")) {
      if (auto v = as_bounded(ctx_, *n, "capacity_per_instance", 0, true)) {
        model.capacity_per_instance = *v;
        capacity_ok_ = true;
      }
    }
    if (auto n = m.get("boot_delay")) {
      if (auto d = as_duration(ctx_, *n, "boot_delay")) model.boot_delay = *d;
    }
    if (auto n = m.get("drain_delay")) {
      if (auto d = as_duration(ctx_, *n, "drain_delay")) model.drain_delay = *d;
    }
    if (auto n = m.get("billing")) parse_billing(*n, model.billing);
    if (auto n = m.get("price_per_hour")) {
      if (auto v = as_bounded(ctx_, *n, "price_per_hour", 0, false)) model.price_per_hour = *v;
    }
    if (auto n = m.get("queue_limit")) {
      if (auto v = as_bounded(ctx_, *n, "queue_limit", 0, false)) model.queue_limit = *v;
    }
    if (auto n = m.get("slo_wait")) {
      if (auto d = as_duration(ctx_, *n, "slo_wait")) model.slo_wait = *d;
    }
    if (auto n = m.get("initial_capacity")) {
      if (auto v = as_whole(ctx_, *n, "initial_capacity", 0, kMaxCapacity)) {
        model.initial_capacity = static_cast<int>(*v);
      }
    }
    if (m.has("sources")) {
      // Written under model by mistake: say where it belongs.
      auto n = m.get("sources");
      ctx_.error(*n,
                 "sources: write the simulated sources at the top level of the scenario, "
                 "not under model");
    }
    m.finish();
  }

  void parse_billing(const YAML::Node& node, Billing& billing) {
    if (!expect_map(ctx_, node, "billing", "a mapping such as {kind: per-second, minimum: 60s}")) {
      return;
    }
    Fields m(ctx_, node, "billing");
    if (auto n = m.require("kind")) {
      if (auto s = to_choice(ctx_, *n, "kind", {"per-second", "per-hour"})) {
        billing.kind = *s == "per-second" ? BillingKind::kPerSecond : BillingKind::kPerHour;
      }
    }
    if (auto n = m.get("minimum")) {
      if (billing.kind == BillingKind::kPerHour) {
        ctx_.error(*n,
                   "minimum: only per-second billing has a minimum (per-hour billing charges "
                   "every started hour)");
      } else if (auto d = as_duration(ctx_, *n, "minimum")) {
        billing.minimum = *d;
      }
    }
    m.finish();
  }

  // ---- sources ----
  void parse_sources(const YAML::Node& node, std::vector<SimulatedSource>& out) {
    if (!expect_list(ctx_, node, "sources", "a list of simulated sources")) return;
    const std::vector<std::string> kinds = {"utilization", "per-instance-rate", "total-rate",
                                            "backlog"};
    for (const YAML::Node& item : node) {
      if (!expect_map(ctx_, item, "source", "a mapping {name, kind, period, delay}")) continue;
      Fields m(ctx_, item, "source");
      SimulatedSource s;
      bool ok = true;
      if (auto n = m.require("name")) {
        auto name = to_string(ctx_, *n, "name");
        ok = name.has_value();
        if (name && !valid_name(*name)) {
          ctx_.error(*n, fmt::format("invalid source name '{}': use 1-63 letters, digits, '-', "
                                     "'_' or '.', starting with a letter or digit",
                                     excerpt(*name)));
          ok = false;
        } else if (name) {
          s.name = *name;
          for (const Preset& p : presets()) {
            if (p.source && s.name == p.source->name) {
              ctx_.error(*n, fmt::format("source name '{}' is reserved for the {} preset; "
                                         "choose another",
                                         s.name, p.name));
              ok = false;
            }
          }
          auto [it, fresh] = source_lines_.emplace(s.name, mark_of(*n).line + 1);
          if (!fresh) {
            ctx_.error(*n, fmt::format("duplicate source name '{}' (first defined at line {})",
                                       s.name, it->second));
            ok = false;
          }
        }
      } else {
        ok = false;
      }
      if (auto n = m.require("kind")) {
        if (auto k = to_choice(ctx_, *n, "kind", kinds)) {
          s.kind =
              static_cast<MetricKind>(std::find(kinds.begin(), kinds.end(), *k) - kinds.begin());
        }
      }
      if (auto n = m.get("period")) {
        if (auto d = as_duration(ctx_, *n, "period", true)) s.period = *d;
      }
      if (auto n = m.get("delay")) {
        if (auto d = as_duration(ctx_, *n, "delay")) s.delay = *d;
      }
      m.finish();
      if (ok) out.push_back(std::move(s));
    }
  }

  // ---- bounds ----
  bool parse_bounds(const YAML::Node& node, Scenario& sc) {
    if (!expect_map(ctx_, node, "bounds", "a mapping {min, max}")) return false;
    Fields m(ctx_, node, "bounds");
    std::size_t before = ctx_.count();
    std::optional<long long> min, max;
    if (auto n = m.get("min")) min = as_whole(ctx_, *n, "min", 0, kMaxCapacity);
    auto max_node = m.require("max", " (e.g. 4 x the trace's peak demand)");
    if (max_node) max = as_whole(ctx_, *max_node, "max", 1, kMaxCapacity);
    if (min) sc.min = static_cast<int>(*min);
    if (max) sc.max = static_cast<int>(*max);
    if (max && sc.min > sc.max) {
      ctx_.error(*max_node, fmt::format("max ({}) is less than min ({})", sc.max, sc.min));
    }
    m.finish();
    return ctx_.count() == before;
  }

  // ---- policies ----
  struct Entry {
    YAML::Node node;  // the list item
    const Preset* preset = nullptr;
    YAML::Node group;  // when not a preset
  };

  void parse_policies(const std::optional<YAML::Node>& node, Scenario& sc, bool bounds_ok) {
    std::vector<Entry> entries;
    if (node &&
        expect_list(ctx_, *node, "policies", "a list of {preset: NAME} or {group: {...}}")) {
      for (const YAML::Node& item : *node) {
        if (auto e = parse_entry(item)) entries.push_back(std::move(*e));
      }
    }
    // hpa (the speedup baseline) first and oracle (the cost reference) last, unless listed.
    auto listed = [&](std::string_view name) {
      return std::any_of(entries.begin(), entries.end(),
                         [&](const Entry& e) { return e.preset && e.preset->name == name; });
    };
    // (A new vector rather than insert(): shifting would assign YAML::Nodes, and assigning one
    // overwrites the node it refers to.)
    if (!listed("hpa")) {
      std::vector<Entry> with_hpa;
      with_hpa.reserve(entries.size() + 2);
      with_hpa.push_back(Entry{YAML::Node(), find_preset("hpa"), {}});
      for (const Entry& e : entries) with_hpa.push_back(e);
      entries.swap(with_hpa);
    }
    if (!listed("oracle")) entries.push_back(Entry{YAML::Node(), find_preset("oracle"), {}});

    // Every simulated source: the scenario's, then those of the presets in use.
    for (const Entry& e : entries) {
      if (e.preset && e.preset->source) {
        const PresetSource& ps = *e.preset->source;
        sc.model.sources.push_back(SimulatedSource{ps.name, ps.kind, ps.period, ps.delay});
      }
    }
    std::vector<SourceSpec> specs;
    for (const SimulatedSource& s : sc.model.sources) {
      specs.push_back(SourceSpec{s.name, "simulated", nlohmann::json::object(), false});
    }

    std::map<std::string, int, std::less<>> names;  // policy name -> line (0: added)
    for (Entry& e : entries) {
      std::optional<ScenarioPolicy> p;
      if (e.preset) {
        if (!bounds_ok && e.preset->kind == PolicyKind::kGroup) continue;
        if (!capacity_ok_ && std::string_view(e.preset->name) == "kpa") continue;
        p = build_preset(*e.preset, e.node, sc);
      } else {
        p = build_group(e.group, sc, specs);
      }
      if (!p) continue;
      int line = e.node ? mark_of(e.node).line + 1 : 0;
      auto [it, fresh] = names.emplace(p->name, line);
      if (!fresh) {
        ctx_.error(e.node,
                   fmt::format("duplicate policy '{}'{}", p->name,
                               it->second > 0 ? fmt::format(" (first at line {})", it->second)
                                              : std::string()));
        continue;
      }
      sc.policies.push_back(std::move(*p));
    }
  }

  std::optional<Entry> parse_entry(const YAML::Node& item) {
    if (!expect_map(ctx_, item, "policy", "{preset: NAME} or {group: {...}}")) return std::nullopt;
    Fields m(ctx_, item, "policy");
    auto preset = m.get("preset");
    auto group = m.get("group");
    std::size_t before = ctx_.count();
    m.finish();
    if (preset && group) {
      ctx_.error(item,
                 "policy: 'preset' and 'group' cannot be used together; write one per "
                 "list item");
      return std::nullopt;
    }
    if (!preset && !group) {
      if (ctx_.count() == before) {
        ctx_.error(item, "policy: expected 'preset: NAME' or 'group: {...}'");
      }
      return std::nullopt;
    }
    if (preset) {
      auto name = to_string(ctx_, *preset, "preset");
      if (!name) return std::nullopt;
      const Preset* p = find_preset(*name);
      if (p == nullptr) {
        ctx_.error(*preset, fmt::format("unknown preset '{}'{}; known presets: {}", excerpt(*name),
                                        did_you_mean(*name, preset_names()), join(preset_names())));
        return std::nullopt;
      }
      return Entry{item, p, {}};
    }
    if (!expect_map(ctx_, *group, "group", "a mapping (a group as in a tide run config)")) {
      return std::nullopt;
    }
    return Entry{item, nullptr, *group};
  }

  std::optional<ScenarioPolicy> build_preset(const Preset& preset, const YAML::Node& at,
                                             const Scenario& sc) {
    ScenarioPolicy p;
    p.name = preset.name;
    p.preset = preset.name;
    p.kind = preset.kind;
    if (preset.kind != PolicyKind::kGroup) return p;
    std::string text = fmt::format(fmt::runtime(preset.yaml), sc.min, sc.max,
                                   0.7 * sc.model.capacity_per_instance);
    std::string file = fmt::format("preset {}", preset.name);
    auto report = [&](const Diagnostics& diags) {
      for (const Diagnostic& d : diags) {
        ctx_.error(mark_of(at),
                   fmt::format("preset '{}' cannot be built: {}", preset.name, d.message));
      }
      if (diags.empty()) ctx_.error(mark_of(at), "preset cannot be built");
    };
    auto node = parse_yaml(text, file);
    if (!node) {
      report(node.error());
      return std::nullopt;
    }
    std::vector<SourceSpec> specs = {
        SourceSpec{preset.source->name, "simulated", nlohmann::json::object(), false}};
    auto group = parse_group(*node, file, &specs);
    if (!group) {
      report(group.error());
      return std::nullopt;
    }
    p.group = std::move(*group);
    p.group_json = to_json(*node);
    return p;
  }

  std::optional<ScenarioPolicy> build_group(YAML::Node node, const Scenario& sc,
                                            const std::vector<SourceSpec>& specs) {
    // The simulator needs no target, and a missing min or max is the scenario's bounds.
    if (!node["target"]) node["target"]["type"] = "static";
    if (!node["min"]) node["min"] = sc.min;
    if (!node["max"]) node["max"] = sc.max;
    // A predictive policy's boot delay is the model's unless it says otherwise.
    if (YAML::Node list = node["policies"]; list.IsSequence()) {
      for (YAML::Node item : list) {
        if (item.IsMap() && item["type"] && item["type"].IsScalar() &&
            item["type"].Scalar() == "predictive" && !item["boot_delay"]) {
          item["boot_delay"] = format_duration(sc.model.boot_delay);
        }
      }
    }
    auto group = parse_group(node, ctx_.file(), &specs);
    if (!group) {
      ctx_.add(group.error());
      return std::nullopt;
    }
    // Every metric must read a simulated source, with no query keys.
    std::size_t before = ctx_.count();
    YAML::Node policies = node["policies"];
    for (std::size_t i = 0; i < group->policies.size(); ++i) {
      const MetricRef* metric = group->policies[i].metric();
      if (metric == nullptr) continue;
      // reset(), not operator=: assigning a YAML::Node overwrites the node it refers to.
      YAML::Node at;
      at.reset(node);
      if (policies.IsSequence() && i < policies.size() && policies[i].IsMap() &&
          policies[i]["metric"]) {
        at.reset(policies[i]["metric"]);
        if (at.IsMap() && at["source"]) at.reset(at["source"]);
      }
      bool simulated =
          std::any_of(sc.model.sources.begin(), sc.model.sources.end(),
                      [&](const SimulatedSource& s) { return s.name == metric->source; });
      if (!simulated) {
        std::vector<std::string> known;
        for (const SimulatedSource& s : sc.model.sources) known.push_back(s.name);
        ctx_.error(at, fmt::format("metric source '{}' is not a simulated source{}; the "
                                   "scenario's sources are: {}",
                                   excerpt(metric->source), did_you_mean(metric->source, known),
                                   join(known)));
      } else if (!metric->params.empty()) {
        ctx_.error(at, fmt::format("metric: a simulated source takes no query keys, got '{}'",
                                   metric->params.begin().key()));
      }
    }
    if (ctx_.count() != before) return std::nullopt;
    if (find_preset(group->name) != nullptr) {
      YAML::Node name = node["name"];
      ctx_.error(name ? name : node, fmt::format("group name '{}' is reserved for the preset of "
                                                 "that name; choose another",
                                                 group->name));
      return std::nullopt;
    }
    ScenarioPolicy p;
    p.name = group->name;
    p.kind = PolicyKind::kGroup;
    p.group = std::move(*group);
    p.group_json = to_json(node);
    return p;
  }

  Ctx& ctx_;
  std::string base_dir_;
  bool capacity_ok_ = false;
  std::map<std::string, int, std::less<>> source_lines_;
};

}  // namespace

std::expected<Scenario, Diagnostics> parse_scenario(std::string_view text,
                                                    std::string_view filename,
                                                    const std::string& base_dir) {
  Ctx ctx(filename);
  Scenario sc;
  sc.path = std::string(filename);
  sc.name = fs::path(std::string(filename)).stem().string();
  auto root = parse_yaml(text, filename);
  if (!root) return std::unexpected(root.error());
  try {
    Parser(ctx, base_dir).parse(*root, sc);
  } catch (const YAML::Exception& e) {
    ctx.error(e.mark, e.msg.empty() ? std::string("invalid YAML") : e.msg);
  } catch (const std::exception& e) {
    ctx.error(YAML::Mark::null_mark(), fmt::format("internal error: {}", e.what()));
  }
  if (ctx.failed()) return std::unexpected(ctx.take());
  return sc;
}

std::expected<Scenario, Diagnostics> load_scenario(const std::string& path) {
  auto fail = [&](std::string message) {
    return std::unexpected(Diagnostics{Diagnostic{path, 0, 0, std::move(message)}});
  };
  std::error_code ec;
  if (fs::is_directory(path, ec)) return fail("cannot read the scenario: it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(fmt::format("cannot read the scenario: {}", std::strerror(errno)));
  std::string text;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxConfigBytes) {
      return fail(fmt::format("the file is too large (more than {} bytes)", kMaxConfigBytes));
    }
  }
  return parse_scenario(text, path, fs::path(path).parent_path().string());
}

}  // namespace tide::sim
