#include "engine/engine.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "engine/observe.hpp"
#include "forecast/runner.hpp"
#include "policy/decide.hpp"
#include "policy/decision_json.hpp"

namespace tide {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Key in the group's key/value space of the state store holding the policy identities the stored
// history's per-policy states belong to (so a config change that reorders policies moves their
// state along instead of mixing it up).
constexpr std::string_view kPolicyKeysKey = "tide.engine.policy_keys";

// Decisions scanned at load for outcomes a crash left "pending".
constexpr int kPendingScan = 20;

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const std::string& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

std::string policy_key(const PolicySpec& policy) {
  const MetricRef* metric = policy.metric();
  return fmt::format("{}/{}/{}", policy_type_name(policy.type()), policy.name,
                     metric == nullptr ? std::string() : metric->source + metric->params.dump());
}

// Moves per-policy states to the index their policy has now; states of policies that are gone
// are dropped, new policies start fresh.
void realign(GroupHistory& history, const std::vector<std::string>& old_keys,
             const std::vector<std::string>& new_keys) {
  std::array<PolicyState, kMaxPolicies> fresh{};
  for (std::size_t j = 0; j < new_keys.size() && j < fresh.size(); ++j) {
    for (std::size_t i = 0; i < old_keys.size() && i < fresh.size(); ++i) {
      if (old_keys[i] == new_keys[j]) {
        fresh[j] = std::move(history.policies[i]);
        break;
      }
    }
  }
  history.policies = std::move(fresh);
}

// What a predictive policy's forecast runner depends on: when it changes, the runner is rebuilt
// (its history reloaded from the store).
std::string forecast_key(const std::string& policy_key, const PredictiveSpec& p) {
  return fmt::format("{}|{}|{}|{}|{}|{}|{}", policy_key, forecast_model_name(p.forecast.model),
                     static_cast<int>(p.forecast.statistic), p.forecast.resolution.count(),
                     p.forecast.history.count(), p.forecast.interval.count(), p.lead().count());
}

std::string direction_of(int current, int desired) {
  return desired > current ? "up" : desired < current ? "down" : "none";
}

// The proposal that won the combine stage, or -1.
int winner_of(const Decision& d) {
  for (int i = 0; i < d.proposal_count; ++i) {
    const Proposal& p = d.proposals[i];
    if (p.status == ProposalStatus::kValue && p.capacity == d.after[0]) return i;
  }
  return -1;
}

std::string outcome_label(std::string_view outcome) {
  return outcome.starts_with("failed") ? std::string("failed") : std::string(outcome);
}

}  // namespace

struct Engine::SourceEntry {
  SourceSpec spec;
  std::shared_ptr<Source> source;
};

namespace engine_detail {

// A target and the key/value space it was given; the target goes first.
struct TargetHolder {
  std::unique_ptr<TargetStateStore> state;
  std::unique_ptr<Target> target;
  ~TargetHolder() { target.reset(); }
};

struct PolicyBinding {
  std::shared_ptr<Engine::SourceEntry> source;  // null: the policy reads nothing (scheduled)
  int handle = -1;
};

}  // namespace engine_detail

using engine_detail::PolicyBinding;
using engine_detail::TargetHolder;

struct Engine::Plan {
  GroupSpec spec;
  bool dry_run = false;
  std::shared_ptr<TargetHolder> target;
  std::vector<PolicyBinding> bindings;  // one per policy
  std::vector<std::string> policy_keys;
  Duration read_timeout{};
};

struct Engine::Group {
  std::string name;

  mutable std::mutex mu;  // guards the fields up to `removed`
  std::shared_ptr<const Plan> plan;
  GroupFlags flags;
  std::optional<TargetStatus> status;
  std::optional<DecisionRecord> last;
  int consecutive_failures = 0;
  std::string last_error;
  TimePoint next_eval{};
  TimePoint next_maintain{};
  bool in_flight = false;
  bool in_flight_eval = false;
  bool removed = false;

  // Touched only by the group's job (never two at once) or before the group is scheduled.
  GroupHistory history;
  std::vector<std::string> history_keys;  // policy keys `history.policies` belongs to
  bool keys_stored = false;
  std::vector<long long> pending;  // decisions a previous run left "pending", newest first
  std::vector<std::vector<InstanceSample>> instance_storage;
  std::vector<MetricReading> readings;
  int commits_since_prune = 0;
  // Predictive policies: one forecast runner per policy (null for the others), the metric
  // history it was given (persisted in the store, so a restart keeps it) and its forecast.
  struct Forecasting {
    std::string key;     // forecast_key() the runner was built for
    std::string series;  // the store's metric_history series (the policy key)
    std::unique_ptr<forecast::ForecastRunner> runner;
    long long persisted = std::numeric_limits<long long>::min();  // newest bucket stored
  };
  std::vector<Forecasting> forecasting;
  std::vector<ForecastView> forecasts;
};

struct Engine::Built {
  std::map<std::string, std::shared_ptr<SourceEntry>, std::less<>> sources;
  std::vector<std::pair<std::shared_ptr<Group>, std::shared_ptr<const Plan>>> groups;
};

Engine::Engine(StateStore& store, EngineOptions options)
    : store_(store), options_(std::move(options)) {
  if (options_.clock == nullptr) own_clock_ = std::make_unique<SystemClock>();
  clock_ = options_.clock != nullptr ? options_.clock : own_clock_.get();
  if (!options_.backoff_wait) {
    options_.backoff_wait = [this](Duration d) {
      std::unique_lock lock(mu_);
      return !cv_.wait_for(lock, d, [&] { return stopping_; });
    };
  }
}

