#include "config/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <utility>

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "config/fields.hpp"
#include "policy/cron.hpp"
#include "targets/registry.hpp"

namespace tide {

std::string format_diagnostic(const Diagnostic& d) {
  if (d.line <= 0) return fmt::format("{}: error: {}", d.file, d.message);
  return fmt::format("{}:{}:{}: error: {}", d.file, d.line, d.column, d.message);
}

const SourceSpec* Config::find_source(std::string_view name) const {
  for (const SourceSpec& s : sources) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const GroupSpec* Config::find_group(std::string_view name) const {
  for (const GroupSpec& g : groups) {
    if (g.name == name) return &g;
  }
  return nullptr;
}

namespace {

using config_detail::Ctx;
using config_detail::describe;
using config_detail::did_you_mean;
using config_detail::excerpt;
using config_detail::expect_list;
using config_detail::expect_map;
using config_detail::Fields;
using config_detail::join;
using config_detail::mark_of;
using config_detail::quoted_list;
using config_detail::to_bool;
using config_detail::to_duration;
using config_detail::to_string;
using config_detail::unknown_choice;
using config_detail::valid_name;

std::string format_number(double v) {
  return fmt::format("{}", v);
}

// ---- scalar conversions ------------------------------------------------------------------------

template <class T>
struct Val {
  T v;
  YAML::Node node;
};

// Integers larger than this are rejected before they reach any arithmetic.
constexpr double kMaxMagnitude = 1e15;

// `what`: "a number" or "a whole number", for the messages.
std::optional<double> to_number(Ctx& ctx, const YAML::Node& node, std::string_view key,
                                std::string_view what = "a number") {
  if (!node.IsScalar()) {
    ctx.error(node, fmt::format("{}: expected {}, got {}", key, what, describe(node)));
    return std::nullopt;
  }
  std::string_view text = node.Scalar();
  std::string_view digits = text.starts_with('+') ? text.substr(1) : text;
  double value = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  bool all = !digits.empty() && ptr == digits.data() + digits.size();
  if (ec == std::errc::result_out_of_range && all) {
    ctx.error(node, fmt::format("{}: number '{}' is out of range", key, excerpt(text)));
    return std::nullopt;
  }
  if (ec != std::errc() || !all) {
    ctx.error(node, fmt::format("{}: expected {}, got '{}'", key, what, excerpt(text)));
    return std::nullopt;
  }
  if (!std::isfinite(value)) {
    ctx.error(node, fmt::format("{}: expected a finite number, got '{}'", key, excerpt(text)));
    return std::nullopt;
  }
  if (std::fabs(value) > kMaxMagnitude) {
    ctx.error(node, fmt::format("{}: number '{}' is out of range (at most {:g} in magnitude)", key,
                                excerpt(text), kMaxMagnitude));
    return std::nullopt;
  }
  return value;
}

std::optional<long long> to_integer(Ctx& ctx, const YAML::Node& node, std::string_view key) {
  if (!node.IsScalar()) {
    ctx.error(node, fmt::format("{}: expected a whole number, got {}", key, describe(node)));
    return std::nullopt;
  }
  auto value = to_number(ctx, node, key, "a whole number");
  if (!value) return std::nullopt;
  if (*value != std::floor(*value)) {
    ctx.error(node,
              fmt::format("{}: expected a whole number, got '{}'", key, excerpt(node.Scalar())));
    return std::nullopt;
  }
  return static_cast<long long>(*value);
}

// Generic conversion for values whose schema is not known here (a metric's query keys when the
// source is not checked). Plain scalars become numbers or booleans when they read as one.
std::optional<nlohmann::json> to_json(Ctx& ctx, const YAML::Node& node, std::string_view key,
                                      int depth = 0) {
  if (--ctx.json_budget < 0 || depth > 32) {
    ctx.error(node, fmt::format("{}: value is nested too deeply or too large", key));
    return std::nullopt;
  }
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nlohmann::json(nullptr);
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (node.Tag() == "!") return nlohmann::json(s);  // quoted: always a string
      if (s == "true") return nlohmann::json(true);
      if (s == "false") return nlohmann::json(false);
      long long i = 0;
      auto [p, e] = std::from_chars(s.data(), s.data() + s.size(), i);
      if (e == std::errc() && p == s.data() + s.size() && !s.empty()) return nlohmann::json(i);
      double d = 0;
      auto [p2, e2] = std::from_chars(s.data(), s.data() + s.size(), d);
      if (e2 == std::errc() && p2 == s.data() + s.size() && !s.empty() && std::isfinite(d)) {
        return nlohmann::json(d);
      }
      return nlohmann::json(s);
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      for (const YAML::Node& item : node) {
        auto v = to_json(ctx, item, key, depth + 1);
        if (!v) return std::nullopt;
        out.push_back(std::move(*v));
      }
      return out;
    }
    case YAML::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (auto it = node.begin(); it != node.end(); ++it) {
        if (!it->first.IsScalar()) {
          ctx.error(it->first,
                    fmt::format("{}: expected a key name, got {}", key, describe(it->first)));
          return std::nullopt;
        }
        auto v = to_json(ctx, it->second, key, depth + 1);
        if (!v) return std::nullopt;
        out[it->first.Scalar()] = std::move(*v);
      }
      return out;
    }
  }
  return std::nullopt;
}

// ---- typed field getters -----------------------------------------------------------------------

std::optional<Val<std::string>> get_string(Fields& f, std::string_view key, bool required = false) {
  auto node = required ? f.require(key) : f.get(key);
  if (!node) return std::nullopt;
  auto v = to_string(f.ctx(), *node, key);
  if (!v) return std::nullopt;
  return Val<std::string>{std::move(*v), *node};
}

std::optional<Val<double>> get_number(Fields& f, std::string_view key, bool required = false) {
  auto node = required ? f.require(key) : f.get(key);
  if (!node) return std::nullopt;
  auto v = to_number(f.ctx(), *node, key);
  if (!v) return std::nullopt;
  return Val<double>{*v, *node};
}

std::optional<Val<long long>> get_integer(Fields& f, std::string_view key, bool required = false) {
  auto node = required ? f.require(key) : f.get(key);
  if (!node) return std::nullopt;
  auto v = to_integer(f.ctx(), *node, key);
  if (!v) return std::nullopt;
  return Val<long long>{*v, *node};
}

std::optional<Val<bool>> get_bool(Fields& f, std::string_view key) {
  auto node = f.get(key);
  if (!node) return std::nullopt;
  auto v = to_bool(f.ctx(), *node, key);
  if (!v) return std::nullopt;
  return Val<bool>{*v, *node};
}

std::optional<Val<Duration>> get_duration(Fields& f, std::string_view key, bool required = false) {
  auto node = required ? f.require(key) : f.get(key);
  if (!node) return std::nullopt;
  auto v = to_duration(f.ctx(), *node, key);
  if (!v) return std::nullopt;
  return Val<Duration>{*v, *node};
}

// A string that must be one of `choices`.
std::optional<Val<std::string>> get_choice(Fields& f, std::string_view key,
                                           const std::vector<std::string>& choices,
                                           bool required = false) {
  auto v = get_string(f, key, required);
  if (!v) return std::nullopt;
  if (std::find(choices.begin(), choices.end(), v->v) == choices.end()) {
    f.ctx().error(v->node, unknown_choice(key, v->v, choices));
    return std::nullopt;
  }
  return v;
}

// Range checks. Each reports at the value's node and returns false when out of range.
struct Range {
  std::optional<double> lo;
  bool lo_inclusive = true;
  std::optional<double> hi;
  bool hi_inclusive = true;
};

constexpr Range kNonNegative{0.0, true, std::nullopt, true};
constexpr Range kPositive{0.0, false, std::nullopt, true};

// The side of the range `v` violates, as "must be ..." text.
std::string range_violation(double v, const Range& r) {
  if (r.lo && (r.lo_inclusive ? v < *r.lo : v <= *r.lo)) {
    if (*r.lo == 0) return r.lo_inclusive ? "must not be negative" : "must be greater than 0";
    return fmt::format("must be {} {}", r.lo_inclusive ? "at least" : "greater than",
                       format_number(*r.lo));
  }
  return fmt::format("must be {} {}", r.hi_inclusive ? "at most" : "less than",
                     format_number(r.hi.value_or(0)));
}

