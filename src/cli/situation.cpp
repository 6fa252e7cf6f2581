#include "cli/situation.hpp"

#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

#include <cmath>

#include "config/config.hpp"
#include "policy/observation.hpp"

namespace tide {
namespace {

class Reader {
 public:
  explicit Reader(std::string_view filename) : filename_(filename) {}

  void error(const YAML::Node& node, std::string_view message) {
    const YAML::Mark mark = node.Mark();
    errors_.push_back(
        fmt::format("{}:{}:{}: error: {}", filename_, mark.line + 1, mark.column + 1, message));
  }
  void error_at(const YAML::Mark& mark, std::string_view message) {
    errors_.push_back(
        fmt::format("{}:{}:{}: error: {}", filename_, mark.line + 1, mark.column + 1, message));
  }

  template <class T>
  bool scalar(const YAML::Node& node, std::string_view what, T& out) {
    if (!node.IsScalar()) {
      error(node, fmt::format("{}: expected a scalar", what));
      return false;
    }
    try {
      out = node.as<T>();
      return true;
    } catch (const YAML::Exception&) {
      error(node, fmt::format("{}: '{}' is not a valid {}", what, node.Scalar(),
                              std::is_same_v<T, bool> ? "boolean" : "number"));
      return false;
    }
  }

  // A time is either an age before `now` ("90s", "5m") or an absolute RFC 3339 time.
  bool time(const YAML::Node& node, std::string_view what, TimePoint now, TimePoint& out) {
    if (!node.IsScalar()) {
      error(node, fmt::format("{}: expected an age like \"90s\" or a time", what));
      return false;
    }
    if (auto age = parse_duration(node.Scalar())) {
      out = now - *age;
      return true;
    }
    if (auto at = parse_time(node.Scalar())) {
      out = *at;
      return true;
    }
    error(node, fmt::format("{}: '{}' is neither an age (\"90s\") nor a time (RFC 3339)", what,
                            node.Scalar()));
    return false;
  }

  void keys(const YAML::Node& map, std::initializer_list<std::string_view> known,
            std::string_view where) {
    for (auto it = map.begin(); it != map.end(); ++it) {
      const std::string key = it->first.as<std::string>();
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        std::string list;
        for (std::string_view k : known) list += fmt::format("{}{}", list.empty() ? "" : ", ", k);
        error(it->first, fmt::format("unknown key '{}' in {} (known: {})", key, where, list));
      }
    }
  }

  std::vector<std::string>& errors() { return errors_; }

