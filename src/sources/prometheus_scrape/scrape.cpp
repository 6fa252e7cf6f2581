#include "sources/prometheus_scrape/scrape.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

#include "core/http.hpp"
#include "sources/params.hpp"
#include "sources/single_flight.hpp"

namespace tide {
namespace {

bool matches(const ExpositionSample& s, const ScrapeQuery& q) {
  if (s.name != q.name) return false;
  for (const auto& [k, v] : q.labels) {
    if (s.label(k) != v) return false;
  }
  return true;
}

// The identity of a series within one metric: its labels in name order.
std::string series_key(const ExpositionSample& s) {
  std::vector<std::pair<std::string_view, std::string_view>> sorted(s.labels.begin(),
                                                                    s.labels.end());
  std::sort(sorted.begin(), sorted.end());
  std::string key;
  for (const auto& [k, v] : sorted) {
    key.append(k);
    key.push_back('\0');
    key.append(v);
    key.push_back('\0');
  }
  return key;
}

TimePoint sample_time(const ExpositionSample& s, TimePoint scrape_at) {
  return s.timestamp_ms ? TimePoint(Duration(*s.timestamp_ms)) : scrape_at;
}

double combine(Aggregate a, const std::vector<double>& v) {
  switch (a) {
    case Aggregate::kSum: {
      double sum = 0;
      for (double x : v) sum += x;
      return sum;
    }
    case Aggregate::kAvg: {
      double sum = 0;
      for (double x : v) sum += x;
      return sum / static_cast<double>(v.size());
    }
    case Aggregate::kMin:
      return *std::min_element(v.begin(), v.end());
    case Aggregate::kMax:
      return *std::max_element(v.begin(), v.end());
    case Aggregate::kCount:
      return static_cast<double>(v.size());
  }
  return 0;
}

std::string describe(const ScrapeQuery& q) {
  if (q.labels.empty()) return q.name;
  std::string out = q.name + "{";
  for (std::size_t i = 0; i < q.labels.size(); ++i) {
    if (i > 0) out += ",";
    out += fmt::format("{}=\"{}\"", q.labels[i].first, q.labels[i].second);
  }
  return out + "}";
}

}  // namespace

std::optional<ScrapeValue> evaluate_scrape(const ScrapeQuery& q, const ScrapeSnapshot& cur,
                                           const ScrapeSnapshot* prev, bool* matched) {
  std::vector<double> values;
  bool any = false;
  std::optional<TimePoint> latest;
  auto use = [&](double v, TimePoint at) {
    if (!std::isfinite(v)) return;
    values.push_back(v);
    if (!latest || at > *latest) latest = at;
  };
  if (!q.rate) {
    for (const ExpositionSample& s : cur.data.samples) {
      if (!matches(s, q)) continue;
      any = true;
      use(s.value, sample_time(s, cur.at));
    }
  } else {
    std::unordered_map<std::string, const ExpositionSample*> before;
    if (prev != nullptr) {
      for (const ExpositionSample& s : prev->data.samples) {
        if (matches(s, q)) before.emplace(series_key(s), &s);
      }
    }
    for (const ExpositionSample& s : cur.data.samples) {
      if (!matches(s, q)) continue;
      any = true;
      auto it = before.find(series_key(s));
      if (it == before.end()) continue;
      TimePoint t1 = sample_time(s, cur.at);
      TimePoint t0 = sample_time(*it->second, prev->at);
      if (t1 <= t0) continue;
      double increase = s.value >= it->second->value ? s.value - it->second->value : s.value;
      use(increase / to_seconds(t1 - t0), t1);
    }
  }
  if (matched != nullptr) *matched = any;
  if (values.empty()) {
    if (q.aggregate == Aggregate::kCount && !q.rate) return ScrapeValue{0, cur.at};
    return std::nullopt;
  }
  return ScrapeValue{combine(q.aggregate, values), latest.value_or(cur.at)};
}

namespace {

struct Scraped {
  std::shared_ptr<const ScrapeSnapshot> cur, prev;
};

struct ScrapeConfig {
  std::string name;
  std::vector<std::string> urls;
  std::vector<std::string> url_instances;  // Sample::instance for each of `urls`
  bool per_instance = false;
  std::string path = "/metrics";
  Duration timeout{5000};
  Duration cache_window{1000};
  HttpHeaders headers;
};

constexpr std::size_t kMaxScrapeBytes = 32u << 20;

class ScrapeSource final : public Source {
 public:
  explicit ScrapeSource(ScrapeConfig cfg) : cfg_(std::move(cfg)), flight_(cfg_.cache_window) {
    cfg_.headers.emplace_back("Accept",
                              "text/plain;version=0.0.4;q=0.9,text/plain;q=0.5,*/*;q=0.1");
  }

