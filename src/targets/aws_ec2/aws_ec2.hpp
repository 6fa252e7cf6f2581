// The `aws-ec2` target: a fixed fleet of EC2 instances (named by `instance_ids`, or by `tags`,
// all of which must match) that tide starts and stops. The capacity is the number of instances
// running or pending; stopped instances are the spare capacity.
//
// status(): DescribeInstances (every NextToken page; by tags, terminated and shutting-down
// instances are filtered out). running -> ready (address: the private IP), pending -> warming
// ("pending for more than <wait_timeout>" once it has been pending that long after tide started
// it). stopping, stopped, shutting-down and terminated instances are not capacity and are not
// listed, except an instance tide started within the last `wait_timeout` that is stopping or
// stopped again: it is listed as missing with "failed to start: <StateReason>" so that the
// failure shows in the status.
//
// scale(desired): never acts on an instance in transition (pending, stopping, shutting-down).
// Up: StartInstances on stopped instances (those that did not just fail to start first, then by
// id). Down: StopInstances on running instances, the newest (latest LaunchTime) first, or the
// oldest with `stop_order: oldest`. When the fleet cannot reach the capacity (too few stopped or
// running instances, the rest in transition, or a fleet smaller than asked), tide starts or stops
// what it can and returns an error that says why; the next evaluation continues.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aws/client.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "policy/spec.hpp"
#include "targets/registry.hpp"
#include "targets/target.hpp"

namespace tide {

struct Ec2FleetConfig {
  std::vector<std::string> instance_ids;                  // exactly one of these two
  std::vector<std::pair<std::string, std::string>> tags;  // all must match
  bool stop_oldest = false;                               // stop_order: oldest
  Duration wait_timeout = std::chrono::minutes(5);
};

Result<Ec2FleetConfig> parse_ec2_fleet_config(const nlohmann::json& params);

struct Ec2Instance {
  std::string id;
  std::string state;  // pending, running, stopping, stopped, shutting-down, terminated
  TimePoint launch_time;
  std::string private_ip;
  std::string state_reason;  // the StateReason message, e.g. after a failed start
};

struct Ec2Page {
  std::vector<Ec2Instance> instances;
  std::string next_token;
};

Result<Ec2Page> parse_describe_instances(std::string_view xml);

aws::QueryParams describe_instances_params(const Ec2FleetConfig& fleet,
                                           const std::string& next_token);

// StartInstances / StopInstances: InstanceId.1..N.
aws::QueryParams instance_ids_params(const std::vector<std::string>& ids);

// When tide asked an instance to start (to spot starts that fail).
using Ec2Starts = std::map<std::string, TimePoint>;

TargetStatus ec2_status(const std::vector<Ec2Instance>& fleet, const Ec2Starts& started,
                        TimePoint now, Duration wait_timeout);

struct Ec2Plan {
  std::vector<std::string> start;
  std::vector<std::string> stop;
  std::string shortfall;  // "" when the plan reaches `desired`, else why not
};

Ec2Plan plan_ec2_scale(const std::vector<Ec2Instance>& fleet, int desired, bool stop_oldest,
                       const Ec2Starts& started, TimePoint now, Duration wait_timeout);

std::unique_ptr<Target> make_aws_ec2_target(Ec2FleetConfig config,
                                            std::shared_ptr<aws::AwsClient> client,
                                            const Clock* clock);

Result<std::unique_ptr<Target>> make_aws_ec2_target(const TargetRef& ref,
                                                    const TargetContext& context);

}  // namespace tide
