// Typed specifications of a scaling group, as parsed once from the config (src/config) and passed
// unchanged to decide(). Nothing here does I/O; field defaults are the references' defaults.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/time.hpp"

namespace tide {

// A group holds at most this many policies, so a Decision can keep its proposals inline and
// decide() never allocates.
inline constexpr int kMaxPolicies = 16;

// Where a policy's metric comes from: a named source (config `sources:`) plus the source-specific
// query fields (PromQL, CloudWatch dimensions, ...), which the source type validates at load.
struct MetricRef {
  std::string source;
  nlohmann::json params = nlohmann::json::object();
};

// ---- target-tracking: Kubernetes HPA / AWS target tracking --------------------------------------
enum class TargetKind {
  kUtilization,  // metric is a percentage of each instance's capacity (HPA averageUtilization)
  kPerInstance,  // metric is an average per instance (HPA AverageValue / AWS per-target metric)
  kTotal,        // metric is a group total: desired = ceil(total / target) (HPA External Value)
};

struct TargetTrackingSpec {
  MetricRef metric;
  TargetKind kind = TargetKind::kUtilization;
  double target = 0;
  double tolerance_down = 0.1;  // no scale-in while ratio >= 1 - tolerance_down
  double tolerance_up = 0.1;    // no scale-out while ratio <= 1 + tolerance_up
  bool disable_scale_in = false;
};

// ---- step and simple: AWS step scaling and simple scaling
// ----------------------------------------
enum class AdjustmentType { kChange, kExact, kPercent };  // Change/Exact/PercentChangeInCapacity
enum class Aggregation { kAverage, kMinimum, kMaximum };  // over per-instance samples

// Bounds are relative to the threshold; nullopt is -inf (lower) or +inf (upper).
struct StepAdjustment {
  std::optional<double> lower;
  std::optional<double> upper;
  double adjustment = 0;
};

struct StepSpec {
  MetricRef metric;
  double threshold = 0;
  AdjustmentType adjustment_type = AdjustmentType::kChange;
  std::vector<StepAdjustment> steps;
  int min_adjustment_magnitude = 0;  // percent adjustments only
  Aggregation aggregation = Aggregation::kAverage;
};

enum class Comparison { kGreaterOrEqual, kGreater, kLessOrEqual, kLess };

struct SimpleSpec {
  MetricRef metric;
  double threshold = 0;
  Comparison comparison = Comparison::kGreaterOrEqual;
  AdjustmentType adjustment_type = AdjustmentType::kChange;
  double adjustment = 0;
  int min_adjustment_magnitude = 0;
  Duration cooldown = std::chrono::seconds(300);  // AWS DefaultCooldown
  Aggregation aggregation = Aggregation::kAverage;
};

// ---- scheduled: AWS scheduled actions / KEDA cron
// ------------------------------------------------ A parsed 5-field cron expression (minute hour
// day-of-month month day-of-week), see cron.hpp.
struct CronSchedule;
// An IANA time zone resolved at load (opaque here; see cron.hpp).
struct TimeZoneRef;

struct ScheduledSpec {
  std::string cron_text;
  std::shared_ptr<const CronSchedule> start;  // when the schedule becomes active
  std::shared_ptr<const CronSchedule> end;    // optional: when it stops (KEDA `end`)
  std::optional<Duration> duration;           // alternative to `end`
  std::string timezone = "UTC";
  std::shared_ptr<const TimeZoneRef> zone;
  std::optional<int> capacity;  // floor while active
  std::optional<int> min;       // replaces the group's min while active
  std::optional<int> max;       // replaces the group's max while active
};

// ---- queue: backlog per instance (KEDA / AWS backlog-per-instance)
// --------------------------------
struct QueueSpec {
  MetricRef metric;
  double target_per_instance = 0;
  double activation = 0;  // backlog <= activation proposes 0 (scale to zero when min allows)
};

// ---- panic: Knative KPA decider ---------------------------------------------------------------
struct PanicSpec {
  MetricRef metric;                  // group total (concurrency or requests per second)
  double target = 0;                 // per-instance target value (TargetValue)
  double total = 0;                  // per-instance total (TotalValue), for burst capacity only
  double target_burst_capacity = 0;  // 0 = no burst capacity accounting, -1 = always proxy
  Duration stable_window = std::chrono::seconds(60);
  double panic_window_percentage = 10;
  double panic_threshold = 2.0;  // ratio (200 %)
  double max_scale_up_rate = 1000;
  double max_scale_down_rate = 2;
  Duration scale_down_delay{0};
  int activation_scale = 0;
  bool reachable = true;