Engine::~Engine() {
  stop();
}

Result<std::unique_ptr<Engine>> Engine::create(const Config& config, StateStore& store,
                                               EngineOptions options) {
  std::unique_ptr<Engine> engine(new Engine(store, std::move(options)));
  Engine& e = *engine;
  if (e.options_.logger == nullptr) {
    e.own_logger_ = std::make_unique<Logger>(
        config.log.format, parse_log_level(config.log.level).value_or(LogLevel::kInfo));
  }
  e.log_ = e.options_.logger != nullptr ? e.options_.logger : e.own_logger_.get();
  const int max_workers = e.options_.max_workers > 0 ? e.options_.max_workers : 256;
  e.pool_ = std::make_unique<WorkerPool>(e.options_.core_workers, max_workers, e.options_.stall,
                                         e.options_.worker_idle);

  auto built = e.build(config);
  if (!built) return std::unexpected(built.error());
  const TimePoint now = e.clock_->now();
  for (auto& [group, plan] : built->groups) {
    std::lock_guard lock(group->mu);
    group->plan = plan;
    group->next_eval = now;
    group->next_maintain = now + e.options_.maintain_every;
    e.metrics_.set_group_config(group->name, plan->spec.min, plan->spec.max, plan->dry_run);
    e.metrics_.set_group_flags(group->name, group->flags.paused,
                               group->flags.override_capacity.has_value());
    e.groups_.push_back(group);
  }
  e.sources_ = std::move(built->sources);
  return engine;
}

Result<void> Engine::load_state(Group& group, const Plan& plan) {
  auto history = store_.load_history(group.name);
  if (!history) {
    return fail(history.error().code, fmt::format("group '{}': loading its history: {}", group.name,
                                                  history.error().message));
  }
  auto flags = store_.flags(group.name);
  if (!flags) {
    return fail(flags.error().code, fmt::format("group '{}': loading its flags: {}", group.name,
                                                flags.error().message));
  }
  auto recent = store_.decisions(group.name, kPendingScan);
  if (!recent) {
    return fail(recent.error().code, fmt::format("group '{}': loading its decisions: {}",
                                                 group.name, recent.error().message));
  }
  group.history = std::move(*history);
  group.flags = *flags;
  if (!recent->empty()) group.last = recent->front();
  for (const DecisionRecord& r : *recent) {
    if (r.outcome == "pending") group.pending.push_back(r.id);
  }
  auto keys = store_.get(group.name, kPolicyKeysKey);
  if (keys && *keys) {
    auto parsed = nlohmann::json::parse(**keys, nullptr, false);
    if (parsed.is_array()) {
      for (const auto& k : parsed) {
        if (k.is_string()) group.history_keys.push_back(k.get<std::string>());
      }
      group.keys_stored = group.history_keys == plan.policy_keys;
    }
  }
  if (!group.pending.empty()) {
    log_->info("decision left pending by a previous run; reconciling at the first evaluation",
               {{"group", group.name}, {"decision_id", group.pending.front()}});
  }
  return {};
}