bool in_range(double v, const Range& r) {
  if (r.lo && (r.lo_inclusive ? v < *r.lo : v <= *r.lo)) return false;
  if (r.hi && (r.hi_inclusive ? v > *r.hi : v >= *r.hi)) return false;
  return true;
}

template <class T>
bool check_range(Ctx& ctx, const Val<T>& val, std::string_view key, const Range& r) {
  double v = static_cast<double>(val.v);
  if (in_range(v, r)) return true;
  ctx.error(val.node, fmt::format("{} {}, got {}", key, range_violation(v, r), format_number(v)));
  return false;
}

bool check_duration(Ctx& ctx, const Val<Duration>& val, std::string_view key,
                    std::optional<Duration> lo, bool lo_inclusive, std::optional<Duration> hi) {
  std::string problem;
  if (lo && (lo_inclusive ? val.v < *lo : val.v <= *lo)) {
    problem = *lo == Duration{0} && !lo_inclusive
                  ? "must be greater than 0"
                  : fmt::format("must be {} {}", lo_inclusive ? "at least" : "greater than",
                                format_duration(*lo));
  } else if (hi && val.v > *hi) {
    problem = fmt::format("must be at most {}", format_duration(*hi));
  } else {
    return true;
  }
  ctx.error(val.node, fmt::format("{} {}, got {}", key, problem, format_duration(val.v)));
  return false;
}

// A capacity: a whole number in [0, kMaxCapacity].
std::optional<Val<long long>> get_capacity(Fields& f, std::string_view key, bool required = false) {
  auto v = get_integer(f, key, required);
  if (!v) return std::nullopt;
  if (!check_range(f.ctx(), *v, key, Range{0.0, true, static_cast<double>(kMaxCapacity), true})) {
    return std::nullopt;
  }
  return v;
}

// ---- schema-driven keys (source and target types) ----------------------------------------------

std::optional<nlohmann::json> convert_kind(Ctx& ctx, const KeySpec& spec, const YAML::Node& node);

std::optional<nlohmann::json> convert_string(Ctx& ctx, const KeySpec& spec,
                                             const YAML::Node& node) {
  auto s = to_string(ctx, node, spec.name);
  if (!s) return std::nullopt;
  if (!spec.choices.empty() &&
      std::find(spec.choices.begin(), spec.choices.end(), *s) == spec.choices.end()) {
    ctx.error(node, unknown_choice(spec.name, *s, spec.choices));
    return std::nullopt;
  }
  if (spec.check) {
    std::string problem = spec.check(*s);
    if (!problem.empty()) {
      ctx.error(node, fmt::format("{}: {}, got '{}'", spec.name, problem, excerpt(*s)));
      return std::nullopt;
    }
  }
  return nlohmann::json(*s);
}

std::optional<nlohmann::json> convert_kind(Ctx& ctx, const KeySpec& spec, const YAML::Node& node) {
  auto check_minimum = [&](double v) {
    if (spec.minimum && v < *spec.minimum) {
      ctx.error(node, fmt::format("{} must be at least {}, got {}", spec.name,
                                  format_number(*spec.minimum), format_number(v)));
      return false;
    }
    return true;
  };
  switch (spec.kind) {
    case ValueKind::kString:
      return convert_string(ctx, spec, node);
    case ValueKind::kNumber: {
      auto v = to_number(ctx, node, spec.name);
      if (!v || !check_minimum(*v)) return std::nullopt;
      return nlohmann::json(*v);
    }
    case ValueKind::kInteger: {
      auto v = to_integer(ctx, node, spec.name);
      if (!v || !check_minimum(static_cast<double>(*v))) return std::nullopt;
      return nlohmann::json(*v);
    }
    case ValueKind::kBool: {
      auto v = to_bool(ctx, node, spec.name);
      if (!v) return std::nullopt;
      return nlohmann::json(*v);
    }
    case ValueKind::kDuration: {
      auto v = to_duration(ctx, node, spec.name);
      if (!v) return std::nullopt;
      return nlohmann::json(v->count());
    }
    case ValueKind::kStringList: {
      nlohmann::json out = nlohmann::json::array();
      if (node.IsScalar()) {
        auto s = convert_string(ctx, spec, node);
        if (!s) return std::nullopt;
        out.push_back(std::move(*s));
        return out;
      }
      if (!expect_list(ctx, node, spec.name, "a list of strings")) return std::nullopt;
      bool ok = true;
      for (const YAML::Node& item : node) {
        if (out.size() >= 10'000) {
          ctx.error(item, fmt::format("{}: too many items (at most 10000)", spec.name));
          return std::nullopt;
        }
        auto s = convert_string(ctx, spec, item);
        if (s) {
          out.push_back(std::move(*s));
        } else {
          ok = false;
        }
      }
      if (!ok) return std::nullopt;
      return out;
    }
    case ValueKind::kNumberList: {
      if (!expect_list(ctx, node, spec.name, "a list of numbers")) return std::nullopt;
      nlohmann::json out = nlohmann::json::array();
      bool ok = true;
      for (const YAML::Node& item : node) {
        if (out.size() >= 100'000) {
          ctx.error(item, fmt::format("{}: too many items (at most 100000)", spec.name));
          return std::nullopt;
        }
        auto v = to_number(ctx, item, spec.name);
        if (v && check_minimum(*v)) {
          out.push_back(*v);
        } else {
          ok = false;
        }
      }
      if (!ok) return std::nullopt;
      if (out.empty()) {
        ctx.error(node, fmt::format("{}: the list is empty", spec.name));
        return std::nullopt;
      }
      return out;
    }
    case ValueKind::kStringMap: {
      if (!expect_map(ctx, node, spec.name, "a mapping of names to strings")) return std::nullopt;
      nlohmann::json out = nlohmann::json::object();
      bool ok = true;
      for (auto it = node.begin(); it != node.end(); ++it) {
        if (out.size() >= 1'000) {
          ctx.error(it->first, fmt::format("{}: too many entries (at most 1000)", spec.name));
          return std::nullopt;
        }
        auto k = to_string(ctx, it->first, spec.name);
        auto v = to_string(ctx, it->second, fmt::format("{}.{}", spec.name, k ? *k : "?"));
        if (!k || !v) {
          ok = false;
          continue;
        }
        if (out.contains(*k)) {
          ctx.error(it->first, fmt::format("{}: duplicate key '{}'", spec.name, excerpt(*k)));
          ok = false;
          continue;
        }
        out[*k] = *v;
      }
      if (!ok) return std::nullopt;
      return out;
    }
  }
  return std::nullopt;
}

// Reads every key of `schema` from `f` into a JSON object, checking kinds, required keys, `needs`
// and `exactly_one_of`.
nlohmann::json parse_params(Fields& f, const KeySchema& schema) {
  Ctx& ctx = f.ctx();
  nlohmann::json out = nlohmann::json::object();
  for (const KeySpec& key : schema.keys) {
    auto node = f.get(key.name);
    if (!node) {
      if (key.required) f.missing(key.name);
      continue;
    }
    if (auto v = convert_kind(ctx, key, *node)) out[key.name] = std::move(*v);
  }
  for (const KeySpec& key : schema.keys) {
    if (!f.has(key.name)) continue;
    for (const std::string& need : key.needs) {
      if (!f.has(need)) {
        ctx.error(f.key_node(key.name),
                  fmt::format("'{}' needs '{}' in {}", key.name, need, f.context()));
      }
    }
  }
  for (const auto& group : schema.exactly_one_of) {
    std::vector<std::string> present;
    for (const std::string& k : group) {
      if (f.has(k)) present.push_back(k);
    }
    if (present.empty()) {
      ctx.error(f.node(), fmt::format("{} needs one of {}", f.context(), quoted_list(group)));
    } else if (present.size() > 1) {
      ctx.error(f.key_node(present[1]), fmt::format("'{}' and '{}' cannot be used together in {}",
                                                    present[0], present[1], f.context()));
    }
  }
  return out;
}

