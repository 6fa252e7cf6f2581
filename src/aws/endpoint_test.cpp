#include "aws/endpoint.hpp"

#include <gtest/gtest.h>

namespace tide::aws {
namespace {

struct RegionCase {
  const char* name;
  std::string configured;
  Env env;
  std::optional<ProfileValues> profile;
  std::string want;        // "" = an error
  std::string want_error;  // substring
};

class ResolveRegionTest : public ::testing::TestWithParam<RegionCase> {};

TEST_P(ResolveRegionTest, Resolves) {
  const RegionCase& c = GetParam();
  auto r = resolve_region(c.configured, c.env, c.profile ? &*c.profile : nullptr);
  if (c.want.empty()) {
    ASSERT_FALSE(r.has_value()) << *r;
    EXPECT_NE(r.error().message.find(c.want_error), std::string::npos) << r.error().message;
    return;
  }
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, c.want);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ResolveRegionTest,
    ::testing::Values(
        RegionCase{"config_first",
                   "eu-west-1",
                   {{"AWS_REGION", "us-east-1"}},
                   ProfileValues{{"region", "ap-south-1"}},
                   "eu-west-1",
                   ""},
        RegionCase{"aws_region",
                   "",
                   {{"AWS_REGION", "us-east-1"}, {"AWS_DEFAULT_REGION", "us-west-2"}},
                   std::nullopt,
                   "us-east-1",
                   ""},
        RegionCase{"aws_default_region",
                   "",
                   {{"AWS_DEFAULT_REGION", "us-west-2"}},
                   ProfileValues{{"region", "ap-south-1"}},
                   "us-west-2",
                   ""},
        RegionCase{"profile", "", {}, ProfileValues{{"region", "ap-south-1"}}, "ap-south-1", ""},
        RegionCase{"none", "", {}, ProfileValues{}, "", "no AWS region: set `region:`"},
        RegionCase{"garbage_in_the_environment",
                   "",
                   {{"AWS_REGION", "evil.com/x"}},
                   std::nullopt,
                   "",
                   "AWS_REGION: expected an AWS region name"}),
    [](const auto& info) { return std::string(info.param.name); });

struct EndpointCase {
  const char* name;
  Service service;
  std::string region;
  std::string configured;
  Env env;
  std::optional<ProfileValues> profile;
  std::string want;  // "" = an error
};

class ResolveEndpointTest : public ::testing::TestWithParam<EndpointCase> {};

TEST_P(ResolveEndpointTest, Resolves) {
  const EndpointCase& c = GetParam();
  auto r =
      resolve_endpoint(c.service, c.region, c.configured, c.env, c.profile ? &*c.profile : nullptr);
  if (c.want.empty()) {
    EXPECT_FALSE(r.has_value()) << *r;
    return;
  }
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, c.want);
}

const Env kAllEnv = {{"AWS_ENDPOINT_URL_AUTO_SCALING", "http://127.0.0.1:1/asg/"},
                     {"AWS_ENDPOINT_URL_CLOUDWATCH", "http://127.0.0.1:2"},
                     {"AWS_ENDPOINT_URL_EC2", "http://127.0.0.1:3"},
                     {"AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:4"},
                     {"AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:5"},
                     {"AWS_ENDPOINT_URL_STS", "http://127.0.0.1:6"},
                     {"AWS_ENDPOINT_URL", "http://127.0.0.1:9"}};