  Result<int> prepare(const nlohmann::json& query) override {
    ScrapeQuery q;
    q.name = params::str(query, "name");
    if (q.name.empty())
      return fail(ErrorCode::kInvalidArgument, "prometheus-scrape: 'name' is required");
    if (auto it = query.find("labels"); it != query.end() && it->is_object()) {
      for (const auto& [k, v] : it->items()) {
        if (v.is_string()) q.labels.emplace_back(k, v.get<std::string>());
      }
    }
    q.rate = params::flag(query, "rate");
    static const std::map<std::string, Aggregate> kAggregates = {
        {"sum", Aggregate::kSum}, {"avg", Aggregate::kAvg},     {"min", Aggregate::kMin},
        {"max", Aggregate::kMax}, {"count", Aggregate::kCount},
    };
    std::string agg = params::str(query, "aggregate", "sum");
    auto it = kAggregates.find(agg);
    if (it == kAggregates.end()) {
      return fail(
          ErrorCode::kInvalidArgument,
          fmt::format("prometheus-scrape: unknown aggregate '{}' (sum, avg, min, max, count)",
                      agg));
    }
    q.aggregate = it->second;
    std::lock_guard lock(mu_);
    queries_.push_back(std::move(q));
    return static_cast<int>(queries_.size() - 1);
  }

  Result<std::vector<Sample>> read(int query, const std::vector<InstanceEndpoint>& endpoints,
                                   TimePoint now, Duration timeout) override {
    ScrapeQuery q;
    {
      std::lock_guard lock(mu_);
      if (query < 0 || static_cast<std::size_t>(query) >= queries_.size()) {
        return fail(ErrorCode::kInvalidArgument, "prometheus-scrape: unknown query handle");
      }
      q = queries_[static_cast<std::size_t>(query)];
    }
    const Duration limit = std::min(cfg_.timeout, timeout);
    const auto deadline = std::chrono::steady_clock::now() + limit;

    struct Job {
      std::string url;
      std::string instance;
      SingleFlight<Scraped>::Ticket ticket;
    };
    std::vector<Job> jobs;
    if (cfg_.per_instance) {
      for (const InstanceEndpoint& ep : endpoints) {
        if (ep.address.empty()) continue;  // an instance without an address has no sample
        jobs.push_back({"http://" + ep.address + cfg_.path, ep.id, {}});
      }
    } else {
      for (std::size_t i = 0; i < cfg_.urls.size(); ++i) {
        jobs.push_back({cfg_.urls[i], cfg_.url_instances[i], {}});
      }
    }
    if (jobs.empty()) return std::vector<Sample>{};

    std::vector<std::size_t> owned;
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      jobs[i].ticket = flight_.join(jobs[i].url);
      if (jobs[i].ticket.owner) owned.push_back(i);
    }
    auto run = [&](std::size_t i) {
      Result<Scraped> r = fail(ErrorCode::kInternal, "scrape failed");
      try {
        r = scrape(jobs[i].url, now, limit);
      } catch (const std::exception& e) {
        r = fail(ErrorCode::kInternal,
                 fmt::format("scrape of {}: {}", redact_url(jobs[i].url), e.what()));
      } catch (...) {
      }
      flight_.complete(jobs[i].url, jobs[i].ticket, std::move(r));
    };
    {
      // Scrapes this read owns run in parallel (each bounded by `limit`); the last one inline.
      std::vector<std::jthread> threads;
      for (std::size_t k = 0; k + 1 < owned.size(); ++k) {
        try {
          threads.emplace_back(run, owned[k]);
        } catch (...) {
          run(owned[k]);  // no thread available: do it here
        }
      }
      if (!owned.empty()) run(owned.back());
    }

    std::vector<Sample> samples;
    std::string first_error;
    ErrorCode first_code = ErrorCode::kUnavailable;
    std::size_t failed = 0;
    bool any_matched = false;
    for (Job& job : jobs) {
      auto left = std::chrono::duration_cast<Duration>(deadline - std::chrono::steady_clock::now());
      Result<Scraped> r = SingleFlight<Scraped>::wait(job.ticket, left, redact_url(job.url));
      if (!r) {
        if (failed++ == 0) {
          first_error = r.error().message;
          first_code = r.error().code;
        }
        continue;
      }
      bool matched = false;
      auto v = evaluate_scrape(q, *r->cur, r->prev.get(), &matched);
      any_matched = any_matched || matched;
      if (v) samples.push_back(Sample{v->value, v->at, job.instance});
    }
    if (failed == jobs.size()) {
      if (jobs.size() == 1) return fail(first_code, first_error);
      return fail(first_code,
                  fmt::format("all {} endpoints failed; first: {}", jobs.size(), first_error));
    }
    if (samples.empty() && !any_matched) {
      return fail(ErrorCode::kNotFound,
                  fmt::format("no series {} in the scrape of {} endpoint{}", describe(q),
                              jobs.size() - failed, jobs.size() - failed == 1 ? "" : "s"));
    }
    return samples;
  }

