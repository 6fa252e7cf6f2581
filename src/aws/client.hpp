// A client for one AWS service in one region at one endpoint, with one credentials provider:
// signs each attempt (SigV4, sigv4.hpp), retries as the SDKs' standard mode (retry.hpp), refreshes
// the credentials once on an expired-token error (errors.hpp), and turns error responses into
// AwsError (errors.hpp) whose text never holds a secret.
//
//  - query(): the Query protocol (Auto Scaling, CloudWatch, EC2, SQS, STS): POST to the endpoint
//    with a form body Action=...&Version=...&params, XML response returned as text for the
//    caller's parser.
//  - rest_json(): REST-JSON (Lambda): METHOD endpoint+path?query with a JSON body; the response
//    body parsed as JSON (null when empty).
//
// Thread-safe: calls from several threads share the retry quota and the credentials.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "aws/credentials.hpp"
#include "aws/endpoint.hpp"
#include "aws/errors.hpp"
#include "aws/retry.hpp"
#include "core/clock.hpp"
#include "core/http.hpp"

namespace tide::aws {

// Ordered name/value pairs (the order they are sent in).
using QueryParams = std::vector<std::pair<std::string, std::string>>;

struct AwsClientOptions {
  Service service = Service::kSts;
  std::string region;    // required (the signing region)
  std::string endpoint;  // base URL without a trailing '/'; may carry a path and be http://
  std::shared_ptr<CredentialsProvider> credentials;  // required
  HttpClient* http = nullptr;                        // default HttpClient::shared()
  const Clock* clock = nullptr;                      // signing time; default the system clock
  RetryOptions retry;
  std::shared_ptr<RetryQuota> quota;            // default: one per client
  std::function<void(Duration)> sleep;          // default: std::this_thread::sleep_for
  std::function<double()> random;               // uniform [0, 1); default: a seeded generator
  Duration timeout = std::chrono::seconds(10);  // per call, all attempts together
};

class AwsClient {
 public:
  explicit AwsClient(AwsClientOptions options);

  // One Query-protocol action; `version` defaults to the service's API version. Returns the XML
  // body of the 2xx response.
  AwsResult<std::string> query(std::string_view action, const QueryParams& params,
                               std::string_view version = {},
                               std::optional<Duration> timeout = std::nullopt);

  struct JsonResponse {
    long status = 0;
    nlohmann::json body;  // null for an empty body (204)
  };
  // One REST-JSON call. `path` must already be percent-encoded (path_segment()); `operation`
  // names the call in errors ("GetFunctionConfiguration"). `body` null = no body.
  AwsResult<JsonResponse> rest_json(std::string_view method, std::string_view path,
                                    const QueryParams& query, const nlohmann::json* body,
                                    std::string_view operation,
                                    std::optional<Duration> timeout = std::nullopt);

  // The request query() would send for `action` before signing (for tests and the botocore
  // cross-check).
  HttpRequest build_query(std::string_view action, const QueryParams& params,
                          std::string_view version = {}) const;
  // Likewise for rest_json().
  HttpRequest build_rest_json(std::string_view method, std::string_view path,
                              const QueryParams& query, const nlohmann::json* body) const;

  const std::string& endpoint() const { return opt_.endpoint; }
  const std::string& region() const { return opt_.region; }
  Service service() const { return opt_.service; }
  const RetryQuota& quota() const { return *opt_.quota; }

 private:
  AwsResult<HttpResponse> send(const HttpRequest& request, const std::string& context,
                               std::optional<Duration> timeout);

  AwsClientOptions opt_;
};

// A path segment for rest_json() paths (RFC 3986 unreserved kept, everything else encoded,
// '/' included): "my:function" -> "my%3Afunction".
std::string path_segment(std::string_view segment);

// The client for `service` from a target's or source's AWS keys (`region`, `endpoint_url`,
// `profile`, all optional) and the environment, with the shared default credentials chain.
// Errors: no region, a bad endpoint override, an unreadable shared config file.
struct AwsKeys {
  std::string region;
  std::string endpoint_url;
  std::string profile;
};
// The keys from a target's or source's checked params (absent keys are "").
AwsKeys aws_keys(const nlohmann::json& params);

// Knobs for tests and emulators, read from the environment by make_aws_client (they are not AWS
// SDK settings, hence the TIDE_ prefix; docs/aws.md):
//   TIDE_AWS_RETRY_BASE_DELAY  the backoff base of transient and throttling errors (1s): a test
//                              that injects throttling waits milliseconds instead of seconds
//   TIDE_AWS_CALL_TIMEOUT      one call's budget, all attempts together (10s); sources pass their
//                              own read timeout, which takes precedence
// Values are durations ("20ms", "2s"); anything else is an error naming the variable.
Result<void> apply_env_tuning(const Env& env, AwsClientOptions& options);

Result<std::unique_ptr<AwsClient>> make_aws_client(Service service, const AwsKeys& keys,
                                                   const Env& env);

}  // namespace tide::aws
