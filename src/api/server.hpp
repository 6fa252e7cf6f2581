// tide's HTTP API (docs/operations.md): a read-only view of every group, the few commands that
// steer them, and /metrics. Depends only on EngineControl, so it is tested against a fake.
//
//   GET  /v1/health                          {"status":"ok"|"unhealthy","version","now"}
//   GET  /v1/groups                          {"now","groups":[GROUP...]}
//   GET  /v1/groups/{name}                   GROUP with "instances"
//   GET  /v1/groups/{name}/decisions         {"decisions":[DECISION...],"next_before"}
//        ?limit=1..1000 (20) &before=ID
//   GET  /v1/groups/{name}/decisions/{id}    DECISION
//   POST /v1/groups/{name}/pause             GROUP          (bearer token)
//   POST /v1/groups/{name}/resume            GROUP          (bearer token)
//   PUT  /v1/groups/{name}/capacity          GROUP          (bearer token)
//        {"capacity":N,"for":"30m"} or {"capacity":N,"until":"2026-01-01T10:00:00Z"}
//   GET  /metrics                            Prometheus text format 0.0.4
//
// Errors are {"error":"..."} with 400 (bad request), 401 (missing or wrong token, with
// WWW-Authenticate: Bearer), 403 (no token configured: mutating calls are disabled), 404, 405,
// 413 (body too large), 500/503/504 (engine errors).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "engine/control.hpp"

namespace tide {

struct ApiOptions {
  // Bearer token for mutating calls. Empty: mutating calls are refused with 403.
  std::string token;
  std::size_t max_body_bytes = 16 * 1024;
  std::chrono::seconds read_timeout{10};
  std::chrono::seconds write_timeout{10};
  std::chrono::seconds keep_alive_timeout{5};
  int threads = 4;
  // Longest manual override accepted by PUT .../capacity.
  Duration max_override = std::chrono::hours(24 * 30);
};

// The token from ApiConfig: `token` when set, else the value of the environment variable named by
// `token_env`. Empty (mutating calls disabled) when neither is configured. An error when
// `token_env` names a variable that is unset or empty: the config asked for a token and none came.
Result<std::string> resolve_api_token(const ApiConfig& config);

// Splits "HOST:PORT" or "[V6]:PORT" (port 0 = any free port). Errors name what was expected.
Result<std::pair<std::string, int>> parse_listen_address(const std::string& listen);

class ApiServer {
 public:
  // `engine` and `clock` must outlive the server.
  ApiServer(EngineControl& engine, ApiOptions options, const Clock& clock);
  ~ApiServer();  // stops the server
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds `listen` ("127.0.0.1:9460"; port 0 picks a free port) and serves on background threads.
  // Returns once the socket is bound and accepting; errors when it cannot bind or already started.
  Result<void> start(const std::string& listen);
  // Stops accepting, finishes requests in flight and joins the threads. Idempotent.
  void stop();
  // The bound port (after start), 0 before.
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// JSON shapes served by the API (exposed for the engine's logs, the demo and tests).
nlohmann::json group_view_to_json(const GroupView& view, TimePoint now, bool with_instances);
nlohmann::json decision_record_to_json(const DecisionRecord& record);

}  // namespace tide
