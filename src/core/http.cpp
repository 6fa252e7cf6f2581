#include "core/http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include <fmt/format.h>

namespace tide {
namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// What one transfer collects from curl's callbacks.
struct Transfer {
  HttpResponse response;
  std::size_t limit = 0;
  bool too_large = false;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  if (t->response.body.size() + n > t->limit) {
    t->too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  t->response.body.append(data, n);
  return n;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {
    t->response.headers.clear();  // a new response (after a redirect or 100 Continue)
    return n;
  }
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    t->response.headers.emplace_back(std::string(trim(line.substr(0, colon))),
                                     std::string(trim(line.substr(colon + 1))));
  }
  return n;
}

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

struct HttpClient::Pool {
  static constexpr std::size_t kMaxIdle = 8;
  std::mutex mu;
  std::vector<CURL*> idle;

  CURL* take() {
    {
      std::lock_guard lock(mu);
      if (!idle.empty()) {
        CURL* h = idle.back();
        idle.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }
  void give(CURL* h) {
    curl_easy_reset(h);  // keeps the connection cache
    std::lock_guard lock(mu);
    if (idle.size() < kMaxIdle) {
      idle.push_back(h);
      return;
    }
    curl_easy_cleanup(h);
  }
  ~Pool() {
    for (CURL* h : idle) curl_easy_cleanup(h);
  }
};

HttpClient::HttpClient() : pool_(std::make_unique<Pool>()) {
  global_init();
}
HttpClient::~HttpClient() = default;

HttpClient& HttpClient::shared() {
  static HttpClient client;
  return client;
}

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return "";
}

Result<HttpResponse> HttpClient::send(const HttpRequest& request) {
  const std::string where = fmt::format("{} {}", request.method, redact_url(request.url));
  if (!request.url.starts_with("http://") && !request.url.starts_with("https://")) {
    return fail(ErrorCode::kInvalidArgument,
                where + ": only http:// and https:// URLs are supported");
  }
  if (request.method.empty() ||
      !std::all_of(request.method.begin(), request.method.end(),
                   [](char c) { return std::isupper(static_cast<unsigned char>(c)); })) {
    return fail(ErrorCode::kInvalidArgument, where + ": invalid method");
  }
  if (request.timeout.count() <= 0) {
    return fail(ErrorCode::kTimeout, where + ": no time left for the request");
  }

  Transfer t;
  t.limit = request.max_response_bytes;
  char errbuf[CURL_ERROR_SIZE] = {0};

  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add_header = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next != nullptr) {
      static_cast<void>(headers.release());
      headers.reset(next);
    }
  };
  for (const auto& [k, v] : request.headers) {
    // A header given with an empty value is sent as "Name;" (curl's spelling for that).
    add_header(v.empty() ? k + ";" : k + ": " + v);
  }
  add_header("Expect:");  // no 100-continue round trip for larger bodies

  // Declared after everything the handle points to, so it is reset and returned first.
  CURL* h = pool_->take();
  if (h == nullptr) return fail(ErrorCode::kInternal, where + ": curl_easy_init failed");
  struct Giver {
    Pool* pool;
    CURL* h;
    ~Giver() { pool->give(h); }
  } giver{pool_.get(), h};

  const long timeout_ms = static_cast<long>(request.timeout.count());
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, request.follow_redirects ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // whatever curl can decode
  curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(request.max_response_bytes));
  curl_easy_setopt(h, CURLOPT_USERAGENT, "tide/" TIDE_VERSION);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());

  const bool has_body = !request.body.empty() || request.method == "POST" ||
                        request.method == "PUT" || request.method == "PATCH";
  if (request.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (has_body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.c_str());
    if (request.method != "POST")
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  } else if (request.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }

  CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    if (t.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
      return fail(ErrorCode::kUnavailable, fmt::format("{}: response larger than {} bytes", where,
                                                       request.max_response_bytes));
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      return fail(ErrorCode::kTimeout,
                  fmt::format("{}: timed out after {}", where, format_duration(request.timeout)));
    }
    std::string detail = errbuf[0] != '\0' ? std::string(errbuf) : curl_easy_strerror(rc);
    ErrorCode code = (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL)
                         ? ErrorCode::kInvalidArgument
                         : ErrorCode::kUnavailable;
    return fail(code, fmt::format("{}: {}", where, trim(detail)));
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &t.response.status);
  return std::move(t.response);
}

std::string redact_url(std::string_view url) {
  std::string out;
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  out.append(url.substr(0, scheme_end + 3));
  std::string_view rest = url.substr(scheme_end + 3);
  auto auth_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, auth_end);
  std::string_view tail = auth_end == std::string_view::npos ? "" : rest.substr(auth_end);
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    out.append("***@");
    authority = authority.substr(at + 1);
  }
  out.append(authority);

  auto q = tail.find('?');
  if (q == std::string_view::npos) {
    out.append(tail);
    return out;
  }
  out.append(tail.substr(0, q + 1));
  std::string_view query = tail.substr(q + 1);
  std::string_view fragment;
  if (auto hash = query.find('#'); hash != std::string_view::npos) {
    fragment = query.substr(hash);
    query = query.substr(0, hash);
  }
  static constexpr std::string_view kSecret[] = {"token",     "key",        "secret", "password",
                                                 "signature", "credential", "auth",   "passwd",
                                                 "pwd",       "session"};
  bool first = true;
  while (true) {
    auto amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    if (!first) out.push_back('&');
    first = false;
    auto eq = param.find('=');
    if (eq == std::string_view::npos) {
      out.append(param);
    } else {
      std::string name = lower(param.substr(0, eq));
      bool secret = std::any_of(std::begin(kSecret), std::end(kSecret), [&](std::string_view w) {
        return name.find(w) != std::string::npos;
      });
      out.append(param.substr(0, eq + 1));
      out.append(secret ? std::string_view("***") : param.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query = query.substr(amp + 1);
  }
  out.append(fragment);
  return out;
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string url_host_port(std::string_view url) {
  std::string_view default_port;
  if (url.starts_with("http://")) {
    default_port = "80";
    url.remove_prefix(7);
  } else if (url.starts_with("https://")) {
    default_port = "443";
    url.remove_prefix(8);
  } else {
    return "";
  }
  std::string_view authority = url.substr(0, url.find_first_of("/?#"));
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  if (authority.empty()) return "";
  // The port follows the last ':' unless that ':' is inside an IPv6 literal [..].
  auto colon = authority.rfind(':');
  auto bracket = authority.rfind(']');
  bool has_port =
      colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket);
  if (has_port) return std::string(authority);
  return fmt::format("{}:{}", authority, default_port);
}

}  // namespace tide
