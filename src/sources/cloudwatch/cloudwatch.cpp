#include "sources/cloudwatch/cloudwatch.hpp"

#include <algorithm>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <optional>

#include <fmt/format.h>

#include "aws/xml.hpp"
#include "sources/params.hpp"

namespace tide {
namespace {

constexpr std::size_t kMaxQueriesPerCall = 500;  // the GetMetricData quota
constexpr int kMaxPages = 50;
constexpr Duration kActive = std::chrono::minutes(15);  // queries batched along with others
constexpr int kWindowPeriods = 5;

long long whole_seconds(Duration d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

std::string describe(const CwQuery& q) {
  if (!q.expression.empty()) return fmt::format("expression '{}'", q.expression);
  return fmt::format("{} {} {}", q.metric_namespace, q.name, q.statistic);
}

std::string period_problem(Duration period) {
  const long long ms = period.count();
  if (ms <= 0 || ms % 1000 != 0) return "a whole number of seconds";
  const long long s = ms / 1000;
  if (s == 1 || s == 5 || s == 10 || s == 20 || s == 30 || s % 60 == 0) return "";
  return "1s, 5s, 10s, 20s, 30s or a multiple of 60s";
}

}  // namespace

Result<CwQuery> parse_cw_query(const nlohmann::json& j) {
  CwQuery q;
  q.metric_namespace = params::str(j, "namespace");
  q.name = params::str(j, "name");
  q.expression = params::str(j, "expression");
  q.statistic = params::str(j, "statistic", "Average");
  q.unit = params::str(j, "unit");
  q.period = params::duration(j, "period", q.period);
  q.delay = params::duration(j, "delay", q.period);
  if (auto dims = j.find("dimensions"); dims != j.end() && dims->is_object()) {
    for (const auto& [k, v] : dims->items()) {
      if (!v.is_string()) {
        return fail(ErrorCode::kInvalidArgument,
                    fmt::format("cloudwatch: dimension '{}' must be a string", k));
      }
      q.dimensions.emplace_back(k, v.get<std::string>());
    }
  }
  if (q.name.empty() == q.expression.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "cloudwatch: exactly one of 'name' and 'expression' is needed");
  }
  if (!q.name.empty() && q.metric_namespace.empty()) {
    return fail(ErrorCode::kInvalidArgument, "cloudwatch: 'name' needs 'namespace'");
  }
  if (q.dimensions.size() > 30) {
    return fail(ErrorCode::kInvalidArgument, "cloudwatch: at most 30 dimensions");
  }
  if (std::string p = period_problem(q.period); !p.empty()) {
    return fail(ErrorCode::kInvalidArgument, "cloudwatch: 'period' must be " + p);
  }
  if (q.delay.count() < 0) {
    return fail(ErrorCode::kInvalidArgument, "cloudwatch: 'delay' must not be negative");
  }
  return q;
}

CwWindow cw_window(const CwQuery& query, TimePoint now) {
  const long long p = query.period.count();
  const long long t = (now - query.delay).time_since_epoch().count();
  const long long end = (t >= 0 ? t / p : (t - p + 1) / p) * p;
  return CwWindow{TimePoint(Duration(end - kWindowPeriods * p)), TimePoint(Duration(end))};
}

aws::QueryParams get_metric_data_params(
    const std::vector<std::pair<std::string, const CwQuery*>>& queries, TimePoint start,
    TimePoint end, const std::string& next_token) {
  aws::QueryParams out;
  int n = 0;
  for (const auto& [id, q] : queries) {
    const std::string m = fmt::format("MetricDataQueries.member.{}.", ++n);
    out.emplace_back(m + "Id", id);
    if (!q->expression.empty()) {
      out.emplace_back(m + "Expression", q->expression);
      out.emplace_back(m + "Period", std::to_string(whole_seconds(q->period)));
    } else {
      out.emplace_back(m + "MetricStat.Metric.Namespace", q->metric_namespace);
      out.emplace_back(m + "MetricStat.Metric.MetricName", q->name);
      int d = 0;
      for (const auto& [name, value] : q->dimensions) {
        const std::string dim = fmt::format("{}MetricStat.Metric.Dimensions.member.{}.", m, ++d);
        out.emplace_back(dim + "Name", name);
        out.emplace_back(dim + "Value", value);
      }
      out.emplace_back(m + "MetricStat.Period", std::to_string(whole_seconds(q->period)));
      out.emplace_back(m + "MetricStat.Stat", q->statistic);
      if (!q->unit.empty()) out.emplace_back(m + "MetricStat.Unit", q->unit);
    }
    out.emplace_back(m + "ReturnData", "true");
  }
  out.emplace_back("StartTime", format_time(start));
  out.emplace_back("EndTime", format_time(end));
  out.emplace_back("ScanBy", "TimestampDescending");
  if (!next_token.empty()) out.emplace_back("NextToken", next_token);
  return out;
}

Result<CwPage> parse_get_metric_data(std::string_view xml) {
  auto doc = aws::xml::parse(xml, "GetMetricData");
  if (!doc) return std::unexpected(doc.error());
  pugi::xml_node result = aws::xml::find(**doc, "GetMetricDataResult");
  if (!result) {
    return fail(ErrorCode::kUnavailable, "GetMetricData: the response has no GetMetricDataResult");
  }
  auto messages_of = [](pugi::xml_node parent) {
    std::vector<std::string> out;
    for (pugi::xml_node m : parent.child("Messages").children("member")) {
      out.push_back(fmt::format("{}: {}", aws::xml::text(m, "Code"), aws::xml::text(m, "Value")));
    }
    return out;
  };
  CwPage page;
  page.next_token = aws::xml::text(result, "NextToken");
  page.messages = messages_of(result);
  for (pugi::xml_node r : result.child("MetricDataResults").children("member")) {
    CwSeries s;
    s.id = aws::xml::text(r, "Id");
    s.label = aws::xml::text(r, "Label");
    s.status_code = aws::xml::text(r, "StatusCode");
    s.messages = messages_of(r);
    std::vector<TimePoint> times;
    for (pugi::xml_node t : r.child("Timestamps").children("member")) {
      auto at = parse_time(t.child_value());
      if (!at) {
        return fail(ErrorCode::kUnavailable,
                    fmt::format("GetMetricData: result '{}' has an unreadable timestamp '{}'", s.id,
                                t.child_value()));
      }
      times.push_back(*at);
    }
    std::vector<double> values;
    for (pugi::xml_node v : r.child("Values").children("member")) {
      auto value = params::parse_double(v.child_value(), /*allow_special=*/true);
      if (!value) {
        return fail(ErrorCode::kUnavailable,
                    fmt::format("GetMetricData: result '{}' has a non-numeric value '{}'", s.id,
                                v.child_value()));
      }
      values.push_back(*value);
    }
    if (times.size() != values.size()) {
      return fail(ErrorCode::kUnavailable,
                  fmt::format("GetMetricData: result '{}' has {} timestamps but {} values", s.id,
                              times.size(), values.size()));
    }
    for (std::size_t i = 0; i < times.size(); ++i) s.points.emplace_back(times[i], values[i]);
    page.results.push_back(std::move(s));
  }
  return page;
}

Result<std::vector<Sample>> cw_samples(const CwQuery& query, const std::vector<CwSeries>& series,
                                       TimePoint now) {
  const CwWindow w = cw_window(query, now);
  std::vector<Sample> out;
  std::vector<std::string> problems;
  for (const CwSeries& s : series) {
    if (s.status_code == "InternalError" || s.status_code == "Forbidden") {
      return fail(
          s.status_code == "Forbidden" ? ErrorCode::kInvalidArgument : ErrorCode::kUnavailable,
          fmt::format("CloudWatch {}: StatusCode {}{}{}", describe(query), s.status_code,
                      s.messages.empty() ? "" : ": ", fmt::join(s.messages, "; ")));
    }
    const std::pair<TimePoint, double>* best = nullptr;
    for (const auto& p : s.points) {
      if (p.first < w.start || p.first + query.period > w.end || !std::isfinite(p.second)) {
        continue;  // outside the window, or its period is not over (minus the delay)
      }
      if (best == nullptr || p.first > best->first) best = &p;
    }
    if (best == nullptr) {
      problems.insert(problems.end(), s.messages.begin(), s.messages.end());
      continue;
    }
    out.push_back(Sample{best->second, best->first, series.size() > 1 ? s.label : ""});
  }
  if (out.empty() && !problems.empty()) {
    return fail(ErrorCode::kUnavailable, fmt::format("CloudWatch {}: no datapoint: {}",
                                                     describe(query), fmt::join(problems, "; ")));
  }
  return out;
}

namespace {

using Samples = Result<std::vector<Sample>>;

struct Batch {
  std::promise<void> promise;
  std::shared_future<void> done = promise.get_future().share();
  std::map<int, Samples> results;  // written before `promise` is set
};

struct Entry {
  CwQuery query;
  std::string id;
  std::optional<TimePoint> last_read;
  std::optional<std::vector<Sample>> cached;
  TimePoint valid_until;
  std::shared_ptr<Batch> inflight;
};

class CloudWatchSource final : public Source {
 public:
  explicit CloudWatchSource(std::shared_ptr<aws::AwsClient> client) : client_(std::move(client)) {}

