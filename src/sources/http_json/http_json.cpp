#include "sources/http_json/http_json.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <deque>
#include <mutex>
#include <vector>

#include <fmt/format.h>

#include "core/http.hpp"
#include "sources/params.hpp"
#include "sources/single_flight.hpp"

namespace tide {
namespace {

using nlohmann::json;

// Splits a pointer into unescaped reference tokens.
Result<std::vector<std::string>> tokens(std::string_view pointer) {
  std::vector<std::string> out;
  if (pointer.empty()) return out;
  if (pointer.front() != '/') {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("invalid JSON pointer '{}': must be empty or start with '/'", pointer));
  }
  std::size_t pos = 1;
  while (true) {
    std::size_t slash = pointer.find('/', pos);
    std::string_view raw =
        pointer.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    std::string token;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '~') {
        token.push_back(raw[i]);
        continue;
      }
      if (i + 1 < raw.size() && (raw[i + 1] == '0' || raw[i + 1] == '1')) {
        token.push_back(raw[i + 1] == '0' ? '~' : '/');
        ++i;
        continue;
      }
      return fail(
          ErrorCode::kInvalidArgument,
          fmt::format("invalid JSON pointer '{}': '~' must be followed by 0 or 1", pointer));
    }
    out.push_back(std::move(token));
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  return out;
}

}  // namespace

Result<void> check_json_pointer(std::string_view pointer) {
  auto t = tokens(pointer);
  if (!t) return std::unexpected(t.error());
  return {};
}

Result<const json*> resolve_json_pointer(const json& doc, std::string_view pointer) {
  auto toks = tokens(pointer);
  if (!toks) return std::unexpected(toks.error());
  const json* cur = &doc;
  std::string at;  // the pointer's prefix resolved so far, for messages
  for (const std::string& t : *toks) {
    if (cur->is_object()) {
      auto it = cur->find(t);
      if (it == cur->end()) {
        return fail(
            ErrorCode::kNotFound,
            fmt::format("JSON pointer '{}': no member '{}' in the object at '{}'", pointer, t, at));
      }
      cur = &*it;
    } else if (cur->is_array()) {
      std::size_t index = 0;
      bool valid = !t.empty() && (t == "0" || t.front() != '0') &&
                   std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (valid) {
        auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), index);
        valid = ec == std::errc() && end == t.data() + t.size();
      }
      if (!valid) {
        return fail(ErrorCode::kNotFound,
                    fmt::format("JSON pointer '{}': '{}' is not an index of the array at '{}'",
                                pointer, t, at));
      }
      if (index >= cur->size()) {
        return fail(ErrorCode::kNotFound,
                    fmt::format("JSON pointer '{}': index {} is past the end of the array at '{}' "
                                "({} elements)",
                                pointer, index, at, cur->size()));
      }
      cur = &(*cur)[index];
    } else {
      return fail(
          ErrorCode::kNotFound,
          fmt::format("JSON pointer '{}': the value at '{}' is a {}, not an object or array",
                      pointer, at, cur->type_name()));
    }
    at += "/" + t;
  }
  return cur;
}

Result<double> json_to_number(const json& value) {
  if (value.is_number()) {
    double v = value.get<double>();
    if (std::isfinite(v)) return v;
  } else if (value.is_string()) {
    if (auto v = params::parse_double(value.get_ref<const std::string&>())) return *v;
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("expected a number, got the string \"{}\"",
                            value.get_ref<const std::string&>().substr(0, 60)));
  }
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 60) + "...";
  return fail(ErrorCode::kInvalidArgument,
              fmt::format("expected a number, got {} {}", value.type_name(), text));
}

namespace {

struct JsonQuery {
  std::string url;
  std::string pointer;
};

using Document = std::shared_ptr<const json>;

class HttpJsonSource final : public Source {
 public:
  HttpJsonSource(std::string base, Duration timeout, Duration window, HttpHeaders headers)
      : base_(std::move(base)), timeout_(timeout), headers_(std::move(headers)), flight_(window) {
    headers_.emplace_back("Accept", "application/json");
  }

  Result<int> prepare(const json& query) override {
    JsonQuery q;
    q.pointer = params::str(query, "pointer");
    if (auto ok = check_json_pointer(q.pointer); !ok) return std::unexpected(ok.error());
    std::string path = params::str(query, "path");
    q.url = base_;
    if (q.url.ends_with('/') && path.starts_with('/')) q.url.pop_back();
    q.url += path;
    std::lock_guard lock(mu_);
    queries_.push_back(std::move(q));
    return static_cast<int>(queries_.size() - 1);
  }

  Result<std::vector<Sample>> read(int query, const std::vector<InstanceEndpoint>&, TimePoint now,
                                   Duration timeout) override {
    JsonQuery q;
    {
      std::lock_guard lock(mu_);
      if (query < 0 || static_cast<std::size_t>(query) >= queries_.size()) {
        return fail(ErrorCode::kInvalidArgument, "http-json: unknown query handle");
      }
      q = queries_[static_cast<std::size_t>(query)];
    }
    const Duration limit = std::min(timeout_, timeout);
    const std::string where = "GET " + redact_url(q.url);
    auto doc = flight_.get(q.url, limit, where, [&]() -> Result<Document> {
      HttpRequest req;
      req.url = q.url;
      req.headers = headers_;
      req.timeout = limit;
      auto resp = http_.send(req);
      if (!resp) return std::unexpected(resp.error());
      if (!resp->ok()) {
        std::string ex(params::trim(std::string_view(resp->body).substr(0, 200)));
        return fail(ErrorCode::kUnavailable, fmt::format("{}: HTTP {}{}{}", where, resp->status,
                                                         ex.empty() ? "" : ": ", ex));
      }
      json parsed = json::parse(resp->body, nullptr, /*allow_exceptions=*/false);
      if (parsed.is_discarded()) {
        return fail(ErrorCode::kUnavailable, fmt::format("{}: the response is not JSON", where));
      }
      return std::make_shared<const json>(std::move(parsed));
    });
    if (!doc) return std::unexpected(doc.error());
    auto value = resolve_json_pointer(**doc, q.pointer);
    if (!value) {
      return fail(value.error().code, fmt::format("{}: {}", where, value.error().message));
    }
    auto number = json_to_number(**value);
    if (!number) {
      return fail(ErrorCode::kInvalidArgument, fmt::format("{}: JSON pointer '{}': {}", where,
                                                           q.pointer, number.error().message));
    }
    return std::vector<Sample>{Sample{*number, now, ""}};
  }

 private:
  const std::string base_;
  const Duration timeout_;
  HttpHeaders headers_;
  HttpClient http_;
  SingleFlight<Document> flight_;
  std::mutex mu_;
  std::deque<JsonQuery> queries_;
};

}  // namespace

Result<std::unique_ptr<Source>> make_http_json_source(const SourceSpec& spec) {
  std::string url = params::str(spec.params, "url");
  if (!url.starts_with("http://") && !url.starts_with("https://")) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("source '{}': url must be an http(s) URL", spec.name));
  }
  return std::make_unique<HttpJsonSource>(
      std::move(url), params::duration(spec.params, "timeout", Duration(5000)),
      params::duration(spec.params, "cache_window", Duration(1000)),
      params::headers(spec.params, "headers"));
}

}  // namespace tide
