#include "sources/sqs/sqs.hpp"

#include <deque>
#include <mutex>

#include <fmt/format.h>

#include "aws/xml.hpp"
#include "sources/params.hpp"
#include "sources/single_flight.hpp"

namespace tide {

Result<SqsQuery> parse_sqs_query(const nlohmann::json& j) {
  SqsQuery q;
  q.queue_url = params::str(j, "queue_url");
  q.queue_name = params::str(j, "queue_name");
  q.include_in_flight = params::flag(j, "include_in_flight", true);
  q.include_delayed = params::flag(j, "include_delayed", false);
  if (q.queue_url.empty() == q.queue_name.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "sqs: exactly one of 'queue_url' and 'queue_name' is needed");
  }
  return q;
}

std::vector<std::string> sqs_attributes(const SqsQuery& q) {
  std::vector<std::string> out = {"ApproximateNumberOfMessages"};
  if (q.include_in_flight) out.emplace_back("ApproximateNumberOfMessagesNotVisible");
  if (q.include_delayed) out.emplace_back("ApproximateNumberOfMessagesDelayed");
  return out;
}

aws::QueryParams get_queue_url_params(const std::string& queue_name) {
  return {{"QueueName", queue_name}};
}

aws::QueryParams get_queue_attributes_params(const std::string& queue_url,
                                             const std::vector<std::string>& attributes) {
  aws::QueryParams p = {{"QueueUrl", queue_url}};
  for (std::size_t i = 0; i < attributes.size(); ++i) {
    p.emplace_back(fmt::format("AttributeName.{}", i + 1), attributes[i]);
  }
  return p;
}

Result<std::map<std::string, double>> parse_get_queue_attributes(std::string_view xml) {
  auto doc = aws::xml::parse(xml, "GetQueueAttributes");
  if (!doc) return std::unexpected(doc.error());
  pugi::xml_node result = aws::xml::find(**doc, "GetQueueAttributesResult");
  if (!result) {
    return fail(ErrorCode::kUnavailable,
                "GetQueueAttributes: the response has no GetQueueAttributesResult");
  }
  std::map<std::string, double> out;
  for (pugi::xml_node a : result.children("Attribute")) {
    const std::string name = aws::xml::text(a, "Name");
    const std::string value = aws::xml::text(a, "Value");
    auto v = params::parse_double(value);
    if (!v) {
      return fail(ErrorCode::kUnavailable,
                  fmt::format("GetQueueAttributes: {} is not a number ('{}')", name, value));
    }
    out[name] = *v;
  }
  return out;
}

Result<std::string> parse_get_queue_url(std::string_view xml) {
  auto doc = aws::xml::parse(xml, "GetQueueUrl");
  if (!doc) return std::unexpected(doc.error());
  std::string url = aws::xml::text(aws::xml::find(**doc, "GetQueueUrlResult"), "QueueUrl");
  if (url.empty())
    return fail(ErrorCode::kUnavailable, "GetQueueUrl: the response has no QueueUrl");
  return url;
}

namespace {

class SqsSource final : public Source {
 public:
  explicit SqsSource(std::shared_ptr<aws::AwsClient> client)
      : client_(std::move(client)), flight_(std::chrono::seconds(1)) {}

  Result<int> prepare(const nlohmann::json& query) override {
    auto q = parse_sqs_query(query);
    if (!q) return std::unexpected(q.error());
    std::lock_guard lock(mu_);
    queries_.push_back(*q);
    return static_cast<int>(queries_.size() - 1);
  }

  Result<std::vector<Sample>> read(int handle, const std::vector<InstanceEndpoint>&, TimePoint now,
                                   Duration timeout) override {
    SqsQuery q;
    {
      std::lock_guard lock(mu_);
      if (handle < 0 || static_cast<std::size_t>(handle) >= queries_.size()) {
        return fail(ErrorCode::kInvalidArgument, "sqs: unknown query handle");
      }
      q = queries_[static_cast<std::size_t>(handle)];
      if (q.queue_url.empty()) {
        if (auto it = urls_.find(q.queue_name); it != urls_.end()) q.queue_url = it->second;
      }
    }
    if (q.queue_url.empty()) {
      auto body = client_->query("GetQueueUrl", get_queue_url_params(q.queue_name), {}, timeout);
      if (!body) return std::unexpected(body.error().to_error());
      auto url = parse_get_queue_url(*body);
      if (!url) return std::unexpected(url.error());
      q.queue_url = *url;
      std::lock_guard lock(mu_);
      urls_[q.queue_name] = *url;
    }
    const std::vector<std::string> attributes = sqs_attributes(q);
    const std::string key = fmt::format("{}|{}", q.queue_url, fmt::join(attributes, ","));
    auto total = flight_.get(key, timeout, "sqs " + q.queue_url, [&]() -> Result<double> {
      auto body = client_->query("GetQueueAttributes",
                                 get_queue_attributes_params(q.queue_url, attributes), {}, timeout);
      if (!body) return std::unexpected(body.error().to_error());
      auto values = parse_get_queue_attributes(*body);
      if (!values) return std::unexpected(values.error());
      double sum = 0;
      for (const std::string& a : attributes) {
        auto it = values->find(a);
        if (it == values->end()) {
          return fail(ErrorCode::kUnavailable,
                      fmt::format("GetQueueAttributes: {} has no {}", q.queue_url, a));
        }
        sum += it->second;
      }
      return sum;
    });
    if (!total) return std::unexpected(total.error());
    return std::vector<Sample>{Sample{*total, now, ""}};
  }

 private:
  std::shared_ptr<aws::AwsClient> client_;
  SingleFlight<double> flight_;
  std::mutex mu_;
  std::deque<SqsQuery> queries_;
  std::map<std::string, std::string> urls_;  // queue name -> URL
};

}  // namespace

std::unique_ptr<Source> make_sqs_source(std::shared_ptr<aws::AwsClient> client) {
  return std::make_unique<SqsSource>(std::move(client));
}

Result<std::unique_ptr<Source>> make_sqs_source(const SourceSpec& spec) {
  auto client =
      aws::make_aws_client(aws::Service::kSqs, aws::aws_keys(spec.params), aws::process_env());
  if (!client) {
    return fail(client.error().code,
                fmt::format("source '{}': {}", spec.name, client.error().message));
  }
  return make_sqs_source(std::shared_ptr<aws::AwsClient>(std::move(*client)));
}

}  // namespace tide
