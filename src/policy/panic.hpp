// The Knative KPA decider (kpa_spec.md section 4) as pure functions, shared by propose_panic()
// and the conformance runner (tests/conformance/kpa.cpp) so both run exactly the same math.
//
// Lifecycle of the state in tide (PolicyState):
//  - Upstream builds the autoscaler once, with `curC = ready pods`: curC > 1 starts in panic
//    (panicTime = now) and maxPanicPods = curC. tide builds it lazily at the first evaluation that
//    is recorded: while PolicyState::panic_initialized is false, propose_panic() starts from
//    kpa_initial_state(ready, now) instead of the stored fields.
//  - record() copies Proposal::panic_time / max_panic_pods back, sets panic_initialized, appends
//    {now, pre_delay_capacity} to the delay window when kpa_records_delay(spec) and appends the
//    current reading to PolicyState::metric (see kpa_window_averages for how it is averaged).
#pragma once

#include <optional>
#include <span>

#include "core/time.hpp"
#include "policy/history.hpp"
#include "policy/spec.hpp"

namespace tide {

struct KpaState {
  std::optional<TimePoint> panic_time;  // nullopt = not panicking (upstream: zero time)
  int max_panic_pods = 0;
};

struct KpaResult {
  bool valid = false;  // upstream ScaleResult.ScaleValid; false = no decision (no data)
  int desired = 0;     // DesiredPodCount, after the scale-down delay window
  int pre_delay = 0;   // the desired count before the delay window (what the window records)
  double excess_burst_capacity = 0;  // ExcessBurstCapacity (-1 = unlimited TBC)
  KpaState next;                     // state after this tick (unchanged when !valid)
  double stable = 0, panic = 0;      // the averages used
};

// Upstream constructor state: ready > 1 starts in panic at `now`; max_panic_pods = ready.
KpaState kpa_initial_state(int ready, TimePoint now);

// Number of 2-second buckets of the scale-down delay window: ceil(delay / 2 s); 0 = no window.
int kpa_delay_buckets(const PanicSpec& spec);
// Whether this tick's pre-delay desired count must be recorded into the delay window: upstream
// records only when a window exists and the revision is reachable.
bool kpa_records_delay(const PanicSpec& spec);

// (*autoscaler).Scale() after the metric read. `ready` nullopt means the ready count could not be
// read (upstream: a non-NotFound error) and gives an invalid result. `delay_window` holds earlier
// pre-delay desired counts; entries whose 2 s bucket (unix_seconds / 2) lies within the last
// kpa_delay_buckets(spec) buckets (the current one included) count. Allocation-free.
KpaResult kpa_decide(const PanicSpec& spec, double stable, double panic, std::optional<int> ready,
                     const KpaState& state, std::span<const Recommendation> delay_window,
                     TimePoint now);

// The stable and panic window averages tide feeds kpa_decide (see panic.cpp for the reasoning):
// the plain mean of the readings whose age is in [0, window) (the current reading, age 0,
// included), rounded to 6 decimals like upstream's WindowAverage.
struct KpaAverages {
  double stable = 0;
  double panic = 0;
};
KpaAverages kpa_window_averages(const PanicSpec& spec, std::span<const MetricPoint> points,
                                double current, TimePoint now);

// Appends {now, value} to a delay window the way upstream's max.TimeWindow.Record keeps it: a
// value in the same 2 s bucket as the last entry merges (larger wins), trailing entries that are
// not larger than `value` are dropped (they can never be the maximum again), and entries that
// left the window are pruned. Keeps the vector short (at most one entry per bucket, decreasing).
void kpa_record_delay(const PanicSpec& spec, int value, TimePoint now,
                      std::vector<Recommendation>& window);

}  // namespace tide
