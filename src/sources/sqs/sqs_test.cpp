#include "sources/sqs/sqs.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "aws/testing/fake_aws.hpp"

namespace tide {
namespace {

using nlohmann::json;
using std::chrono::seconds;

const TimePoint kNow = TimePoint(std::chrono::seconds(1767225600));
constexpr const char* kQueue = "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs";

// As in the GetQueueAttributes API reference (Query protocol).
std::string attributes_xml(int visible, int in_flight, int delayed) {
  return R"(<GetQueueAttributesResponse>
  <GetQueueAttributesResult>
    <Attribute><Name>ApproximateNumberOfMessages</Name><Value>)" +
         std::to_string(visible) + R"(</Value></Attribute>
    <Attribute><Name>ApproximateNumberOfMessagesNotVisible</Name><Value>)" +
         std::to_string(in_flight) + R"(</Value></Attribute>
    <Attribute><Name>ApproximateNumberOfMessagesDelayed</Name><Value>)" +
         std::to_string(delayed) + R"(</Value></Attribute>
  </GetQueueAttributesResult>
  <ResponseMetadata><RequestId>b5293cb5-d306-4a17-9048-b263635abe42</RequestId></ResponseMetadata>
</GetQueueAttributesResponse>)";
}

TEST(ParseSqsQuery, KeysAndDefaults) {
  auto q = parse_sqs_query({{"queue_url", kQueue}});
  ASSERT_TRUE(q.has_value());
  EXPECT_TRUE(q->include_in_flight);
  EXPECT_FALSE(q->include_delayed);
  EXPECT_EQ(sqs_attributes(*q),
            (std::vector<std::string>{"ApproximateNumberOfMessages",
                                      "ApproximateNumberOfMessagesNotVisible"}));
  q = parse_sqs_query(
      {{"queue_name", "jobs"}, {"include_in_flight", false}, {"include_delayed", true}});
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(sqs_attributes(*q), (std::vector<std::string>{"ApproximateNumberOfMessages",
                                                          "ApproximateNumberOfMessagesDelayed"}));
  EXPECT_FALSE(parse_sqs_query(json::object()).has_value());
  EXPECT_FALSE(parse_sqs_query({{"queue_url", kQueue}, {"queue_name", "jobs"}}).has_value());
}

TEST(GetQueueAttributesParams, NumbersTheAttributes) {
  EXPECT_EQ(get_queue_attributes_params(
                kQueue, {"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}),
            (aws::QueryParams{{"QueueUrl", kQueue},
                              {"AttributeName.1", "ApproximateNumberOfMessages"},
                              {"AttributeName.2", "ApproximateNumberOfMessagesNotVisible"}}));
}

TEST(ParseSqsResponses, AttributesAndQueueUrl) {
  auto a = parse_get_queue_attributes(attributes_xml(5, 2, 1));
  ASSERT_TRUE(a.has_value()) << a.error().message;
  EXPECT_EQ(a->at("ApproximateNumberOfMessages"), 5);
  EXPECT_EQ(a->at("ApproximateNumberOfMessagesNotVisible"), 2);
  EXPECT_FALSE(parse_get_queue_attributes("<GetQueueAttributesResponse/>").has_value());
  EXPECT_FALSE(parse_get_queue_attributes(
                   "<GetQueueAttributesResponse><GetQueueAttributesResult><Attribute><Name>"
                   "ApproximateNumberOfMessages</Name><Value>many</Value></Attribute>"
                   "</GetQueueAttributesResult></GetQueueAttributesResponse>")
                   .has_value());
  auto url = parse_get_queue_url(
      "<GetQueueUrlResponse><GetQueueUrlResult><QueueUrl>https://sqs.us-east-2.amazonaws.com/"
      "123456789012/MyQueue</QueueUrl></GetQueueUrlResult><ResponseMetadata><RequestId>470a6f13"
      "</RequestId></ResponseMetadata></GetQueueUrlResponse>");
  ASSERT_TRUE(url.has_value());
  EXPECT_EQ(*url, "https://sqs.us-east-2.amazonaws.com/123456789012/MyQueue");
}

class SqsSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_.server().Post("/", [this](const httplib::Request& req, httplib::Response& res) {
      auto f = aws::testing::form(req);
      std::lock_guard lock(mu_);
      forms_.push_back(f);
      if (f["Action"] == "GetQueueUrl") {
        if (f["QueueName"] != "jobs") {
          res.status = 400;
          res.set_content(
              "<ErrorResponse><Error><Type>Sender</Type><Code>AWS.SimpleQueueService."
              "NonExistentQueue</Code><Message>The specified queue does not exist for this wsdl "
              "version.</Message></Error><RequestId>r1</RequestId></ErrorResponse>",
              "text/xml");
          return;
        }
        res.set_content("<GetQueueUrlResponse><GetQueueUrlResult><QueueUrl>" + std::string(kQueue) +
                            "</QueueUrl></GetQueueUrlResult></GetQueueUrlResponse>",
                        "text/xml");
        return;
      }
      EXPECT_EQ(f["QueueUrl"], kQueue);
      res.set_content(attributes_xml(5, 2, 1), "text/xml");
    });
    fake_.start();
    source_ = make_sqs_source(aws::testing::fake_client(aws::Service::kSqs, fake_));
  }

  double read_one(int h) {
    auto r = source_->read(h, {}, kNow, seconds(5));
    EXPECT_TRUE(r.has_value()) << r.error().message;
    return r && r->size() == 1 ? (*r)[0].value : -1;
  }

  tide::testing::FakeHttp fake_;
  std::unique_ptr<Source> source_;
  std::mutex mu_;
  std::vector<std::map<std::string, std::string>> forms_;
};

