// The `sqs` source: an Amazon SQS queue's depth, for the `queue` policy.
//
// GetQueueAttributes on `queue_url` (or the URL GetQueueUrl returns for `queue_name`, looked up
// once) for ApproximateNumberOfMessages, plus ApproximateNumberOfMessagesNotVisible (in flight)
// unless `include_in_flight: false`, plus ApproximateNumberOfMessagesDelayed with
// `include_delayed: true`. The sample is their sum, an aggregate timed at the read. Reads of the
// same queue and attributes within 1 s share one request (several groups on one queue).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "aws/client.hpp"
#include "core/result.hpp"
#include "sources/registry.hpp"
#include "sources/source.hpp"

namespace tide {

struct SqsQuery {
  std::string queue_url;
  std::string queue_name;
  bool include_in_flight = true;
  bool include_delayed = false;
};

Result<SqsQuery> parse_sqs_query(const nlohmann::json& query);

// The attribute names `query` adds up.
std::vector<std::string> sqs_attributes(const SqsQuery& query);

aws::QueryParams get_queue_url_params(const std::string& queue_name);

aws::QueryParams get_queue_attributes_params(const std::string& queue_url,
                                             const std::vector<std::string>& attributes);

// Attribute name -> value of a GetQueueAttributes response.
Result<std::map<std::string, double>> parse_get_queue_attributes(std::string_view xml);

// The QueueUrl of a GetQueueUrl response.
Result<std::string> parse_get_queue_url(std::string_view xml);

std::unique_ptr<Source> make_sqs_source(std::shared_ptr<aws::AwsClient> client);

Result<std::unique_ptr<Source>> make_sqs_source(const SourceSpec& spec);

}  // namespace tide
