// A small HTTP client over libcurl for the live sources (and later the AWS clients): one request,
// a bounded time, a bounded response. Thread-safe: a client may be shared by any number of
// threads; it keeps a few idle curl handles so that connections to the same server are reused.
// URLs in error messages go through redact_url(), so credentials in a URL are never printed.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "core/time.hpp"

namespace tide {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";  // GET, POST, PUT, DELETE, HEAD, ...
  std::string url;             // http:// or https:// only
  HttpHeaders headers;         // sent as given (name, value)
  std::string body;            // sent when not empty (or when the method is POST/PUT)
  Duration timeout{5000};      // the whole request: DNS, connect, send, receive
  std::size_t max_response_bytes = 16u << 20;  // a larger body is an error
  bool follow_redirects = false;               // at most 5, http(s) only
};

struct HttpResponse {
  long status = 0;
  HttpHeaders headers;  // of the final response, names as received
  std::string body;
  // The first header named `name` (case-insensitive), or "".
  std::string header(std::string_view name) const;
  bool ok() const { return status >= 200 && status < 300; }
};

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends the request. Any HTTP status is a response (check `ok()`); errors are transport
  // failures: kTimeout when the time ran out, kUnavailable when the server could not be reached
  // or the response was too large, kInvalidArgument for a bad URL or method.
  Result<HttpResponse> send(const HttpRequest& request);

  // A process-wide client for code that has no reason to own one.
  static HttpClient& shared();

 private:
  struct Pool;
  std::unique_ptr<Pool> pool_;
};

// The URL without credentials: user info is replaced by "***" and the values of query
// parameters whose names suggest a secret (token, key, secret, password, signature, credential,
// auth) by "***". For log lines and error messages.
std::string redact_url(std::string_view url);

// Percent-encodes everything but RFC 3986 unreserved characters (for query parameters and form
// bodies).
std::string url_encode(std::string_view text);

// "host:port" of an http(s) URL (the port filled in from the scheme when absent), without user
// info; "" when the URL cannot be parsed.
std::string url_host_port(std::string_view url);

}  // namespace tide
