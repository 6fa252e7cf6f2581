// The simulated system a policy is replayed against (DESIGN section 5): how much load an instance
// serves, how long it takes to boot and drain, how it is billed, how work queues, and how each
// metric source reports what it sees.
#pragma once

#include <string>
#include <vector>

#include "core/time.hpp"

namespace tide::sim {

enum class BillingKind {
  kPerSecond,  // per second with a minimum per run (AWS EC2 Linux: 60 s)
  kPerHour,    // every started hour is charged in full
};

struct Billing {
  BillingKind kind = BillingKind::kPerSecond;
  Duration minimum = std::chrono::seconds(60);  // kPerSecond: the least charged per run
};

// How a simulated source turns the system's state into a reading, as the real source would.
enum class MetricKind {
  kUtilization,      // served / (ready x capacity) x 100, per ready instance (CPU-like, <= 100)
  kPerInstanceRate,  // arrival rate / ready instances (requests per target)
  kTotalRate,        // arrival rate of the whole group (KPA's revision total)
  kBacklog,          // work waiting in the queue (SQS ApproximateNumberOfMessages)
};

struct SimulatedSource {
  std::string name;  // the name policies use in `metric: {source: NAME}`
  MetricKind kind = MetricKind::kUtilization;
  Duration period = std::chrono::seconds(60);  // one datapoint averages this long
  Duration delay{0};                           // a datapoint becomes visible this late
};

struct WorkloadModel {
  double capacity_per_instance = 1;  // load units per second one instance serves at the SLO
  Duration boot_delay = std::chrono::seconds(120);  // started -> ready (billed, serves nothing)
  Duration drain_delay{0};                          // stopped -> gone (billed, serves nothing)
  Billing billing;
  double price_per_hour = 0.1;  // money per charged instance-hour
  double queue_limit = 0;       // load units that may wait; beyond it work is dropped
  Duration slo_wait = std::chrono::seconds(1);  // work waiting longer than this is late
  int initial_capacity = -1;  // instances ready at the start; -1 = the first step's demand
  std::vector<SimulatedSource> sources;
};

}  // namespace tide::sim
