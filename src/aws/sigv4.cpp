#include "aws/sigv4.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace tide::aws {
namespace {

constexpr char kHex[] = "0123456789abcdef";

std::string to_hex(const unsigned char* data, std::size_t n) {
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 15]);
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Trims and collapses every run of whitespace (folded lines included) into one space.
std::string trim_all(std::string_view value) {
  std::string out;
  bool pending_space = false;
  for (char c : value) {
    if (blank(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes; a '%' not followed by two hex digits is kept as is.
std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = hex_value(s[i + 1]);
      int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// RFC 3986 section 5.2.4, plus the removal of empty segments that AWS expects (as botocore).
std::string remove_dot_segments(std::string_view path) {
  if (path.empty()) return "/";
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    std::size_t end = slash == std::string_view::npos ? path.size() : slash;
    std::string_view seg = path.substr(start, end - start);
    if (!seg.empty() && seg != ".") {
      if (seg == "..") {
        if (!out.empty()) out.pop_back();
      } else {
        out.push_back(seg);
      }
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  std::string result = path.front() == '/' ? "/" : "";
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (i > 0) result.push_back('/');
    result.append(out[i]);
  }
  if (path.back() == '/' && !out.empty()) result.push_back('/');
  return result;
}

struct UrlParts {
  std::string scheme;
  std::string host;  // as the Host header carries it: lower-case, no default port, no user info
  std::string path;
  std::string query;
};

Result<UrlParts> split_url(std::string_view url) {
  UrlParts p;
  auto colon = url.find("://");
  if (colon == std::string_view::npos) {
    return fail(ErrorCode::kInvalidArgument, "sigv4: the URL has no scheme");
  }
  p.scheme = lower(url.substr(0, colon));
  if (p.scheme != "http" && p.scheme != "https") {
    return fail(ErrorCode::kInvalidArgument, "sigv4: only http:// and https:// URLs are signed");
  }
  std::string_view rest = url.substr(colon + 3);
  if (auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  auto auth_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, auth_end);
  std::string_view tail = auth_end == std::string_view::npos ? "" : rest.substr(auth_end);
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  if (authority.empty()) return fail(ErrorCode::kInvalidArgument, "sigv4: the URL has no host");
  std::string host = lower(authority);
  auto port_colon = host.rfind(':');
  auto bracket = host.rfind(']');
  if (port_colon != std::string::npos && (bracket == std::string::npos || port_colon > bracket)) {
    std::string_view port = std::string_view(host).substr(port_colon + 1);
    if ((p.scheme == "http" && port == "80") || (p.scheme == "https" && port == "443") ||
        port.empty()) {
      host.resize(port_colon);
    }
  }
  p.host = std::move(host);
  auto q = tail.find('?');
  p.path = std::string(tail.substr(0, q));
  if (q != std::string_view::npos) p.query = std::string(tail.substr(q + 1));
  if (p.path.empty()) p.path = "/";
  return p;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

void remove_header(HttpHeaders& headers, std::string_view name) {
  std::erase_if(headers, [&](const auto& h) { return iequals(h.first, name); });
}

bool has_header(const HttpHeaders& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& h) { return iequals(h.first, name); });
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return to_hex(digest, len);
}

std::array<unsigned char, 32> hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  return out;
}

std::string amz_date(TimePoint t) {
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd(day);
  const std::chrono::hh_mm_ss hms(std::chrono::floor<std::chrono::seconds>(t - day));
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

std::string uri_encode(std::string_view text, bool keep_slash) {
  static constexpr char kUpper[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
        (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kUpper[c >> 4]);
      out.push_back(kUpper[c & 15]);
    }
  }
  return out;
}

std::string canonical_uri(std::string_view path, bool normalize) {
  if (path.empty()) return "/";
  return uri_encode(normalize ? remove_dot_segments(path) : std::string(path), true);
}

std::string canonical_query(std::string_view query) {
  if (query.empty()) return "";
  std::vector<std::pair<std::string, std::string>> pairs;
  std::size_t start = 0;
  while (start <= query.size()) {
    std::size_t amp = query.find('&', start);
    std::size_t end = amp == std::string_view::npos ? query.size() : amp;
    std::string_view pair = query.substr(start, end - start);
    if (!pair.empty()) {
      auto eq = pair.find('=');
      std::string_view k = pair.substr(0, eq);
      std::string_view v = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
      pairs.emplace_back(uri_encode(percent_decode(k), false),
                         uri_encode(percent_decode(v), false));
    }
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [k, v] : pairs) {
    if (!out.empty()) out.push_back('&');
    out.append(k).append("=").append(v);
  }
  return out;
}

CanonicalHeaders canonical_headers(const HttpHeaders& headers) {
  std::map<std::string, std::string> merged;  // sorted by lower-case name
  for (const auto& [name, value] : headers) {
    std::string key = lower(trim_all(name));
    auto [it, fresh] = merged.try_emplace(key, trim_all(value));
    if (!fresh) it->second.append(",").append(trim_all(value));
  }
  CanonicalHeaders out;
  for (const auto& [name, value] : merged) {
    out.text.append(name).append(":").append(value).append("\n");
    if (!out.signed_headers.empty()) out.signed_headers.push_back(';');
    out.signed_headers.append(name);
  }
  return out;
}

std::string canonical_request(std::string_view method, std::string_view path,
                              std::string_view query, const HttpHeaders& headers,
                              std::string_view payload_hash, bool normalize_path) {
  CanonicalHeaders h = canonical_headers(headers);
  return fmt::format("{}\n{}\n{}\n{}\n{}\n{}", method, canonical_uri(path, normalize_path),
                     canonical_query(query), h.text, h.signed_headers, payload_hash);
}

std::string credential_scope(std::string_view date8, std::string_view region,
                             std::string_view service) {
  return fmt::format("{}/{}/{}/aws4_request", date8, region, service);
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request) {
  return fmt::format("AWS4-HMAC-SHA256\n{}\n{}\n{}", amz_date, scope,
                     sha256_hex(canonical_request));
}

std::array<unsigned char, 32> signing_key(std::string_view secret, std::string_view date8,
                                          std::string_view region, std::string_view service) {
  std::string k = "AWS4";
  k.append(secret);
  auto view = [](const std::array<unsigned char, 32>& a) {
    return std::string_view(reinterpret_cast<const char*>(a.data()), a.size());
  };
  auto k_date = hmac_sha256(k, date8);
  std::fill(k.begin(), k.end(), '\0');
  auto k_region = hmac_sha256(view(k_date), region);
  auto k_service = hmac_sha256(view(k_region), service);
  return hmac_sha256(view(k_service), "aws4_request");
}

std::string signature(const std::array<unsigned char, 32>& key, std::string_view string_to_sign) {
  auto mac = hmac_sha256(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()),
                         string_to_sign);
  return to_hex(mac.data(), mac.size());
}

std::string authorization(std::string_view access_key_id, std::string_view scope,
                          std::string_view signed_headers, std::string_view signature) {
  return fmt::format("AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={}, Signature={}",
                     access_key_id, scope, signed_headers, signature);
}

Result<void> sign(HttpRequest& request, const Credentials& credentials, std::string_view region,
                  std::string_view service, TimePoint now, const SignOptions& options) {
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return fail(ErrorCode::kInvalidArgument, "sigv4: no access key id or secret access key");
  }
  if (region.empty() || service.empty()) {
    return fail(ErrorCode::kInvalidArgument, "sigv4: region and service must be set");
  }
  auto url = split_url(request.url);
  if (!url) return std::unexpected(url.error());

  const std::string date = amz_date(now);
  HttpHeaders& headers = request.headers;
  remove_header(headers, "Authorization");
  remove_header(headers, "X-Amz-Date");
  if (!credentials.session_token.empty()) remove_header(headers, "X-Amz-Security-Token");
  if (!has_header(headers, "Host")) headers.emplace_back("Host", url->host);
  headers.emplace_back("X-Amz-Date", date);
  const std::string payload_hash = sha256_hex(request.body);
  if (options.content_sha256_header) {
    remove_header(headers, "X-Amz-Content-Sha256");
    headers.emplace_back("X-Amz-Content-Sha256", payload_hash);
  }
  if (!credentials.session_token.empty() && options.sign_session_token) {
    headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }

  HttpHeaders to_sign;
  for (const auto& h : headers) {
    if (iequals(h.first, "User-Agent") || iequals(h.first, "Expect") ||
        iequals(h.first, "Transfer-Encoding") || iequals(h.first, "X-Amzn-Trace-Id")) {
      continue;
    }
    to_sign.push_back(h);
  }
  const std::string scope = credential_scope(date.substr(0, 8), region, service);
  const std::string creq = canonical_request(request.method, url->path, url->query, to_sign,
                                             payload_hash, options.normalize_path);
  const std::string sts = string_to_sign(date, scope, creq);
  const std::string sig = signature(
      signing_key(credentials.secret_access_key, date.substr(0, 8), region, service), sts);
  if (!credentials.session_token.empty() && !options.sign_session_token) {
    headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  headers.emplace_back("Authorization",
                       authorization(credentials.access_key_id, scope,
                                     canonical_headers(to_sign).signed_headers, sig));
  return {};
}

}  // namespace tide::aws