  Duration panic_window() const;  // stable_window * pct / 100 rounded to a second, >= 1 s
};

// ---- lambda-memory: right-size a Lambda function's memory from its duration -----------------
// The capacity is the function's memory in MB (target aws-lambda-memory); the metric its duration
// in ms at the current memory (CloudWatch AWS/Lambda Duration, a percentile such as p99). The
// model (lambda_memory.cpp, docs/aws.md): CPU share grows with memory up to `threads` vCPUs
// (1,769 MB each), so the part of the duration that is not `io_time` shrinks as 1/memory up to
// there and not beyond; Lambda bills memory x duration (GB-seconds).
inline constexpr int kLambdaMinMemoryMb = 128;
inline constexpr int kLambdaMaxMemoryMb = 10240;
inline constexpr int kLambdaMbPerVcpu = 1769;

struct LambdaMemorySpec {
  MetricRef metric;
  Duration function_timeout{0};  // the function's timeout (config: or the target's `timeout`)
  double timeout_share = 0.5;    // keep the duration at or under this share of the timeout
  int step = 64;                 // proposals are multiples of this many MB
  int threads = 1;               // vCPUs the code keeps busy (1 to 6)
  Duration io_time{0};           // the part of the duration that memory does not shorten
  double tolerance = 0.1;        // hold while a change would save no more than this share of cost

  double target_ms() const { return timeout_share * static_cast<double>(function_timeout.count()); }
};

// ---- predictive: AWS predictive scaling --------------------------------------------------------
// The forecasting models (src/forecast, docs/predictive.md). kAuto picks, at every refresh, the
// model with the lowest recent forecast error (a rolling backtest).
enum class ForecastModel : std::uint8_t {
  kAuto,
  kSeasonalNaiveDaily,
  kSeasonalNaiveWeekly,
  kHoltWintersAdditiveDaily,
  kHoltWintersAdditiveWeekly,
  kHoltWintersMultiplicativeDaily,
  kHoltWintersMultiplicativeWeekly,
  kRegression,
  kRecentMean,
};
inline constexpr int kForecastModelCount = 9;
const char* forecast_model_name(ForecastModel model);  // "holt-winters-additive-daily", ...

// AWS PredictiveScalingMaxCapacityBreachBehavior.
enum class MaxCapacityBreach : std::uint8_t { kHonor, kIncrease };

// What a history bucket keeps of the datapoints that fall into it.
enum class BucketStatistic : std::uint8_t {
  kMean,  // the mean load: forecasts the load
  kMax,   // the highest datapoint: forecasts the peak load, noise within a bucket included
};

// How a predictive policy's forecast is made (by the driver, outside decide(): src/forecast).
struct ForecastSettings {
  ForecastModel model = ForecastModel::kAuto;
  BucketStatistic statistic = BucketStatistic::kMean;
  Duration resolution = std::chrono::minutes(5);   // history bucket and forecast step
  Duration history = std::chrono::hours(24 * 14);  // the window a model is fitted on (AWS: 14 d)
  Duration interval = std::chrono::hours(1);       // the forecast is recomputed this often
};

// Proposes the capacity the forecast load needs over [now, now + boot_delay + scheduling_buffer],
// so that instances launched now are ready when the load arrives. The forecast itself is computed
// outside the policy and handed over in the Observation (decide() stays pure).
struct PredictiveSpec {
  MetricRef metric;   // the group's load (a total: requests/s, busy cores), independent of capacity
  double target = 0;  // load one instance should carry: desired = ceil(peak forecast / target)
  ForecastSettings forecast;
  // Time from launch to ready. nullopt: the simulator uses its model's boot_delay, tide run 5m.
  std::optional<Duration> boot_delay;
  Duration scheduling_buffer{0};  // launch this much earlier still (AWS SchedulingBufferTime)
  bool forecast_only = false;     // AWS ForecastOnly: forecast and explain, never scale
  MaxCapacityBreach max_capacity_breach = MaxCapacityBreach::kHonor;
  double max_capacity_buffer = 0;  // percent over the forecast capacity the max may be raised to