 private:
  std::string filename_;
  std::vector<std::string> errors_;
};

InstanceState parse_state(Reader& r, const YAML::Node& node) {
  const std::string s = node.as<std::string>();
  if (s == "ready") return InstanceState::kReady;
  if (s == "warming") return InstanceState::kWarming;
  if (s == "missing") return InstanceState::kMissing;
  r.error(node, fmt::format("unknown instance state '{}' (known: ready, warming, missing)", s));
  return InstanceState::kReady;
}

void parse_reading(Reader& r, const YAML::Node& node, Situation& s, std::size_t index) {
  MetricReading& reading = s.readings[index];
  if (!node || node.IsNull()) return;  // no data
  if (!node.IsMap()) {
    r.error(node, "a metric reading is a mapping: {value: N} or {instances: [...]} or {ok: false}");
    return;
  }
  r.keys(node, {"ok", "value", "instances"}, "a metric reading");
  reading.ok = true;
  if (node["ok"]) r.scalar(node["ok"], "ok", reading.ok);
  if (node["value"]) r.scalar(node["value"], "value", reading.value);
  if (const YAML::Node list = node["instances"]) {
    if (!list.IsSequence()) {
      r.error(list, "instances: expected a list of {value, request, state}");
      return;
    }
    auto& storage = s.instances[index];
    for (const YAML::Node& item : list) {
      InstanceSample sample;
      if (!item.IsMap()) {
        r.error(item, "an instance is a mapping {value, request, state}");
        continue;
      }
      r.keys(item, {"value", "request", "state"}, "an instance");
      if (item["value"]) r.scalar(item["value"], "value", sample.value);
      if (item["request"]) r.scalar(item["request"], "request", sample.request);
      if (item["state"]) sample.state = parse_state(r, item["state"]);
      if (!item["value"] && sample.state != InstanceState::kMissing) {
        r.error(item, "an instance without a value must have state: missing");
      }
      storage.push_back(sample);
    }
  }
  if (!node["value"] && !node["instances"] && reading.ok) {
    r.error(node, "a reading needs a value or instances (or ok: false for no data)");
  }
}

// {made_at, start, step, values, model}: a predictive policy's forecast (ForecastView).
void parse_forecast(Reader& r, const YAML::Node& node, Situation& s, std::size_t index) {
  if (!node || node.IsNull()) return;  // no forecast
  if (!node.IsMap()) {
    r.error(node, "a forecast is a mapping {made_at, start, step, values, model}");
    return;
  }
  r.keys(node, {"made_at", "start", "step", "values", "model"}, "a forecast");
  ForecastView& v = s.forecasts[index];
  bool complete = true;
  for (const char* key : {"made_at", "start", "step", "values"}) {
    if (!node[key]) {
      r.error(node, fmt::format("a forecast needs '{}'", key));
      complete = false;
    }
  }
  if (!complete) return;
  auto time = [&](const YAML::Node& n, std::string_view key, TimePoint& out) {
    auto t = n.IsScalar() ? parse_time(n.Scalar())
                          : Result<TimePoint>(fail(ErrorCode::kInvalidArgument, ""));
    if (t) {
      out = *t;
    } else {
      r.error(n, fmt::format("{}: expected an RFC 3339 time", key));
    }
  };
  time(node["made_at"], "made_at", v.made_at);
  time(node["start"], "start", v.start);
  auto step = node["step"].IsScalar() ? parse_duration(node["step"].Scalar())
                                      : Result<Duration>(fail(ErrorCode::kInvalidArgument, ""));
  if (step && step->count() > 0) {
    v.step = *step;
  } else {
    r.error(node["step"], "step: expected a positive duration (5m)");
  }
  if (node["model"]) {
    const std::string name = node["model"].as<std::string>();
    bool known = false;
    for (int m = 0; m < kForecastModelCount; ++m) {
      if (name == forecast_model_name(static_cast<ForecastModel>(m))) {
        v.model = static_cast<ForecastModel>(m);
        known = true;
      }
    }
    if (!known) r.error(node["model"], fmt::format("unknown forecast model '{}'", name));
  }
  const YAML::Node values = node["values"];
  if (!values.IsSequence()) {
    r.error(values, "values: expected a list of numbers");
    return;
  }
  auto& storage = s.forecast_values[index];
  for (const YAML::Node& item : values) {
    double x = 0;
    if (r.scalar(item, "values", x)) storage.push_back(x);
  }
}

void parse_events(Reader& r, const YAML::Node& list, TimePoint now, std::string_view what,
                  std::vector<ScaleEvent>& out) {
  if (!list.IsSequence()) {
    r.error(list, fmt::format("{}: expected a list of {{age, change}}", what));
    return;
  }
  for (const YAML::Node& item : list) {
    r.keys(item, {"age", "at", "change", "outdated"}, what);
    ScaleEvent e;
    const YAML::Node when = item["age"] ? item["age"] : item["at"];
    if (!when)
      r.error(item, "an event needs age or at");
    else
      r.time(when, "age", now, e.at);
    if (item["change"]) r.scalar(item["change"], "change", e.change);
    if (item["outdated"]) r.scalar(item["outdated"], "outdated", e.outdated);
    out.push_back(e);
  }
}

void parse_history(Reader& r, const YAML::Node& node, Situation& s) {
  GroupHistory& h = s.history;
  h.initialized = true;
  if (!node) return;
  if (!node.IsMap()) {
    r.error(node, "history: expected a mapping");
    return;
  }
  r.keys(node,
         {"recommendations", "scale_up_events", "scale_down_events", "last_scale_out",
          "last_scale_in", "consecutive_no_data", "initialized", "policies"},
         "history");
  if (node["initialized"]) r.scalar(node["initialized"], "initialized", h.initialized);
  if (const YAML::Node recs = node["recommendations"]) {
    for (const YAML::Node& item : recs) {
      r.keys(item, {"age", "at", "value"}, "a recommendation");
      Recommendation rec;
      const YAML::Node when = item["age"] ? item["age"] : item["at"];
      if (!when)
        r.error(item, "a recommendation needs age or at");
      else
        r.time(when, "age", s.now, rec.at);
      if (item["value"]) r.scalar(item["value"], "value", rec.value);
      h.recommendations.push_back(rec);
    }
  }
  if (node["scale_up_events"])
    parse_events(r, node["scale_up_events"], s.now, "scale_up_events", h.scale_up_events);
  if (node["scale_down_events"])
    parse_events(r, node["scale_down_events"], s.now, "scale_down_events", h.scale_down_events);
  TimePoint t;
  if (node["last_scale_out"] && r.time(node["last_scale_out"], "last_scale_out", s.now, t))
    h.last_scale_out = t;
  if (node["last_scale_in"] && r.time(node["last_scale_in"], "last_scale_in", s.now, t))
    h.last_scale_in = t;
  if (node["consecutive_no_data"])
    r.scalar(node["consecutive_no_data"], "consecutive_no_data", h.consecutive_no_data);
  if (const YAML::Node policies = node["policies"]) {
    if (!policies.IsSequence() || policies.size() > s.group.policies.size()) {
      r.error(policies, "history.policies: expected a list with at most one entry per policy");
      return;
    }
    for (std::size_t i = 0; i < policies.size(); ++i) {
      const YAML::Node p = policies[i];
      if (p.IsNull()) continue;
      r.keys(p, {"last_triggered", "panic_time", "max_panic_pods", "metric", "delay_window"},
             "a policy's history");
      PolicyState& state = h.policies[i];
      if (p["last_triggered"] && r.time(p["last_triggered"], "last_triggered", s.now, t))
        state.last_triggered = t;
      state.panic_initialized = true;
      if (p["panic_time"] && r.time(p["panic_time"], "panic_time", s.now, t)) state.panic_time = t;
      if (p["max_panic_pods"])
        r.scalar(p["max_panic_pods"], "max_panic_pods", state.max_panic_pods);
      for (const char* key : {"metric", "delay_window"}) {
        for (const YAML::Node& item : p[key]) {
          r.keys(item, {"age", "at", "value"}, key);
          const YAML::Node when = item["age"] ? item["age"] : item["at"];
          if (!when) {
            r.error(item, fmt::format("{} entries need age or at", key));
            continue;
          }
          if (!r.time(when, "age", s.now, t)) continue;
          double value = 0;
          if (item["value"]) r.scalar(item["value"], "value", value);
          if (std::string_view(key) == "metric") {
            state.metric.push_back({t, value});
          } else {
            state.delay_window.push_back({t, static_cast<int>(value)});
          }
        }
      }
      auto by_time = [](const auto& a, const auto& b) { return a.at < b.at; };
      std::stable_sort(state.metric.begin(), state.metric.end(), by_time);
      std::stable_sort(state.delay_window.begin(), state.delay_window.end(), by_time);
    }
  }
}

}  // namespace

