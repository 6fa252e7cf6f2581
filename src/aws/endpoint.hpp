// Which AWS service a client talks to, in which region, at which URL.
//
// Region: tide's `region:` key, else AWS_REGION, else AWS_DEFAULT_REGION, else the profile's
// `region` in the shared config (shared_config.hpp). No region is an error that says where to set
// one (tide does not ask the instance metadata service for it).
//
// Endpoint: tide's `endpoint_url:` key, else AWS_ENDPOINT_URL_<SERVICE> (the service id
// upper-cased, spaces as underscores: AWS_ENDPOINT_URL_AUTO_SCALING, AWS_ENDPOINT_URL_CLOUDWATCH,
// AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL_LAMBDA, AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL_STS), else
// AWS_ENDPOINT_URL, else the profile's `endpoint_url`, else https://<prefix>.<region>.amazonaws.com
// (.amazonaws.com.cn in cn-* regions). AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true skips the
// environment and profile (not tide's own key). Overrides may be plain http:// (a local fake).
// The signing name can differ from the endpoint prefix: CloudWatch is "monitoring" for both, but
// its service id is "CloudWatch".
#pragma once

#include <string>
#include <string_view>

#include "aws/env.hpp"
#include "aws/shared_config.hpp"
#include "core/result.hpp"

namespace tide::aws {

enum class Service { kAutoScaling, kCloudWatch, kEc2, kLambda, kSqs, kSts };

struct ServiceInfo {
  Service service;
  std::string_view id;               // SDK service id: "Auto Scaling", "CloudWatch", ...
  std::string_view endpoint_prefix;  // "autoscaling", "monitoring", "ec2", ...
  std::string_view signing_name;     // SigV4 service name
  std::string_view api_version;      // the Query protocol's Version / Lambda's path prefix
};

const ServiceInfo& service_info(Service service);

// "Auto Scaling" -> "AWS_ENDPOINT_URL_AUTO_SCALING".
std::string endpoint_env_name(std::string_view service_id);

// `profile` may be null (no shared-config profile).
Result<std::string> resolve_region(std::string_view configured, const Env& env,
                                   const ProfileValues* profile);

// https://<prefix>.<region>.amazonaws.com (no trailing slash). STS without a region is the
// global endpoint https://sts.amazonaws.com.
std::string default_endpoint(Service service, std::string_view region);

// The endpoint (see above), without a trailing slash. Errors: an override that is not an
// http(s) URL with a host.
Result<std::string> resolve_endpoint(Service service, std::string_view region,
                                     std::string_view configured, const Env& env,
                                     const ProfileValues* profile);

}  // namespace tide::aws