  Result<int> prepare(const nlohmann::json& query) override {
    auto q = parse_cw_query(query);
    if (!q) return std::unexpected(q.error());
    std::lock_guard lock(mu_);
    const int handle = static_cast<int>(entries_.size());
    entries_.push_back(Entry{*q, fmt::format("q{}", handle)});
    return handle;
  }

  Result<std::vector<Sample>> read(int handle, const std::vector<InstanceEndpoint>&, TimePoint now,
                                   Duration timeout) override {
    std::shared_ptr<Batch> batch;
    std::vector<std::pair<int, CwQuery>> members;
    {
      std::lock_guard lock(mu_);
      if (handle < 0 || static_cast<std::size_t>(handle) >= entries_.size()) {
        return fail(ErrorCode::kInvalidArgument, "cloudwatch: unknown query handle");
      }
      Entry& e = entries_[static_cast<std::size_t>(handle)];
      e.last_read = now;
      if (e.cached && now < e.valid_until) return *e.cached;
      if (e.inflight) {
        batch = e.inflight;
      } else {
        batch = std::make_shared<Batch>();
        for (std::size_t i = 0; i < entries_.size(); ++i) {
          Entry& other = entries_[i];
          const bool fresh = other.cached && now < other.valid_until;
          const bool active = other.last_read && now - *other.last_read <= kActive;
          if (static_cast<int>(i) != handle && (fresh || !active || other.inflight)) continue;
          other.inflight = batch;
          members.emplace_back(static_cast<int>(i), other.query);
        }
      }
    }
    if (members.empty()) {  // another read is fetching this query: wait for it
      if (batch->done.wait_for(timeout) != std::future_status::ready) {
        return fail(ErrorCode::kTimeout,
                    fmt::format("cloudwatch: timed out after {} waiting for a shared "
                                "GetMetricData call",
                                format_duration(timeout)));
      }
      return batch->results.at(handle);
    }

    std::map<int, Samples> results = fetch(members, now, timeout);
    {
      std::lock_guard lock(mu_);
      for (const auto& [i, q] : members) {
        Entry& e = entries_[static_cast<std::size_t>(i)];
        e.inflight.reset();
        const Samples& r = results.at(i);
        if (r) {
          e.cached = *r;
          e.valid_until = cw_window(q, now).end + q.period + q.delay;
        } else {
          e.cached.reset();
        }
      }
      batch->results = results;
    }
    batch->promise.set_value();
    return results.at(handle);
  }