Result<Engine::Built> Engine::build(const Config& config) {
  const SourceRegistry& sreg = options_.sources != nullptr ? *options_.sources : builtin_sources();
  const TargetRegistry& treg = options_.targets != nullptr ? *options_.targets : builtin_targets();

  std::map<std::string, std::shared_ptr<SourceEntry>, std::less<>> old_sources;
  std::map<std::string, std::shared_ptr<Group>, std::less<>> old_groups;
  {
    std::lock_guard lock(mu_);
    old_sources = sources_;
    for (const auto& g : groups_) old_groups.emplace(g->name, g);
  }

  auto available = [](const auto& registry) {
    std::vector<std::string> names;
    for (const auto& t : registry.types()) {
      if (t.create) names.push_back(t.name);
    }
    return names.empty() ? std::string("none") : join(names, ", ");
  };

  std::vector<std::string> errors;
  Built built;

  std::set<std::string, std::less<>> used;
  for (const GroupSpec& g : config.groups) {
    for (const PolicySpec& p : g.policies) {
      if (const MetricRef* m = p.metric()) used.insert(m->source);
    }
  }
  for (const SourceSpec& spec : config.sources) {
    if (!used.contains(spec.name)) continue;  // declared but read by no policy: not built
    auto old = old_sources.find(spec.name);
    if (old != old_sources.end() && old->second->spec.type == spec.type &&
        old->second->spec.params == spec.params) {
      built.sources.emplace(spec.name, old->second);
      continue;
    }
    const SourceType* type = sreg.find(spec.type);
    if (type == nullptr) {
      errors.push_back(fmt::format("source '{}': unknown type '{}' (known: {})", spec.name,
                                   spec.type, join(sreg.names(), ", ")));
      continue;
    }
    if (!type->create) {
      errors.push_back(fmt::format(
          "source '{}': type '{}' is not available in this build of tide (available: {})",
          spec.name, spec.type, available(sreg)));
      continue;
    }
    auto created = type->create(spec);
    if (!created || *created == nullptr) {
      errors.push_back(fmt::format(
          "source '{}' ({}): {}", spec.name, spec.type,
          created ? "the factory returned nothing" : redact_text(created.error().message)));
      continue;
    }
    auto entry = std::make_shared<SourceEntry>();
    entry->spec = spec;
    entry->source = std::shared_ptr<Source>(std::move(*created));
    built.sources.emplace(spec.name, std::move(entry));
  }

  for (const GroupSpec& spec : config.groups) {
    auto plan = std::make_shared<Plan>();
    plan->spec = spec;
    plan->dry_run = spec.dry_run || config.dry_run;
    plan->read_timeout =
        std::clamp(spec.interval, options_.min_read_timeout, options_.max_read_timeout);

    std::shared_ptr<Group> existing;
    std::shared_ptr<const Plan> old_plan;
    if (auto it = old_groups.find(spec.name); it != old_groups.end()) {
      existing = it->second;
      std::lock_guard lock(existing->mu);
      old_plan = existing->plan;
    }

    // Target: kept when its settings did not change (a process pool is not restarted).
    if (old_plan && old_plan->spec.target.type == spec.target.type &&
        old_plan->spec.target.params == spec.target.params) {
      plan->target = old_plan->target;
    } else {
      const TargetType* type = treg.find(spec.target.type);
      if (type == nullptr) {
        errors.push_back(fmt::format("group '{}': unknown target type '{}' (known: {})", spec.name,
                                     spec.target.type, join(treg.names(), ", ")));
      } else if (!type->create) {
        errors.push_back(fmt::format(
            "group '{}': target type '{}' is not available in this build of tide (available: "
            "{})",
            spec.name, spec.target.type, available(treg)));
      } else {
        auto holder = std::make_shared<TargetHolder>();
        holder->state = std::make_unique<TargetStateStore>(store_, spec.name);
        TargetContext context{spec.name, holder->state.get(), clock_, spec.min};
        auto created = type->create(spec.target, context);
        if (!created || *created == nullptr) {
          errors.push_back(fmt::format(
              "group '{}': target {}: {}", spec.name, spec.target.type,
              created ? "the factory returned nothing" : redact_text(created.error().message)));
        } else {
          holder->target = std::move(*created);
          plan->target = std::move(holder);
        }
      }
    }

    // Policies: prepare each query on its (shared) source.
    for (const PolicySpec& policy : spec.policies) {
      PolicyBinding binding;
      if (const MetricRef* metric = policy.metric()) {
        auto src = built.sources.find(metric->source);
        if (src == built.sources.end()) {
          if (!config.find_source(metric->source)) {
            errors.push_back(fmt::format("group '{}' policy '{}': no source named '{}'", spec.name,
                                         policy.name, metric->source));
          }
          // Otherwise the source failed to build and already has its error.
        } else {
          auto handle = src->second->source->prepare(metric->params);
          if (!handle) {
            errors.push_back(fmt::format("group '{}' policy '{}': source '{}': {}", spec.name,
                                         policy.name, metric->source,
                                         redact_text(handle.error().message)));
          } else {
            binding.source = src->second;
            binding.handle = *handle;
          }
        }
      }
      plan->bindings.push_back(std::move(binding));
      plan->policy_keys.push_back(policy_key(policy));
    }

    std::shared_ptr<Group> group = existing;
    if (!group) {
      group = std::make_shared<Group>();
      group->name = spec.name;
      if (auto loaded = load_state(*group, *plan); !loaded) {
        errors.push_back(loaded.error().message);
      }
    }
    built.groups.emplace_back(std::move(group), std::move(plan));
  }

  if (!errors.empty()) {
    return fail(ErrorCode::kInvalidArgument, join(errors, "\n"));
  }
  return built;
}

Result<void> Engine::reload(const Config& config) {
  std::lock_guard reload_lock(reload_mu_);
  auto built = build(config);
  if (!built) {
    metrics_.count_reload(false);
    log_->error("config reload failed; keeping the running config",
                {{"error", built.error().message}});
    return std::unexpected(built.error());
  }
  if (own_logger_) {
    own_logger_->set_format(config.log.format);
    own_logger_->set_level(parse_log_level(config.log.level).value_or(LogLevel::kInfo));
  }
  const TimePoint now = clock_->now();
  std::vector<std::shared_ptr<Group>> next;
  int added = 0, removed = 0;
  {
    std::lock_guard lock(mu_);
    std::set<std::string, std::less<>> names;
    for (auto& [group, plan] : built->groups) {
      names.insert(group->name);
      std::lock_guard glock(group->mu);
      const bool fresh = group->plan == nullptr;
      group->plan = plan;
      if (fresh) {
        ++added;
        group->next_eval = now;
        group->next_maintain = now + options_.maintain_every;
      } else if (group->next_eval > now + plan->spec.interval) {
        group->next_eval = now + plan->spec.interval;  // a shorter interval takes effect now
      }
      metrics_.set_group_config(group->name, plan->spec.min, plan->spec.max, plan->dry_run);
      metrics_.set_group_flags(group->name, group->flags.paused,
                               group->flags.override_capacity.has_value());
      next.push_back(group);
    }
    for (const auto& old : groups_) {
      if (names.contains(old->name)) continue;
      std::lock_guard glock(old->mu);
      old->removed = true;
      metrics_.remove_group(old->name);
      ++removed;
    }
    groups_ = std::move(next);
    sources_ = std::move(built->sources);
    wake_ = true;
  }
  cv_.notify_all();
  metrics_.count_reload(true);
  log_->info(
      "config reloaded",
      {{"groups", static_cast<int>(built->groups.size())}, {"added", added}, {"removed", removed}});
  return {};
}

std::shared_ptr<Engine::Group> Engine::find(std::string_view name) const {
  std::lock_guard lock(mu_);
  for (const auto& g : groups_) {
    if (g->name == name) return g;
  }
  return nullptr;
}

