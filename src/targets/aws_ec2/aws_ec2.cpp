#include "targets/aws_ec2/aws_ec2.hpp"

#include <algorithm>
#include <mutex>

#include <fmt/format.h>

#include "aws/xml.hpp"
#include "targets/params.hpp"

namespace tide {
namespace {

constexpr const char* kType = "aws-ec2";
constexpr int kMaxPages = 100;

bool failed_start(const Ec2Instance& i, const Ec2Starts& started, TimePoint now,
                  Duration wait_timeout) {
  auto it = started.find(i.id);
  return it != started.end() && now - it->second <= wait_timeout &&
         (i.state == "stopped" || i.state == "stopping");
}

std::string join_ids(const std::vector<std::string>& ids) {
  return fmt::format("{}", fmt::join(ids, ", "));
}

class Ec2Target final : public Target {
 public:
  Ec2Target(Ec2FleetConfig config, std::shared_ptr<aws::AwsClient> client, const Clock* clock)
      : config_(std::move(config)), client_(std::move(client)), clock_(clock) {}

  Result<TargetStatus> status() override {
    auto fleet = describe();
    if (!fleet) return std::unexpected(fleet.error());
    const TimePoint now = clock_->now();
    std::lock_guard lock(mu_);
    forget_settled(*fleet, now);
    return ec2_status(*fleet, started_, now, config_.wait_timeout);
  }

  Result<void> scale(const ScaleRequest& request) override {
    auto fleet = describe();
    if (!fleet) return std::unexpected(fleet.error());
    const TimePoint now = clock_->now();
    Ec2Plan plan;
    {
      std::lock_guard lock(mu_);
      forget_settled(*fleet, now);
      plan = plan_ec2_scale(*fleet, request.desired, config_.stop_oldest, started_, now,
                            config_.wait_timeout);
    }
    if (!plan.start.empty()) {
      auto r = client_->query("StartInstances", instance_ids_params(plan.start));
      if (!r) return std::unexpected(r.error().to_error());
      std::lock_guard lock(mu_);
      for (const std::string& id : plan.start) started_[id] = now;
    }
    if (!plan.stop.empty()) {
      auto r = client_->query("StopInstances", instance_ids_params(plan.stop));
      if (!r) return std::unexpected(r.error().to_error());
      std::lock_guard lock(mu_);
      for (const std::string& id : plan.stop) started_.erase(id);
    }
    if (!plan.shortfall.empty()) {
      std::string done;
      if (!plan.start.empty()) done = fmt::format(" (started {})", join_ids(plan.start));
      if (!plan.stop.empty()) done = fmt::format(" (stopped {})", join_ids(plan.stop));
      return fail(ErrorCode::kUnavailable, fmt::format("aws-ec2: cannot reach capacity {}: {}{}",
                                                       request.desired, plan.shortfall, done));
    }
    return {};
  }

 private:
  Result<std::vector<Ec2Instance>> describe() {
    std::vector<Ec2Instance> fleet;
    std::string token;
    for (int page = 0; page < kMaxPages; ++page) {
      auto body = client_->query("DescribeInstances", describe_instances_params(config_, token));
      if (!body) return std::unexpected(body.error().to_error());
      auto parsed = parse_describe_instances(*body);
      if (!parsed) return std::unexpected(parsed.error());
      for (Ec2Instance& i : parsed->instances) fleet.push_back(std::move(i));
      token = parsed->next_token;
      if (token.empty()) break;
    }
    std::sort(fleet.begin(), fleet.end(),
              [](const Ec2Instance& a, const Ec2Instance& b) { return a.id < b.id; });
    return fleet;
  }

  // Starts that settled (running) or are older than wait_timeout need no watching.
  void forget_settled(const std::vector<Ec2Instance>& fleet, TimePoint now) {
    for (auto it = started_.begin(); it != started_.end();) {
      auto i = std::find_if(fleet.begin(), fleet.end(),
                            [&](const Ec2Instance& x) { return x.id == it->first; });
      const bool settled = i == fleet.end() || i->state == "running";
      if (settled || now - it->second > config_.wait_timeout) {
        it = started_.erase(it);
      } else {
        ++it;
      }
    }
  }

