#include "aws/endpoint.hpp"

#include <cctype>

#include <fmt/format.h>

#include "config/checks.hpp"

namespace tide::aws {
namespace {

constexpr ServiceInfo kServices[] = {
    {Service::kAutoScaling, "Auto Scaling", "autoscaling", "autoscaling", "2011-01-01"},
    {Service::kCloudWatch, "CloudWatch", "monitoring", "monitoring", "2010-08-01"},
    {Service::kEc2, "EC2", "ec2", "ec2", "2016-11-15"},
    {Service::kLambda, "Lambda", "lambda", "lambda", "2015-03-31"},
    {Service::kSqs, "SQS", "sqs", "sqs", "2012-11-05"},
    {Service::kSts, "STS", "sts", "sts", "2011-06-15"},
};

bool truthy(std::string_view v) {
  return v.size() == 4 && std::tolower(static_cast<unsigned char>(v[0])) == 't' &&
         std::tolower(static_cast<unsigned char>(v[1])) == 'r' &&
         std::tolower(static_cast<unsigned char>(v[2])) == 'u' &&
         std::tolower(static_cast<unsigned char>(v[3])) == 'e';
}

Result<std::string> checked_url(std::string value, std::string_view where) {
  if (std::string problem = checks::http_url(value); !problem.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{}: {} (got '{}')", where, problem, value));
  }
  while (value.ends_with('/')) value.pop_back();
  return value;
}

}  // namespace

const ServiceInfo& service_info(Service service) {
  for (const ServiceInfo& info : kServices) {
    if (info.service == service) return info;
  }
  return kServices[0];
}

std::string endpoint_env_name(std::string_view service_id) {
  std::string out = "AWS_ENDPOINT_URL_";
  for (char c : service_id) {
    out.push_back(c == ' ' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return out;
}

Result<std::string> resolve_region(std::string_view configured, const Env& env,
                                   const ProfileValues* profile) {
  std::string region(configured);
  std::string from = "the config's region";
  for (const char* name : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    if (!region.empty()) break;
    region = env_get(env, name);
    from = name;
  }
  if (region.empty() && profile != nullptr) {
    region = profile_get(*profile, "region");
    from = "the profile's region";
  }
  if (region.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "no AWS region: set `region:` in the config, AWS_REGION, or `region` in the "
                "profile of ~/.aws/config");
  }
  if (std::string problem = checks::aws_region(region); !problem.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{}: {} (got '{}')", from, problem, region));
  }
  return region;
}

std::string default_endpoint(Service service, std::string_view region) {
  const ServiceInfo& info = service_info(service);
  if (region.empty()) return fmt::format("https://{}.amazonaws.com", info.endpoint_prefix);
  const char* suffix = region.starts_with("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
  return fmt::format("https://{}.{}.{}", info.endpoint_prefix, region, suffix);
}

Result<std::string> resolve_endpoint(Service service, std::string_view region,
                                     std::string_view configured, const Env& env,
                                     const ProfileValues* profile) {
  if (!configured.empty()) return checked_url(std::string(configured), "endpoint_url");
  const bool ignore =
      truthy(env_get(env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) ||
      (profile != nullptr && truthy(profile_get(*profile, "ignore_configured_endpoint_urls")));
  if (!ignore) {
    const std::string specific = endpoint_env_name(service_info(service).id);
    for (const std::string& name : {specific, std::string("AWS_ENDPOINT_URL")}) {
      std::string v = env_get(env, name);
      if (!v.empty()) return checked_url(v, name);
    }
    if (profile != nullptr) {
      std::string v = profile_get(*profile, "endpoint_url");
      if (!v.empty()) return checked_url(v, "the profile's endpoint_url");
    }
  }
  return default_endpoint(service, region);
}

}  // namespace tide::aws