  Duration lead() const;  // boot_delay (or 5m) + scheduling_buffer
};

enum class PolicyType {
  kTargetTracking,
  kStep,
  kSimple,
  kScheduled,
  kQueue,
  kPanic,
  kLambdaMemory,
  kPredictive
};

struct PolicySpec {
  std::string name;  // defaults to "<type>#<index>"
  std::variant<TargetTrackingSpec, StepSpec, SimpleSpec, ScheduledSpec, QueueSpec, PanicSpec,
               LambdaMemorySpec, PredictiveSpec>
      spec;

  PolicyType type() const { return static_cast<PolicyType>(spec.index()); }
  const MetricRef* metric() const;  // nullptr for scheduled
};

const char* policy_type_name(PolicyType type);  // "target-tracking", "step", ...

// ---- behavior: HPA behavior + AWS cooldowns and warmup ----------------------------------------
enum class RateLimitType { kInstances, kPercent };
enum class SelectPolicy { kMax, kMin, kDisabled };

struct RateLimit {
  RateLimitType type = RateLimitType::kInstances;
  double value = 0;
  Duration period = std::chrono::seconds(15);
};

struct ScalingRules {
  Duration stabilization{0};
  SelectPolicy select = SelectPolicy::kMax;
  std::vector<RateLimit> policies;
};

struct BehaviorSpec {
  // HPA defaults (autoscaling/v2 defaults.go): up 0 s window, max(4 instances, 100 %) per 15 s;
  // down 300 s window, 100 % per 15 s.
  ScalingRules scale_up{Duration{0},
                        SelectPolicy::kMax,
                        {{RateLimitType::kInstances, 4, std::chrono::seconds(15)},
                         {RateLimitType::kPercent, 100, std::chrono::seconds(15)}}};
  ScalingRules scale_down{std::chrono::seconds(300),
                          SelectPolicy::kMax,
                          {{RateLimitType::kPercent, 100, std::chrono::seconds(15)}}};
  Duration scale_out_cooldown{0};  // AWS Application Auto Scaling ScaleOutCooldown
  Duration scale_in_cooldown{0};   // AWS ScaleInCooldown; a scale-out cancels it
  Duration warmup{0};              // AWS instance warmup: no scale-in while instances warm up
};

// KEDA fallback: after `failures` consecutive evaluations with a policy lacking data, propose
// `capacity` instead.
struct FallbackSpec {
  int failures = 3;
  int capacity = 0;
};

struct TargetRef {
  std::string type;  // "local-process", "aws-asg", ...
  nlohmann::json params = nlohmann::json::object();
};

struct GroupSpec {
  std::string name;
  Duration interval = std::chrono::seconds(15);
  TargetRef target;
  int min = 1;
  int max = 1;
  std::vector<PolicySpec> policies;
  BehaviorSpec behavior;
  std::optional<FallbackSpec> fallback;
  bool dry_run = false;

  // How long GroupHistory must keep recommendations, events and metric points for this spec.
  Duration retention() const;
};

}  // namespace tide