 private:
  std::map<int, Samples> fetch(const std::vector<std::pair<int, CwQuery>>& members, TimePoint now,
                               Duration timeout) {
    std::map<int, Samples> out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (std::size_t first = 0; first < members.size(); first += kMaxQueriesPerCall) {
      const std::size_t last = std::min(members.size(), first + kMaxQueriesPerCall);
      std::vector<std::pair<std::string, const CwQuery*>> chunk;
      TimePoint start = TimePoint::max(), end = TimePoint::min();
      for (std::size_t i = first; i < last; ++i) {
        const CwQuery& q = members[i].second;
        chunk.emplace_back(fmt::format("q{}", members[i].first), &q);
        const CwWindow w = cw_window(q, now);
        start = std::min(start, w.start);
        end = std::max(end, w.end);
      }
      std::map<std::string, std::vector<CwSeries>> series;  // by id
      std::optional<Error> failed;
      std::string token;
      for (int page = 0; page < kMaxPages; ++page) {
        const auto left =
            std::chrono::duration_cast<Duration>(deadline - std::chrono::steady_clock::now());
        auto body =
            client_->query("GetMetricData", get_metric_data_params(chunk, start, end, token), {},
                           std::max(left, Duration(1)));
        if (!body) {
          failed = body.error().to_error();
          break;
        }
        auto parsed = parse_get_metric_data(*body);
        if (!parsed) {
          failed = parsed.error();
          break;
        }
        for (CwSeries& s : parsed->results) {
          auto& list = series[s.id];
          auto same = std::find_if(list.begin(), list.end(),
                                   [&](const CwSeries& o) { return o.label == s.label; });
          if (same == list.end()) {
            list.push_back(std::move(s));
          } else {  // the next page of a series
            same->points.insert(same->points.end(), s.points.begin(), s.points.end());
            same->status_code = s.status_code;
            same->messages.insert(same->messages.end(), s.messages.begin(), s.messages.end());
          }
        }
        token = parsed->next_token;
        if (token.empty()) break;
      }
      for (std::size_t i = first; i < last; ++i) {
        const auto& [handle, q] = members[i];
        if (failed) {
          out.emplace(handle, std::unexpected(*failed));
          continue;
        }
        auto it = series.find(fmt::format("q{}", handle));
        out.emplace(handle,
                    cw_samples(q, it == series.end() ? std::vector<CwSeries>{} : it->second, now));
      }
    }
    return out;
  }

  std::shared_ptr<aws::AwsClient> client_;
  std::mutex mu_;
  std::deque<Entry> entries_;
};

}  // namespace

std::unique_ptr<Source> make_cloudwatch_source(std::shared_ptr<aws::AwsClient> client) {
  return std::make_unique<CloudWatchSource>(std::move(client));
}

Result<std::unique_ptr<Source>> make_cloudwatch_source(const SourceSpec& spec) {
  auto client = aws::make_aws_client(aws::Service::kCloudWatch, aws::aws_keys(spec.params),
                                     aws::process_env());
  if (!client) {
    return fail(client.error().code,
                fmt::format("source '{}': {}", spec.name, client.error().message));
  }
  return make_cloudwatch_source(std::shared_ptr<aws::AwsClient>(std::move(*client)));
}

}  // namespace tide