std::expected<Situation, std::vector<std::string>> parse_situation(std::string_view text,
                                                                   std::string_view filename) {
  Reader r(filename);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    r.error_at(e.mark, e.msg);
    return std::unexpected(r.errors());
  }
  if (!root.IsMap()) {
    r.error(root, "a situation is a mapping with group, now, current, metrics and history");
    return std::unexpected(r.errors());
  }
  Situation s;
  try {
    r.keys(root, {"group", "now", "current", "ready", "warming", "metrics", "forecasts", "history"},
           "the situation");
    if (!root["group"]) r.error(root, "missing key 'group'");
    if (!root["now"]) r.error(root, "missing key 'now'");
    if (!root["current"]) r.error(root, "missing key 'current'");
    if (!r.errors().empty()) return std::unexpected(r.errors());

    YAML::Node group = YAML::Clone(root["group"]);
    if (group.IsMap() && !group["target"]) group["target"]["type"] = "static";
    auto spec = parse_group(group, filename, nullptr);
    if (!spec) {
      for (const Diagnostic& d : spec.error()) r.errors().push_back(format_diagnostic(d));
      return std::unexpected(r.errors());
    }
    s.group = std::move(*spec);

    if (auto now = parse_time(root["now"].Scalar()); now && root["now"].IsScalar()) {
      s.now = *now;
    } else {
      r.error(root["now"], "now: expected an RFC 3339 time (2026-11-26T12:00:00Z) or unix seconds");
    }
    r.scalar(root["current"], "current", s.current);
    s.ready = s.current;
    if (root["warming"]) r.scalar(root["warming"], "warming", s.warming);
    s.ready = s.current - s.warming;
    if (root["ready"]) r.scalar(root["ready"], "ready", s.ready);
    if (s.current < 0 || s.ready < 0 || s.warming < 0) {
      r.error(root["current"], "current, ready and warming must not be negative");
    }

    const std::size_t n = s.group.policies.size();
    s.readings.assign(n, MetricReading{});
    s.instances.assign(n, {});
    if (const YAML::Node metrics = root["metrics"]) {
      if (metrics.IsSequence()) {
        if (metrics.size() > n) {
          r.error(metrics, fmt::format("metrics: {} readings for {} policies", metrics.size(), n));
        }
        for (std::size_t i = 0; i < std::min<std::size_t>(metrics.size(), n); ++i) {
          parse_reading(r, metrics[i], s, i);
        }
      } else if (metrics.IsMap()) {
        // Keyed by policy name.
        for (auto it = metrics.begin(); it != metrics.end(); ++it) {
          const std::string name = it->first.as<std::string>();
          auto found = std::find_if(s.group.policies.begin(), s.group.policies.end(),
                                    [&](const PolicySpec& p) { return p.name == name; });
          if (found == s.group.policies.end()) {
            r.error(it->first, fmt::format("metrics: no policy named '{}'", name));
            continue;
          }
          parse_reading(r, it->second, s, found - s.group.policies.begin());
        }
      } else {
        r.error(metrics, "metrics: expected a list (one per policy) or a map by policy name");
      }
    }
    for (std::size_t i = 0; i < n; ++i) s.readings[i].instances = s.instances[i];

    s.forecasts.assign(n, ForecastView{});
    s.forecast_values.assign(n, {});
    if (const YAML::Node forecasts = root["forecasts"]) {
      if (!forecasts.IsSequence()) {
        r.error(forecasts, "forecasts: expected a list (one per policy, null for none)");
      } else {
        if (forecasts.size() > n) {
          r.error(forecasts,
                  fmt::format("forecasts: {} forecasts for {} policies", forecasts.size(), n));
        }
        for (std::size_t i = 0; i < std::min<std::size_t>(forecasts.size(), n); ++i) {
          parse_forecast(r, forecasts[i], s, i);
        }
      }
    }
    for (std::size_t i = 0; i < n; ++i) s.forecasts[i].values = s.forecast_values[i];

    parse_history(r, root["history"], s);
  } catch (const YAML::Exception& e) {
    r.error_at(e.mark, e.msg);
  }
  if (!r.errors().empty()) return std::unexpected(r.errors());
  return s;
}