std::string required_summary(const KeySchema& schema) {
  std::vector<std::string> parts;
  for (const KeySpec& k : schema.keys) {
    if (k.required) parts.push_back(fmt::format("'{}'", k.name));
  }
  for (const auto& group : schema.exactly_one_of) {
    parts.push_back(fmt::format("one of {}", quoted_list(group)));
  }
  return join(parts);
}

const std::vector<std::string>& policy_types() {
  static const std::vector<std::string> types = {"target-tracking", "step",      "simple",
                                                 "scheduled",       "queue",     "panic",
                                                 "lambda-memory",   "predictive"};
  return types;
}

// ---- the parser --------------------------------------------------------------------------------

class Parser {
 public:
  Parser(Ctx& ctx, const SourceRegistry& sources, const TargetRegistry& targets,
         const std::vector<SourceSpec>* defined)
      : ctx_(ctx), source_types_(sources), target_types_(targets), defined_(defined) {}

  std::vector<SourceSpec> take_implicit() { return std::move(implicit_); }

  // ---- top level ----
  Config parse_root(const YAML::Node& root) {
    Config config;
    if (!root.IsMap()) {
      if (root.IsNull()) {
        ctx_.error(root, "the config is empty: expected a mapping with 'groups:'");
      } else {
        ctx_.error(root,
                   fmt::format("expected a mapping at the top level, got {}", describe(root)));
      }
      return config;
    }
    Fields f(ctx_, root, "the top level");
    if (auto v = get_string(f, "state")) {
      if (v->v.empty()) {
        ctx_.error(v->node, "state: expected a file path, got an empty string");
      } else {
        config.state = v->v;
      }
    }
    if (auto node = f.get("api")) parse_api(*node, config.api);
    if (auto v = get_bool(f, "dry_run")) config.dry_run = v->v;
    if (auto node = f.get("log")) parse_log(*node, config.log);
    if (auto node = f.get("sources")) config.sources = parse_sources(*node);
    defined_ = &config.sources;
    if (auto node = f.require("groups")) config.groups = parse_groups(*node);
    f.finish();
    std::vector<SourceSpec> implicit = take_implicit();
    for (SourceSpec& s : implicit) config.sources.push_back(std::move(s));
    if (config.dry_run) {
      for (GroupSpec& g : config.groups) g.dry_run = true;
    }
    return config;
  }

  void parse_api(const YAML::Node& node, ApiConfig& api) {
    if (!expect_map(ctx_, node, "api")) return;
    Fields f(ctx_, node, "api");
    if (auto v = get_string(f, "listen")) {
      if (valid_listen(v->v)) {
        api.listen = v->v;
      } else {
        ctx_.error(v->node,
                   fmt::format("listen: expected HOST:PORT such as 127.0.0.1:9460, got '{}'",
                               excerpt(v->v)));
      }
    }
    auto token = get_string(f, "token");
    auto token_env = get_string(f, "token_env");
    if (token) api.token = token->v;
    if (token_env) {
      if (token_env->v.empty()) {
        ctx_.error(token_env->node, "token_env: expected an environment variable name");
      }
      api.token_env = token_env->v;
    }
    if (f.has("token") && f.has("token_env")) {
      ctx_.error(f.key_node("token_env"), "'token' and 'token_env' cannot be used together in api");
    }
    f.finish();
  }

  static bool valid_listen(std::string_view s) {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    std::string_view port = s.substr(colon + 1);
    if (port.empty() || port.size() > 5) return false;
    int p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    return ec == std::errc() && ptr == port.data() + port.size() && p >= 1 && p <= 65535;
  }

  void parse_log(const YAML::Node& node, LogConfig& log) {
    if (!expect_map(ctx_, node, "log")) return;
    Fields f(ctx_, node, "log");
    if (auto v = get_choice(f, "format", {"logfmt", "json"})) {
      log.format = v->v == "json" ? LogFormat::kJson : LogFormat::kLogfmt;
    }
    if (auto v = get_choice(f, "level", {"trace", "debug", "info", "warn", "error"})) {
      log.level = v->v;
    }
    f.finish();
  }

  // ---- sources ----
  std::vector<SourceSpec> parse_sources(const YAML::Node& node) {
    std::vector<SourceSpec> out;
    std::map<std::string, int, std::less<>> seen;  // name -> line
    auto add = [&](std::optional<SourceSpec> s, const YAML::Mark& name_node) {
      if (!s) return;
      auto [it, fresh] = seen.emplace(s->name, name_node.line + 1);
      if (!fresh) {
        ctx_.error(name_node, fmt::format("duplicate source name '{}' (first defined at line {})",
                                          s->name, it->second));
        return;
      }
      out.push_back(std::move(*s));
    };
    if (node.IsSequence()) {
      for (const YAML::Node& item : node) {
        YAML::Mark name_node = mark_of(item);
        auto s = parse_source(item, std::nullopt, name_node);
        add(std::move(s), name_node);
      }
    } else if (node.IsMap()) {
      for (auto it = node.begin(); it != node.end(); ++it) {
        if (!it->first.IsScalar()) {
          ctx_.error(it->first,
                     fmt::format("sources: expected a source name, got {}", describe(it->first)));
          continue;
        }
        YAML::Mark name_node = mark_of(it->first);
        auto s =
            parse_source(it->second, Val<std::string>{it->first.Scalar(), it->first}, name_node);
        add(std::move(s), name_node);
      }
    } else if (!node.IsNull()) {
      ctx_.error(node, fmt::format("sources: expected a list or a mapping of named sources, got {}",
                                   describe(node)));
    }
    return out;
  }

  // `outer_name`: the mapping key when sources are written as a mapping.
  std::optional<SourceSpec> parse_source(const YAML::Node& node,
                                         std::optional<Val<std::string>> outer_name,
                                         YAML::Mark& name_node) {
    if (!expect_map(ctx_, node, "source", "a mapping with 'name' and 'type'")) return std::nullopt;
    Fields f(ctx_, node, "source");
    SourceSpec spec;
    auto name = get_string(f, "name", !outer_name.has_value());
    if (outer_name) {
      if (name && name->v != outer_name->v) {
        ctx_.error(name->node, fmt::format("name '{}' differs from the source's key '{}'",
                                           excerpt(name->v), excerpt(outer_name->v)));
      }
      name.reset();  // (never assign a YAML::Node: that writes into the document)
      name.emplace(*outer_name);
    }
    if (!name) {
      f.ignore_rest();
      return std::nullopt;
    }
    name_node = mark_of(name->node);
    if (!valid_name(name->v)) {
      ctx_.error(name->node, name_error("source", name->v));
      f.ignore_rest();
      return std::nullopt;
    }
    spec.name = name->v;
    auto type = get_string(f, "type", true);
    if (!type) {
      f.ignore_rest();
      return std::nullopt;
    }
    const SourceType* st = source_types_.find(type->v);
    if (st == nullptr) {
      ctx_.error(type->node, unknown_type("source", type->v, source_types_.names()));
      f.ignore_rest();
      return std::nullopt;
    }
    spec.type = st->name;
    Fields typed(ctx_, node, fmt::format("source '{}' ({})", spec.name, spec.type), true);
    typed.get("name");
    typed.get("type");
    spec.params = parse_params(typed, st->config);
    typed.hint(st->query, "a metric query key: write it in the policy's metric: {source: " +
                              spec.name + ", ...}");
    typed.finish();
    f.ignore_rest();
    return spec;
  }

  static std::string name_error(std::string_view what, std::string_view name) {
    return fmt::format(
        "invalid {} name '{}': use 1-63 letters, digits, '-', '_' or '.', starting with a letter "
        "or digit",
        what, excerpt(name));
  }

  static std::string unknown_type(std::string_view what, std::string_view type,
                                  const std::vector<std::string>& known) {
    return fmt::format("unknown {} type '{}'{}; known types: {}", what, excerpt(type),
                       did_you_mean(type, known), join(known));
  }

  // ---- metric references ----

