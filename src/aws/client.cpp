#include "aws/client.hpp"

#include <chrono>
#include <mutex>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "aws/shared_config.hpp"
#include "aws/sigv4.hpp"

namespace tide::aws {
namespace {

using Steady = std::chrono::steady_clock;

std::string form_encode(const QueryParams& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out.push_back('&');
    out.append(url_encode(k)).append("=").append(url_encode(v));
  }
  return out;
}

const Clock& system_clock() {
  static const SystemClock clock;
  return clock;
}

std::function<double()> default_random() {
  struct Shared {
    std::mutex mu;
    std::mt19937_64 gen{std::random_device{}()};
    std::uniform_real_distribution<double> dist{0.0, 1.0};
  };
  auto shared = std::make_shared<Shared>();
  return [shared] {
    std::lock_guard lock(shared->mu);
    return shared->dist(shared->gen);
  };
}

}  // namespace

std::string path_segment(std::string_view segment) {
  return uri_encode(segment, false);
}

AwsClient::AwsClient(AwsClientOptions options) : opt_(std::move(options)) {
  if (opt_.http == nullptr) opt_.http = &HttpClient::shared();
  if (opt_.clock == nullptr) opt_.clock = &system_clock();
  if (!opt_.quota) opt_.quota = std::make_shared<RetryQuota>(opt_.retry.quota);
  if (!opt_.sleep) opt_.sleep = [](Duration d) { std::this_thread::sleep_for(d); };
  if (!opt_.random) opt_.random = default_random();
  while (opt_.endpoint.ends_with('/')) opt_.endpoint.pop_back();
}

HttpRequest AwsClient::build_query(std::string_view action, const QueryParams& params,
                                   std::string_view version) const {
  QueryParams all;
  all.reserve(params.size() + 2);
  all.emplace_back("Action", std::string(action));
  all.emplace_back("Version",
                   std::string(version.empty() ? service_info(opt_.service).api_version : version));
  all.insert(all.end(), params.begin(), params.end());
  HttpRequest req;
  req.method = "POST";
  req.url = opt_.endpoint + "/";
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  req.body = form_encode(all);
  return req;
}

HttpRequest AwsClient::build_rest_json(std::string_view method, std::string_view path,
                                       const QueryParams& query, const nlohmann::json* body) const {
  HttpRequest req;
  req.method = std::string(method);
  req.url = opt_.endpoint + std::string(path);
  if (!query.empty()) req.url += "?" + form_encode(query);
  if (body != nullptr) {
    req.headers = {{"Content-Type", "application/json"}};
    req.body = body->dump();
  }
  return req;
}

AwsResult<std::string> AwsClient::query(std::string_view action, const QueryParams& params,
                                        std::string_view version, std::optional<Duration> timeout) {
  const std::string context =
      fmt::format("{} {}", service_info(opt_.service).endpoint_prefix, action);
  auto resp = send(build_query(action, params, version), context, timeout);
  if (!resp) return aws_fail(std::move(resp.error()));
  return std::move(resp->body);
}

AwsResult<AwsClient::JsonResponse> AwsClient::rest_json(
    std::string_view method, std::string_view path, const QueryParams& query,
    const nlohmann::json* body, std::string_view operation, std::optional<Duration> timeout) {
  const std::string context =
      fmt::format("{} {}", service_info(opt_.service).endpoint_prefix, operation);
  auto resp = send(build_rest_json(method, path, query, body), context, timeout);
  if (!resp) return aws_fail(std::move(resp.error()));
  JsonResponse out;
  out.status = resp->status;
  if (resp->body.find_first_not_of(" \t\r\n") != std::string::npos) {
    out.body = nlohmann::json::parse(resp->body, nullptr, false);
    if (out.body.is_discarded()) {
      AwsError e;
      e.context = context;
      e.http_status = resp->status;
      e.message = "the response is not JSON";
      e.request_id = resp->header("X-Amzn-RequestId");
      return aws_fail(std::move(e));
    }
  }
  return out;
}