void Engine::start() {
  std::lock_guard lock(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  scheduler_ = std::thread([this] { scheduler_loop(); });
  log_->info("engine started", {{"groups", static_cast<int>(groups_.size())}});
}

void Engine::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
  if (pool_) pool_->shutdown(false);
  bool was_started = false;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    was_started = started_;
  }
  if (was_started && log_ != nullptr) log_->info("engine stopped");
}

void Engine::wake() {
  {
    std::lock_guard lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

void Engine::wait_idle() {
  pool_->wait_idle();
}

TimePoint Engine::run_due() {
  const TimePoint now = clock_->now();
  TimePoint next = now + std::chrono::hours(1);
  std::vector<std::pair<std::shared_ptr<Group>, bool>> due;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return next;
    for (const auto& g : groups_) {
      std::lock_guard glock(g->mu);
      const Duration interval = g->plan->spec.interval;
      // A wall clock that jumped back must not postpone a group by more than one interval.
      if (g->next_eval > now + interval) g->next_eval = now + interval;
      if (g->next_maintain > now + options_.maintain_every) {
        g->next_maintain = now + options_.maintain_every;
      }
      const bool eval_due = now >= g->next_eval;
      const bool maintain_due = now >= g->next_maintain;
      if (g->in_flight) continue;  // its completion wakes the scheduler
      if (eval_due || maintain_due) {
        g->in_flight = true;
        g->in_flight_eval = eval_due;
        if (eval_due) {
          g->next_eval += interval;
          if (g->next_eval <= now) g->next_eval = now + interval;  // fell behind: no catch-up
        }
        g->next_maintain = now + options_.maintain_every;
        due.emplace_back(g, eval_due);
      }
      next = std::min({next, g->next_eval, g->next_maintain});
    }
  }
  for (auto& [group, evaluate] : due) {
    pool_->submit([this, group = group, evaluate = evaluate] { run_job(group, evaluate); });
  }
  return next;
}

void Engine::scheduler_loop() {
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      wake_ = false;
    }
    const TimePoint next = run_due();
    const auto stall_check = pool_->check_stall();
    Duration wait = next - clock_->now();
    wait = std::clamp(wait, Duration(1), Duration(std::chrono::seconds(60)));
    auto deadline = SteadyClock::now() + wait;
    if (stall_check && *stall_check < deadline) deadline = *stall_check;
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, deadline, [&] { return stopping_ || wake_; });
  }
}

void Engine::run_job(const std::shared_ptr<Group>& group, bool evaluate) {
  std::shared_ptr<const Plan> plan;
  {
    std::lock_guard lock(group->mu);
    plan = group->plan;
  }
  try {
    if (plan->target && plan->target->target) {
      plan->target->target->maintain();
      if (evaluate) this->evaluate(*group, *plan);
    }
  } catch (const std::exception& e) {
    log_->error("evaluation failed with an exception",
                {{"group", group->name}, {"error", std::string(e.what())}});
  } catch (...) {
    log_->error("evaluation failed with an unknown exception", {{"group", group->name}});
  }
  {
    std::lock_guard lock(group->mu);
    group->in_flight = false;
    group->in_flight_eval = false;
    // The next evaluation came due while this one ran: it starts late (never concurrently).
    if (evaluate && clock_->now() > group->next_eval) metrics_.count_overrun(group->name);
  }
  wake();
}

Result<std::optional<DecisionRecord>> Engine::evaluate_now(std::string_view name) {
  auto group = find(name);
  if (!group) return fail(ErrorCode::kNotFound, fmt::format("unknown group '{}'", name));
  std::shared_ptr<const Plan> plan;
  {
    std::lock_guard lock(group->mu);
    if (group->in_flight) {
      return fail(ErrorCode::kUnavailable,
                  fmt::format("group '{}' is being evaluated right now", name));
    }
    group->in_flight = true;
    group->in_flight_eval = true;
    plan = group->plan;
  }
  std::optional<DecisionRecord> record;
  try {
    plan->target->target->maintain();
    record = evaluate(*group, *plan);
  } catch (...) {
    std::lock_guard lock(group->mu);
    group->in_flight = false;
    group->in_flight_eval = false;
    throw;
  }
  {
    std::lock_guard lock(group->mu);
    group->in_flight = false;
    group->in_flight_eval = false;
  }
  return record;
}

void Engine::reconcile_pending(Group& group, const TargetStatus& status) {
  std::vector<long long> still_pending;
  for (long long id : group.pending) {
    auto record = store_.decision(id);
    if (!record) {
      still_pending.push_back(id);
      continue;
    }
    if (!*record) continue;
    const DecisionRecord& r = **record;
    if (r.outcome != "pending") continue;
    const std::string outcome =
        status.desired == r.desired
            ? std::string("applied")
            : fmt::format("failed: not applied before tide stopped (target at {}, decision {})",
                          status.desired, r.desired);
    if (auto set = store_.set_outcome(id, outcome); !set) {
      metrics_.count_store_error("set_outcome");
      log_->error("could not record the outcome of a pending decision",
                  {{"group", group.name}, {"decision_id", id}, {"error", set.error().message}});
      still_pending.push_back(id);
      continue;
    }
    log_->info("reconciled a decision left pending by a previous run", {{"group", group.name},
                                                                        {"decision_id", id},
                                                                        {"desired", r.desired},
                                                                        {"target", status.desired},
                                                                        {"outcome", outcome}});
    std::lock_guard lock(group.mu);
    if (group.last && group.last->id == id) group.last->outcome = outcome;
  }
  group.pending = std::move(still_pending);
}