  // The type whose query keys a metric on `name` is checked against. nullopt: do not check
  // (sources unknown here, or the source is undefined and that was reported).
  std::optional<const SourceType*> resolve_source(const std::string& name, const YAML::Node& at) {
    if (defined_ == nullptr) return std::nullopt;
    for (const SourceSpec& s : *defined_) {
      if (s.name == name) {
        const SourceType* t = source_types_.find(s.type);
        if (t == nullptr) return std::nullopt;
        return t;
      }
    }
    if (const SourceType* t = source_types_.find(name); t != nullptr && !t->config.has_required()) {
      bool known = std::any_of(implicit_.begin(), implicit_.end(),
                               [&](const SourceSpec& s) { return s.name == name; });
      if (!known) implicit_.push_back(SourceSpec{name, t->name, nlohmann::json::object(), true});
      return t;
    }
    std::vector<std::string> candidates;
    for (const SourceSpec& s : *defined_) candidates.push_back(s.name);
    for (const SourceType& t : source_types_.types()) {
      if (!t.config.has_required()) candidates.push_back(t.name);
    }
    std::string defined;
    if (defined_->empty()) {
      defined = "no sources are defined";
    } else {
      std::vector<std::string> names;
      for (const SourceSpec& s : *defined_) names.push_back(s.name);
      defined = "defined sources: " + join(names);
    }
    ctx_.error(at, fmt::format("metric source '{}' is not defined under 'sources:'{}; {}",
                               excerpt(name), did_you_mean(name, candidates), defined));
    return std::nullopt;
  }

  std::optional<MetricRef> parse_metric(Fields& pf) {
    auto node = pf.require("metric");
    if (!node) return std::nullopt;
    MetricRef ref;
    if (node->IsScalar()) {
      // Shorthand: `metric: NAME` is `metric: {source: NAME}`.
      ref.source = node->Scalar();
      if (ref.source.empty()) {
        ctx_.error(*node, "metric: expected a source name or {source: NAME, ...}, got ''");
        return std::nullopt;
      }
      auto type = resolve_source(ref.source, *node);
      if (type && *type && (*type)->query.has_required()) {
        ctx_.error(*node, fmt::format("metric: source '{}' ({}) needs query keys ({}); write "
                                      "metric: {{source: {}, ...}}",
                                      excerpt(ref.source), (*type)->name,
                                      required_summary((*type)->query), excerpt(ref.source)));
        return std::nullopt;
      }
      return ref;
    }
    if (!expect_map(ctx_, *node, "metric", "a source name or a mapping {source: NAME, ...}")) {
      return std::nullopt;
    }
    Fields f(ctx_, *node, "metric");
    std::size_t before = ctx_.count();
    auto source = get_string(f, "source", true);
    if (!source) {
      f.ignore_rest();
      return std::nullopt;
    }
    ref.source = source->v;
    auto type = resolve_source(ref.source, source->node);
    if (type && *type) {
      Fields typed(ctx_, *node,
                   fmt::format("metric query of source '{}' ({})", ref.source, (*type)->name),
                   true);
      typed.get("source");
      ref.params = parse_params(typed, (*type)->query);
      typed.hint((*type)->config, "a key of the source itself: set it under sources:");
      typed.finish();
      f.ignore_rest();
    } else {
      for (auto& [key, value] : f.take_rest()) {
        if (auto v = to_json(ctx_, value, key)) ref.params[key] = std::move(*v);
      }
    }
    if (ctx_.count() != before) return std::nullopt;
    return ref;
  }

  // ---- groups ----
  std::vector<GroupSpec> parse_groups(const YAML::Node& node) {
    std::vector<GroupSpec> out;
    if (!expect_list(ctx_, node, "groups", "a list of groups")) return out;
    if (node.size() == 0) {
      ctx_.error(node, "groups: the list is empty; define at least one group");
      return out;
    }
    std::map<std::string, int, std::less<>> seen;  // name -> line
    for (const YAML::Node& item : node) {
      YAML::Mark name_node = mark_of(item);
      auto g = parse_group(item, &name_node);
      if (!g) continue;
      auto [it, fresh] = seen.emplace(g->name, name_node.line + 1);
      if (!fresh) {
        ctx_.error(name_node, fmt::format("duplicate group name '{}' (first defined at line {})",
                                          g->name, it->second));
        continue;
      }
      out.push_back(std::move(*g));
    }
    return out;
  }

  // Returns the group even when some of its fields had errors (the caller checks ctx), nullopt
  // only when it has no usable name.
  std::optional<GroupSpec> parse_group(const YAML::Node& node, YAML::Mark* name_node = nullptr) {
    if (!expect_map(ctx_, node, "group")) return std::nullopt;
    GroupSpec g;
    Fields f(ctx_, node, "group");
    auto name = get_string(f, "name", true);
    bool named = false;
    if (name) {
      if (name_node) *name_node = mark_of(name->node);
      if (valid_name(name->v)) {
        g.name = name->v;
        named = true;
      } else {
        ctx_.error(name->node, name_error("group", name->v));
      }
    }
    if (auto v = get_duration(f, "interval")) {
      if (check_duration(ctx_, *v, "interval", Duration{0}, false, std::chrono::hours(24))) {
        g.interval = v->v;
      }
    }
    if (auto node_target = f.require("target")) parse_target(*node_target, g.target);
    auto min = get_capacity(f, "min");
    auto max = get_capacity(f, "max", true);
    if (min) g.min = static_cast<int>(min->v);
    if (max) g.max = static_cast<int>(max->v);
    if (max && g.min > g.max) {
      if (min) {
        ctx_.error(min->node, fmt::format("min ({}) is greater than max ({})", g.min, g.max));
      } else {
        ctx_.error(max->node,
                   fmt::format("max ({}) is less than min ({}, the default)", g.max, g.min));
      }
    }
    if (auto node_policies = f.require("policies")) parse_policies(*node_policies, g);
    if (auto node_behavior = f.get("behavior")) parse_behavior(*node_behavior, g.behavior);
    if (auto node_fallback = f.get("fallback")) {
      FallbackSpec fb;
      if (parse_fallback(*node_fallback, fb)) g.fallback = fb;
    }
    if (auto v = get_bool(f, "dry_run")) g.dry_run = v->v;
    f.finish();
    if (!named) return std::nullopt;
    return g;
  }

  void parse_target(const YAML::Node& node, TargetRef& target) {
    if (!expect_map(ctx_, node, "target", "a mapping with 'type'")) return;
    Fields f(ctx_, node, "target");
    auto type = get_string(f, "type", true);
    if (!type) {
      f.ignore_rest();
      return;
    }
    const TargetType* tt = target_types_.find(type->v);
    if (tt == nullptr) {
      ctx_.error(type->node, unknown_type("target", type->v, target_types_.names()));
      f.ignore_rest();
      return;
    }
    target.type = tt->name;
    Fields typed(ctx_, node, fmt::format("target ({})", tt->name), true);
    typed.get("type");
    target.params = parse_params(typed, tt->config);
    typed.finish();
    f.ignore_rest();
  }

  bool parse_fallback(const YAML::Node& node, FallbackSpec& fb) {
    if (!expect_map(ctx_, node, "fallback")) return false;
    Fields f(ctx_, node, "fallback");
    std::size_t before = ctx_.count();
    if (auto v = get_integer(f, "failures")) {
      if (check_range(ctx_, *v, "failures", Range{1.0, true, 1000.0, true})) {
        fb.failures = static_cast<int>(v->v);
      }
    }
    if (auto v = get_capacity(f, "capacity", true)) fb.capacity = static_cast<int>(v->v);
    f.finish();
    return ctx_.count() == before;
  }

  // ---- behavior ----
  void parse_behavior(const YAML::Node& node, BehaviorSpec& b) {
    if (!expect_map(ctx_, node, "behavior")) return;
    Fields f(ctx_, node, "behavior");
    if (auto n = f.get("scale_up")) parse_rules(*n, b.scale_up, "behavior.scale_up");
    if (auto n = f.get("scale_down")) parse_rules(*n, b.scale_down, "behavior.scale_down");
    for (auto [key, field] :
         {std::pair{"scale_out_cooldown", &b.scale_out_cooldown},
          std::pair{"scale_in_cooldown", &b.scale_in_cooldown}, std::pair{"warmup", &b.warmup}}) {
      if (auto v = get_duration(f, key)) {
        if (check_duration(ctx_, *v, key, Duration{0}, true, std::chrono::hours(24))) {
          *field = v->v;
        }
      }
    }
    f.finish();
  }