INSTANTIATE_TEST_SUITE_P(
    Cases, ResolveEndpointTest,
    ::testing::Values(
        EndpointCase{"asg_default",
                     Service::kAutoScaling,
                     "eu-west-1",
                     "",
                     {},
                     std::nullopt,
                     "https://autoscaling.eu-west-1.amazonaws.com"},
        EndpointCase{"cloudwatch_is_monitoring",
                     Service::kCloudWatch,
                     "us-east-1",
                     "",
                     {},
                     std::nullopt,
                     "https://monitoring.us-east-1.amazonaws.com"},
        EndpointCase{"ec2_china",
                     Service::kEc2,
                     "cn-north-1",
                     "",
                     {},
                     std::nullopt,
                     "https://ec2.cn-north-1.amazonaws.com.cn"},
        EndpointCase{"lambda",
                     Service::kLambda,
                     "eu-central-1",
                     "",
                     {},
                     std::nullopt,
                     "https://lambda.eu-central-1.amazonaws.com"},
        EndpointCase{"sqs",
                     Service::kSqs,
                     "eu-west-1",
                     "",
                     {},
                     std::nullopt,
                     "https://sqs.eu-west-1.amazonaws.com"},
        EndpointCase{"sts_global_without_region",
                     Service::kSts,
                     "",
                     "",
                     {},
                     std::nullopt,
                     "https://sts.amazonaws.com"},
        EndpointCase{"config_wins", Service::kSqs, "eu-west-1", "http://localhost:4566/", kAllEnv,
                     std::nullopt, "http://localhost:4566"},
        EndpointCase{"service_env_auto_scaling", Service::kAutoScaling, "eu-west-1", "", kAllEnv,
                     std::nullopt, "http://127.0.0.1:1/asg"},
        EndpointCase{"service_env_cloudwatch", Service::kCloudWatch, "eu-west-1", "", kAllEnv,
                     std::nullopt, "http://127.0.0.1:2"},
        EndpointCase{"service_env_ec2", Service::kEc2, "eu-west-1", "", kAllEnv, std::nullopt,
                     "http://127.0.0.1:3"},
        EndpointCase{"service_env_lambda", Service::kLambda, "eu-west-1", "", kAllEnv, std::nullopt,
                     "http://127.0.0.1:4"},
        EndpointCase{"service_env_sqs", Service::kSqs, "eu-west-1", "", kAllEnv, std::nullopt,
                     "http://127.0.0.1:5"},
        EndpointCase{"service_env_sts", Service::kSts, "eu-west-1", "", kAllEnv, std::nullopt,
                     "http://127.0.0.1:6"},
        EndpointCase{"global_env", Service::kSqs, "eu-west-1", "",
                     Env{{"AWS_ENDPOINT_URL", "http://127.0.0.1:9"}},
                     ProfileValues{{"endpoint_url", "http://profile:1"}}, "http://127.0.0.1:9"},
        EndpointCase{"profile_endpoint",
                     Service::kSqs,
                     "eu-west-1",
                     "",
                     {},
                     ProfileValues{{"endpoint_url", "http://profile:1"}},
                     "http://profile:1"},
        EndpointCase{"ignore_configured_endpoints", Service::kSqs, "eu-west-1", "",
                     Env{{"AWS_ENDPOINT_URL", "http://127.0.0.1:9"},
                         {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"}},
                     std::nullopt, "https://sqs.eu-west-1.amazonaws.com"},
        EndpointCase{"bad_override", Service::kSqs, "eu-west-1", "",
                     Env{{"AWS_ENDPOINT_URL_SQS", "localhost:4566"}}, std::nullopt, ""}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ServiceInfo, SigningNamesAndEnvironmentNames) {
  EXPECT_EQ(service_info(Service::kCloudWatch).signing_name, "monitoring");
  EXPECT_EQ(service_info(Service::kAutoScaling).signing_name, "autoscaling");
  EXPECT_EQ(endpoint_env_name(service_info(Service::kAutoScaling).id),
            "AWS_ENDPOINT_URL_AUTO_SCALING");
  EXPECT_EQ(endpoint_env_name(service_info(Service::kCloudWatch).id),
            "AWS_ENDPOINT_URL_CLOUDWATCH");
  EXPECT_EQ(endpoint_env_name("Lambda"), "AWS_ENDPOINT_URL_LAMBDA");
}

}  // namespace
}  // namespace tide::aws
