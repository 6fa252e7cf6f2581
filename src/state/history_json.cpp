// GroupHistory <-> JSON for the state store. Exact: times are integer milliseconds since the unix
// epoch, metric values are written with nlohmann's shortest round-trip form, and non-finite values
// (which JSON cannot hold) are written as the strings "nan", "inf" and "-inf".
//
// {"v":1,
//  "recommendations":[{"at":MS,"value":N}],
//  "scale_up_events":[{"at":MS,"change":N,"outdated":B}], "scale_down_events":[...],
//  "last_scale_out":MS|null, "last_scale_in":MS|null,
//  "consecutive_no_data":N, "initialized":B,
//  "policies":[{"last_triggered":MS|null,"panic_time":MS|null,"max_panic_pods":N,
//               "panic_initialized":B,"delay_window":[{"at","value"}],
//               "metric":[{"at":MS,"value":X}]}]}   <- trailing default entries omitted
//
// Missing keys read as their defaults, so a newer tide can add fields that an older one ignores.
#include <cmath>
#include <limits>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "state/state.hpp"

namespace tide {
namespace {

constexpr int kHistoryFormat = 1;

using json = nlohmann::json;

json time_json(TimePoint t) {
  return t.time_since_epoch().count();
}

json optional_time_json(const std::optional<TimePoint>& t) {
  return t ? time_json(*t) : json();
}

json number_json(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

json recommendations_json(const std::vector<Recommendation>& list) {
  json out = json::array();
  for (const Recommendation& r : list) out.push_back({{"at", time_json(r.at)}, {"value", r.value}});
  return out;
}

json events_json(const std::vector<ScaleEvent>& list) {
  json out = json::array();
  for (const ScaleEvent& e : list) {
    out.push_back({{"at", time_json(e.at)}, {"change", e.change}, {"outdated", e.outdated}});
  }
  return out;
}

bool is_default(const PolicyState& p) {
  return !p.last_triggered && !p.panic_time && p.max_panic_pods == 0 && !p.panic_initialized &&
         p.delay_window.empty() && p.metric.empty();
}

json policy_json(const PolicyState& p) {
  json metric = json::array();
  for (const MetricPoint& m : p.metric) {
    metric.push_back({{"at", time_json(m.at)}, {"value", number_json(m.value)}});
  }
  return {{"last_triggered", optional_time_json(p.last_triggered)},
          {"panic_time", optional_time_json(p.panic_time)},
          {"max_panic_pods", p.max_panic_pods},
          {"panic_initialized", p.panic_initialized},
          {"delay_window", recommendations_json(p.delay_window)},
          {"metric", std::move(metric)}};
}

// ---- reading: every helper reports the JSON path of what it rejects ----------------------------

std::unexpected<Error> bad(const std::string& where, const char* expected) {
  return fail(ErrorCode::kInvalidArgument,
              fmt::format("history JSON: {} must be {}", where, expected));
}

Result<long long> read_integer(const json& j, const std::string& where) {
  if (j.is_number_integer()) return j.get<long long>();
  if (j.is_number_unsigned()) {
    auto u = j.get<unsigned long long>();
    if (u <= static_cast<unsigned long long>(std::numeric_limits<long long>::max())) {
      return static_cast<long long>(u);
    }
  }
  return bad(where, "an integer");
}

Result<int> read_int(const json& j, const std::string& where) {
  auto v = read_integer(j, where);
  if (!v) return std::unexpected(v.error());
  if (*v < std::numeric_limits<int>::min() || *v > std::numeric_limits<int>::max()) {
    return bad(where, "a 32-bit integer");
  }
  return static_cast<int>(*v);
}

Result<TimePoint> read_time(const json& j, const std::string& where) {
  auto v = read_integer(j, where);
  if (!v) return bad(where, "a time in integer milliseconds");
  return TimePoint(Duration(*v));
}

Result<std::optional<TimePoint>> read_optional_time(const json& obj, const char* key,
                                                    const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<TimePoint>();
  auto t = read_time(*it, where + "." + key);
  if (!t) return std::unexpected(t.error());
  return std::optional<TimePoint>(*t);
}

Result<double> read_double(const json& j, const std::string& where) {
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
    if (s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-inf") return -std::numeric_limits<double>::infinity();
  }
  return bad(where, "a number (or \"nan\", \"inf\", \"-inf\")");
}

Result<bool> read_bool(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) return false;
  if (!it->is_boolean()) return bad(where + "." + key, "true or false");
  return it->get<bool>();
}

Result<int> read_int_field(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) return 0;
  return read_int(*it, where + "." + key);
}

// The array under `key` (an empty one when absent), or an error when it is not an array of objects.
Result<const json*> read_array(const json& obj, const char* key, const std::string& where) {
  static const json kEmpty = json::array();
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return &kEmpty;
  if (!it->is_array()) return bad(where + "." + key, "an array");
  for (std::size_t i = 0; i < it->size(); ++i) {
    if (!(*it)[i].is_object()) return bad(fmt::format("{}.{}[{}]", where, key, i), "an object");
  }
  return &*it;
}

// The objects of the array under `key`, each read by `item(object, its path)`.
template <class T>
Result<std::vector<T>> read_list(const json& obj, const char* key, const std::string& where,
                                 Result<T> (*item)(const json&, const std::string&)) {
  auto array = read_array(obj, key, where);
  if (!array) return std::unexpected(array.error());
  std::vector<T> out;
  out.reserve((*array)->size());
  for (std::size_t i = 0; i < (*array)->size(); ++i) {
    auto v = item((**array)[i], fmt::format("{}.{}[{}]", where, key, i));
    if (!v) return std::unexpected(v.error());
    out.push_back(std::move(*v));
  }
  return out;
}

Result<Recommendation> read_recommendation(const json& e, const std::string& at) {
  auto t = read_time(e.value("at", json()), at + ".at");
  if (!t) return std::unexpected(t.error());
  auto v = read_int(e.value("value", json()), at + ".value");
  if (!v) return std::unexpected(v.error());
  return Recommendation{*t, *v};
}

Result<ScaleEvent> read_event(const json& e, const std::string& at) {
  auto t = read_time(e.value("at", json()), at + ".at");
  if (!t) return std::unexpected(t.error());
  auto change = read_int(e.value("change", json()), at + ".change");
  if (!change) return std::unexpected(change.error());
  auto outdated = read_bool(e, "outdated", at);
  if (!outdated) return std::unexpected(outdated.error());
  return ScaleEvent{*t, *change, *outdated};
}

Result<MetricPoint> read_metric_point(const json& e, const std::string& at) {
  auto t = read_time(e.value("at", json()), at + ".at");
  if (!t) return std::unexpected(t.error());
  auto v = read_double(e.value("value", json()), at + ".value");
  if (!v) return std::unexpected(v.error());
  return MetricPoint{*t, *v};
}

// Moves a read value into `into`, or keeps its error in `error` and returns false; for chains of
// reads that stop at the first error.
template <class T, class U>
bool take(Result<T> value, U& into, std::optional<Error>& error) {
  if (!value) {
    error = std::move(value.error());
    return false;
  }
  into = std::move(*value);
  return true;
}

Result<PolicyState> read_policy(const json& obj, const std::string& where) {
  PolicyState p;
  std::optional<Error> error;
  if (!take(read_optional_time(obj, "last_triggered", where), p.last_triggered, error) ||
      !take(read_optional_time(obj, "panic_time", where), p.panic_time, error) ||
      !take(read_int_field(obj, "max_panic_pods", where), p.max_panic_pods, error) ||
      !take(read_bool(obj, "panic_initialized", where), p.panic_initialized, error) ||
      !take(read_list(obj, "delay_window", where, read_recommendation), p.delay_window, error) ||
      !take(read_list(obj, "metric", where, read_metric_point), p.metric, error)) {
    return std::unexpected(std::move(*error));
  }
  return p;
}

}  // namespace

