// Small string checks shared by the source and target key schemas. Each returns an error message,
// or "" when the value is fine.
#pragma once

#include <string>
#include <string_view>

namespace tide::checks {

std::string http_url(std::string_view value);      // http:// or https:// with a host
std::string redis_url(std::string_view value);     // redis://, rediss:// or unix://
std::string aws_region(std::string_view value);    // eu-west-1, us-gov-west-1, ...
std::string cw_statistic(std::string_view value);  // Average, Sum, ..., p90, p99.9, tm95, ...
std::string json_pointer(std::string_view value);  // "" or "/a/b" (RFC 6901)
std::string not_empty(std::string_view value);

}  // namespace tide::checks
