#include "api/server.hpp"

#include <strings.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>

#include "policy/observation.hpp"

namespace tide {
namespace {

using json = nlohmann::json;

constexpr int kDefaultLimit = 20;
constexpr int kMaxLimit = 1000;

// Compares in time that depends only on the length of `given` (which the caller already knows),
// never on where the first difference is or on the expected token's length.
bool token_matches(std::string_view given, std::string_view expected) {
  if (expected.empty()) return false;
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < given.size(); ++i) {
    diff |= static_cast<unsigned char>(given[i]) ^
            static_cast<unsigned char>(expected[i % expected.size()]);
  }
  return diff == 0;
}

json optional_time(const std::optional<TimePoint>& t) {
  return t ? json(format_time(*t)) : json();
}

bool override_active(const GroupFlags& flags, TimePoint now) {
  return flags.override_capacity && (!flags.override_until || *flags.override_until > now);
}

json decision_summary(const DecisionRecord& r) {
  return {{"id", r.id},
          {"at", format_time(r.at)},
          {"current", r.current},
          {"desired", r.desired},
          {"bound_by", r.bound_by.empty() ? json() : json(r.bound_by)},
          {"outcome", r.outcome}};
}

int http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kTimeout:
      return 504;
    case ErrorCode::kInternal:
      break;
  }
  return 500;
}

const char* default_message(int status) {
  switch (status) {
    case 400:
      return "bad request";
    case 401:
      return "missing or wrong bearer token";
    case 403:
      return "forbidden";
    case 404:
      return "not found";
    case 405:
      return "method not allowed";
    case 413:
      return "request body too large";
    case 414:
      return "request URI too long";
    case 503:
      return "unavailable";
  }
  return status >= 500 ? "internal error" : "request failed";
}

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(2, ' ', false, json::error_handler_t::replace) + "\n",
                  "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, status, {{"error", message}});
}

// Strict integer parsing of a query parameter: digits only, within [lo, hi].
std::optional<long long> parse_integer(const std::string& text, long long lo, long long hi) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  long long v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v < lo || v > hi) return std::nullopt;
  return v;
}

}  // namespace

Result<std::string> resolve_api_token(const ApiConfig& config) {
  if (!config.token.empty()) return config.token;
  if (config.token_env.empty()) return std::string();
  const char* value = std::getenv(config.token_env.c_str());
  if (value == nullptr || *value == '\0') {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("api.token_env names the environment variable {}, which is not set "
                            "(or empty)",
                            config.token_env));
  }
  return std::string(value);
}

Result<std::pair<std::string, int>> parse_listen_address(const std::string& listen) {
  auto bad = [&] {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("listen address '{}': expected HOST:PORT such as 127.0.0.1:9460 or "
                            "[::1]:9460 (port 0 picks a free port)",
                            listen));
  };
  std::string host;
  std::string port_text;
  if (!listen.empty() && listen.front() == '[') {
    const auto close = listen.find(']');
    if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      return bad();
    }
    host = listen.substr(1, close - 1);
    port_text = listen.substr(close + 2);
  } else {
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos || listen.find(':') != colon) return bad();
    host = listen.substr(0, colon);
    port_text = listen.substr(colon + 1);
  }
  auto port = parse_integer(port_text, 0, 65535);
  if (host.empty() || !port) return bad();
  return std::pair<std::string, int>(host, static_cast<int>(*port));
}

json group_view_to_json(const GroupView& v, TimePoint now, bool with_instances) {
  json override_json;
  if (override_active(v.flags, now)) {
    override_json = {{"capacity", *v.flags.override_capacity},
                     {"until", optional_time(v.flags.override_until)}};
  }
  std::string state = "ok";
  if (v.flags.paused) {
    state = "paused";
  } else if (override_active(v.flags, now)) {
    state = "override";
  } else if (v.consecutive_failures > 0) {
    state = "failing";
  } else if (!v.status && !v.last) {
    state = "waiting";
  }
  json out = {
      {"name", v.name},
      {"target_type", v.target_type},
      {"min", v.min},
      {"max", v.max},
      {"interval", format_duration(v.interval)},
      {"dry_run", v.dry_run},
      {"state", state},
      {"paused", v.flags.paused},
      {"override", override_json},
      {"current", v.status ? json(v.status->desired) : json()},
      {"ready", v.status ? json(v.status->ready()) : json()},
      {"warming", v.status ? json(v.status->warming()) : json()},
      {"desired", v.last ? json(v.last->desired) : json()},
      {"consecutive_failures", v.consecutive_failures},
      {"last_error", v.last_error.empty() ? json() : json(v.last_error)},
      {"next_evaluation", optional_time(v.next_evaluation)},
  };
  if (with_instances) {
    json instances = json::array();
    if (v.status) {
      for (const InstanceStatus& i : v.status->instances) {
        instances.push_back({{"id", i.id},
                             {"address", i.address},
                             {"state", instance_state_name(i.state)},
                             {"detail", i.detail}});
      }
    }
    out["instances"] = std::move(instances);
    out["last_decision"] = v.last ? decision_record_to_json(*v.last) : json();
  } else {
    out["last_decision"] = v.last ? decision_summary(*v.last) : json();
  }
  return out;
}