Result<void> Engine::scale_with_retry(Group& group, const Plan& plan, const ScaleRequest& request) {
  const RetryPolicy& retry = options_.retry;
  Duration backoff = retry.initial_backoff;
  Error last{ErrorCode::kUnavailable, "no attempt made"};
  Target& target = *plan.target->target;
  const int attempts = std::max(1, retry.attempts);
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    auto result = target.scale(request);
    if (result) {
      if (attempt > 1) {
        log_->info("scale succeeded after retrying",
                   {{"group", group.name}, {"attempt", attempt}, {"desired", request.desired}});
      }
      return {};
    }
    last = result.error();
    metrics_.count_target_error(group.name, "scale");
    log_->warn("target scale failed", {{"group", group.name},
                                       {"attempt", attempt},
                                       {"of", attempts},
                                       {"desired", request.desired},
                                       {"decision_id", request.decision_id},
                                       {"error", last.message}});
    if (attempt == attempts) break;
    if (!options_.backoff_wait(backoff)) {
      last.message += " (not retried: tide is stopping)";
      break;
    }
    backoff = std::min<Duration>(
        Duration(static_cast<long long>(static_cast<double>(backoff.count()) * retry.multiplier)),
        retry.max_backoff);
    // The failed call may have taken effect (a timeout after the target accepted it): scale is
    // absolute, so repeating it is harmless, but checking first avoids a needless second call.
    auto status = target.status();
    if (status && status->desired == request.desired) {
      log_->info("scale took effect despite the error; not repeating it",
                 {{"group", group.name}, {"desired", request.desired}});
      return {};
    }
  }
  return std::unexpected(last);
}

