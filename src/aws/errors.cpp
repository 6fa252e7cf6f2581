#include "aws/errors.hpp"

#include <algorithm>
#include <array>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "aws/xml.hpp"

namespace tide::aws {
namespace {

std::string excerpt(std::string_view text, std::size_t n = 200) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  if (text.size() <= n) return std::string(text);
  return std::string(text.substr(0, n)) + "...";
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

ErrorCode classify(const AwsError& e) {
  if (e.http_status == 0) return e.timeout ? ErrorCode::kTimeout : ErrorCode::kUnavailable;
  if (is_throttling(e) || e.http_status >= 500) return ErrorCode::kUnavailable;
  if (e.http_status == 404 || contains(e.aws_code, "NotFound") ||
      contains(e.aws_code, "NonExistent") || contains(e.aws_code, ".NotFound")) {
    return ErrorCode::kNotFound;
  }
  if (e.http_status == 408) return ErrorCode::kTimeout;
  return ErrorCode::kInvalidArgument;
}

bool parse_xml_body(std::string_view body, AwsError& e) {
  auto doc = xml::parse(body, "error");
  if (!doc) return false;
  pugi::xml_node error = xml::find(**doc, "Error");
  if (!error) return false;
  e.aws_code = xml::text(error, "Code");
  e.message = xml::text(error, "Message");
  for (const char* id : {"RequestId", "RequestID"}) {
    if (!e.request_id.empty()) break;
    if (pugi::xml_node n = xml::find(**doc, id)) e.request_id = n.child_value();
  }
  return !e.aws_code.empty();
}

bool parse_json_body(const HttpResponse& r, AwsError& e) {
  std::string type = r.header("X-Amzn-ErrorType");
  nlohmann::json doc = nlohmann::json::parse(r.body, nullptr, false);
  if (type.empty() && doc.is_object()) {
    for (const char* key : {"__type", "code", "Code"}) {
      if (auto it = doc.find(key); it != doc.end() && it->is_string()) {
        type = it->get<std::string>();
        break;
      }
    }
  }
  if (auto colon = type.find(':'); colon != std::string::npos) type.resize(colon);
  if (auto hash = type.rfind('#'); hash != std::string::npos) type = type.substr(hash + 1);
  if (type.empty()) return false;
  e.aws_code = type;
  if (doc.is_object()) {
    for (const char* key : {"message", "Message", "errorMessage"}) {
      if (auto it = doc.find(key); it != doc.end() && it->is_string()) {
        e.message = it->get<std::string>();
        break;
      }
    }
  }
  return true;
}

}  // namespace

std::string AwsError::text() const {
  std::string out = context.empty() ? "" : context + ": ";
  if (!aws_code.empty()) {
    out += aws_code;
    if (!message.empty()) out += ": " + message;
  } else if (http_status != 0) {
    out += fmt::format("HTTP {}", http_status);
    if (!message.empty()) out += ": " + message;
  } else {
    out += message;
  }
  if (!request_id.empty()) out += fmt::format(" (request id {})", request_id);
  if (!note.empty()) out += " " + note;
  return out;
}

AwsError parse_error_response(const HttpResponse& response) {
  AwsError e;
  e.http_status = response.status;
  e.request_id = response.header("X-Amzn-RequestId");
  if (e.request_id.empty()) e.request_id = response.header("X-Amz-Request-Id");
  bool parsed = false;
  std::string_view body = response.body;
  const auto first = body.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && body[first] == '<') {
    parsed = parse_xml_body(body, e);
  } else {
    parsed = parse_json_body(response, e);
  }
  if (!parsed) {
    e.aws_code.clear();
    e.message = excerpt(body);
  }
  e.code = classify(e);
  return e;
}

AwsError transport_error(const Error& error) {
  AwsError e;
  e.message = error.message;
  e.timeout = error.code == ErrorCode::kTimeout;
  e.code = error.code;
  return e;
}

bool is_throttling(const AwsError& e) {
  static constexpr std::array<std::string_view, 14> kCodes = {
      "Throttling",
      "ThrottlingException",
      "ThrottledException",
      "RequestThrottledException",
      "TooManyRequestsException",
      "ProvisionedThroughputExceededException",
      "TransactionInProgressException",
      "RequestLimitExceeded",
      "BandwidthLimitExceeded",
      "LimitExceededException",
      "RequestThrottled",
      "SlowDown",
      "PriorRequestNotComplete",
      "EC2ThrottledException",
  };
  return std::find(kCodes.begin(), kCodes.end(), e.aws_code) != kCodes.end();
}

bool is_transient(const AwsError& e) {
  if (e.http_status == 0) return e.code == ErrorCode::kTimeout || e.code == ErrorCode::kUnavailable;
  if (e.aws_code == "RequestTimeout" || e.aws_code == "RequestTimeoutException" ||
      e.aws_code == "PriorRequestNotComplete" || e.aws_code == "InternalError" ||
      e.aws_code == "InternalFailure" || e.aws_code == "ServiceUnavailable") {
    return true;
  }
  return e.http_status == 500 || e.http_status == 502 || e.http_status == 503 ||
         e.http_status == 504;
}

bool is_expired_token(const AwsError& e) {
  // EC2 answers expired temporary credentials with RequestExpired (which also means a request date
  // more than 15 minutes off: signing again, with fresh credentials and date, is the remedy too).
  return e.aws_code == "ExpiredToken" || e.aws_code == "ExpiredTokenException" ||
         e.aws_code == "RequestExpired";
}

std::string scrub(std::string text, const Credentials& credentials) {
  for (const std::string* secret : {&credentials.secret_access_key, &credentials.session_token}) {
    if (secret->size() < 4) continue;
    for (auto at = text.find(*secret); at != std::string::npos; at = text.find(*secret, at)) {
      text.replace(at, secret->size(), "***");
      at += 3;
    }
  }
  return text;
}

}  // namespace tide::aws