 private:
  Result<Scraped> scrape(const std::string& url, TimePoint now, Duration timeout) {
    HttpRequest req;
    req.url = url;
    req.headers = cfg_.headers;
    req.timeout = timeout;
    req.max_response_bytes = kMaxScrapeBytes;
    auto resp = http_.send(req);
    if (!resp) return std::unexpected(resp.error());
    if (!resp->ok()) {
      std::string excerpt(params::trim(std::string_view(resp->body).substr(0, 200)));
      return fail(ErrorCode::kUnavailable,
                  fmt::format("GET {}: HTTP {}{}{}", redact_url(url), resp->status,
                              excerpt.empty() ? "" : ": ", excerpt));
    }
    auto parsed = parse_exposition(resp->body);
    if (!parsed) {
      return fail(ErrorCode::kUnavailable,
                  fmt::format("GET {}: not in the Prometheus text format: {}", redact_url(url),
                              parsed.error().message));
    }
    auto snap = std::make_shared<ScrapeSnapshot>(ScrapeSnapshot{std::move(*parsed), now});
    std::lock_guard lock(mu_);
    const auto steady_now = std::chrono::steady_clock::now();
    if (history_.size() > 4096) {
      for (auto it = history_.begin(); it != history_.end();) {
        it = steady_now - it->second.touched > std::chrono::minutes(10) ? history_.erase(it)
                                                                        : std::next(it);
      }
    }
    History& h = history_[url];
    Scraped out{snap, h.last};
    h.last = snap;
    h.touched = steady_now;
    return out;
  }

  struct History {
    std::shared_ptr<const ScrapeSnapshot> last;
    std::chrono::steady_clock::time_point touched;
  };

  ScrapeConfig cfg_;
  HttpClient http_;
  SingleFlight<Scraped> flight_;
  std::mutex mu_;  // guards queries_ and history_
  std::deque<ScrapeQuery> queries_;
  std::map<std::string, History> history_;  // last good scrape per URL (for rates)
};

}  // namespace

Result<std::unique_ptr<Source>> make_prometheus_scrape_source(const SourceSpec& spec) {
  ScrapeConfig cfg;
  cfg.name = spec.name;
  const nlohmann::json& p = spec.params;
  if (auto it = p.find("urls"); it != p.end()) {
    if (it->is_string()) cfg.urls.push_back(it->get<std::string>());
    if (it->is_array()) {
      for (const auto& u : *it) {
        if (u.is_string()) cfg.urls.push_back(u.get<std::string>());
      }
    }
  }
  cfg.per_instance = params::flag(p, "per_instance");
  cfg.path = params::str(p, "path", "/metrics");
  if (!cfg.path.starts_with('/')) cfg.path.insert(cfg.path.begin(), '/');
  cfg.timeout = params::duration(p, "timeout", cfg.timeout);
  cfg.cache_window = params::duration(p, "cache_window", cfg.cache_window);
  cfg.headers = params::headers(p, "headers");
  if (cfg.per_instance && !cfg.urls.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("source '{}': 'urls' and 'per_instance: true' cannot be used together",
                            spec.name));
  }
  if (!cfg.per_instance && cfg.urls.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("source '{}': needs 'urls' or 'per_instance: true'", spec.name));
  }
  for (const std::string& u : cfg.urls) {
    if (!u.starts_with("http://") && !u.starts_with("https://")) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("source '{}': '{}' is not an http(s) URL", spec.name, redact_url(u)));
    }
  }
  // Several URLs: each is an instance named by its host:port (the full URL when two share one).
  std::map<std::string, int> seen;
  for (const std::string& u : cfg.urls) ++seen[url_host_port(u)];
  for (const std::string& u : cfg.urls) {
    if (cfg.urls.size() == 1) {
      cfg.url_instances.emplace_back();
    } else {
      std::string hp = url_host_port(u);
      cfg.url_instances.push_back(seen[hp] == 1 && !hp.empty() ? hp : redact_url(u));
    }
  }
  return std::make_unique<ScrapeSource>(std::move(cfg));
}

}  // namespace tide