  void parse_rules(const YAML::Node& node, ScalingRules& rules, std::string_view context) {
    if (!expect_map(ctx_, node, context)) return;
    Fields f(ctx_, node, std::string(context));
    if (auto v = get_duration(f, "stabilization")) {
      // HPA: stabilizationWindowSeconds in [0, 3600].
      if (check_duration(ctx_, *v, "stabilization", Duration{0}, true, std::chrono::hours(1))) {
        rules.stabilization = v->v;
      }
    }
    if (auto v = get_choice(f, "select", {"max", "min", "disabled"})) {
      rules.select = v->v == "max"   ? SelectPolicy::kMax
                     : v->v == "min" ? SelectPolicy::kMin
                                     : SelectPolicy::kDisabled;
    }
    if (auto n = f.get("policies")) {
      if (!n->IsSequence()) {
        ctx_.error(*n,
                   fmt::format("policies: expected a list of rate limits, got {}", describe(*n)));
      } else {
        rules.policies.clear();
        int count = 0;
        for (const YAML::Node& item : *n) {
          if (++count > kMaxRateLimits) {
            ctx_.error(item, fmt::format("{}: at most {} rate-limit policies are allowed", context,
                                         kMaxRateLimits));
            break;
          }
          RateLimit limit;
          if (parse_rate_limit(item, limit, context)) rules.policies.push_back(limit);
        }
      }
    }
    f.finish();
  }

  bool parse_rate_limit(const YAML::Node& node, RateLimit& limit, std::string_view context) {
    if (!expect_map(ctx_, node, fmt::format("{}.policies", context))) return false;
    Fields f(ctx_, node, fmt::format("a {} rate limit", context));
    std::size_t before = ctx_.count();
    auto type = get_choice(f, "type", {"instances", "percent"}, true);
    if (type)
      limit.type = type->v == "percent" ? RateLimitType::kPercent : RateLimitType::kInstances;
    if (auto v = get_number(f, "value", true)) {
      // HPA: value > 0; instances are whole.
      if (check_range(ctx_, *v, "value", kPositive)) {
        if (type && limit.type == RateLimitType::kInstances && v->v != std::floor(v->v)) {
          ctx_.error(v->node, fmt::format("value: expected a whole number of instances, got {}",
                                          format_number(v->v)));
        } else {
          limit.value = v->v;
        }
      }
    }
    if (auto v = get_duration(f, "period")) {
      // HPA: periodSeconds in (0, 1800].
      if (check_duration(ctx_, *v, "period", Duration{0}, false, std::chrono::minutes(30))) {
        limit.period = v->v;
      }
    }
    f.finish();
    return ctx_.count() == before;
  }

  // ---- policies ----
  void parse_policies(const YAML::Node& node, GroupSpec& g) {
    if (!expect_list(ctx_, node, "policies", "a list of policies")) return;
    if (node.size() == 0) {
      ctx_.error(node, "policies: the list is empty; a group needs at least one policy");
      return;
    }
    std::map<std::string, int, std::less<>> names;
    int index = 0;
    for (const YAML::Node& item : node) {
      ++index;
      if (index > kMaxPolicies) {
        ctx_.error(item, fmt::format("too many policies: a group holds at most {}", kMaxPolicies));
        break;
      }
      YAML::Mark name_node = mark_of(item);
      auto p = parse_policy(item, index, name_node, g.target);
      if (!p) continue;
      auto [it, fresh] = names.emplace(p->name, name_node.line + 1);
      if (!fresh) {
        ctx_.error(name_node, fmt::format("duplicate policy name '{}' (first at line {})", p->name,
                                          it->second));
        continue;
      }
      g.policies.push_back(std::move(*p));
    }
  }

  std::optional<PolicySpec> parse_policy(const YAML::Node& node, int index, YAML::Mark& name_node,
                                         const TargetRef& target) {
    if (!expect_map(ctx_, node, "policy", "a mapping with 'type'")) return std::nullopt;
    Fields outer(ctx_, node, "policy");
    auto type = get_string(outer, "type", true);
    if (!type) {
      outer.ignore_rest();
      return std::nullopt;
    }
    const auto& types = policy_types();
    if (std::find(types.begin(), types.end(), type->v) == types.end()) {
      ctx_.error(type->node, unknown_type("policy", type->v, types));
      outer.ignore_rest();
      return std::nullopt;
    }
    outer.ignore_rest();
    Fields f(ctx_, node, fmt::format("{} policy", type->v), true);
    f.get("type");
    std::size_t before = ctx_.count();
    PolicySpec p;
    if (auto name = get_string(f, "name")) {
      if (name->v.empty() || name->v.size() > 63) {
        ctx_.error(name->node, "name: expected 1-63 characters");
      } else {
        p.name = name->v;
        name_node = mark_of(name->node);
      }
    }
    if (p.name.empty()) p.name = fmt::format("{}#{}", type->v, index);
    const std::string& t = type->v;
    if (t == "target-tracking") {
      p.spec = parse_target_tracking(f);
    } else if (t == "step") {
      p.spec = parse_step(f);
    } else if (t == "simple") {
      p.spec = parse_simple(f);
    } else if (t == "scheduled") {
      p.spec = parse_scheduled(f);
    } else if (t == "queue") {
      p.spec = parse_queue(f);
    } else if (t == "lambda-memory") {
      p.spec = parse_lambda_memory(f, target);
    } else if (t == "predictive") {
      p.spec = parse_predictive(f);
    } else {
      p.spec = parse_panic(f);
    }
    f.finish();
    if (ctx_.count() != before) return std::nullopt;
    return p;
  }

  TargetTrackingSpec parse_target_tracking(Fields& f) {
    TargetTrackingSpec s;
    if (auto m = parse_metric(f)) s.metric = std::move(*m);
    if (auto v = get_number(f, "target", true)) {
      if (check_range(ctx_, *v, "target", kPositive)) s.target = v->v;
    }
    if (auto v = get_choice(f, "target_type", {"utilization", "value", "total"})) {
      s.kind = v->v == "utilization" ? TargetKind::kUtilization
               : v->v == "value"     ? TargetKind::kPerInstance
                                     : TargetKind::kTotal;
    }
    const Range below_one{0.0, true, 1.0, false};
    auto tol = get_number(f, "tolerance");
    if (tol && check_range(ctx_, *tol, "tolerance", below_one)) {
      s.tolerance_up = s.tolerance_down = tol->v;
    }
    auto up = get_number(f, "tolerance_up");
    if (up && check_range(ctx_, *up, "tolerance_up", kNonNegative)) s.tolerance_up = up->v;
    auto down = get_number(f, "tolerance_down");
    if (down && check_range(ctx_, *down, "tolerance_down", below_one)) s.tolerance_down = down->v;
    for (std::string_view key : {"tolerance_up", "tolerance_down"}) {
      if (f.has("tolerance") && f.has(key)) {
        ctx_.error(f.key_node(key),
                   fmt::format("'{}' cannot be combined with 'tolerance' (which sets both "
                               "directions)",
                               key));
      }
    }
    if (auto v = get_bool(f, "disable_scale_in")) s.disable_scale_in = v->v;
    return s;
  }

  std::optional<AdjustmentType> get_adjustment_type(Fields& f) {
    auto v = get_choice(f, "adjustment_type", {"change", "exact", "percent"});
    if (!v) return f.has("adjustment_type") ? std::nullopt : std::optional(AdjustmentType::kChange);
    return v->v == "change"  ? AdjustmentType::kChange
           : v->v == "exact" ? AdjustmentType::kExact
                             : AdjustmentType::kPercent;
  }

  Aggregation get_aggregation(Fields& f) {
    auto v = get_choice(f, "aggregation", {"average", "minimum", "maximum"});
    if (!v) return Aggregation::kAverage;
    return v->v == "average"   ? Aggregation::kAverage
           : v->v == "minimum" ? Aggregation::kMinimum
                               : Aggregation::kMaximum;
  }

