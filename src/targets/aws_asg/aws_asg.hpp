// The `aws-asg` target: an EC2 Auto Scaling group's desired capacity.
//
// status(): DescribeAutoScalingGroups. `desired` is the group's DesiredCapacity; its instances by
// LifecycleState:
//   InService                       -> ready (but InService with HealthStatus Unhealthy -> missing:
//                                      Auto Scaling is about to replace it)
//   Pending, Pending:Wait/Proceed,
//   Warmed:* (warm pool lifecycle)  -> warming, detail = the lifecycle state
//   everything else (Terminating*, Terminated, Detaching, Detached, EnteringStandby, Standby,
//   Quarantined)                    -> not listed: they serve no load and do not count.
// Instance ids are the EC2 instance ids; addresses are empty (the API has none).
//
// scale(): SetDesiredCapacity with HonorCooldown=false (tide has its own cooldowns). The group's
// own MinSize/MaxSize are respected: a desired value outside them is refused before calling AWS
// with an error naming the bound (AWS would answer ValidationError), and a ValidationError from
// AWS is reported with the bounds it was checked against.
//
// Scheduled bounds: when the request carries the min/max of an active scheduled policy
// (ScaleRequest::min/max) that differ from the group's MinSize/MaxSize, scale() writes them with
// the capacity in one UpdateAutoScalingGroup call (MinSize, MaxSize, DesiredCapacity), as an AWS
// scheduled action would. The group's own bounds are saved first (in the target's state) and
// written back with the first scale call after the schedule ends. Bounds travel with scale calls:
// a schedule that moves them without changing the capacity waits for the next change.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "aws/client.hpp"
#include "core/result.hpp"
#include "policy/spec.hpp"
#include "targets/registry.hpp"
#include "targets/target.hpp"

namespace tide {

struct AsgDescription {
  std::string name;
  int min_size = 0;
  int max_size = 0;
  int desired = 0;
  std::string status;  // the group's Status ("Delete in progress"), usually empty
  std::vector<InstanceStatus> instances;
};

// Parses a DescribeAutoScalingGroups response for group `name` (kNotFound when absent).
Result<AsgDescription> parse_describe_asg(std::string_view xml, const std::string& name);

// The state tide gives an instance in `lifecycle_state` with `health_status` (nullopt: not
// listed).
std::optional<InstanceState> asg_instance_state(std::string_view lifecycle_state,
                                                std::string_view health_status);

aws::QueryParams describe_asg_params(const std::string& name);
aws::QueryParams set_desired_capacity_params(const std::string& name, int desired);
// UpdateAutoScalingGroup with MinSize, MaxSize and DesiredCapacity.
aws::QueryParams update_asg_params(const std::string& name, int min, int max, int desired);

// "" when `desired` is within [min_size, max_size], else why not.
std::string asg_bounds_problem(const AsgDescription& group, int desired);

// `state` (may be null) keeps the group's own MinSize/MaxSize while a schedule's are on it.
std::unique_ptr<Target> make_aws_asg_target(std::string name,
                                            std::shared_ptr<aws::AwsClient> client,
                                            TargetStateStore* state = nullptr);

Result<std::unique_ptr<Target>> make_aws_asg_target(const TargetRef& ref,
                                                    const TargetContext& context);

}  // namespace tide
