#include "sources/prometheus/prometheus.hpp"

#include <cmath>
#include <cstdlib>
#include <deque>
#include <mutex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/http.hpp"
#include "sources/params.hpp"
#include "sources/single_flight.hpp"

namespace tide {
namespace {

using nlohmann::json;

std::string excerpt(std::string_view text, std::size_t n = 200) {
  text = params::trim(text);
  if (text.size() <= n) return std::string(text);
  return std::string(text.substr(0, n)) + "...";
}

// [ <unix seconds>, "<value>" ]
Result<PromSeries> parse_point(const json& point) {
  if (!point.is_array() || point.size() != 2 || !point[0].is_number() || !point[1].is_string()) {
    return fail(ErrorCode::kUnavailable,
                "invalid Prometheus response: expected [time, \"value\"], got " +
                    excerpt(point.dump(), 80));
  }
  PromSeries s;
  s.at = TimePoint(Duration(std::llround(point[0].get<double>() * 1000.0)));
  auto v = params::parse_double(point[1].get_ref<const std::string&>(), /*allow_special=*/true);
  if (!v) {
    return fail(ErrorCode::kUnavailable,
                fmt::format("Prometheus returned a non-numeric value '{}'",
                            excerpt(point[1].get_ref<const std::string&>(), 80)));
  }
  s.value = *v;
  return s;
}

}  // namespace

Result<std::vector<PromSeries>> parse_query_response(std::string_view body, long http_status) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    if (http_status < 200 || http_status >= 300) {
      std::string ex = excerpt(body);
      return fail(
          http_status == 408 || http_status == 504 ? ErrorCode::kTimeout : ErrorCode::kUnavailable,
          fmt::format("HTTP {}{}{}", http_status, ex.empty() ? "" : ": ", ex));
    }
    return fail(ErrorCode::kUnavailable,
                "invalid Prometheus response: not a JSON object: " + excerpt(body, 80));
  }
  const std::string status = doc.value("status", "");
  if (status != "success") {
    std::string type = doc.contains("errorType") && doc["errorType"].is_string()
                           ? doc["errorType"].get<std::string>()
                           : "";
    std::string message = doc.contains("error") && doc["error"].is_string()
                              ? doc["error"].get<std::string>()
                              : excerpt(body);
    ErrorCode code = ErrorCode::kUnavailable;
    if (type == "bad_data") code = ErrorCode::kInvalidArgument;
    if (type == "timeout") code = ErrorCode::kTimeout;
    if (type == "not_found") code = ErrorCode::kNotFound;
    if (type.empty()) type = fmt::format("HTTP {}", http_status);
    return fail(code, fmt::format("{}: {}", type, message));
  }
  auto data = doc.find("data");
  if (data == doc.end() || !data->is_object() || !data->contains("resultType") ||
      !data->contains("result")) {
    return fail(ErrorCode::kUnavailable, "invalid Prometheus response: no data.result");
  }
  const json& result = (*data)["result"];
  const std::string type =
      (*data)["resultType"].is_string() ? (*data)["resultType"].get<std::string>() : "";
  std::vector<PromSeries> out;
  if (type == "vector") {
    if (!result.is_array()) {
      return fail(ErrorCode::kUnavailable, "invalid Prometheus response: result is not a list");
    }
    for (const json& item : result) {
      if (!item.is_object()) {
        return fail(ErrorCode::kUnavailable, "invalid Prometheus response: bad vector element");
      }
      if (!item.contains("value")) continue;  // a native histogram sample: no single value
      auto s = parse_point(item["value"]);
      if (!s) return std::unexpected(s.error());
      if (auto m = item.find("metric"); m != item.end() && m->is_object()) {
        for (const auto& [k, v] : m->items()) {
          if (v.is_string()) s->labels.emplace(k, v.get<std::string>());
        }
      }
      out.push_back(std::move(*s));
    }
    return out;
  }
  if (type == "scalar" || type == "string") {
    auto s = parse_point(result);
    if (!s) return std::unexpected(s.error());
    out.push_back(std::move(*s));
    return out;
  }
  if (type == "matrix") {
    return fail(ErrorCode::kInvalidArgument,
                "the query returns a range vector (matrix); an instant query needs an instant "
                "vector or scalar expression (e.g. wrap it in rate(...) or last_over_time(...))");
  }
  return fail(
      ErrorCode::kUnavailable,
      fmt::format("invalid Prometheus response: unknown resultType '{}'", excerpt(type, 40)));
}