  // Checks an adjustment against its type (AWS: Exact >= 0; Change whole; Percent >= -100).
  bool check_adjustment(const Val<double>& v, std::optional<AdjustmentType> type) {
    if (!type) return true;
    switch (*type) {
      case AdjustmentType::kExact:
        if (v.v < 0 || v.v != std::floor(v.v)) {
          ctx_.error(v.node, fmt::format("adjustment must be a whole number of at least 0 with "
                                         "adjustment_type: exact, got {}",
                                         format_number(v.v)));
          return false;
        }
        if (v.v > kMaxCapacity) {
          ctx_.error(v.node, fmt::format("adjustment must be at most {}, got {}", kMaxCapacity,
                                         format_number(v.v)));
          return false;
        }
        return true;
      case AdjustmentType::kChange:
        if (v.v != std::floor(v.v) || std::fabs(v.v) > kMaxCapacity) {
          ctx_.error(v.node, fmt::format("adjustment must be a whole number of instances with "
                                         "adjustment_type: change, got {}",
                                         format_number(v.v)));
          return false;
        }
        return true;
      case AdjustmentType::kPercent:
        if (v.v < -100 || v.v > 100'000) {
          ctx_.error(v.node, fmt::format("adjustment must be at least -100 and at most 100000 "
                                         "(percent), got {}",
                                         format_number(v.v)));
          return false;
        }
        return true;
    }
    return true;
  }

  void get_min_magnitude(Fields& f, std::optional<AdjustmentType> type, int& out) {
    auto v = get_integer(f, "min_adjustment_magnitude");
    if (!v) return;
    if (!check_range(ctx_, *v, "min_adjustment_magnitude",
                     Range{0.0, true, static_cast<double>(kMaxCapacity), true})) {
      return;
    }
    if (type && *type != AdjustmentType::kPercent) {
      ctx_.error(f.key_node("min_adjustment_magnitude"),
                 "min_adjustment_magnitude only applies to adjustment_type: percent");
      return;
    }
    out = static_cast<int>(v->v);
  }

  StepSpec parse_step(Fields& f) {
    StepSpec s;
    if (auto m = parse_metric(f)) s.metric = std::move(*m);
    if (auto v = get_number(f, "threshold", true)) s.threshold = v->v;
    auto type = get_adjustment_type(f);
    if (type) s.adjustment_type = *type;
    get_min_magnitude(f, type, s.min_adjustment_magnitude);
    s.aggregation = get_aggregation(f);
    auto steps = f.require("steps");
    if (!steps) return s;
    if (!steps->IsSequence() || steps->size() == 0) {
      ctx_.error(*steps, fmt::format("steps: expected a non-empty list of step adjustments, got {}",
                                     steps->IsSequence() ? "an empty list" : describe(*steps)));
      return s;
    }
    struct Placed {
      StepAdjustment step;
      YAML::Node node;
    };
    std::vector<Placed> placed;
    int count = 0;
    bool ok = true;
    for (const YAML::Node& item : *steps) {
      if (++count > kMaxSteps) {
        ctx_.error(item, fmt::format("steps: at most {} step adjustments are allowed (the AWS "
                                     "quota)",
                                     kMaxSteps));
        ok = false;
        break;
      }
      auto step = parse_step_adjustment(item, type);
      if (step) {
        placed.push_back(Placed{*step, item});
        s.steps.push_back(*step);
      } else {
        ok = false;
      }
    }
    if (ok) check_step_ranges(placed);
    return s;
  }

  std::optional<StepAdjustment> parse_step_adjustment(const YAML::Node& node,
                                                      std::optional<AdjustmentType> type) {
    if (!expect_map(ctx_, node, "step adjustment")) return std::nullopt;
    Fields f(ctx_, node, "step adjustment");
    std::size_t before = ctx_.count();
    StepAdjustment step;
    for (auto [key, field] : {std::pair{"lower", &step.lower}, std::pair{"upper", &step.upper}}) {
      auto n = f.get(key);
      if (!n || n->IsNull()) continue;  // absent or null: unbounded
      if (auto v = to_number(ctx_, *n, key)) *field = *v;
    }
    if (auto v = get_number(f, "adjustment", true)) {
      if (check_adjustment(*v, type)) step.adjustment = v->v;
    }
    f.finish();
    if (ctx_.count() != before) return std::nullopt;
    if (!step.lower && !step.upper) {
      ctx_.error(node,
                 "a step adjustment needs 'lower' or 'upper' (bounds relative to the "
                 "threshold; AWS allows only one unbounded side)");
      return std::nullopt;
    }
    if (step.lower && step.upper && *step.lower >= *step.upper) {
      ctx_.error(f.key_node("lower"),
                 fmt::format("lower ({}) must be less than upper ({})", format_number(*step.lower),
                             format_number(*step.upper)));
      return std::nullopt;
    }
    return step;
  }

  template <class Placed>
  void check_step_ranges(std::vector<Placed>& steps) {
    // AWS: above the threshold a step is [lower, upper), below it (lower, upper]; a step may not
    // span the threshold, and the steps of one side may neither overlap nor leave gaps.
    auto lo = [](const StepAdjustment& s) { return s.lower.value_or(-INFINITY); };
    auto hi = [](const StepAdjustment& s) { return s.upper.value_or(INFINITY); };
    auto text = [&](const StepAdjustment& s, bool above) {
      auto bound = [](std::optional<double> b, bool upper) {
        return b ? format_number(*b) : (upper ? "+inf" : "-inf");
      };
      return above ? fmt::format("[{}, {})", bound(s.lower, false), bound(s.upper, true))
                   : fmt::format("({}, {}]", bound(s.lower, false), bound(s.upper, true));
    };
    std::vector<Placed*> above, below;
    for (Placed& p : steps) {
      if (hi(p.step) <= 0) {
        below.push_back(&p);
      } else if (lo(p.step) >= 0) {
        above.push_back(&p);
      } else {
        ctx_.error(p.node, fmt::format("step {} spans the threshold; split it at 0 (bounds are "
                                       "relative to the threshold)",
                                       text(p.step, true)));
      }
    }
    for (auto* side : {&above, &below}) {
      bool is_above = side == &above;
      std::stable_sort(side->begin(), side->end(),
                       [&](const Placed* a, const Placed* b) { return lo(a->step) < lo(b->step); });
      for (std::size_t i = 1; i < side->size(); ++i) {
        const StepAdjustment& prev = (*side)[i - 1]->step;
        const StepAdjustment& cur = (*side)[i]->step;
        if (hi(prev) > lo(cur)) {
          ctx_.error((*side)[i]->node,
                     fmt::format("step {} overlaps step {} (line {})", text(cur, is_above),
                                 text(prev, is_above), mark_of((*side)[i - 1]->node).line + 1));
        } else if (hi(prev) < lo(cur)) {
          ctx_.error((*side)[i]->node,
                     fmt::format("gap between steps {} and {}: steps on one side of the threshold "
                                 "may not leave gaps (add a step with adjustment 0)",
                                 text(prev, is_above), text(cur, is_above)));
        }
      }
    }
  }

  SimpleSpec parse_simple(Fields& f) {
    SimpleSpec s;
    if (auto m = parse_metric(f)) s.metric = std::move(*m);
    if (auto v = get_number(f, "threshold", true)) s.threshold = v->v;
    if (auto v = get_choice(f, "comparison", {">=", ">", "<=", "<"})) {
      s.comparison = v->v == ">="   ? Comparison::kGreaterOrEqual
                     : v->v == ">"  ? Comparison::kGreater
                     : v->v == "<=" ? Comparison::kLessOrEqual
                                    : Comparison::kLess;
    }
    auto type = get_adjustment_type(f);
    if (type) s.adjustment_type = *type;
    if (auto v = get_number(f, "adjustment", true)) {
      if (check_adjustment(*v, type)) s.adjustment = v->v;
    }
    get_min_magnitude(f, type, s.min_adjustment_magnitude);
    if (auto v = get_duration(f, "cooldown")) {
      if (check_duration(ctx_, *v, "cooldown", Duration{0}, true, std::chrono::hours(24))) {
        s.cooldown = v->v;
      }
    }
    s.aggregation = get_aggregation(f);
    return s;
  }