nlohmann::json history_to_json(const GroupHistory& h) {
  int used = kMaxPolicies;
  while (used > 0 && is_default(h.policies[used - 1])) --used;
  json policies = json::array();
  for (int i = 0; i < used; ++i) policies.push_back(policy_json(h.policies[i]));
  return {{"v", kHistoryFormat},
          {"recommendations", recommendations_json(h.recommendations)},
          {"scale_up_events", events_json(h.scale_up_events)},
          {"scale_down_events", events_json(h.scale_down_events)},
          {"last_scale_out", optional_time_json(h.last_scale_out)},
          {"last_scale_in", optional_time_json(h.last_scale_in)},
          {"consecutive_no_data", h.consecutive_no_data},
          {"initialized", h.initialized},
          {"policies", std::move(policies)}};
}

Result<GroupHistory> history_from_json(const nlohmann::json& j) {
  const std::string root = "history";
  if (!j.is_object()) return bad(root, "an object");
  if (auto v = j.find("v"); v != j.end()) {
    auto version = read_int(*v, root + ".v");
    if (!version) return std::unexpected(version.error());
    if (*version > kHistoryFormat) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("history JSON: format {} is newer than this tide reads ({})",
                              *version, kHistoryFormat));
    }
  }
  GroupHistory h;
  std::optional<Error> error;
  if (!take(read_list(j, "recommendations", root, read_recommendation), h.recommendations, error) ||
      !take(read_list(j, "scale_up_events", root, read_event), h.scale_up_events, error) ||
      !take(read_list(j, "scale_down_events", root, read_event), h.scale_down_events, error) ||
      !take(read_optional_time(j, "last_scale_out", root), h.last_scale_out, error) ||
      !take(read_optional_time(j, "last_scale_in", root), h.last_scale_in, error) ||
      !take(read_int_field(j, "consecutive_no_data", root), h.consecutive_no_data, error) ||
      !take(read_bool(j, "initialized", root), h.initialized, error)) {
    return std::unexpected(std::move(*error));
  }
  auto policies = read_array(j, "policies", root);
  if (!policies) return std::unexpected(policies.error());
  if ((*policies)->size() > static_cast<std::size_t>(kMaxPolicies)) {
    return bad(root + ".policies", fmt::format("at most {} entries", kMaxPolicies).c_str());
  }
  for (std::size_t i = 0; i < (*policies)->size(); ++i) {
    auto p = read_policy((**policies)[i], fmt::format("{}.policies[{}]", root, i));
    if (!p) return std::unexpected(p.error());
    h.policies[i] = std::move(*p);
  }
  return h;
}

}  // namespace tide