namespace {

struct PromQuery {
  std::string query;
  std::string instance_label = "instance";
};

struct PromConfig {
  std::string name;
  std::string url;  // base, without a trailing '/'
  Duration timeout{5000};
  Duration cache_window{1000};
  HttpHeaders headers;  // including Authorization when a bearer token is configured
};

using SeriesList = std::shared_ptr<const std::vector<PromSeries>>;

class PrometheusSource final : public Source {
 public:
  explicit PrometheusSource(PromConfig cfg) : cfg_(std::move(cfg)), flight_(cfg_.cache_window) {}

  Result<int> prepare(const nlohmann::json& query) override {
    PromQuery q;
    q.query = params::str(query, "query");
    if (params::trim(q.query).empty()) {
      return fail(ErrorCode::kInvalidArgument, "prometheus: 'query' must not be empty");
    }
    q.instance_label = params::str(query, "instance_label", "instance");
    std::lock_guard lock(mu_);
    queries_.push_back(std::move(q));
    return static_cast<int>(queries_.size() - 1);
  }

  Result<std::vector<Sample>> read(int query, const std::vector<InstanceEndpoint>&, TimePoint now,
                                   Duration timeout) override {
    PromQuery q;
    {
      std::lock_guard lock(mu_);
      if (query < 0 || static_cast<std::size_t>(query) >= queries_.size()) {
        return fail(ErrorCode::kInvalidArgument, "prometheus: unknown query handle");
      }
      q = queries_[static_cast<std::size_t>(query)];
    }
    const Duration limit = std::min(cfg_.timeout, timeout);
    const std::string what = fmt::format("query '{}'", excerpt(q.query, 120));
    auto series = flight_.get(q.query, limit, what, [&]() -> Result<SeriesList> {
      auto r = fetch(q.query, now, limit);
      if (!r) return fail(r.error().code, fmt::format("{}: {}", what, r.error().message));
      return std::make_shared<const std::vector<PromSeries>>(std::move(*r));
    });
    if (!series) return std::unexpected(series.error());
    std::vector<Sample> out;
    out.reserve((*series)->size());
    for (const PromSeries& s : **series) {
      if (!std::isfinite(s.value)) continue;
      auto it = s.labels.find(q.instance_label);
      out.push_back(Sample{s.value, s.at, it == s.labels.end() ? "" : it->second});
    }
    return out;
  }

 private:
  Result<std::vector<PromSeries>> fetch(const std::string& query, TimePoint now, Duration limit) {
    std::string form = fmt::format("query={}&time={:.3f}&timeout={}ms", url_encode(query),
                                   to_unix_seconds(now), limit.count());
    HttpRequest req;
    req.headers = cfg_.headers;
    req.headers.emplace_back("Accept", "application/json");
    req.timeout = limit;
    req.max_response_bytes = 16u << 20;
    const std::string endpoint = cfg_.url + "/api/v1/query";
    if (endpoint.size() + form.size() < 4000) {
      req.url = endpoint + "?" + form;
    } else {
      req.method = "POST";
      req.url = endpoint;
      req.body = std::move(form);
      req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    }
    auto resp = http_.send(req);
    if (!resp) return std::unexpected(resp.error());
    return parse_query_response(resp->body, resp->status);
  }

  PromConfig cfg_;
  HttpClient http_;
  SingleFlight<SeriesList> flight_;
  std::mutex mu_;
  std::deque<PromQuery> queries_;
};

}  // namespace

Result<std::unique_ptr<Source>> make_prometheus_source(const SourceSpec& spec) {
  PromConfig cfg;
  cfg.name = spec.name;
  cfg.url = params::str(spec.params, "url");
  while (cfg.url.ends_with('/')) cfg.url.pop_back();
  if (!cfg.url.starts_with("http://") && !cfg.url.starts_with("https://")) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("source '{}': url must be an http(s) URL", spec.name));
  }
  cfg.timeout = params::duration(spec.params, "timeout", cfg.timeout);
  cfg.cache_window = params::duration(spec.params, "cache_window", cfg.cache_window);
  cfg.headers = params::headers(spec.params, "headers");
  if (std::string env = params::str(spec.params, "bearer_token_env"); !env.empty()) {
    const char* token = std::getenv(env.c_str());
    if (token == nullptr || *token == '\0') {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("source '{}': bearer_token_env: environment variable {} is not set",
                              spec.name, env));
    }
    cfg.headers.emplace_back("Authorization", std::string("Bearer ") + token);
  }
  return std::make_unique<PrometheusSource>(std::move(cfg));
}

}  // namespace tide