  ScheduledSpec parse_scheduled(Fields& f) {
    ScheduledSpec s;
    if (auto v = get_string(f, "cron", true)) {
      s.cron_text = v->v;
      auto cron = parse_cron(v->v);
      if (cron) {
        s.start = std::make_shared<const CronSchedule>(std::move(*cron));
      } else {
        ctx_.error(v->node, fmt::format("cron: invalid expression '{}': {}", excerpt(v->v),
                                        cron.error().message));
      }
    }
    auto end = get_string(f, "end");
    if (end) {
      auto cron = parse_cron(end->v);
      if (cron) {
        s.end = std::make_shared<const CronSchedule>(std::move(*cron));
      } else {
        ctx_.error(end->node, fmt::format("end: invalid cron expression '{}': {}", excerpt(end->v),
                                          cron.error().message));
      }
    }
    if (auto v = get_duration(f, "duration")) {
      if (check_duration(ctx_, *v, "duration", Duration{0}, false, std::chrono::hours(24 * 31))) {
        s.duration = v->v;
      }
    }
    if (f.has("end") && f.has("duration")) {
      ctx_.error(f.key_node("duration"), "'end' and 'duration' cannot be used together");
    } else if (!f.has("end") && !f.has("duration")) {
      ctx_.error(f.node(), "scheduled policy needs 'end' (a cron expression) or 'duration'");
    }
    auto tz_text = get_string(f, "timezone");
    std::string tz = tz_text ? tz_text->v : "UTC";
    auto zone = resolve_time_zone(tz);
    if (zone) {
      s.timezone = tz;
      s.zone = *zone;
    } else {
      ctx_.error(tz_text ? tz_text->node : f.node(),
                 fmt::format("timezone: {}", zone.error().message));
    }
    auto capacity = get_capacity(f, "capacity");
    auto min = get_capacity(f, "min");
    auto max = get_capacity(f, "max");
    if (capacity) s.capacity = static_cast<int>(capacity->v);
    if (min) s.min = static_cast<int>(min->v);
    if (max) s.max = static_cast<int>(max->v);
    if (!f.has("capacity") && !f.has("min") && !f.has("max")) {
      ctx_.error(f.node(), "scheduled policy needs at least one of 'capacity', 'min', 'max'");
    }
    if (min && max && min->v > max->v) {
      ctx_.error(min->node, fmt::format("min ({}) is greater than max ({})", min->v, max->v));
    }
    if (capacity && max && capacity->v > max->v) {
      ctx_.error(capacity->node,
                 fmt::format("capacity ({}) is greater than max ({})", capacity->v, max->v));
    }
    return s;
  }

  QueueSpec parse_queue(Fields& f) {
    QueueSpec s;
    if (auto m = parse_metric(f)) s.metric = std::move(*m);
    if (auto v = get_number(f, "target_per_instance", true)) {
      if (check_range(ctx_, *v, "target_per_instance", kPositive)) s.target_per_instance = v->v;
    }
    if (auto v = get_number(f, "activation")) {
      if (check_range(ctx_, *v, "activation", kNonNegative)) s.activation = v->v;
    }
    return s;
  }

  // `function_timeout` defaults to the `timeout` of an aws-lambda-memory target (the timeout tide
  // sets on the function with every change).
  LambdaMemorySpec parse_lambda_memory(Fields& f, const TargetRef& target) {
    LambdaMemorySpec s;
    if (auto m = parse_metric(f)) s.metric = std::move(*m);
    const bool target_sets_timeout = target.type == "aws-lambda-memory" &&
                                     target.params.contains("timeout") &&
                                     target.params["timeout"].is_number_integer();
    if (target_sets_timeout) {
      s.function_timeout = Duration(target.params["timeout"].get<long long>());
    }
    if (!target_sets_timeout && !f.has("function_timeout")) {
      f.missing("function_timeout",
                " (the function's timeout; or set `timeout` on the aws-lambda-memory target)");
    }
    if (auto v = get_duration(f, "function_timeout")) {
      // Lambda: 1 s to 900 s.
      if (check_duration(ctx_, *v, "function_timeout", std::chrono::seconds(1), true,
                         std::chrono::seconds(900))) {
        s.function_timeout = v->v;
      }
    }
    if (auto v = get_number(f, "timeout_percent")) {
      if (check_range(ctx_, *v, "timeout_percent", Range{0.0, false, 100.0, true})) {
        s.timeout_share = v->v / 100.0;
      }
    }
    if (auto v = get_integer(f, "step")) {
      if (check_range(ctx_, *v, "step",
                      Range{1.0, true, static_cast<double>(kLambdaMaxMemoryMb), true})) {
        s.step = static_cast<int>(v->v);
      }
    }
    if (auto v = get_integer(f, "threads")) {
      // Lambda's largest memory size has 6 vCPUs.
      if (check_range(ctx_, *v, "threads", Range{1.0, true, 6.0, true})) {
        s.threads = static_cast<int>(v->v);
      }
    }
    if (auto v = get_duration(f, "io_time")) {
      if (check_duration(ctx_, *v, "io_time", Duration{0}, true, std::chrono::seconds(900))) {
        s.io_time = v->v;
      }
    }
    if (auto v = get_number(f, "tolerance")) {
      if (check_range(ctx_, *v, "tolerance", Range{0.0, true, 1.0, false})) s.tolerance = v->v;
    }
    return s;
  }

  PredictiveSpec parse_predictive(Fields& f) {
    PredictiveSpec s;
    if (auto m = parse_metric(f)) s.metric = std::move(*m);
    if (auto v = get_number(f, "target", true)) {
      if (check_range(ctx_, *v, "target", kPositive)) s.target = v->v;
    }
    std::vector<std::string> models;
    for (int i = 0; i < kForecastModelCount; ++i) {
      models.emplace_back(forecast_model_name(static_cast<ForecastModel>(i)));
    }
    if (auto v = get_choice(f, "forecaster", models)) {
      s.forecast.model = static_cast<ForecastModel>(std::find(models.begin(), models.end(), v->v) -
                                                    models.begin());
    }
    using std::chrono::hours;
    using std::chrono::minutes;
    if (auto v = get_duration(f, "resolution")) {
      if (check_duration(ctx_, *v, "resolution", minutes(1), true, hours(1))) {
        if (hours(24) % v->v != Duration{0}) {
          ctx_.error(v->node, fmt::format("resolution must divide a day (1m, 5m, 10m, 15m, 30m, "
                                          "1h, ...), got {}",
                                          format_duration(v->v)));
        } else {
          s.forecast.resolution = v->v;
        }
      }
    }
    if (auto v = get_choice(f, "aggregation", {"mean", "max"})) {
      s.forecast.statistic = v->v == "mean" ? BucketStatistic::kMean : BucketStatistic::kMax;
    }
    if (auto v = get_duration(f, "history")) {
      if (check_duration(ctx_, *v, "history", hours(24), true, hours(24 * 60))) {
        s.forecast.history = v->v;
      }
    }
    if (auto v = get_duration(f, "forecast_interval")) {
      if (check_duration(ctx_, *v, "forecast_interval", minutes(1), true, hours(24))) {
        s.forecast.interval = v->v;
      }
    }
    if (auto v = get_duration(f, "boot_delay")) {
      if (check_duration(ctx_, *v, "boot_delay", Duration{0}, true, hours(1))) s.boot_delay = v->v;
    }
    if (auto v = get_duration(f, "scheduling_buffer")) {
      // AWS SchedulingBufferTime: at most 3600 s.
      if (check_duration(ctx_, *v, "scheduling_buffer", Duration{0}, true, hours(1))) {
        s.scheduling_buffer = v->v;
      }
    }
    if (auto v = get_bool(f, "forecast_only")) s.forecast_only = v->v;
    if (auto v = get_choice(f, "max_capacity_breach", {"honor", "increase"})) {
      s.max_capacity_breach =
          v->v == "honor" ? MaxCapacityBreach::kHonor : MaxCapacityBreach::kIncrease;
    }
    if (auto v = get_number(f, "max_capacity_buffer")) {
      // AWS MaxCapacityBuffer: 0 to 100 percent, only with IncreaseMaxCapacity.
      if (check_range(ctx_, *v, "max_capacity_buffer", Range{0.0, true, 100.0, true})) {
        if (s.max_capacity_breach != MaxCapacityBreach::kIncrease) {
          ctx_.error(v->node,
                     "max_capacity_buffer needs max_capacity_breach: increase (with honor the "
                     "max is never exceeded)");
        } else {
          s.max_capacity_buffer = v->v;
        }
      }
    }
    return s;
  }