json decision_record_to_json(const DecisionRecord& r) {
  json out = decision_summary(r);
  out["group"] = r.group;
  out["account"] = r.account;
  return out;
}

struct ApiServer::Impl {
  Impl(EngineControl& engine, ApiOptions options, const Clock& clock)
      : engine(engine), options(std::move(options)), clock(clock) {}

  EngineControl& engine;
  ApiOptions options;
  const Clock& clock;
  httplib::Server server;
  std::thread thread;
  std::atomic<bool> listen_returned{false};
  int port = 0;
  bool started = false;

  // ---- handlers ----

  void health(const httplib::Request&, httplib::Response& res) {
    const bool ok = engine.healthy();
    send_json(res, ok ? 200 : 503,
              {{"status", ok ? "ok" : "unhealthy"},
               {"version", TIDE_VERSION},
               {"now", format_time(clock.now())}});
  }

  void groups(const httplib::Request&, httplib::Response& res) {
    const TimePoint now = clock.now();
    json list = json::array();
    for (const GroupView& v : engine.groups()) list.push_back(group_view_to_json(v, now, false));
    send_json(res, 200, {{"now", format_time(now)}, {"groups", std::move(list)}});
  }

  // The group named by the first path capture, or a 404 already written.
  std::optional<GroupView> find_group(const httplib::Request& req, httplib::Response& res) {
    const std::string name = req.matches[1];
    auto view = engine.group(name);
    if (!view) send_error(res, 404, fmt::format("unknown group '{}'", name));
    return view;
  }

  void send_group(httplib::Response& res, const std::string& name) {
    auto view = engine.group(name);
    if (!view) return send_error(res, 404, fmt::format("unknown group '{}'", name));
    send_json(res, 200, group_view_to_json(*view, clock.now(), true));
  }

  void group(const httplib::Request& req, httplib::Response& res) {
    send_group(res, req.matches[1]);
  }

  void decisions(const httplib::Request& req, httplib::Response& res) {
    auto view = find_group(req, res);
    if (!view) return;
    int limit = kDefaultLimit;
    if (req.has_param("limit")) {
      auto v = parse_integer(req.get_param_value("limit"), 1, kMaxLimit);
      if (!v) {
        return send_error(res, 400,
                          fmt::format("limit must be an integer from 1 to {}", kMaxLimit));
      }
      limit = static_cast<int>(*v);
    }
    std::optional<long long> before;
    if (req.has_param("before")) {
      before = parse_integer(req.get_param_value("before"), 1,
                             std::numeric_limits<long long>::max() / 10);
      if (!before) return send_error(res, 400, "before must be a positive decision id");
    }
    auto list = engine.decisions(view->name, limit, before);
    if (!list) return send_error(res, http_status(list.error().code), list.error().message);
    json out = json::array();
    for (const DecisionRecord& r : *list) out.push_back(decision_record_to_json(r));
    json next =
        static_cast<int>(list->size()) == limit && !list->empty() ? json(list->back().id) : json();
    send_json(res, 200, {{"decisions", std::move(out)}, {"next_before", std::move(next)}});
  }

  void decision(const httplib::Request& req, httplib::Response& res) {
    auto view = find_group(req, res);
    if (!view) return;
    auto id = parse_integer(req.matches[2], 1, std::numeric_limits<long long>::max() / 10);
    if (!id) return send_error(res, 400, "a decision id is a positive integer");
    auto record = engine.decision(view->name, *id);
    if (!record) return send_error(res, http_status(record.error().code), record.error().message);
    if (!record->has_value()) {
      return send_error(res, 404, fmt::format("group '{}' has no decision {}", view->name, *id));
    }
    send_json(res, 200, decision_record_to_json(**record));
  }