  const Ec2FleetConfig config_;
  std::shared_ptr<aws::AwsClient> client_;
  const Clock* clock_;
  std::mutex mu_;
  Ec2Starts started_;
};

}  // namespace

Result<Ec2FleetConfig> parse_ec2_fleet_config(const nlohmann::json& p) {
  Ec2FleetConfig c;
  if (auto ids = p.find("instance_ids"); ids != p.end() && !ids->is_null()) {
    if (ids->is_string()) {
      c.instance_ids.push_back(ids->get<std::string>());
    } else if (ids->is_array()) {
      for (const auto& id : *ids) {
        if (!id.is_string() || id.get<std::string>().empty()) {
          return std::unexpected(params::bad(kType, "instance_ids", "a list of instance ids"));
        }
        c.instance_ids.push_back(id.get<std::string>());
      }
    } else {
      return std::unexpected(params::bad(kType, "instance_ids", "a list of instance ids"));
    }
  }
  auto tags = params::string_map(p, kType, "tags");
  if (!tags) return std::unexpected(tags.error());
  c.tags = std::move(*tags);
  if (c.instance_ids.empty() == c.tags.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "aws-ec2 target: exactly one of 'instance_ids' and 'tags' is needed");
  }
  auto order = params::string(p, kType, "stop_order", "newest");
  if (!order) return std::unexpected(order.error());
  if (*order != "newest" && *order != "oldest") {
    return std::unexpected(params::bad(kType, "stop_order", "newest or oldest"));
  }
  c.stop_oldest = *order == "oldest";
  auto wait = params::duration(p, kType, "wait_timeout", c.wait_timeout);
  if (!wait) return std::unexpected(wait.error());
  c.wait_timeout = *wait;
  return c;
}

Result<Ec2Page> parse_describe_instances(std::string_view xml) {
  auto doc = aws::xml::parse(xml, "DescribeInstances");
  if (!doc) return std::unexpected(doc.error());
  pugi::xml_node root = doc->get()->document_element();
  if (std::string_view(root.name()) != "DescribeInstancesResponse") {
    return fail(ErrorCode::kUnavailable,
                fmt::format("DescribeInstances: unexpected response <{}>", root.name()));
  }
  Ec2Page page;
  page.next_token = aws::xml::text(root, "nextToken");
  for (pugi::xml_node r : root.child("reservationSet").children("item")) {
    for (pugi::xml_node i : r.child("instancesSet").children("item")) {
      Ec2Instance inst;
      inst.id = aws::xml::text(i, "instanceId");
      inst.state = aws::xml::text(i, "instanceState/name");
      inst.private_ip = aws::xml::text(i, "privateIpAddress");
      inst.state_reason = aws::xml::text(i, "stateReason/message");
      if (inst.id.empty() || inst.state.empty()) {
        return fail(ErrorCode::kUnavailable,
                    "DescribeInstances: an instance without instanceId or instanceState");
      }
      if (auto t = parse_time(aws::xml::text(i, "launchTime"))) inst.launch_time = *t;
      page.instances.push_back(std::move(inst));
    }
  }
  return page;
}

aws::QueryParams describe_instances_params(const Ec2FleetConfig& fleet,
                                           const std::string& next_token) {
  aws::QueryParams p;
  if (!fleet.instance_ids.empty()) {
    for (std::size_t i = 0; i < fleet.instance_ids.size(); ++i) {
      p.emplace_back(fmt::format("InstanceId.{}", i + 1), fleet.instance_ids[i]);
    }
  } else {
    int n = 0;
    for (const auto& [k, v] : fleet.tags) {
      ++n;
      p.emplace_back(fmt::format("Filter.{}.Name", n), "tag:" + k);
      p.emplace_back(fmt::format("Filter.{}.Value.1", n), v);
    }
    ++n;
    p.emplace_back(fmt::format("Filter.{}.Name", n), "instance-state-name");
    int v = 0;
    for (const char* state : {"pending", "running", "stopping", "stopped"}) {
      p.emplace_back(fmt::format("Filter.{}.Value.{}", n, ++v), state);
    }
    p.emplace_back("MaxResults", "1000");
  }
  if (!next_token.empty()) p.emplace_back("NextToken", next_token);
  return p;
}

aws::QueryParams instance_ids_params(const std::vector<std::string>& ids) {
  aws::QueryParams p;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    p.emplace_back(fmt::format("InstanceId.{}", i + 1), ids[i]);
  }
  return p;
}