TEST_F(SqsSourceTest, SumsTheConfiguredAttributes) {
  auto visible = source_->prepare({{"queue_url", kQueue}, {"include_in_flight", false}});
  auto default_ = source_->prepare({{"queue_url", kQueue}});
  auto all = source_->prepare({{"queue_url", kQueue}, {"include_delayed", true}});
  EXPECT_EQ(read_one(*visible), 5);
  EXPECT_EQ(read_one(*default_), 7);
  EXPECT_EQ(read_one(*all), 8);
  std::lock_guard lock(mu_);
  ASSERT_EQ(forms_.size(), 3u);
  EXPECT_EQ(forms_[0]["Action"], "GetQueueAttributes");
  EXPECT_EQ(forms_[0]["Version"], "2012-11-05");
  EXPECT_EQ(forms_[0]["AttributeName.1"], "ApproximateNumberOfMessages");
  EXPECT_FALSE(forms_[0].contains("AttributeName.2"));
}

TEST_F(SqsSourceTest, GroupsReadingOneQueueShareARequest) {
  auto a = source_->prepare({{"queue_url", kQueue}});
  auto b = source_->prepare({{"queue_url", kQueue}});
  EXPECT_EQ(read_one(*a), 7);
  EXPECT_EQ(read_one(*b), 7);
  std::lock_guard lock(mu_);
  EXPECT_EQ(forms_.size(), 1u);
}

TEST_F(SqsSourceTest, QueueNameIsResolvedOnce) {
  auto h = source_->prepare({{"queue_name", "jobs"}});
  EXPECT_EQ(read_one(*h), 7);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // past the sharing window
  EXPECT_EQ(read_one(*h), 7);
  std::lock_guard lock(mu_);
  ASSERT_EQ(forms_.size(), 3u);
  EXPECT_EQ(forms_[0]["Action"], "GetQueueUrl");
  EXPECT_EQ(forms_[1]["Action"], "GetQueueAttributes");
  EXPECT_EQ(forms_[2]["Action"], "GetQueueAttributes");
}

TEST_F(SqsSourceTest, MissingQueueIsAClearError) {
  auto h = source_->prepare({{"queue_name", "nope"}});
  auto r = source_->read(*h, {}, kNow, seconds(5));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(r.error().message,
            "sqs GetQueueUrl: AWS.SimpleQueueService.NonExistentQueue: The specified queue does "
            "not exist for this wsdl version. (request id r1)");
}

}  // namespace
}  // namespace tide
