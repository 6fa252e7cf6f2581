#include "simulate/tune.hpp"

#include <cmath>
#include <numbers>
#include <set>

#include <gtest/gtest.h>

namespace tide::sim {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

// ---- SLO rules
// ------------------------------------------------------------------------------------

struct SloCase {
  const char* name;
  const char* text;
  bool ok;
  const char* metric;
  const char* op;
  double value;
  const char* error;
};

class ParseSloTest : public ::testing::TestWithParam<SloCase> {};

TEST_P(ParseSloTest, Parses) {
  const SloCase& c = GetParam();
  auto rule = parse_slo(c.text);
  ASSERT_EQ(rule.has_value(), c.ok) << (rule ? "" : rule.error().message);
  if (c.ok) {
    EXPECT_EQ(rule->metric, c.metric);
    EXPECT_EQ(rule->op, c.op);
    EXPECT_EQ(rule->value, c.value);
  } else {
    EXPECT_NE(rule.error().message.find(c.error), std::string::npos) << rule.error().message;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseSloTest,
    ::testing::Values(
        SloCase{"spaces", "under_provisioned_time_pct <= 1", true, "under_provisioned_time_pct",
                "<=", 1, ""},
        SloCase{"no_spaces", "late_or_dropped_pct<0.5", true, "late_or_dropped_pct", "<", 0.5, ""},
        SloCase{"greater", "theta_u >= 2", true, "theta_u", ">=", 2, ""},
        SloCase{"no_operator", "under_provisioned_time_pct 1", false, "", "", 0, "no comparison"},
        SloCase{"unknown_metric", "cost <= 1", false, "", "", 0, "unknown metric 'cost'"},
        SloCase{"bad_number", "dropped_pct <= one", false, "", "", 0, "'one' is not a number"}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- the search ---------------------------------------------------------------------------------

const TimePoint kStart = from_unix_seconds(1'704'067'200);  // 2024-01-01

// Four days of a daily pattern in 5-minute steps; `held_out_factor` scales the last third.
Trace trace(double held_out_factor = 1.0) {
  Trace t;
  t.start = kStart;
  t.step = minutes(5);
  t.name = "daily";
  const int n = 4 * 288;
  for (int i = 0; i < n; ++i) {
    const double v = 500 - 400 * std::cos(2 * std::numbers::pi * ((i + 72) % 288) / 288.0);
    t.load.push_back(i >= n * 2 / 3 ? v * held_out_factor : v);
  }
  return t;
}

Scenario scenario() {
  Scenario sc;
  sc.name = "daily";
  sc.min = 1;
  sc.max = 40;
  sc.model.capacity_per_instance = 50;
  sc.model.boot_delay = minutes(3);
  sc.model.billing = {BillingKind::kPerSecond, seconds(60)};
  sc.model.price_per_hour = 1;
  sc.model.queue_limit = 1000;
  return sc;
}

TuneOptions options(std::uint64_t seed, int threads) {
  TuneOptions o;
  o.families = {"hpa", "predictive"};
  o.samples = 5;
  o.refine = 4;
  o.seed = seed;
  o.threads = threads;
  o.slo = {*parse_slo("under_provisioned_time_pct <= 5")};
  return o;
}

TEST(Tune, SameSeedSameResultWhateverTheThreads) {
  const Trace t = trace();
  auto a = run_tune(scenario(), t, options(7, 1));
  auto b = run_tune(scenario(), t, options(7, 2));
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(tune_report_to_json(*a).dump(), tune_report_to_json(*b).dump());
  auto c = run_tune(scenario(), t, options(8, 2));
  ASSERT_TRUE(c);
  // Another seed draws other candidates (the preset stays first).
  EXPECT_EQ(a->families[0].candidates[0].params, c->families[0].candidates[0].params);
  bool differ = false;
  for (std::size_t i = 1; i < a->families[0].candidates.size(); ++i) {
    differ |= a->families[0].candidates[i].params != c->families[0].candidates[i].params;
  }
  EXPECT_TRUE(differ);
}

// The search sees only the first two thirds: changing the rest changes no tune figure and no
// choice, only the held-out figures.
TEST(Tune, HeldOutPartIsNotSeenBySearch) {
  auto base = run_tune(scenario(), trace(1.0), options(3, 2));
  auto busier = run_tune(scenario(), trace(1.5), options(3, 2));
  ASSERT_TRUE(base && busier);
  EXPECT_EQ(base->tune_steps, 768);
  EXPECT_EQ(base->held_out_steps, 384);
  EXPECT_EQ(base->split_at, kStart + minutes(5) * 768);
  for (std::size_t f = 0; f < base->families.size(); ++f) {
    const TuneFamily& x = base->families[f];
    const TuneFamily& y = busier->families[f];
    EXPECT_EQ(x.best, y.best) << x.name;
    for (std::size_t i = 0; i < x.candidates.size(); ++i) {
      EXPECT_EQ(x.candidates[i].tune.money, y.candidates[i].tune.money) << x.name << " " << i;
    }
    if (x.best >= 0) {
      EXPECT_GT(y.held_out.money, x.held_out.money * 1.2) << x.name;
    }
  }
}

TEST(Tune, BestIsTheCheapestMeetingTheSloAndTheFrontIsPareto) {
  auto r = run_tune(scenario(), trace(), options(5, 2));
  ASSERT_TRUE(r);
  for (const TuneFamily& f : r->families) {
    SCOPED_TRACE(f.name);
    // The random sample, then at most `refine` neighbours of the incumbent.
    EXPECT_GE(f.candidates.size(), 5u);
    EXPECT_LE(f.candidates.size(), 9u);
    EXPECT_EQ(f.candidates[0].params.size(), f.name == "hpa" ? 5u : 9u);
    for (std::size_t i = 0; i < f.candidates.size(); ++i) {
      const TuneCandidate& c = f.candidates[i];
      ASSERT_TRUE(c.tune.error.empty()) << c.tune.error;
      EXPECT_EQ(c.meets, c.tune.under_pct <= 5);
      if (c.meets && f.best >= 0) {
        EXPECT_GE(c.tune.money, f.candidates[static_cast<std::size_t>(f.best)].tune.money);
      }
    }
    ASSERT_FALSE(f.pareto.empty());
    for (std::size_t k = 1; k < f.pareto.size(); ++k) {
      const TuneFigures& a = f.candidates[static_cast<std::size_t>(f.pareto[k - 1])].tune;
      const TuneFigures& b = f.candidates[static_cast<std::size_t>(f.pareto[k])].tune;
      EXPECT_LE(a.money, b.money);
      EXPECT_GT(a.under_pct, b.under_pct);
    }
    // Nothing off the front dominates a point on it.
    for (int p : f.pareto) {
      const TuneFigures& on = f.candidates[static_cast<std::size_t>(p)].tune;
      for (const TuneCandidate& c : f.candidates) {
        EXPECT_FALSE(c.tune.money < on.money && c.tune.under_pct < on.under_pct);
      }
    }
  }
  // The winners come out as YAML the scenario loader reads back.
  const std::string yaml = winners_yaml(*r);
  EXPECT_NE(yaml.find("- group:\n    name: tuned-"), std::string::npos) << yaml;
}

// Refinement only moves to a better incumbent: the winner is at least as cheap as the best of
// the random sample alone, and every refined candidate is one step away from an earlier one.
TEST(Tune, RefinementImprovesOnTheRandomSample) {
  TuneOptions random_only = options(11, 2);
  random_only.refine = 0;
  TuneOptions refined = options(11, 2);
  refined.refine = 12;
  auto a = run_tune(scenario(), trace(), random_only);
  auto b = run_tune(scenario(), trace(), refined);
  ASSERT_TRUE(a && b);
  for (std::size_t f = 0; f < a->families.size(); ++f) {
    SCOPED_TRACE(a->families[f].name);
    EXPECT_EQ(a->families[f].candidates.size(), 5u);
    // The random phase is the same in both.
    for (std::size_t i = 0; i < 5; ++i) {
      EXPECT_EQ(a->families[f].candidates[i].params, b->families[f].candidates[i].params);
    }
    if (a->families[f].best < 0) continue;
    ASSERT_GE(b->families[f].best, 0);
    EXPECT_LE(b->families[f].candidates[static_cast<std::size_t>(b->families[f].best)].tune.money,
              a->families[f].candidates[static_cast<std::size_t>(a->families[f].best)].tune.money);
    for (std::size_t i = 5; i < b->families[f].candidates.size(); ++i) {
      const auto& p = b->families[f].candidates[i].params;
      bool near = false;
      for (std::size_t j = 0; j < i; ++j) {
        const auto& q = b->families[f].candidates[j].params;
        int moved = 0;
        for (std::size_t k = 0; k < p.size(); ++k) moved += p[k].second != q[k].second ? 1 : 0;
        near |= moved == 1;
      }
      EXPECT_TRUE(near) << i;
    }
  }
}

// A stacked family starts from its base's incumbent: its random sample keeps every base parameter
// at the base's value and varies the forecast only; its group is the base's with the forecast
// added. Without the base searched, the base's preset is the start.
TEST(Tune, StackedFamilyStartsFromTheBaseIncumbent) {
  TuneOptions o = options(4, 2);
  o.families = {"hpa", "predictive+hpa"};
  o.refine = 0;
  auto r = run_tune(scenario(), trace(), o);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->families.size(), 2u);
  const TuneFamily& hpa = r->families[0];
  const TuneFamily& stacked = r->families[1];
  EXPECT_TRUE(stacked.predictive);
  // The incumbent of hpa: the cheapest meeting the SLO (or the least under-provisioned).
  std::size_t incumbent = 0;
  for (std::size_t i = 1; i < hpa.candidates.size(); ++i) {
    const TuneCandidate& x = hpa.candidates[i];
    const TuneCandidate& y = hpa.candidates[incumbent];
    if (x.meets != y.meets
            ? x.meets
            : (x.meets ? x.tune.money < y.tune.money : x.tune.under_pct < y.tune.under_pct)) {
      incumbent = i;
    }
  }
  const auto& base = hpa.candidates[incumbent].params;
  ASSERT_EQ(stacked.candidates.size(), 5u);
  std::set<std::string> forecasts;
  for (const TuneCandidate& c : stacked.candidates) {
    ASSERT_EQ(c.params.size(), 5u + base.size());
    EXPECT_EQ(c.params[0].first, "forecaster");
    const std::vector<std::pair<std::string, std::string>> tail(c.params.begin() + 5,
                                                                c.params.end());
    EXPECT_EQ(tail, base);
    std::string forecast;
    for (std::size_t k = 0; k < 5; ++k) forecast += c.params[k].second + "/";
    forecasts.insert(forecast);
    EXPECT_NE(c.yaml.find("name: tuned-predictive-hpa\n"), std::string::npos) << c.yaml;
    EXPECT_NE(c.yaml.find("policies:\n  - { type: predictive, name: forecast"), std::string::npos)
        << c.yaml;
    EXPECT_NE(c.yaml.find("{ type: target-tracking, name: cpu, metric: { source: hpa-cpu }"),
              std::string::npos)
        << c.yaml;
  }
  EXPECT_EQ(forecasts.size(), 5u) << "the draws vary the forecast";

  // Alone, it starts from hpa's preset (target 80, tolerance 0.1, window 5m, HPA's rates).
  o.families = {"predictive+hpa"};
  auto alone = run_tune(scenario(), trace(), o);
  ASSERT_TRUE(alone) << alone.error().message;
  const auto& first = alone->families[0].candidates[0].params;
  EXPECT_EQ(first[5], (std::pair<std::string, std::string>{"target", "80"}));
  EXPECT_EQ(first[6], (std::pair<std::string, std::string>{"tolerance", "0.1"}));
  EXPECT_EQ(first[7], (std::pair<std::string, std::string>{"scale_down_window", "5m"}));
}

TEST(Tune, Errors) {
  const Trace t = trace();
  TuneOptions o = options(1, 1);
  o.families = {"hpa", "nope"};
  auto r = run_tune(scenario(), t, o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("unknown family 'nope'"), std::string::npos);
  o = options(1, 1);
  o.split = 1;
  EXPECT_FALSE(run_tune(scenario(), t, o));
  Trace tiny = t;
  tiny.load.resize(3);
  EXPECT_FALSE(run_tune(scenario(), tiny, options(1, 1)));
}

}  // namespace
}  // namespace tide::sim