std::optional<DecisionRecord> Engine::evaluate(Group& group, const Plan& plan) {
  const auto started = SteadyClock::now();
  const TimePoint now = clock_->now();
  const GroupSpec& spec = plan.spec;
  const std::string& name = group.name;
  auto elapsed_seconds = [&] {
    return std::chrono::duration<double>(SteadyClock::now() - started).count();
  };
  auto fail_round = [&](std::string error) {
    std::lock_guard lock(group.mu);
    ++group.consecutive_failures;
    group.last_error = std::move(error);
    metrics_.set_group_failures(name, group.consecutive_failures);
  };

  // 1. Observe the target.
  Target& target = *plan.target->target;
  auto status_result = target.status();
  if (!status_result) {
    const std::string error = redact_text(status_result.error().message);
    metrics_.count_target_error(name, "status");
    log_->warn("target status failed: no decision this round", {{"group", name}, {"error", error}});
    fail_round("target status: " + error);
    metrics_.observe_evaluation(elapsed_seconds());
    return std::nullopt;
  }
  const TargetStatus& status = *status_result;
  const int ready = status.ready();
  const int warming = status.warming();
  metrics_.set_group_status(name, status.desired, ready, warming, status.unexpected_exits);
  {
    std::lock_guard lock(group.mu);
    group.status = status;
  }
  if (!group.pending.empty()) reconcile_pending(group, status);

  if (group.history_keys != plan.policy_keys) {
    if (!group.history_keys.empty()) {
      realign(group.history, group.history_keys, plan.policy_keys);
      log_->info("policies changed: per-policy state moved to the new positions",
                 {{"group", name}});
    }
    group.history_keys = plan.policy_keys;
    group.keys_stored = false;
  }

  // 2. Read every policy's source.
  const std::size_t n = spec.policies.size();
  if (group.instance_storage.size() < n) group.instance_storage.resize(n);
  group.readings.assign(n, MetricReading{});
  std::vector<InstanceEndpoint> endpoints;
  endpoints.reserve(status.instances.size());
  for (const InstanceStatus& i : status.instances) endpoints.push_back({i.id, i.address});
  std::vector<std::string> errors;
  nlohmann::json source_errors = nlohmann::json::array();
  for (std::size_t i = 0; i < n; ++i) {
    const PolicyBinding& binding = plan.bindings[i];
    if (!binding.source) continue;
    const std::string& source_name = binding.source->spec.name;
    const auto read_started = SteadyClock::now();
    auto samples = binding.source->source->read(binding.handle, endpoints, now, plan.read_timeout);
    const auto took = SteadyClock::now() - read_started;
    metrics_.count_source_read(source_name);
    if (took > plan.read_timeout + std::chrono::seconds(1)) {
      log_->warn(
          "source read overran its deadline",
          {{"group", name},
           {"source", source_name},
           {"took_ms", static_cast<long long>(std::chrono::duration_cast<Duration>(took).count())},
           {"deadline_ms", static_cast<long long>(plan.read_timeout.count())}});
    }
    if (!samples) {
      const std::string error = redact_text(samples.error().message);
      metrics_.count_source_error(source_name);
      log_->warn("source read failed: no data for this policy", {{"group", name},
                                                                 {"policy", spec.policies[i].name},
                                                                 {"source", source_name},
                                                                 {"error", error}});
      errors.push_back(
          fmt::format("policy {} (source {}): {}", spec.policies[i].name, source_name, error));
      source_errors.push_back(
          {{"policy", spec.policies[i].name}, {"source", source_name}, {"error", error}});
      continue;
    }
    group.readings[i] = to_reading(spec.policies[i], *samples, status, group.instance_storage[i]);
    if (!group.readings[i].ok) {
      log_->debug("source returned no data",
                  {{"group", name}, {"policy", spec.policies[i].name}, {"source", source_name}});
    }
  }
  // Predictive policies: their history, and their forecast when one is due (forecast.hpp).
  update_forecasts(group, plan, now);
  const Observation obs{status.desired, ready, warming, group.readings, group.forecasts};

  // 3. Decide.
  const Decision decided = decide(spec, obs, group.history, now);

  // 4. Pause and manual override.
  GroupFlags flags;
  {
    std::lock_guard lock(group.mu);
    flags = group.flags;
  }
  bool overridden = false;
  if (flags.override_capacity) {
    if (flags.override_until && now >= *flags.override_until) {
      GroupFlags cleared = flags;
      cleared.override_capacity.reset();
      cleared.override_until.reset();
      if (auto set = store_.set_flags(name, cleared); !set) {
        metrics_.count_store_error("set_flags");
        log_->error("could not clear an expired override",
                    {{"group", name}, {"error", set.error().message}});
      }
      {
        std::lock_guard lock(group.mu);
        if (group.flags.override_until == flags.override_until) group.flags = cleared;
      }
      metrics_.set_group_flags(name, cleared.paused, false);
      log_->info("manual capacity expired; policies decide again",
                 {{"group", name}, {"capacity", *flags.override_capacity}});
      flags = cleared;
    } else {
      overridden = true;
    }
  }
  Decision acted = decided;
  if (overridden) acted.desired = std::clamp(*flags.override_capacity, decided.min, decided.max);
  const bool change = acted.desired != acted.current;
  const bool act = change && !flags.paused && !plan.dry_run;
  std::string outcome = !change        ? "unchanged"
                        : flags.paused ? "paused"
                        : plan.dry_run ? "dry-run"
                                       : "pending";

  // Why, in one line (logs, ScaleRequest) and as a metric label.
  const int winner = winner_of(decided);
  std::string reason;
  std::string reason_label;
  if (overridden) {
    reason = fmt::format(
        "manual capacity {} until {} (policies decided {})", *flags.override_capacity,
        flags.override_until ? format_time(*flags.override_until) : "revoked", decided.desired);
    reason_label = "override";
  } else {
    reason = winner >= 0 ? fmt::format("{} {}: {}", policy_type_name(spec.policies[winner].type()),
                                       spec.policies[winner].name,
                                       describe(decided.proposals[winner], spec.policies[winner]))
                         : std::string("no policy proposed a capacity: hold");
    if (decided.bound_by) {
      reason += fmt::format("; bound by {}", stage_name(*decided.bound_by));
      reason_label = stage_name(*decided.bound_by);
    } else {
      reason_label = winner >= 0 ? policy_type_name(spec.policies[winner].type()) : "none";
    }
  }
  const std::string direction = direction_of(acted.current, acted.desired);

  // 5. Record before acting.
  GroupHistory next = group.history;
  record(spec, obs, acted, act, next);
  nlohmann::json account = decision_to_json(acted, spec);
  if (overridden) {
    account["bound_by"] = "override";
    account["override"] = {
        {"capacity", *flags.override_capacity},
        {"until", flags.override_until ? nlohmann::json(format_time(*flags.override_until))
                                       : nlohmann::json()},
        {"decided", decided.desired}};
  }
  if (flags.paused) account["paused"] = true;
  if (plan.dry_run) account["dry_run"] = true;
  account["ready"] = ready;
  account["warming"] = warming;
  if (!source_errors.empty()) account["source_errors"] = source_errors;
  nlohmann::json forecasts = nlohmann::json::array();
  for (std::size_t i = 0; i < group.forecasts.size() && i < n; ++i) {
    const ForecastView& v = group.forecasts[i];
    if (spec.policies[i].type() != PolicyType::kPredictive) continue;
    nlohmann::json entry = {{"policy", spec.policies[i].name}};
    if (v.empty()) {
      entry["model"] = nullptr;
    } else {
      entry["model"] = forecast_model_name(v.model);
      entry["made_at"] = format_time(v.made_at);
      entry["start"] = format_time(v.start);
      entry["step_seconds"] = to_seconds(v.step);
      entry["values"] = std::vector<double>(v.values.begin(), v.values.end());
    }
    forecasts.push_back(std::move(entry));
  }
  if (!forecasts.empty()) account["forecasts"] = std::move(forecasts);

  DecisionRecord rec;
  rec.group = name;
  rec.at = now;
  rec.current = acted.current;
  rec.desired = acted.desired;
  rec.bound_by = overridden ? "override" : decided.bound_by ? stage_name(*decided.bound_by) : "";
  rec.outcome = outcome;
  rec.account = std::move(account);

  auto id = store_.commit(name, next, rec);
  if (!id) {
    const std::string error = redact_text(id.error().message);
    metrics_.count_store_error("commit");
    metrics_.count_decision(name, reason_label, direction, "not-recorded");
    log_->error("state store commit failed: decision not recorded, not acting",
                {{"group", name}, {"desired", acted.desired}, {"error", error}});
    GroupHistory unchanged = group.history;
    record(spec, obs, acted, false, unchanged);
    group.history = std::move(unchanged);
    fail_round("state store: " + error);
    metrics_.observe_evaluation(elapsed_seconds());
    return std::nullopt;
  }
  rec.id = *id;
  if (!group.keys_stored) {
    nlohmann::json keys = plan.policy_keys;
    if (store_.put(name, kPolicyKeysKey, keys.dump())) group.keys_stored = true;
  }
  if (++group.commits_since_prune >= options_.prune_every) {
    group.commits_since_prune = 0;
    if (auto pruned = store_.prune(name, options_.decision_log_keep); !pruned) {
      metrics_.count_store_error("prune");
      log_->warn("pruning old decisions failed",
                 {{"group", name}, {"error", pruned.error().message}});
    }
  }
  {
    std::lock_guard lock(group.mu);
    group.last = rec;
  }
  metrics_.set_group_decision(name, acted.desired);
  {
    std::vector<EngineMetrics::PolicyForecast> forecasts;
    for (std::size_t i = 0; i < spec.policies.size(); ++i) {
      const Proposal& p = acted.proposals[i];
      if (has_forecast(p)) forecasts.push_back({spec.policies[i].name, p.a, p.forecast_capacity});
    }
    metrics_.set_group_forecasts(name, forecasts);
  }

  // 6. Act.
  std::string scale_error;
  if (act) {
    ScaleRequest request{acted.desired, reason, rec.id};
    if (acted.min != spec.min || acted.max != spec.max) {  // a schedule moved the bounds
      request.min = acted.min;
      request.max = acted.max;
    }
    auto scaled = scale_with_retry(group, plan, request);
    if (scaled) {
      outcome = "applied";
      group.history = std::move(next);
    } else {
      scale_error = redact_text(scaled.error().message);
      outcome = "failed: " + scale_error;
      // The stored history counts the event (conservative if tide dies now); in memory it does
      // not, and the next commit stores this corrected history.
      GroupHistory not_applied = group.history;
      record(spec, obs, acted, false, not_applied);
      group.history = std::move(not_applied);
    }
    if (auto set = store_.set_outcome(rec.id, outcome); !set) {
      metrics_.count_store_error("set_outcome");
      log_->error("could not record a decision's outcome (it stays pending until the next start)",
                  {{"group", name}, {"decision_id", rec.id}, {"error", set.error().message}});
    }
    metrics_.count_action(name, reason_label, direction, scaled ? "applied" : "failed");
    rec.outcome = outcome;
    std::lock_guard lock(group.mu);
    if (group.last && group.last->id == rec.id) group.last->outcome = outcome;
  } else {
    group.history = std::move(next);
  }
  metrics_.count_decision(name, reason_label, direction, outcome_label(outcome));

  // Failures of this round (sources, target): the group's view and metrics.
  if (!scale_error.empty()) errors.push_back("target scale: " + scale_error);
  {
    std::lock_guard lock(group.mu);
    if (errors.empty()) {
      group.consecutive_failures = 0;
      group.last_error.clear();
    } else {
      ++group.consecutive_failures;
      group.last_error = join(errors, "; ");
    }
    metrics_.set_group_failures(name, group.consecutive_failures);
  }

  const double seconds = elapsed_seconds();
  metrics_.observe_evaluation(seconds);
  log_->log(outcome.starts_with("failed") ? LogLevel::kWarn : LogLevel::kInfo, "evaluation",
            {{"group", name},
             {"current", acted.current},
             {"desired", acted.desired},
             {"bound_by", rec.bound_by.empty() ? std::string("none") : rec.bound_by},
             {"reason", reason},
             {"outcome", outcome},
             {"decision_id", rec.id},
             {"ready", ready},
             {"warming", warming},
             {"duration_ms", std::round(seconds * 1e6) / 1e3}});
  return rec;
}

