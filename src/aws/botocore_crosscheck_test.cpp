// Cross-check with botocore (item 2 of the AWS issue): every API call tide makes is built by the
// same functions the targets and sources use, signed by tide at a fixed time, and handed to
// tests/botocore/sigv4_crosscheck.py, which signs the same request with botocore's SigV4Auth
// (identical Authorization required) and serializes the same input with botocore's own
// serializers (identical parameters required). Needs /usr/bin/python3 with python3-botocore
// (scripts/install-deps).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "aws/client.hpp"
#include "aws/sigv4.hpp"
#include "sources/cloudwatch/cloudwatch.hpp"
#include "sources/sqs/sqs.hpp"
#include "targets/aws_asg/aws_asg.hpp"
#include "targets/aws_ec2/aws_ec2.hpp"
#include "targets/aws_lambda_concurrency/aws_lambda_concurrency.hpp"
#include "targets/aws_lambda_memory/aws_lambda_memory.hpp"

#ifndef TIDE_SOURCE_DIR
#error "TIDE_SOURCE_DIR must be defined (see CMakeLists.txt)"
#endif

namespace tide::aws {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const TimePoint kTime = TimePoint(std::chrono::seconds(1767225600));  // 2026-01-01T00:00:00Z

const Credentials kLongTerm{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "",
                            std::nullopt, "test"};
const Credentials kTemporary{"ASIAEXAMPLE", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
                             "FwoGZXIvYXdzEJr//////////wEaDEXAMPLETOKEN+/=", std::nullopt, "test"};

struct Call {
  std::string name;
  Service service;
  std::string botocore_service;
  std::string operation;
  json input;  // the same call as botocore input
  std::string endpoint;
  const Credentials* credentials;
  // Either a Query action with its parameters...
  QueryParams params;
  // ...or a REST-JSON request.
  std::string method, path;
  QueryParams query;
  std::optional<json> body;
};

AwsClient client_for(const Call& c) {
  AwsClientOptions o;
  o.service = c.service;
  o.region = "eu-west-1";
  o.endpoint = c.endpoint;
  o.credentials = make_static_credentials(*c.credentials);
  return AwsClient(std::move(o));
}

std::vector<Call> calls() {
  std::vector<Call> out;
  const std::string asg = "https://autoscaling.eu-west-1.amazonaws.com";
  out.push_back({"autoscaling DescribeAutoScalingGroups",
                 Service::kAutoScaling,
                 "autoscaling",
                 "DescribeAutoScalingGroups",
                 {{"AutoScalingGroupNames", {"web-asg"}}},
                 asg,
                 &kLongTerm,
                 describe_asg_params("web-asg")});
  out.push_back(
      {"autoscaling SetDesiredCapacity",
       Service::kAutoScaling,
       "autoscaling",
       "SetDesiredCapacity",
       {{"AutoScalingGroupName", "web-asg"}, {"DesiredCapacity", 7}, {"HonorCooldown", false}},
       asg,
       &kTemporary,
       set_desired_capacity_params("web-asg", 7)});
  // A scheduled policy's bounds with the capacity (aws_asg.hpp).
  out.push_back({"autoscaling UpdateAutoScalingGroup",
                 Service::kAutoScaling,
                 "autoscaling",
                 "UpdateAutoScalingGroup",
                 {{"AutoScalingGroupName", "web-asg"},
                  {"MinSize", 2},
                  {"MaxSize", 40},
                  {"DesiredCapacity", 7}},
                 asg,
                 &kLongTerm,
                 update_asg_params("web-asg", 2, 40, 7)});

  const std::string ec2 = "https://ec2.eu-west-1.amazonaws.com";
  Ec2FleetConfig by_tags;
  by_tags.tags = {{"Role", "worker"}, {"Team", "data & ml"}};
  out.push_back({"ec2 DescribeInstances (tags, next page)",
                 Service::kEc2,
                 "ec2",
                 "DescribeInstances",
                 {{"Filters",
                   {{{"Name", "tag:Role"}, {"Values", {"worker"}}},
                    {{"Name", "tag:Team"}, {"Values", {"data & ml"}}},
                    {{"Name", "instance-state-name"},
                     {"Values", {"pending", "running", "stopping", "stopped"}}}}},
                  {"MaxResults", 1000},
                  {"NextToken", "eyJ2IjoiMiJ9+/="}},
                 ec2,
                 &kTemporary,
                 describe_instances_params(by_tags, "eyJ2IjoiMiJ9+/=")});
  Ec2FleetConfig by_ids;
  by_ids.instance_ids = {"i-0abc", "i-0def"};
  out.push_back({"ec2 DescribeInstances (ids)",
                 Service::kEc2,
                 "ec2",
                 "DescribeInstances",
                 {{"InstanceIds", {"i-0abc", "i-0def"}}},
                 ec2,
                 &kLongTerm,
                 describe_instances_params(by_ids, "")});
  out.push_back({"ec2 StartInstances",
                 Service::kEc2,
                 "ec2",
                 "StartInstances",
                 {{"InstanceIds", {"i-0abc", "i-0def"}}},
                 ec2,
                 &kLongTerm,
                 instance_ids_params({"i-0abc", "i-0def"})});
  out.push_back({"ec2 StopInstances",
                 Service::kEc2,
                 "ec2",
                 "StopInstances",
                 {{"InstanceIds", {"i-0abc"}}},
                 "http://127.0.0.1:4566",
                 &kTemporary,
                 instance_ids_params({"i-0abc"})});

  CwQuery cpu;
  cpu.metric_namespace = "AWS/EC2";
  cpu.name = "CPUUtilization";
  cpu.dimensions = {{"AutoScalingGroupName", "web-asg"}};
  cpu.statistic = "p99.9";
  cpu.unit = "Percent";
  CwQuery search;
  search.expression =
      "SEARCH('{AWS/SQS,QueueName} MetricName=\"ApproximateNumberOfMessagesVisible\"', 'Sum', 300) "
      "* 1.5 — ü";
  search.period = std::chrono::seconds(300);
  const TimePoint start = kTime - std::chrono::minutes(30), end = kTime - std::chrono::minutes(5);
  out.push_back(
      {"monitoring GetMetricData",
       Service::kCloudWatch,
       "cloudwatch",
       "GetMetricData",
       {{"MetricDataQueries",
         {{{"Id", "q0"},
           {"MetricStat",
            {{"Metric",
              {{"Namespace", "AWS/EC2"},
               {"MetricName", "CPUUtilization"},
               {"Dimensions", {{{"Name", "AutoScalingGroupName"}, {"Value", "web-asg"}}}}}},
             {"Period", 60},
             {"Stat", "p99.9"},
             {"Unit", "Percent"}}},
           {"ReturnData", true}},
          {{"Id", "q12"},
           {"Expression", search.expression},
           {"Period", 300},
           {"ReturnData", true}}}},
        {"StartTime", "2025-12-31T23:30:00Z"},
        {"EndTime", "2025-12-31T23:55:00Z"},
        {"ScanBy", "TimestampDescending"}},
       "https://monitoring.eu-west-1.amazonaws.com",
       &kTemporary,
       get_metric_data_params({{"q0", &cpu}, {"q12", &search}}, start, end, "")});

  const std::string queue = "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs";
  out.push_back({"sqs GetQueueAttributes",
                 Service::kSqs,
                 "sqs",
                 "GetQueueAttributes",
                 {{"QueueUrl", queue},
                  {"AttributeNames",
                   {"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed"}}},
                 "https://sqs.eu-west-1.amazonaws.com",
                 &kTemporary,
                 get_queue_attributes_params(
                     queue, {"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                             "ApproximateNumberOfMessagesDelayed"})});
  out.push_back({"sqs GetQueueUrl",
                 Service::kSqs,
                 "sqs",
                 "GetQueueUrl",
                 {{"QueueName", "jobs"}},
                 "http://localhost:9324/",
                 &kLongTerm,
                 get_queue_url_params("jobs")});

  const std::string lambda = "https://lambda.eu-west-1.amazonaws.com";
  const std::string arn = "arn:aws:lambda:eu-west-1:123456789012:function:worker";
  auto rest = [&](std::string name, std::string op, json input, std::string method,
                  std::string path, QueryParams query, std::optional<json> body,
                  const Credentials* creds, std::string endpoint) {
    Call c{std::move(name),  Service::kLambda,    "lambda", std::move(op),
           std::move(input), std::move(endpoint), creds};
    c.method = std::move(method);
    c.path = std::move(path);
    c.query = std::move(query);
    c.body = std::move(body);
    out.push_back(std::move(c));
  };
  rest("lambda GetFunctionConfiguration", "GetFunctionConfiguration", {{"FunctionName", arn}},
       "GET", function_configuration_path(arn), {}, std::nullopt, &kTemporary, lambda);
  rest("lambda UpdateFunctionConfiguration", "UpdateFunctionConfiguration",
       {{"FunctionName", "worker"}, {"MemorySize", 1769}, {"Timeout", 30}}, "PUT",
       function_configuration_path("worker"), {},
       *update_function_configuration_body(LambdaMemoryConfig{"worker", 30}, 1769), &kLongTerm,
       lambda);
  rest("lambda PutProvisionedConcurrencyConfig", "PutProvisionedConcurrencyConfig",
       {{"FunctionName", arn}, {"Qualifier", "live"}, {"ProvisionedConcurrentExecutions", 25}},
       "PUT", provisioned_concurrency_path(arn), {{"Qualifier", "live"}},
       json{{"ProvisionedConcurrentExecutions", 25}}, &kTemporary, lambda);
  rest("lambda GetProvisionedConcurrencyConfig", "GetProvisionedConcurrencyConfig",
       {{"FunctionName", "worker"}, {"Qualifier", "7"}}, "GET",
       provisioned_concurrency_path("worker"), {{"Qualifier", "7"}}, std::nullopt, &kLongTerm,
       "http://127.0.0.1:4566/lambda-prefix");
  rest("lambda DeleteProvisionedConcurrencyConfig", "DeleteProvisionedConcurrencyConfig",
       {{"FunctionName", "worker"}, {"Qualifier", "live"}}, "DELETE",
       provisioned_concurrency_path("worker"), {{"Qualifier", "live"}}, std::nullopt, &kTemporary,
       lambda);
  return out;
}

json signed_case(const Call& c) {
  AwsClient client = client_for(c);
  HttpRequest req = c.method.empty() ? client.build_query(c.operation, c.params)
                                     : client.build_rest_json(c.method, c.path, c.query,
                                                              c.body ? &*c.body : nullptr);
  auto s = sign(req, *c.credentials, "eu-west-1", service_info(c.service).signing_name, kTime);
  EXPECT_TRUE(s.has_value()) << c.name;
  json headers = json::array();
  std::string authorization;
  for (const auto& [k, v] : req.headers) {
    headers.push_back({k, v});
    if (k == "Authorization") authorization = v;
  }
  return {{"name", c.name},
          {"botocore_service", c.botocore_service},
          {"operation", c.operation},
          {"input", c.input},
          {"signing_name", std::string(service_info(c.service).signing_name)},
          {"region", "eu-west-1"},
          {"endpoint", client.endpoint()},
          {"credentials",
           {{"access_key", c.credentials->access_key_id},
            {"secret_key", c.credentials->secret_access_key},
            {"token", c.credentials->session_token}}},
          {"method", req.method},
          {"url", req.url},
          {"headers", headers},
          {"body", req.body},
          {"authorization", authorization}};
}

TEST(BotocoreCrossCheck, EveryApiTideCallsSignsAndSerializesAsBotocoreDoes) {
  const std::string script = std::string(TIDE_SOURCE_DIR) + "/tests/botocore/sigv4_crosscheck.py";
  ASSERT_TRUE(fs::exists("/usr/bin/python3")) << "/usr/bin/python3 is missing";
  ASSERT_TRUE(fs::exists(script)) << script;
  ASSERT_EQ(std::system("/usr/bin/python3 -c 'import botocore' 2>/dev/null"), 0)
      << "python3-botocore is not installed for /usr/bin/python3: run scripts/install-deps";

  json doc = {{"time", amz_date(kTime)}, {"cases", json::array()}};
  const auto all = calls();
  for (const Call& c : all) doc["cases"].push_back(signed_case(c));
  std::string pattern = (fs::temp_directory_path() / "tide-botocore-XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  const fs::path dir = pattern;
  const fs::path cases = dir / "cases.json";
  std::ofstream(cases) << doc.dump(2);

  const std::string cmd = "/usr/bin/python3 " + script + " " + cases.string() + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), pipe) != nullptr) output += buf.data();
  const int status = ::pclose(pipe);
  fs::remove_all(dir);
  EXPECT_EQ(status, 0) << output;
  EXPECT_NE(output.find(std::to_string(all.size()) + " ok, 0 failed"), std::string::npos) << output;
}

}  // namespace
}  // namespace tide::aws