  PanicSpec parse_panic(Fields& f) {
    PanicSpec s;
    if (auto m = parse_metric(f)) s.metric = std::move(*m);
    if (auto v = get_number(f, "target", true)) {
      if (check_range(ctx_, *v, "target", kPositive)) s.target = v->v;
    }
    s.total = s.target;
    if (auto v = get_number(f, "total")) {
      if (check_range(ctx_, *v, "total", kPositive)) s.total = v->v;
    }
    if (auto v = get_number(f, "target_burst_capacity")) {
      // Knative: -1 (always in the request path) or >= 0.
      if (check_range(ctx_, *v, "target_burst_capacity", Range{-1.0, true, std::nullopt, true})) {
        s.target_burst_capacity = v->v;
      }
    }
    if (auto v = get_duration(f, "stable_window")) {
      // Knative: 6s to 1h.
      if (check_duration(ctx_, *v, "stable_window", std::chrono::seconds(6), true,
                         std::chrono::hours(1))) {
        s.stable_window = v->v;
      }
    }
    if (auto v = get_number(f, "panic_window_percentage")) {
      if (check_range(ctx_, *v, "panic_window_percentage", Range{1.0, true, 100.0, true})) {
        s.panic_window_percentage = v->v;
      }
    }
    if (auto v = get_number(f, "panic_threshold")) {
      // A percentage of the per-instance target; Knative allows 110 % to 1000 %.
      if (check_range(ctx_, *v, "panic_threshold", Range{100.0, false, 1000.0, true})) {
        s.panic_threshold = v->v / 100.0;
      }
    }
    for (auto [key, field] : {std::pair{"max_scale_up_rate", &s.max_scale_up_rate},
                              std::pair{"max_scale_down_rate", &s.max_scale_down_rate}}) {
      if (auto v = get_number(f, key)) {
        if (check_range(ctx_, *v, key, Range{1.0, false, std::nullopt, true})) *field = v->v;
      }
    }
    if (auto v = get_duration(f, "scale_down_delay")) {
      if (check_duration(ctx_, *v, "scale_down_delay", Duration{0}, true, std::chrono::hours(1))) {
        s.scale_down_delay = v->v;
      }
    }
    if (auto v = get_integer(f, "activation_scale")) {
      if (check_range(ctx_, *v, "activation_scale",
                      Range{0.0, true, static_cast<double>(kMaxCapacity), true})) {
        s.activation_scale = static_cast<int>(v->v);
      }
    }
    return s;
  }

 private:
  Ctx& ctx_;
  const SourceRegistry& source_types_;
  const TargetRegistry& target_types_;
  const std::vector<SourceSpec>* defined_;
  std::vector<SourceSpec> implicit_;
};

// yaml-cpp 0.7's LoadAll() loops forever, allocating, on input such as "," (jbeder/yaml-cpp#1040,
// fixed upstream by #1319): a document that consumes no token is returned again and again. So the
// documents are first counted in a bounded pass over the parser's events that stops when a
// document starts where the previous one did, and the one document is then built by YAML::Load,
// which reads a single document.
class DocumentCounter final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  std::vector<YAML::Mark> starts;
};

// Parses `text` as exactly one YAML document; reports and returns nullopt otherwise.
std::optional<YAML::Node> load_one_document(Ctx& ctx, const std::string& text) {
  try {
    std::istringstream in(text);
    YAML::Parser parser(in);
    DocumentCounter counter;
    while (counter.starts.size() < 3 && parser.HandleNextDocument(counter)) {
      std::size_t n = counter.starts.size();
      if (n >= 2 && counter.starts[n - 1].pos == counter.starts[n - 2].pos) {
        const YAML::Mark& at = counter.starts[n - 1];
        std::string what = at.pos >= 0 && static_cast<std::size_t>(at.pos) < text.size()
                               ? fmt::format("'{}'", excerpt(text.substr(at.pos, 1)))
                               : "input";
        ctx.error(at, fmt::format("invalid YAML: unexpected {}", what));
        return std::nullopt;
      }
    }
    if (counter.starts.size() > 1) {
      ctx.error(counter.starts[1],
                "expected one YAML document, found more ('---' separates "
                "documents)");
      return std::nullopt;
    }
    if (counter.starts.empty()) return YAML::Node();
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    ctx.error(e.mark, fmt::format("invalid YAML: {}", e.msg));
    return std::nullopt;
  }
}

// Runs `body` and turns anything thrown into a diagnostic, so that no input can escape as an
// exception.
template <class F>
void guarded(Ctx& ctx, F&& body) {
  try {
    body();
  } catch (const YAML::Exception& e) {
    ctx.error(e.mark, e.msg.empty() ? std::string("invalid YAML") : e.msg);
  } catch (const std::exception& e) {
    ctx.error(YAML::Mark::null_mark(), fmt::format("internal error: {}", e.what()));
  } catch (...) {
    ctx.error(YAML::Mark::null_mark(), "internal error");
  }
}

}  // namespace

std::expected<Config, Diagnostics> parse_config(std::string_view text, std::string_view filename) {
  Ctx ctx(filename);
  Config config;
  if (text.size() > kMaxConfigBytes) {
    ctx.error_file(
        fmt::format("the file is too large ({} bytes; at most {})", text.size(), kMaxConfigBytes));
    return std::unexpected(ctx.take());
  }
  guarded(ctx, [&] {
    auto root = load_one_document(ctx, std::string(text));
    if (!root) return;
    Parser parser(ctx, builtin_sources(), builtin_targets(), nullptr);
    config = parser.parse_root(*root);
  });
  if (ctx.failed()) return std::unexpected(ctx.take());
  return config;
}

std::expected<YAML::Node, Diagnostics> parse_yaml(std::string_view text,
                                                  std::string_view filename) {
  Ctx ctx(filename);
  std::optional<YAML::Node> root;
  if (text.size() > kMaxConfigBytes) {
    ctx.error_file(
        fmt::format("the file is too large ({} bytes; at most {})", text.size(), kMaxConfigBytes));
    return std::unexpected(ctx.take());
  }
  guarded(ctx, [&] { root = load_one_document(ctx, std::string(text)); });
  if (ctx.failed() || !root) {
    if (!ctx.failed()) ctx.error(YAML::Mark::null_mark(), "invalid YAML");
    return std::unexpected(ctx.take());
  }
  return std::move(*root);
}

std::expected<Config, Diagnostics> load_config(const std::string& path) {
  Ctx ctx(path);
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    ctx.error_file("cannot read the config: it is a directory");
    return std::unexpected(ctx.take());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ctx.error_file(fmt::format("cannot read the config: {}", std::strerror(errno)));
    return std::unexpected(ctx.take());
  }
  std::string text;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxConfigBytes) {
      ctx.error_file(fmt::format("the file is too large (more than {} bytes)", kMaxConfigBytes));
      return std::unexpected(ctx.take());
    }
  }
  if (in.bad()) {
    ctx.error_file("cannot read the config: read error");
    return std::unexpected(ctx.take());
  }
  return parse_config(text, path);
}

std::expected<GroupSpec, Diagnostics> parse_group(const YAML::Node& node, std::string_view filename,
                                                  const std::vector<SourceSpec>* sources) {
  Ctx ctx(filename);
  std::optional<GroupSpec> group;
  guarded(ctx, [&] {
    Parser parser(ctx, builtin_sources(), builtin_targets(), sources);
    group = parser.parse_group(node);
  });
  if (ctx.failed() || !group) {
    if (!ctx.failed()) ctx.error(mark_of(node), "invalid group");
    return std::unexpected(ctx.take());
  }
  return std::move(*group);
}

}  // namespace tide