void Engine::update_forecasts(Group& group, const Plan& plan, TimePoint now) {
  const GroupSpec& spec = plan.spec;
  const std::size_t n = spec.policies.size();
  group.forecasting.resize(n);
  group.forecasts.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    Group::Forecasting& f = group.forecasting[i];
    const auto* p = std::get_if<PredictiveSpec>(&spec.policies[i].spec);
    if (p == nullptr) {
      f = Group::Forecasting{};
      group.forecasts[i] = ForecastView{};
      continue;
    }
    const std::string key = forecast_key(plan.policy_keys[i], *p);
    if (!f.runner || f.key != key) {
      // (Re)build: the history comes back from the store, and auto's scores from a replay of
      // the refreshes of the last week over it.
      f = Group::Forecasting{};
      f.key = key;
      f.series = plan.policy_keys[i];
      f.runner = std::make_unique<forecast::ForecastRunner>(p->forecast, p->lead());
      auto points = store_.metric_points(group.name, f.series, now - p->forecast.history);
      if (!points) {
        metrics_.count_store_error("metric_points");
        log_->warn("could not load a predictive policy's history; starting without it",
                   {{"group", group.name},
                    {"policy", spec.policies[i].name},
                    {"error", points.error().message}});
      } else {
        for (const MetricPoint& point : *points) f.runner->observe(point.at, point.value);
        if (!points->empty()) f.persisted = f.runner->bucket_of(points->back().at);
        if (p->forecast.model == ForecastModel::kAuto && !points->empty()) {
          const Duration interval = p->forecast.interval;
          for (TimePoint r = now - forecast::kAutoWindow; r < now; r += interval) {
            f.runner->refresh(r);
          }
        }
        log_->info("predictive policy history loaded",
                   {{"group", group.name},
                    {"policy", spec.policies[i].name},
                    {"points", static_cast<int>(points->size())}});
      }
    }
    const MetricReading& reading = group.readings[i];
    if (reading.ok) f.runner->observe(now, reading.value);
    // Every bucket goes to the store as soon as it is complete (not only at a refresh), so a crash
    // loses at most the bucket in progress.
    const long long current = f.runner->bucket_of(now);
    if (current - 1 > f.persisted && f.runner->newest_bucket()) {
      std::vector<MetricPoint> fresh;
      const long long from = std::max(
          f.persisted + 1, current - static_cast<long long>(f.runner->shape().max_history));
      for (long long k = from; k < current; ++k) {
        if (auto value = f.runner->bucket_value(k)) {
          fresh.push_back({f.runner->bucket_start(k), *value});
        }
      }
      if (auto put = store_.put_metric_points(group.name, f.series, fresh); !put) {
        metrics_.count_store_error("put_metric_points");
        log_->warn("could not store a predictive policy's history",
                   {{"group", group.name}, {"error", put.error().message}});
      } else {
        f.persisted = current - 1;
      }
    }
    if (f.runner->due(now)) {
      f.runner->refresh(now);
      if (auto pruned = store_.prune_metric_points(group.name, f.series, now - p->forecast.history);
          !pruned) {
        metrics_.count_store_error("prune_metric_points");
      }
      const ForecastView& v = f.runner->view();
      log_->debug(
          "forecast recomputed",
          {{"group", group.name},
           {"policy", spec.policies[i].name},
           {"model", v.empty() ? std::string("none") : std::string(forecast_model_name(v.model))}});
    }
    group.forecasts[i] = f.runner->view();
  }
}

