#include "targets/aws_asg/aws_asg.hpp"

#include <charconv>
#include <mutex>
#include <optional>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "aws/xml.hpp"
#include "state/state.hpp"

namespace tide {
namespace {

std::optional<int> to_int(const std::string& text) {
  int v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

class AsgTarget final : public Target {
 public:
  AsgTarget(std::string name, std::shared_ptr<aws::AwsClient> client, TargetStateStore* state)
      : name_(std::move(name)), client_(std::move(client)), state_(state) {
    // The group's own bounds saved before a schedule's were written (survives a tide restart).
    if (state_ == nullptr) return;
    auto saved = state_->get(kOwnBoundsKey);
    if (!saved || !*saved || (*saved)->empty()) return;
    const std::string& text = **saved;
    const auto comma = text.find(',');
    auto min = to_int(text.substr(0, comma));
    auto max = comma == std::string::npos ? std::nullopt : to_int(text.substr(comma + 1));
    if (min && max) own_bounds_ = std::pair(*min, *max);
  }

  Result<TargetStatus> status() override {
    auto group = describe();
    if (!group) return std::unexpected(group.error());
    TargetStatus s;
    s.desired = group->desired;
    s.instances = std::move(group->instances);
    return s;
  }

  Result<void> scale(const ScaleRequest& request) override {
    std::optional<AsgDescription> known;
    {
      std::lock_guard lock(mu_);
      known = last_;
    }
    if (!known) {
      auto group = describe();
      if (!group) return std::unexpected(group.error());
      known = *group;
    }
    // A schedule's bounds replace the group's own for as long as it is active; the group's own
    // are saved first and written back with the first scale call after the schedule ends.
    int min = known->min_size, max = known->max_size;
    bool restoring = false;
    if (request.min || request.max) {
      if (!own_bounds_) save_own_bounds(std::pair(known->min_size, known->max_size));
      min = request.min.value_or(known->min_size);
      max = request.max.value_or(known->max_size);
    } else if (own_bounds_) {
      std::tie(min, max) = *own_bounds_;
      restoring = true;
    }
    const bool new_bounds = min != known->min_size || max != known->max_size;
    if (new_bounds) {
      // A schedule's bounds: written with the capacity, checked against themselves.
      known->min_size = min;
      known->max_size = max;
    }
    if (std::string problem = asg_bounds_problem(*known, request.desired); !problem.empty()) {
      return fail(ErrorCode::kInvalidArgument, problem);
    }
    auto r = new_bounds ? client_->query("UpdateAutoScalingGroup",
                                         update_asg_params(name_, min, max, request.desired))
                        : client_->query("SetDesiredCapacity",
                                         set_desired_capacity_params(name_, request.desired));
    if (!r) {
      aws::AwsError e = std::move(r.error());
      if (e.aws_code == "ValidationError") {
        return fail(
            ErrorCode::kInvalidArgument,
            fmt::format("Auto Scaling group '{}' rejected desired capacity {} (its "
                        "MinSize/MaxSize were {}/{} when last read): {}",
                        name_, request.desired, known->min_size, known->max_size, e.text()));
      }
      return std::unexpected(e.to_error());
    }
    if (restoring) save_own_bounds(std::nullopt);
    return {};
  }

 private:
  static constexpr const char* kOwnBoundsKey = "aws-asg-own-bounds";

  void save_own_bounds(std::optional<std::pair<int, int>> bounds) {
    own_bounds_ = bounds;
    if (state_ == nullptr) return;
    // Best effort: without the store a restart forgets them (the schedule's stay on the group).
    (void)state_->put(kOwnBoundsKey,
                      bounds ? fmt::format("{},{}", bounds->first, bounds->second) : "");
  }

  Result<AsgDescription> describe() {
    auto body = client_->query("DescribeAutoScalingGroups", describe_asg_params(name_));
    if (!body) return std::unexpected(body.error().to_error());
    auto group = parse_describe_asg(*body, name_);
    if (!group) {
      if (group.error().code == ErrorCode::kNotFound) {
        return fail(ErrorCode::kNotFound, fmt::format("{} in {} ({})", group.error().message,
                                                      client_->region(), client_->endpoint()));
      }
      return std::unexpected(group.error());
    }
    std::lock_guard lock(mu_);
    last_ = *group;
    last_->instances.clear();
    return group;
  }

  const std::string name_;
  std::shared_ptr<aws::AwsClient> client_;
  TargetStateStore* state_ = nullptr;
  std::optional<std::pair<int, int>> own_bounds_;  // MinSize/MaxSize before a schedule's
  std::mutex mu_;
  std::optional<AsgDescription> last_;  // bounds of the last status, for scale()
};

}  // namespace

std::optional<InstanceState> asg_instance_state(std::string_view lifecycle_state,
                                                std::string_view health_status) {
  if (lifecycle_state == "InService") {
    return health_status == "Unhealthy" ? InstanceState::kMissing : InstanceState::kReady;
  }
  if (lifecycle_state.starts_with("Pending") || lifecycle_state.starts_with("Warmed")) {
    return InstanceState::kWarming;
  }
  return std::nullopt;
}

Result<AsgDescription> parse_describe_asg(std::string_view xml, const std::string& name) {
  auto doc = aws::xml::parse(xml, "DescribeAutoScalingGroups");
  if (!doc) return std::unexpected(doc.error());
  pugi::xml_node groups = aws::xml::find(**doc, "AutoScalingGroups");
  if (!groups) {
    return fail(ErrorCode::kUnavailable,
                "DescribeAutoScalingGroups: the response has no AutoScalingGroups");
  }
  for (pugi::xml_node g : groups.children("member")) {
    if (aws::xml::text(g, "AutoScalingGroupName") != name) continue;
    AsgDescription d;
    d.name = name;
    d.status = aws::xml::text(g, "Status");
    auto min = to_int(aws::xml::text(g, "MinSize"));
    auto max = to_int(aws::xml::text(g, "MaxSize"));
    auto desired = to_int(aws::xml::text(g, "DesiredCapacity"));
    if (!min || !max || !desired) {
      return fail(ErrorCode::kUnavailable,
                  fmt::format("DescribeAutoScalingGroups: group '{}' lacks MinSize, MaxSize or "
                              "DesiredCapacity",
                              name));
    }
    d.min_size = *min;
    d.max_size = *max;
    d.desired = *desired;
    for (pugi::xml_node i : g.child("Instances").children("member")) {
      const std::string lifecycle = aws::xml::text(i, "LifecycleState");
      const std::string health = aws::xml::text(i, "HealthStatus");
      auto state = asg_instance_state(lifecycle, health);
      if (!state) continue;
      InstanceStatus s;
      s.id = aws::xml::text(i, "InstanceId");
      s.state = *state;
      if (*state == InstanceState::kWarming) s.detail = lifecycle;
      if (*state == InstanceState::kMissing) s.detail = "InService but " + health;
      d.instances.push_back(std::move(s));
    }
    return d;
  }
  return fail(ErrorCode::kNotFound, fmt::format("Auto Scaling group '{}' not found", name));
}

aws::QueryParams describe_asg_params(const std::string& name) {
  return {{"AutoScalingGroupNames.member.1", name}};
}

aws::QueryParams set_desired_capacity_params(const std::string& name, int desired) {
  return {{"AutoScalingGroupName", name},
          {"DesiredCapacity", std::to_string(desired)},
          {"HonorCooldown", "false"}};
}

aws::QueryParams update_asg_params(const std::string& name, int min, int max, int desired) {
  return {{"AutoScalingGroupName", name},
          {"MinSize", std::to_string(min)},
          {"MaxSize", std::to_string(max)},
          {"DesiredCapacity", std::to_string(desired)}};
}

std::string asg_bounds_problem(const AsgDescription& group, int desired) {
  if (desired > group.max_size) {
    return fmt::format(
        "desired capacity {} is above the Auto Scaling group '{}''s own MaxSize {}; "
        "AWS would reject it (raise the group's MaxSize or lower tide's max)",
        desired, group.name, group.max_size);
  }
  if (desired < group.min_size) {
    return fmt::format(
        "desired capacity {} is below the Auto Scaling group '{}''s own MinSize {}; "
        "AWS would reject it (lower the group's MinSize or raise tide's min)",
        desired, group.name, group.min_size);
  }
  return "";
}

std::unique_ptr<Target> make_aws_asg_target(std::string name,
                                            std::shared_ptr<aws::AwsClient> client,
                                            TargetStateStore* state) {
  return std::make_unique<AsgTarget>(std::move(name), std::move(client), state);
}

Result<std::unique_ptr<Target>> make_aws_asg_target(const TargetRef& ref,
                                                    const TargetContext& context) {
  auto name = ref.params.find("name");
  if (name == ref.params.end() || !name->is_string() || name->get<std::string>().empty()) {
    return fail(ErrorCode::kInvalidArgument, "aws-asg target: 'name' is required");
  }
  auto client = aws::make_aws_client(aws::Service::kAutoScaling, aws::aws_keys(ref.params),
                                     aws::process_env());
  if (!client) return fail(client.error().code, "aws-asg target: " + client.error().message);
  return make_aws_asg_target(name->get<std::string>(), std::move(*client), context.state);
}

}  // namespace tide
