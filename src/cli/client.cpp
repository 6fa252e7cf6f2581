// tide status|history|explain|pause|resume|set: thin clients of the HTTP API (src/api/server.hpp,
// docs/operations.md). Each prints readable text, or the API's JSON with --json.
#include <algorithm>
#include <map>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <httplib.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "core/time.hpp"

namespace tide::cli {
namespace {

using json = nlohmann::json;

// ---- talking to the API ------------------------------------------------------------------------

struct Endpoint {
  std::string origin;  // scheme://host[:port]
  std::string prefix;  // path prefix ("" or "/tide" behind a proxy), no trailing slash
};

std::optional<Endpoint> parse_endpoint(std::string api) {
  if (api.find("://") == std::string::npos) api = "http://" + api;
  if (api.rfind("http://", 0) != 0 && api.rfind("https://", 0) != 0) return std::nullopt;
  const auto host_start = api.find("://") + 3;
  const auto slash = api.find('/', host_start);
  Endpoint e;
  e.origin = api.substr(0, slash);
  if (slash != std::string::npos) e.prefix = api.substr(slash);
  while (!e.prefix.empty() && e.prefix.back() == '/') e.prefix.pop_back();
  if (e.origin.size() <= host_start) return std::nullopt;
  return e;
}

// Percent-encodes a path segment (group names are [A-Za-z0-9._-], but a typo may hold anything).
std::string segment(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string transport_error(httplib::Error e) {
  switch (e) {
    case httplib::Error::Connection:
      return "could not connect";
    case httplib::Error::ConnectionTimeout:
      return "connecting timed out";
    case httplib::Error::Read:
      return "no answer in time, or the connection was closed";
    case httplib::Error::Write:
      return "could not send the request";
    case httplib::Error::SSLConnection:
    case httplib::Error::SSLLoadingCerts:
    case httplib::Error::SSLServerVerification:
      return "TLS error: " + httplib::to_string(e);
    default:
      return httplib::to_string(e);
  }
}

struct Reply {
  int status = 0;
  json body;
};

// One request. On failure writes a message meant for the person at the terminal to `err` and
// returns nullopt: the caller exits 1.
std::optional<Reply> call(const ClientOptions& options, const std::string& method,
                          const std::string& path, const std::string& body, std::ostream& err) {
  auto endpoint = parse_endpoint(options.api);
  if (!endpoint) {
    err << fmt::format("tide: --api '{}' is not an http:// or https:// URL\n", options.api);
    return std::nullopt;
  }
  httplib::Client client(endpoint->origin);
  if (!client.is_valid()) {
    err << fmt::format("tide: --api '{}' is not a usable URL\n", options.api);
    return std::nullopt;
  }
  client.set_connection_timeout(std::chrono::seconds(3));
  client.set_read_timeout(std::chrono::seconds(15));
  client.set_write_timeout(std::chrono::seconds(15));
  httplib::Headers headers = {{"Accept", "application/json"}};
  if (!options.token.empty()) headers.emplace("Authorization", "Bearer " + options.token);
  const std::string target = endpoint->prefix + path;
  httplib::Result result{nullptr, httplib::Error::Unknown};
  if (method == "GET") {
    result = client.Get(target, headers);
  } else if (method == "POST") {
    result = client.Post(target, headers, body, "application/json");
  } else {
    result = client.Put(target, headers, body, "application/json");
  }
  if (!result) {
    err << fmt::format(
        "tide: cannot reach the tide API at {} ({}): is `tide run` running? (set --api or "
        "TIDE_API to its address)\n",
        endpoint->origin + endpoint->prefix, transport_error(result.error()));
    return std::nullopt;
  }
  Reply reply;
  reply.status = result->status;
  reply.body = json::parse(result->body, nullptr, /*allow_exceptions=*/false);
  const bool is_json = !reply.body.is_discarded();
  std::string message;
  if (is_json && reply.body.is_object() && reply.body.contains("error") &&
      reply.body["error"].is_string()) {
    message = reply.body["error"].get<std::string>();
  }
  if (reply.status >= 200 && reply.status < 300 && is_json) return reply;
  if (reply.status == 401) {
    err << fmt::format(
        "tide: the API refused the request ({}): set --token or TIDE_TOKEN to the token "
        "`tide run` uses (api.token or api.token_env)\n",
        message.empty() ? "401 Unauthorized" : message);
  } else if (reply.status == 403) {
    err << fmt::format("tide: forbidden: {}\n", message.empty() ? "403" : message);
  } else if (reply.status == 404 && !message.empty()) {
    err << fmt::format("tide: {}\n", message);
  } else if (!message.empty()) {
    err << fmt::format("tide: the API answered {}: {}\n", reply.status, message);
  } else {
    err << fmt::format("tide: unexpected answer from {}{}: HTTP {}{}\n", endpoint->origin, target,
                       reply.status, is_json ? "" : " (not JSON; is that tide?)");
  }
  return std::nullopt;
}

// ---- formatting --------------------------------------------------------------------------------

std::string text(const json& j, const char* key, const char* missing = "-") {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return missing;
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

// Columns padded to their widest cell, two spaces apart; the last column is not padded.
void print_table(const std::vector<std::vector<std::string>>& rows, std::ostream& out) {
  std::vector<std::size_t> width;
  for (const auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  }
}

// "12s ago", "1h5m ago" relative to the server's clock; the time itself when unparsable.
std::string ago(const std::string& at, const std::optional<TimePoint>& now) {
  auto t = parse_time(at);
  if (!t || !now) return at;
  const auto d = std::chrono::duration_cast<std::chrono::seconds>(*now - *t);
  if (d.count() < 0) return at;
  if (d > std::chrono::hours(48)) return at;
  return format_duration(d) + " ago";
}

std::string until_text(const json& until, const std::optional<TimePoint>& now) {
  if (!until.is_string()) return "";
  const std::string at = until.get<std::string>();
  auto t = parse_time(at);
  if (!t || !now || *t <= *now) return " until " + at;
  return fmt::format(" for {}",
                     format_duration(std::chrono::duration_cast<std::chrono::seconds>(*t - *now)));
}

std::string flags_text(const json& g, const std::optional<TimePoint>& now) {
  std::vector<std::string> parts;
  if (g.value("paused", false)) parts.push_back("paused");
  if (g.contains("override") && g["override"].is_object()) {
    parts.push_back(fmt::format("override {}{}", text(g["override"], "capacity"),
                                until_text(g["override"].value("until", json()), now)));
  }
  if (g.value("dry_run", false)) parts.push_back("dry-run");
  const int failures = g.value("consecutive_failures", 0);
  if (failures > 0) parts.push_back(fmt::format("failing x{}", failures));
  if (parts.empty()) return "-";
  std::string out = parts[0];
  for (std::size_t i = 1; i < parts.size(); ++i) out += ", " + parts[i];
  return out;
}

std::optional<TimePoint> server_now(const json& body) {
  if (!body.contains("now") || !body["now"].is_string()) return std::nullopt;
  auto t = parse_time(body["now"].get<std::string>());
  return t ? std::optional<TimePoint>(*t) : std::nullopt;
}

void print_json(const json& j, std::ostream& out) {
  out << j.dump(2, ' ', false, json::error_handler_t::replace) << '\n';
}

// `tide explain`: the account of one decision as text. Uses the structured account
// (decision_to_json: proposals, stages, bound_by) and falls back to its "explanation" text.
void print_explanation(const json& record, std::ostream& out) {
  const json& account = record.contains("account") ? record["account"] : json();
  out << fmt::format("Decision {} of group {} at {}: {} -> {}, {}\n", text(record, "id"),
                     text(record, "group"), text(record, "at"), text(record, "current"),
                     text(record, "desired"), text(record, "outcome"));
  const bool structured = account.is_object() && account.contains("stages") &&
                          account["stages"].is_array() && account.contains("proposals") &&
                          account["proposals"].is_array();
  if (!structured) {
    if (account.is_object() && account.contains("explanation") &&
        account["explanation"].is_string()) {
      out << '\n' << account["explanation"].get<std::string>();
      if (out && !account["explanation"].get<std::string>().ends_with('\n')) out << '\n';
    }
    return;
  }
  const std::string bound_by = text(account, "bound_by", "");
  out << fmt::format(
      "Bounds {}..{}; {}\n", text(account, "min"), text(account, "max"),
      bound_by.empty() ? "no stage changed the combined proposal" : "bound by " + bound_by);
  if (account.value("any_no_data", false)) {
    out << "A policy had no data: no scale-in this evaluation.\n";
  }

  out << "\nProposals\n";
  std::vector<std::vector<std::string>> rows;
  for (const json& p : account["proposals"]) {
    if (!p.is_object()) continue;
    std::string value = text(p, "status");
    if (value == "value") value = text(p, "capacity");
    if (value == "no-data") value = "no data";
    if (value == "inactive") value = "abstains";
    std::string reason = text(p, "reason", "");
    if (p.contains("panicking") && p["panicking"].is_boolean() && p["panicking"].get<bool>()) {
      reason += " [panicking]";
    }
    rows.push_back({"  " + text(p, "policy"), text(p, "type"), value, reason});
  }
  if (rows.empty()) rows.push_back({"  (no policies)"});
  print_table(rows, out);

  out << "\nStages\n";
  rows.clear();
  std::string previous;
  for (const json& s : account["stages"]) {
    if (!s.is_object()) continue;
    const std::string stage = text(s, "stage");
    const std::string value = text(s, "value");
    std::string shown = value;
    std::string note;
    if (!previous.empty() && value != previous) shown = previous + " -> " + value;
    if (stage == bound_by) note = "<- bound the result";
    rows.push_back({"  " + stage, shown, note});
    previous = value;
  }
  print_table(rows, out);
}

}  // namespace

// ---- commands ----------------------------------------------------------------------------------

int run_status(const ClientOptions& options, bool as_json, std::ostream& out, std::ostream& err) {
  auto reply = call(options, "GET", "/v1/groups", "", err);
  if (!reply) return 1;
  if (as_json) {
    print_json(reply->body, out);
    return 0;
  }
  const auto now = server_now(reply->body);
  std::vector<std::vector<std::string>> rows = {{"GROUP", "CURRENT/DESIRED", "READY/WARMING",
                                                 "BOUNDS", "FLAGS", "LAST DECISION", "BOUND BY"}};
  const json& groups = reply->body.value("groups", json::array());
  for (const json& g : groups) {
    if (!g.is_object()) continue;
    std::string last = "-";
    std::string bound_by = "-";
    if (g.contains("last_decision") && g["last_decision"].is_object()) {
      const json& d = g["last_decision"];
      last = fmt::format("#{} {} ({})", text(d, "id"), ago(text(d, "at"), now), text(d, "outcome"));
      bound_by = text(d, "bound_by");
    }
    rows.push_back({text(g, "name"), text(g, "current") + "/" + text(g, "desired"),
                    text(g, "ready") + "/" + text(g, "warming"),
                    text(g, "min") + ".." + text(g, "max"), flags_text(g, now), last, bound_by});
  }
  if (rows.size() == 1) {
    out << "no groups\n";
    return 0;
  }
  print_table(rows, out);
  return 0;
}

int run_history(const ClientOptions& options, const std::string& group, int limit,
                std::optional<long long> before, bool as_json, std::ostream& out,
                std::ostream& err) {
  std::string path = fmt::format("/v1/groups/{}/decisions?limit={}", segment(group), limit);
  if (before) path += fmt::format("&before={}", *before);
  auto reply = call(options, "GET", path, "", err);
  if (!reply) return 1;
  if (as_json) {
    print_json(reply->body, out);
    return 0;
  }
  const json& list = reply->body.value("decisions", json::array());
  if (list.empty()) {
    out << fmt::format("no decisions recorded for {}\n", group);
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {
      {"ID", "TIME", "CURRENT", "DESIRED", "BOUND BY", "OUTCOME"}};
  for (const json& d : list) {
    rows.push_back({text(d, "id"), text(d, "at"), text(d, "current"), text(d, "desired"),
                    text(d, "bound_by"), text(d, "outcome")});
  }
  print_table(rows, out);
  if (reply->body.contains("next_before") && !reply->body["next_before"].is_null()) {
    out << fmt::format("(older: tide history {} --before {})\n", group,
                       text(reply->body, "next_before"));
  }
  return 0;
}

int run_explain(const ClientOptions& options, const std::string& group,
                std::optional<long long> decision_id, bool as_json, std::ostream& out,
                std::ostream& err) {
  json record;
  if (decision_id) {
    auto reply =
        call(options, "GET",
             fmt::format("/v1/groups/{}/decisions/{}", segment(group), *decision_id), "", err);
    if (!reply) return 1;
    record = std::move(reply->body);
  } else {
    auto reply = call(options, "GET",
                      fmt::format("/v1/groups/{}/decisions?limit=1", segment(group)), "", err);
    if (!reply) return 1;
    const json& list = reply->body.value("decisions", json::array());
    if (list.empty()) {
      err << fmt::format("tide: group {} has no recorded decision yet\n", group);
      return 1;
    }
    record = list[0];
  }
  if (as_json) {
    print_json(record, out);
  } else {
    print_explanation(record, out);
  }
  return 0;
}

int run_pause(const ClientOptions& options, const std::string& group, bool pause, bool as_json,
              std::ostream& out, std::ostream& err) {
  auto reply =
      call(options, "POST",
           fmt::format("/v1/groups/{}/{}", segment(group), pause ? "pause" : "resume"), "", err);
  if (!reply) return 1;
  if (as_json) {
    print_json(reply->body, out);
  } else if (pause) {
    out << fmt::format(
        "{}: paused (decisions are recorded but not applied; `tide resume {}` "
        "undoes it)\n",
        group, group);
  } else {
    out << fmt::format("{}: resumed\n", group);
  }
  return 0;
}

int run_set(const ClientOptions& options, const std::string& group, int capacity,
            const std::string& for_duration, bool as_json, std::ostream& out, std::ostream& err) {
  const json body = {{"capacity", capacity}, {"for", for_duration}};
  auto reply =
      call(options, "PUT", fmt::format("/v1/groups/{}/capacity", segment(group)), body.dump(), err);
  if (!reply) return 1;
  if (as_json) {
    print_json(reply->body, out);
    return 0;
  }
  const json& o = reply->body.value("override", json());
  const std::string until = o.is_object() ? text(o, "until", "") : "";
  out << fmt::format("{}: capacity held at {}{}; then the policies decide again\n", group, capacity,
                     until.empty() ? "" : " until " + until);
  return 0;
}

std::function<std::optional<int>()> add_client_commands(CLI::App& app, std::ostream& out,
                                                        std::ostream& err) {
  struct State {
    std::map<CLI::App*, ClientOptions> options;  // node-based: addresses stay valid
    bool json = false;
    std::string group;
    int limit = 20;
    long long before = 0;
    long long decision = 0;
    int capacity = 0;
    std::string for_duration;
    CLI::App* status = nullptr;
    CLI::App* history = nullptr;
    CLI::App* explain = nullptr;
    CLI::App* pause = nullptr;
    CLI::App* resume = nullptr;
    CLI::App* set = nullptr;
  };
  auto s = std::make_shared<State>();

  // Each subcommand has its own --api/--token storage: CLI11 applies environment defaults to
  // every subcommand, parsed or not, so a shared variable would let an unparsed one overwrite an
  // explicit --token with $TIDE_TOKEN.
  auto common = [&](CLI::App* cmd) {
    ClientOptions& options = s->options[cmd];
    cmd->add_option("--api", options.api, "Address of `tide run`'s API")
        ->envname("TIDE_API")
        ->capture_default_str();
    cmd->add_option("--token", options.token, "Bearer token for pause/resume/set")
        ->envname("TIDE_TOKEN");
    cmd->add_flag("--json", s->json, "Print the API's JSON");
    cmd->group("Live control (talk to `tide run` over its API)");
    return cmd;
  };

  s->status = common(app.add_subcommand(
      "status", "Show every group: capacity, readiness, bounds, flags, last decision"));

  s->history = common(app.add_subcommand("history", "List a group's recent decisions"));
  s->history->add_option("GROUP", s->group, "Group name")->required();
  s->history->add_option("--limit", s->limit, "How many decisions (1-1000)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  s->history->add_option("--before", s->before, "Only decisions older than this id (paging)")
      ->check(CLI::PositiveNumber);

  s->explain = common(app.add_subcommand(
      "explain", "Explain a decision: every proposal and behavior stage (default: the latest)"));
  s->explain->add_option("GROUP", s->group, "Group name")->required();
  s->explain->add_option("DECISION_ID", s->decision, "Decision id (see `tide history`)")
      ->check(CLI::PositiveNumber);

  s->pause = common(app.add_subcommand(
      "pause", "Pause a group: tide keeps deciding and recording but does not scale it"));
  s->pause->add_option("GROUP", s->group, "Group name")->required();

  s->resume = common(app.add_subcommand("resume", "Resume a paused group"));
  s->resume->add_option("GROUP", s->group, "Group name")->required();

  s->set = common(app.add_subcommand(
      "set",
      "Hold a group at a capacity (within its bounds) for a while, then let policies decide"));
  s->set->add_option("GROUP", s->group, "Group name")->required();
  s->set->add_option("N", s->capacity, "Capacity")->required()->check(CLI::NonNegativeNumber);
  s->set->add_option("--for", s->for_duration, "How long to hold it, e.g. 30m, 2h")->required();

  return [s, &out, &err]() -> std::optional<int> {
    CLI::App* chosen = nullptr;
    for (CLI::App* cmd : {s->status, s->history, s->explain, s->pause, s->resume, s->set}) {
      if (cmd->parsed()) chosen = cmd;
    }
    if (chosen == nullptr) return std::nullopt;
    const ClientOptions& options = s->options[chosen];
    const std::optional<long long> decision =
        s->decision > 0 ? std::optional<long long>(s->decision) : std::nullopt;
    const std::optional<long long> before =
        s->before > 0 ? std::optional<long long>(s->before) : std::nullopt;
    if (chosen == s->status) return run_status(options, s->json, out, err);
    if (chosen == s->history) {
      return run_history(options, s->group, s->limit, before, s->json, out, err);
    }
    if (chosen == s->explain) return run_explain(options, s->group, decision, s->json, out, err);
    if (chosen == s->pause) return run_pause(options, s->group, true, s->json, out, err);
    if (chosen == s->resume) return run_pause(options, s->group, false, s->json, out, err);
    return run_set(options, s->group, s->capacity, s->for_duration, s->json, out, err);
  };
}

}  // namespace tide::cli