TargetStatus ec2_status(const std::vector<Ec2Instance>& fleet, const Ec2Starts& started,
                        TimePoint now, Duration wait_timeout) {
  TargetStatus s;
  for (const Ec2Instance& i : fleet) {
    InstanceStatus out;
    out.id = i.id;
    out.address = i.private_ip;
    if (i.state == "running") {
      out.state = InstanceState::kReady;
      ++s.desired;
    } else if (i.state == "pending") {
      out.state = InstanceState::kWarming;
      out.detail = "pending";
      if (auto it = started.find(i.id); it != started.end() && now - it->second > wait_timeout) {
        out.detail = fmt::format("pending for more than {}", format_duration(wait_timeout));
      }
      ++s.desired;
    } else if (failed_start(i, started, now, wait_timeout)) {
      out.state = InstanceState::kMissing;
      out.detail = fmt::format("failed to start: {}",
                               i.state_reason.empty() ? i.state + " again" : i.state_reason);
    } else {
      continue;
    }
    s.instances.push_back(std::move(out));
  }
  return s;
}

Ec2Plan plan_ec2_scale(const std::vector<Ec2Instance>& fleet, int desired, bool stop_oldest,
                       const Ec2Starts& started, TimePoint now, Duration wait_timeout) {
  Ec2Plan plan;
  std::vector<const Ec2Instance*> running, stopped;
  std::vector<std::string> pending, stopping;
  int usable = 0;  // instances that exist and are not going away
  for (const Ec2Instance& i : fleet) {
    if (i.state == "running") running.push_back(&i);
    if (i.state == "stopped") stopped.push_back(&i);
    if (i.state == "pending") pending.push_back(i.id);
    if (i.state == "stopping") stopping.push_back(i.id);
    if (i.state != "terminated" && i.state != "shutting-down") ++usable;
  }
  const int current = static_cast<int>(running.size() + pending.size());
  if (desired > current) {
    // Instances that just failed to start go last: the same cause would likely stop them again.
    std::stable_sort(stopped.begin(), stopped.end(), [&](const auto* a, const auto* b) {
      return !failed_start(*a, started, now, wait_timeout) &&
             failed_start(*b, started, now, wait_timeout);
    });
    const int need = desired - current;
    for (int k = 0; k < need && k < static_cast<int>(stopped.size()); ++k) {
      plan.start.push_back(stopped[static_cast<std::size_t>(k)]->id);
    }
    if (static_cast<int>(plan.start.size()) < need) {
      if (desired > usable) {
        plan.shortfall = fmt::format("the fleet has only {} instance(s)", usable);
      } else {
        plan.shortfall = fmt::format("only {} stopped instance(s) to start; {} stopping ({})",
                                     stopped.size(), stopping.size(), join_ids(stopping));
      }
    }
  } else if (desired < current) {
    std::sort(running.begin(), running.end(), [&](const auto* a, const auto* b) {
      if (a->launch_time != b->launch_time) {
        return stop_oldest ? a->launch_time < b->launch_time : a->launch_time > b->launch_time;
      }
      return a->id < b->id;
    });
    const int need = current - desired;
    for (int k = 0; k < need && k < static_cast<int>(running.size()); ++k) {
      plan.stop.push_back(running[static_cast<std::size_t>(k)]->id);
    }
    if (static_cast<int>(plan.stop.size()) < need) {
      plan.shortfall = fmt::format("only {} running instance(s) to stop; {} pending ({})",
                                   running.size(), pending.size(), join_ids(pending));
    }
  }
  return plan;
}

std::unique_ptr<Target> make_aws_ec2_target(Ec2FleetConfig config,
                                            std::shared_ptr<aws::AwsClient> client,
                                            const Clock* clock) {
  return std::make_unique<Ec2Target>(std::move(config), std::move(client), clock);
}

Result<std::unique_ptr<Target>> make_aws_ec2_target(const TargetRef& ref,
                                                    const TargetContext& context) {
  auto config = parse_ec2_fleet_config(ref.params);
  if (!config) return std::unexpected(config.error());
  auto client =
      aws::make_aws_client(aws::Service::kEc2, aws::aws_keys(ref.params), aws::process_env());
  if (!client) return fail(client.error().code, "aws-ec2 target: " + client.error().message);
  static const SystemClock system_clock;
  return make_aws_ec2_target(std::move(*config), std::move(*client),
                             context.clock != nullptr ? context.clock : &system_clock);
}

}  // namespace tide