AwsResult<HttpResponse> AwsClient::send(const HttpRequest& request, const std::string& context,
                                        std::optional<Duration> timeout) {
  const RetryOptions& retry = opt_.retry;
  const auto deadline = Steady::now() + timeout.value_or(opt_.timeout);
  const std::string signing_name(service_info(opt_.service).signing_name);
  int attempt = 1;
  int acquired = 0;  // quota taken by the last retry, given back on success
  bool refreshed = false;
  std::optional<AwsError> last;  // the previous attempt's error, when this one is a retry
  while (true) {
    auto creds =
        opt_.credentials
            ? opt_.credentials->get()
            : Result<Credentials>(fail(ErrorCode::kInvalidArgument, "no credentials provider"));
    if (!creds) {
      AwsError e;
      e.code = creds.error().code;
      e.context = context;
      e.message = "credentials: " + creds.error().message;
      return aws_fail(std::move(e));
    }
    const auto remaining = std::chrono::duration_cast<Duration>(deadline - Steady::now());
    if (remaining <= Duration(0)) {
      // The backoff used up the budget: what the caller needs is why the last attempt failed.
      if (last) {
        last->note = fmt::format("(not retried: no time left after {} attempt(s))", attempt - 1);
        return aws_fail(std::move(*last));
      }
      AwsError e;
      e.code = ErrorCode::kTimeout;
      e.timeout = true;
      e.context = context;
      e.message = "no time left for the first attempt";
      return aws_fail(std::move(e));
    }
    HttpRequest req = request;
    req.timeout = std::min(remaining, retry.attempt_timeout);
    if (auto s = sign(req, *creds, opt_.region, signing_name, opt_.clock->now()); !s) {
      AwsError e;
      e.code = s.error().code;
      e.context = context;
      e.message = s.error().message;
      return aws_fail(std::move(e));
    }
    auto resp = opt_.http->send(req);
    if (resp && resp->ok()) {
      opt_.quota->release(acquired > 0 ? acquired : retry.no_retry_increment);
      return std::move(*resp);
    }
    AwsError err = resp ? parse_error_response(*resp) : transport_error(resp.error());
    err.context = context;
    err.message = scrub(std::move(err.message), *creds);

    if (is_expired_token(err) && !refreshed) {
      refreshed = true;  // new credentials, same attempt; only once
      opt_.credentials->invalidate();
      continue;
    }
    const bool throttled = is_throttling(err);
    if (!throttled && !is_transient(err)) return aws_fail(std::move(err));
    if (attempt >= retry.max_attempts) {
      if (attempt > 1) err.note = fmt::format("(after {} attempts)", attempt);
      return aws_fail(std::move(err));
    }
    const Duration delay = backoff_delay(retry, attempt, throttled, opt_.random());
    if (Steady::now() + delay >= deadline) {
      err.note = fmt::format("(not retried: no time left after {} attempt(s))", attempt);
      return aws_fail(std::move(err));
    }
    const int cost = err.timeout ? retry.timeout_retry_cost : retry.retry_cost;
    if (!opt_.quota->acquire(cost)) {
      err.note = "(not retried: the client's retry quota is used up)";
      return aws_fail(std::move(err));
    }
    acquired = cost;
    last = std::move(err);
    opt_.sleep(delay);
    ++attempt;
  }
}

AwsKeys aws_keys(const nlohmann::json& params) {
  auto str = [&](const char* key) {
    auto it = params.find(key);
    return it != params.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  return AwsKeys{str("region"), str("endpoint_url"), str("profile")};
}

Result<void> apply_env_tuning(const Env& env, AwsClientOptions& options) {
  auto read = [&](const char* name) -> Result<std::optional<Duration>> {
    const std::string text = env_get(env, name);
    if (text.empty()) return std::nullopt;
    auto d = parse_duration(text);
    if (!d) {
      return fail(ErrorCode::kInvalidArgument, fmt::format("{}: {}", name, d.error().message));
    }
    return *d;
  };
  auto base = read("TIDE_AWS_RETRY_BASE_DELAY");
  if (!base) return std::unexpected(base.error());
  auto timeout = read("TIDE_AWS_CALL_TIMEOUT");
  if (!timeout) return std::unexpected(timeout.error());
  if (*base) options.retry.base_delay = options.retry.throttling_base_delay = **base;
  if (*timeout) {
    if (**timeout <= Duration(0)) {
      return fail(ErrorCode::kInvalidArgument, "TIDE_AWS_CALL_TIMEOUT: must be more than 0");
    }
    options.timeout = **timeout;
  }
  return {};
}

Result<std::unique_ptr<AwsClient>> make_aws_client(Service service, const AwsKeys& keys,
                                                   const Env& env) {
  const ProfileChoice choice = choose_profile(env, keys.profile);
  auto profile = load_profile(env, choice.name);
  if (!profile) return std::unexpected(profile.error());
  const ProfileValues* values = *profile ? &**profile : nullptr;
  auto region = resolve_region(keys.region, env, values);
  if (!region) return std::unexpected(region.error());
  auto endpoint = resolve_endpoint(service, *region, keys.endpoint_url, env, values);
  if (!endpoint) return std::unexpected(endpoint.error());
  AwsClientOptions o;
  o.service = service;
  o.region = *region;
  o.endpoint = *endpoint;
  o.credentials = shared_default_credentials(keys.profile, *region);
  if (auto tuned = apply_env_tuning(env, o); !tuned) return std::unexpected(tuned.error());
  return std::make_unique<AwsClient>(std::move(o));
}

}  // namespace tide::aws