// ---- situation_to_json: the writer (appended; the parser above is the reference)
// -------------------
namespace {

nlohmann::json reading_to_json(const MetricReading& reading) {
  nlohmann::json out = {{"ok", reading.ok}};
  // NaN and infinities have no JSON spelling; a reading without a value is only valid with ok:
  // false or instances, which is what a source reports in those cases anyway.
  if (std::isfinite(reading.value)) out["value"] = reading.value;
  if (!reading.instances.empty()) {
    nlohmann::json list = nlohmann::json::array();
    for (const InstanceSample& sample : reading.instances) {
      nlohmann::json item = {{"request", sample.request},
                             {"state", instance_state_name(sample.state)}};
      if (std::isfinite(sample.value)) item["value"] = sample.value;
      list.push_back(std::move(item));
    }
    out["instances"] = std::move(list);
  }
  return out;
}

nlohmann::json events_to_json(const std::vector<ScaleEvent>& events) {
  nlohmann::json list = nlohmann::json::array();
  for (const ScaleEvent& e : events) {
    list.push_back({{"at", format_time(e.at)}, {"change", e.change}, {"outdated", e.outdated}});
  }
  return list;
}

// A policy's state as parse_history reads it back; null when there is nothing to say (the parser
// then leaves PolicyState at its defaults, panic_initialized false included).
nlohmann::json policy_state_to_json(const PolicyState& state) {
  const bool empty = !state.last_triggered && !state.panic_time && state.max_panic_pods == 0 &&
                     !state.panic_initialized && state.metric.empty() && state.delay_window.empty();
  if (empty) return nullptr;
  nlohmann::json out = nlohmann::json::object();
  if (state.last_triggered) out["last_triggered"] = format_time(*state.last_triggered);
  if (state.panic_time) out["panic_time"] = format_time(*state.panic_time);
  out["max_panic_pods"] = state.max_panic_pods;
  nlohmann::json metric = nlohmann::json::array();
  for (const MetricPoint& p : state.metric) {
    metric.push_back({{"at", format_time(p.at)}, {"value", p.value}});
  }
  out["metric"] = std::move(metric);
  nlohmann::json delay = nlohmann::json::array();
  for (const Recommendation& r : state.delay_window) {
    delay.push_back({{"at", format_time(r.at)}, {"value", r.value}});
  }
  out["delay_window"] = std::move(delay);
  return out;
}

}  // namespace