GroupView Engine::view_of(const Group& group) const {
  std::lock_guard lock(group.mu);
  GroupView v;
  v.name = group.name;
  if (group.plan) {
    v.target_type = group.plan->spec.target.type;
    v.min = group.plan->spec.min;
    v.max = group.plan->spec.max;
    v.interval = group.plan->spec.interval;
    v.dry_run = group.plan->dry_run;
  }
  v.flags = group.flags;
  v.status = group.status;
  v.last = group.last;
  v.consecutive_failures = group.consecutive_failures;
  v.last_error = group.last_error;
  v.next_evaluation = group.next_eval;
  return v;
}

std::vector<GroupView> Engine::groups() {
  std::vector<std::shared_ptr<Group>> groups;
  {
    std::lock_guard lock(mu_);
    groups = groups_;
  }
  std::vector<GroupView> out;
  out.reserve(groups.size());
  for (const auto& g : groups) out.push_back(view_of(*g));
  return out;
}

std::optional<GroupView> Engine::group(std::string_view name) {
  auto g = find(name);
  if (!g) return std::nullopt;
  return view_of(*g);
}

Result<std::vector<DecisionRecord>> Engine::decisions(std::string_view name, int limit,
                                                      std::optional<long long> before) {
  if (!find(name)) return fail(ErrorCode::kNotFound, fmt::format("unknown group '{}'", name));
  return store_.decisions(name, limit, before);
}

Result<std::optional<DecisionRecord>> Engine::decision(std::string_view name, long long id) {
  if (!find(name)) return fail(ErrorCode::kNotFound, fmt::format("unknown group '{}'", name));
  auto record = store_.decision(id);
  if (!record) return std::unexpected(record.error());
  if (*record && (*record)->group != name) return std::optional<DecisionRecord>();
  return record;
}

Result<void> Engine::update_flags(std::string_view name,
                                  const std::function<Result<void>(Group&, GroupFlags&)>& change,
                                  bool evaluate_soon) {
  auto group = find(name);
  if (!group) return fail(ErrorCode::kNotFound, fmt::format("unknown group '{}'", name));
  {
    std::lock_guard lock(group->mu);
    GroupFlags flags = group->flags;
    if (auto changed = change(*group, flags); !changed) return changed;
    if (auto stored = store_.set_flags(name, flags); !stored) {
      metrics_.count_store_error("set_flags");
      return fail(stored.error().code, fmt::format("could not store the flags of '{}': {}", name,
                                                   stored.error().message));
    }
    group->flags = flags;
    if (evaluate_soon) group->next_eval = std::min(group->next_eval, clock_->now());
    metrics_.set_group_flags(name, flags.paused, flags.override_capacity.has_value());
  }
  if (evaluate_soon) wake();
  return {};
}

Result<void> Engine::pause(std::string_view name) {
  auto r = update_flags(
      name,
      [](Group&, GroupFlags& f) -> Result<void> {
        f.paused = true;
        return {};
      },
      false);
  if (r) log_->info("group paused: decisions are recorded, not applied", {{"group", name}});
  return r;
}

Result<void> Engine::resume(std::string_view name) {
  auto r = update_flags(
      name,
      [](Group&, GroupFlags& f) -> Result<void> {
        f.paused = false;
        return {};
      },
      true);
  if (r) log_->info("group resumed", {{"group", name}});
  return r;
}

Result<void> Engine::set_capacity(std::string_view name, int capacity, TimePoint until) {
  const TimePoint now = clock_->now();
  auto r = update_flags(
      name,
      [&](Group& g, GroupFlags& f) -> Result<void> {
        const GroupSpec& spec = g.plan->spec;
        if (capacity < spec.min || capacity > spec.max) {
          return fail(ErrorCode::kInvalidArgument,
                      fmt::format("capacity {} is outside the bounds of group '{}' ({}..{})",
                                  capacity, g.name, spec.min, spec.max));
        }
        if (until <= now) {
          return fail(ErrorCode::kInvalidArgument,
                      fmt::format("the override must end in the future (until {} is not after {})",
                                  format_time(until), format_time(now)));
        }
        f.override_capacity = capacity;
        f.override_until = until;
        return {};
      },
      true);
  if (r) {
    log_->info("manual capacity set",
               {{"group", name}, {"capacity", capacity}, {"until", format_time(until)}});
  }
  return r;
}

std::string Engine::metrics_text() {
  return metrics_.render();
}

bool Engine::healthy() {
  std::lock_guard lock(mu_);
  return started_ && !stopping_;
}

}  // namespace tide
