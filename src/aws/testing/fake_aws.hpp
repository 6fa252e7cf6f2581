// Test helpers for code on top of AwsClient: a client pointed at a local FakeHttp server with
// fixed credentials, no real sleeps and a fixed jitter; and the decoded form of a Query request.
// Header-only; only included by *_test.cpp files.
#pragma once

#include <httplib.h>

#include <map>
#include <memory>
#include <string>

#include "aws/client.hpp"
#include "sources/testing/fake_http.hpp"

namespace tide::aws::testing {

inline std::shared_ptr<AwsClient> fake_client(Service service, const tide::testing::FakeHttp& fake,
                                              const Clock* clock = nullptr) {
  AwsClientOptions o;
  o.service = service;
  o.region = "eu-west-1";
  o.endpoint = fake.url();
  o.credentials =
      make_static_credentials(Credentials{"AKIDTEST", "wJalrTESTSECRET", "", std::nullopt, "test"});
  o.clock = clock;
  o.sleep = [](Duration) {};
  o.random = [] { return 0.5; };
  o.timeout = std::chrono::seconds(5);
  return std::make_shared<AwsClient>(std::move(o));
}

// The parameters of a Query-protocol request (form body), decoded.
inline std::map<std::string, std::string> form(const httplib::Request& req) {
  std::map<std::string, std::string> out;
  httplib::Params params;
  httplib::detail::parse_query_text(req.body, params);
  for (const auto& [k, v] : params) out[k] = v;
  return out;
}

}  // namespace tide::aws::testing