nlohmann::json situation_to_json(const nlohmann::json& group_json, const Observation& observation,
                                 const GroupHistory& history, TimePoint now) {
  nlohmann::json metrics = nlohmann::json::array();
  for (const MetricReading& reading : observation.metrics) {
    metrics.push_back(reading_to_json(reading));
  }

  nlohmann::json recommendations = nlohmann::json::array();
  for (const Recommendation& r : history.recommendations) {
    recommendations.push_back({{"at", format_time(r.at)}, {"value", r.value}});
  }
  nlohmann::json h = {{"initialized", history.initialized},
                      {"consecutive_no_data", history.consecutive_no_data},
                      {"recommendations", std::move(recommendations)},
                      {"scale_up_events", events_to_json(history.scale_up_events)},
                      {"scale_down_events", events_to_json(history.scale_down_events)}};
  if (history.last_scale_out) h["last_scale_out"] = format_time(*history.last_scale_out);
  if (history.last_scale_in) h["last_scale_in"] = format_time(*history.last_scale_in);

  // One entry per policy (the observation has one reading per policy), trailing nulls dropped.
  const std::size_t n = std::min(observation.metrics.size(), history.policies.size());
  nlohmann::json policies = nlohmann::json::array();
  std::size_t last_non_null = 0;
  for (std::size_t i = 0; i < n; ++i) {
    policies.push_back(policy_state_to_json(history.policies[i]));
    if (!policies.back().is_null()) last_non_null = i + 1;
  }
  if (last_non_null > 0) {
    policies.erase(policies.begin() + static_cast<std::ptrdiff_t>(last_non_null), policies.end());
    h["policies"] = std::move(policies);
  }

  nlohmann::json out = {{"now", format_time(now)},        {"group", group_json},
                        {"current", observation.current}, {"ready", observation.ready},
                        {"warming", observation.warming}, {"metrics", std::move(metrics)},
                        {"history", std::move(h)}};
  // Forecasts of predictive policies, one entry per policy (null: none), when there is any.
  nlohmann::json forecasts = nlohmann::json::array();
  bool any_forecast = false;
  for (const ForecastView& v : observation.forecasts) {
    if (v.empty()) {
      forecasts.push_back(nullptr);
      continue;
    }
    any_forecast = true;
    forecasts.push_back({{"made_at", format_time(v.made_at)},
                         {"start", format_time(v.start)},
                         {"step", format_duration(v.step)},
                         {"model", forecast_model_name(v.model)},
                         {"values", std::vector<double>(v.values.begin(), v.values.end())}});
  }
  if (any_forecast) out["forecasts"] = std::move(forecasts);
  return out;
}

}  // namespace tide