  void pause(const httplib::Request& req, httplib::Response& res, bool paused) {
    auto view = find_group(req, res);
    if (!view) return;
    auto done = paused ? engine.pause(view->name) : engine.resume(view->name);
    if (!done) return send_error(res, http_status(done.error().code), done.error().message);
    send_group(res, view->name);
  }

  void capacity(const httplib::Request& req, httplib::Response& res) {
    auto view = find_group(req, res);
    if (!view) return;
    const char* shape =
        R"(expected {"capacity": N, "for": "30m"} or {"capacity": N, "until": TIME})";
    json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) {
      return send_error(res, 400, fmt::format("body is not a JSON object: {}", shape));
    }
    for (const auto& [key, value] : body.items()) {
      if (key != "capacity" && key != "for" && key != "until") {
        return send_error(res, 400, fmt::format("unknown field '{}': {}", key, shape));
      }
    }
    auto cap = body.find("capacity");
    if (cap == body.end() || !cap->is_number_integer()) {
      return send_error(res, 400, fmt::format("capacity must be an integer: {}", shape));
    }
    const long long capacity = cap->get<long long>();
    if (capacity < view->min || capacity > view->max) {
      return send_error(res, 400,
                        fmt::format("capacity {} is outside the bounds of group '{}' ({}..{})",
                                    capacity, view->name, view->min, view->max));
    }
    const bool has_for = body.contains("for");
    const bool has_until = body.contains("until");
    if (has_for == has_until) {
      return send_error(res, 400,
                        fmt::format("give exactly one of \"for\" and \"until\": {}", shape));
    }
    const TimePoint now = clock.now();
    TimePoint until;
    if (has_for) {
      const json& f = body["for"];
      auto d = f.is_string() ? parse_duration(f.get<std::string>())
                             : fail(ErrorCode::kInvalidArgument, "a duration such as \"30m\"");
      if (!d) return send_error(res, 400, fmt::format("for: {}", d.error().message));
      if (d->count() <= 0) return send_error(res, 400, "for: the duration must be positive");
      if (*d > options.max_override) {
        return send_error(res, 400,
                          fmt::format("for: at most {}", format_duration(options.max_override)));
      }
      until = now + *d;
    } else {
      const json& u = body["until"];
      auto t = u.is_string()
                   ? parse_time(u.get<std::string>())
                   : fail(ErrorCode::kInvalidArgument, "a time such as \"2026-01-01T10:00:00Z\"");
      if (!t) return send_error(res, 400, fmt::format("until: {}", t.error().message));
      if (*t <= now) return send_error(res, 400, "until: the time is in the past");
      if (*t - now > options.max_override) {
        return send_error(
            res, 400,
            fmt::format("until: at most {} from now", format_duration(options.max_override)));
      }
      until = *t;
    }
    auto done = engine.set_capacity(view->name, static_cast<int>(capacity), until);
    if (!done) return send_error(res, http_status(done.error().code), done.error().message);
    send_group(res, view->name);
  }

  void metrics(const httplib::Request&, httplib::Response& res) {
    res.status = 200;
    res.set_content(engine.metrics_text(), "text/plain; version=0.0.4; charset=utf-8");
  }

  // Mutating methods need the bearer token; reads are open (the API listens on loopback by
  // default). Runs before routing, so an unauthenticated caller learns nothing about groups.
  httplib::Server::HandlerResponse authorize(const httplib::Request& req, httplib::Response& res) {
    if (req.method == "GET" || req.method == "HEAD") {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    if (options.token.empty()) {
      send_error(res, 403,
                 "mutating calls are disabled: no API token is configured (set api.token or "
                 "api.token_env in the config)");
      return httplib::Server::HandlerResponse::Handled;
    }
    const std::string header = req.get_header_value("Authorization");
    constexpr std::string_view kScheme = "Bearer ";
    const bool has_scheme = header.size() > kScheme.size() &&
                            strncasecmp(header.c_str(), kScheme.data(), kScheme.size()) == 0;
    const std::string_view given =
        has_scheme ? std::string_view(header).substr(kScheme.size()) : std::string_view();
    if (!has_scheme || !token_matches(given, options.token)) {
      res.set_header("WWW-Authenticate", R"(Bearer realm="tide")");
      send_error(res, 401,
                 has_scheme ? "wrong bearer token" : "this call needs Authorization: Bearer TOKEN");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  }

  void install() {
    using httplib::Request;
    using httplib::Response;
    const int threads = std::max(1, options.threads);
    server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    server.set_payload_max_length(options.max_body_bytes);
    // httplib's default sets SO_REUSEPORT, which would let a second tide bind the same port and
    // silently share its traffic; plain SO_REUSEADDR only allows a quick restart.
    server.set_socket_options([](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    server.set_read_timeout(options.read_timeout);
    server.set_write_timeout(options.write_timeout);
    server.set_keep_alive_timeout(options.keep_alive_timeout.count());
    server.set_default_headers(
        {{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}});
    server.set_pre_routing_handler(
        [this](const Request& req, Response& res) { return authorize(req, res); });
    server.set_error_handler(
        httplib::Server::HandlerWithResponse([](const Request&, Response& res) {
          if (res.body.empty()) send_error(res, res.status, default_message(res.status));
          return httplib::Server::HandlerResponse::Handled;
        }));
    server.set_exception_handler([](const Request&, Response& res, std::exception_ptr) {
      // The exception's text may hold anything; it is not echoed.
      send_error(res, 500, "internal error");
    });

    const std::string group_path = R"(/v1/groups/([^/]+))";
    server.Get("/v1/health", [this](const Request& q, Response& r) { health(q, r); });
    server.Get("/v1/groups", [this](const Request& q, Response& r) { groups(q, r); });
    server.Get(group_path, [this](const Request& q, Response& r) { this->group(q, r); });
    server.Get(group_path + "/decisions",
               [this](const Request& q, Response& r) { decisions(q, r); });
    server.Get(group_path + "/decisions/([^/]+)",
               [this](const Request& q, Response& r) { decision(q, r); });
    server.Post(group_path + "/pause",
                [this](const Request& q, Response& r) { pause(q, r, true); });
    server.Post(group_path + "/resume",
                [this](const Request& q, Response& r) { pause(q, r, false); });
    server.Put(group_path + "/capacity", [this](const Request& q, Response& r) { capacity(q, r); });
    server.Get("/metrics", [this](const Request& q, Response& r) { metrics(q, r); });

    // A known path with the wrong method says so instead of "not found".
    auto not_allowed = [](const char* allow) {
      return [allow](const Request&, Response& res) {
        res.set_header("Allow", allow);
        send_error(res, 405, fmt::format("method not allowed; use {}", allow));
      };
    };
    for (const char* path : {"/pause", "/resume"}) {
      server.Get(group_path + path, not_allowed("POST"));
      server.Put(group_path + path, not_allowed("POST"));
    }
    server.Get(group_path + "/capacity", not_allowed("PUT"));
    server.Post(group_path + "/capacity", not_allowed("PUT"));
  }
};

ApiServer::ApiServer(EngineControl& engine, ApiOptions options, const Clock& clock)
    : impl_(std::make_unique<Impl>(engine, std::move(options), clock)) {}

ApiServer::~ApiServer() {
  stop();
}

Result<void> ApiServer::start(const std::string& listen) {
  if (impl_->started) return fail(ErrorCode::kInternal, "the API server is already started");
  auto address = parse_listen_address(listen);
  if (!address) return std::unexpected(address.error());
  const auto& [host, wanted] = *address;
  impl_->install();
  errno = 0;
  int port = -1;
  if (wanted == 0) {
    port = impl_->server.bind_to_any_port(host);
  } else if (impl_->server.bind_to_port(host, wanted)) {
    port = wanted;
  }
  if (port <= 0) {
    const int saved = errno;
    return fail(ErrorCode::kUnavailable,
                fmt::format("cannot listen on {}: {}", listen,
                            saved != 0 ? std::strerror(saved) : "cannot bind"));
  }
  impl_->port = port;
  impl_->started = true;
  impl_->thread = std::thread([impl = impl_.get()] {
    impl->server.listen_after_bind();
    impl->listen_returned = true;
  });
  // listen_after_bind() marks the server running before its accept loop; stop() only works after
  // that, so wait for it (bounded).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!impl_->server.is_running() && !impl_->listen_returned &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!impl_->server.is_running()) {
    stop();
    return fail(ErrorCode::kUnavailable, fmt::format("the API server on {} did not start", listen));
  }
  return {};
}

void ApiServer::stop() {
  if (!impl_ || !impl_->started) return;
  // httplib's stop() only acts once the accept loop runs (and must be called once): wait for the
  // loop to start or for the listening thread to have given up, then stop it.
  while (!impl_->server.is_running() && !impl_->listen_returned) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!impl_->listen_returned) impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->started = false;
  impl_->port = 0;
}

int ApiServer::port() const {
  return impl_->port;
}

}  // namespace tide
