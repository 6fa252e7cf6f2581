#include "config/config.hpp"

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "policy/cron.hpp"
#include "targets/registry.hpp"

namespace tide {
namespace {

// Lines 1-5 of most cases; the group under test starts on line 6.
constexpr const char* kHead = R"y(sources:
  - name: prom
    type: prometheus
    url: http://127.0.0.1:9090
groups:
)y";

// A valid group (lines 6-13 after kHead).
constexpr const char* kGroup = R"y(  - name: web
    target: { type: static }
    min: 1
    max: 10
    policies:
      - type: target-tracking
        metric: { source: prom, query: up }
        target: 50
)y";

std::string dump(const Diagnostics& diags) {
  std::string out;
  for (const Diagnostic& d : diags) out += format_diagnostic(d) + "\n";
  return out;
}

// ---- error cases: one per kind, with the exact position and a fragment of the message ---------

struct ErrorCase {
  const char* name;
  std::string yaml;
  int line;
  int column;
  const char* fragment;
};

std::string with_head(const std::string& rest) {
  return std::string(kHead) + rest;
}

std::vector<ErrorCase> error_cases() {
  std::string policies17;
  for (int i = 0; i < 17; ++i) {
    policies17 +=
        "      - { type: queue, metric: {source: prom, query: q}, target_per_instance: 5 }\n";
  }
  return {
      // YAML syntax
      {"yaml_unclosed_flow", with_head("  - { name: web, min: 1\n"), 7, 1, "invalid YAML"},
      {"yaml_bad_indentation", "groups:\n  - name: web\n   min: 1\n", 3, 4, "invalid YAML"},
      {"yaml_two_documents", with_head(kGroup) + "---\nfoo: 1\n", 14, 1,
       "expected one YAML document, found more"},
      // yaml-cpp 0.7's LoadAll() never returns on these (jbeder/yaml-cpp#1040).
      {"yaml_lone_comma", ",\n", 1, 1, "invalid YAML: unexpected ','"},
      {"yaml_comma_after_comment", "# a comment\n, name: x\n", 2, 1, "invalid YAML"},
      {"empty_file", "", 1, 1, "the config is empty"},
      {"top_level_list", "- a\n- b\n", 1, 1, "expected a mapping at the top level, got a list"},
      // unknown keys, with suggestions
      {"unknown_top_key", "grups:\n" + std::string(kGroup), 1, 1,
       "unknown key 'grups' in the top level (did you mean 'groups'?)"},
      {"unknown_group_key",
       with_head("  - name: web\n    mn: 1\n    target: {type: static}\n    max: 3\n"
                 "    policies: [{type: scheduled, cron: '0 8 * * *', duration: 1h, min: 2}]\n"),
       7, 5, "unknown key 'mn' in group (did you mean 'min'?)"},
      {"unknown_policy_key", with_head(std::string(kGroup) + "        tolerence: 0.2\n"), 14, 9,
       "unknown key 'tolerence' in target-tracking policy (did you mean 'tolerance'?)"},
      {"unknown_query_key",
       with_head("  - name: web\n    target: {type: static}\n    max: 3\n    policies:\n"
                 "      - type: queue\n        metric: {source: prom, querry: up}\n"
                 "        target_per_instance: 5\n"),
       11, 32, "unknown key 'querry' in metric query of source 'prom' (prometheus) (did you mean"},
      {"unknown_target_key",
       with_head("  - name: web\n    target: {type: aws-asg, name: a, regoin: eu-west-1}\n"
                 "    max: 3\n    policies: [{type: scheduled, cron: '0 8 * * *', duration: 1h, "
                 "min: 2}]\n"),
       7, 38, "unknown key 'regoin' in target (aws-asg) (did you mean 'region'?)"},
      {"source_key_in_metric",
       with_head("  - name: web\n    target: {type: static}\n    max: 3\n    policies:\n"
                 "      - type: queue\n        metric: {source: prom, query: up, timeout: 5s}\n"
                 "        target_per_instance: 5\n"),
       11, 43, "a key of the source itself"},
      // unknown types, listing the known ones
      {"unknown_policy_type",
       with_head("  - name: web\n    target: {type: static}\n    max: 3\n    policies:\n"
                 "      - type: target_tracking\n"),
       10, 15,
       "unknown policy type 'target_tracking' (did you mean 'target-tracking'?); known types: "
       "target-tracking, step, simple, scheduled, queue, panic"},
      {"unknown_target_type",
       with_head("  - name: web\n    target: {type: aws_asg}\n    max: 3\n"
                 "    policies: [{type: scheduled, cron: '0 8 * * *', duration: 1h, min: 2}]\n"),
       7, 20,
       "unknown target type 'aws_asg' (did you mean 'aws-asg'?); known types: local-process"},
      {"unknown_source_type", "sources:\n  - {name: q, type: redis-list, url: redis://x}\n", 2, 21,
       "unknown source type 'redis-list'"},
      // wrong value types
      {"number_expected",
       with_head("  - name: web\n    target: {type: static}\n    max: 3\n"
                 "    policies:\n      - type: target-tracking\n"
                 "        metric: {source: prom, query: up}\n"
                 "        target: abc\n"),
       12, 17, "target: expected a number, got 'abc'"},
      {"whole_number_expected",
       with_head("  - name: web\n    target: {type: static}\n    min: 2.5\n    max: 3\n"
                 "    policies: [{type: scheduled, cron: '0 8 * * *', duration: 1h, min: 2}]\n"),
       8, 10, "min: expected a whole number, got '2.5'"},
      {"bool_expected", with_head(std::string(kGroup) + "    dry_run: maybe\n"), 14, 14,
       "dry_run: expected true or false, got 'maybe'"},
      {"string_expected", "groups:\n  - name: [a, b]\n", 2, 11,
       "name: expected a string, got a list"},
      {"mapping_expected",
       with_head("  - name: web\n    target: aws-asg\n    max: 3\n"
                 "    policies: [{type: scheduled, cron: '0 8 * * *', "
                 "duration: 1h, min: 2}]\n"),
       7, 13, "target: expected a mapping with 'type', got 'aws-asg'"},
      {"list_expected",
       with_head("  - name: web\n    target: {type: static}\n    max: 3\n"
                 "    policies: {type: queue}\n"),
       9, 15, "policies: expected a list of policies, got a mapping"},
      {"choice_expected", with_head(std::string(kGroup) + "        target_type: utilisation\n"), 14,
       22,
       "target_type: unknown value 'utilisation' (did you mean 'utilization'?); expected one of: "
       "utilization, value, total"},
      // durations
      {"bad_duration_unit",
       with_head("  - name: web\n    interval: 15x\n" + std::string(kGroup).substr(14)), 7, 15,
       "interval: invalid duration '15x'"},
      {"bad_duration_bare_number",
       with_head("  - name: web\n    interval: 15\n" + std::string(kGroup).substr(14)), 7, 15,
       "invalid duration '15'"},
      {"negative_duration",
       with_head("  - name: web\n    interval: -5s\n" + std::string(kGroup).substr(14)), 7, 15,
       "invalid duration '-5s'"},
      {"zero_interval",
       with_head("  - name: web\n    interval: 0\n" + std::string(kGroup).substr(14)), 7, 15,
       "interval must be greater than 0, got 0s"},
      // cron and time zone
      {"bad_cron",
       with_head("  - name: web\n    target: {type: static}\n    max: 3\n    policies:\n"
                 "      - type: scheduled\n        cron: '0 25 * * *'\n        duration: 1h\n"
                 "        min: 2\n"),
       11, 15, "cron: invalid expression '0 25 * * *'"},
      {"bad_cron_fields",
       with_head("  - name: web\n    target: {type: static}\n    max: 3\n    policies:\n"
                 "      - type: scheduled\n        cron: '0 8 * *'\n        duration: 1h\n"
                 "        min: 2\n"),
       11, 15, "cron: invalid expression '0 8 * *'"},
      {"bad_end_cron",
       with_head("  - name: web\n    target: {type: static}\n    max: 3\n    policies:\n"
                 "      - type: scheduled\n        cron: '0 8 * * *'\n        end: 'at five'\n"
                 "        min: 2\n"),
       12, 14, "end: invalid cron expression 'at five'"},
      {"bad_timezone",
       with_head("  - name: web\n    target: {type: static}\n    max: 3\n    policies:\n"
                 "      - type: scheduled\n        cron: '0 8 * * *'\n        duration: 1h\n"
                 "        timezone: Mars/Olympus\n        min: 2\n"),
       13, 19, "timezone: "},
      {"scheduled_needs_end",
       with_head("  - name: web\n    target: {type: static}\n    max: 3\n    policies:\n"
                 "      - type: scheduled\n        cron: '0 8 * * *'\n        min: 2\n"),
       10, 9, "scheduled policy needs 'end' (a cron expression) or 'duration'"},
      {"scheduled_end_and_duration",
       with_head("  - name: web\n    target: {type: static}\n    max: 3\n    policies:\n"
                 "      - type: scheduled\n        cron: '0 8 * * *'\n        end: '0 9 * * *'\n"
                 "        duration: 1h\n        min: 2\n"),
       13, 9, "'end' and 'duration' cannot be used together"},
      {"scheduled_needs_bounds",
       with_head("  - name: web\n    target: {type: static}\n    max: 3\n    policies:\n"
                 "      - type: scheduled\n        cron: '0 8 * * *'\n        duration: 1h\n"),
       10, 9, "needs at least one of 'capacity', 'min', 'max'"},
      // bounds and negative values
      {"min_greater_than_max",
       with_head("  - name: web\n    target: {type: static}\n"
                 "    min: 5\n    max: 2\n"
                 "    policies: [{type: scheduled, cron: '0 8 * * *', "
                 "duration: 1h, min: 2}]\n"),
       8, 10, "min (5) is greater than max (2)"},
      {"max_below_default_min",
       with_head("  - name: web\n    target: {type: static}\n"
                 "    max: 0\n"
                 "    policies: [{type: scheduled, cron: '0 8 * * *', "
                 "duration: 1h, min: 0}]\n"),
       8, 10, "max (0) is less than min (1, the default)"},
      {"negative_min",
       with_head("  - name: web\n    target: {type: static}\n"
                 "    min: -1\n    max: 2\n"
                 "    policies: [{type: scheduled, cron: '0 8 * * *', "
                 "duration: 1h, min: 2}]\n"),
       8, 10, "min must not be negative, got -1"},
      {"negative_fallback", with_head(std::string(kGroup) + "    fallback: {capacity: -3}\n"), 14,
       26, "capacity must not be negative, got -3"},
      {"negative_activation",
       with_head("  - name: web\n    target: {type: static}\n    max: 3\n    policies:\n"
                 "      - {type: queue, metric: {source: prom, query: q}, "
                 "target_per_instance: 5, activation: -1}\n"),
       10, 93, "activation must not be negative, got -1"},
      {"scheduled_min_gt_max",
       with_head("  - name: web\n    target: {type: static}\n    max: 9\n    policies:\n"
                 "      - {type: scheduled, cron: '0 8 * * *', duration: 1h, min: 5, max: 4}\n"),
       10, 65, "min (5) is greater than max (4)"},
      {"max_too_large",
       with_head("  - name: web\n    target: {type: static}\n"
                 "    max: 2000000\n"
                 "    policies: [{type: scheduled, cron: '0 8 * * *', "
                 "duration: 1h, min: 2}]\n"),
       8, 10, "max must be at most 1000000, got 2000000"},
      // duplicates
      {"duplicate_group", with_head(std::string(kGroup) + kGroup), 14, 11,
       "duplicate group name 'web' (first defined at line 6)"},
      {"duplicate_source", "sources:\n  - {name: p, type: system}\n  - {name: p, type: system}\n",
       3, 12, "duplicate source name 'p' (first defined at line 2)"},
      {"duplicate_key",
       with_head("  - name: web\n    max: 3\n    max: 4\n" + std::string(kGroup).substr(14)), 8, 5,
       "duplicate key 'max' in group (first at line 7)"},
      {"duplicate_policy_name",
       with_head("  - name: web\n    target: {type: static}\n    max: 3\n    policies:\n"
                 "      - {name: a, type: scheduled, cron: '0 8 * * *', duration: 1h, min: 2}\n"
                 "      - {name: a, type: scheduled, cron: '0 9 * * *', duration: 1h, min: 2}\n"),
       11, 16, "duplicate policy name 'a' (first at line 10)"},
      // sources
      {"undefined_source",
       with_head("  - name: web\n    target: {type: static}\n    max: 3\n"
                 "    policies:\n      - type: queue\n"
                 "        metric: {source: promm, query: q}\n"
                 "        target_per_instance: 5\n"),
       11, 26,
       "metric source 'promm' is not defined under 'sources:' (did you mean 'prom'?); defined "
       "sources: prom"},
      {"undefined_source_shorthand",
       "groups:\n  - name: web\n    target: {type: static}\n    max: 3\n    policies:\n"
       "      - {type: queue, metric: load, target_per_instance: 5}\n",
       6, 31, "metric source 'load' is not defined under 'sources:'"},
      {"shorthand_needs_query",
       with_head("  - name: web\n    target: {type: static}\n"
                 "    max: 3\n    policies:\n"
                 "      - {type: queue, metric: prom, "
                 "target_per_instance: 5}\n"),
       10, 31, "source 'prom' (prometheus) needs query keys ('query')"},
      {"source_exactly_one_of", "sources:\n  - {name: s, type: static}\n", 2, 5,
       "source 's' (static) needs one of 'value', 'series'"},
      {"source_both_of", "sources:\n  - {name: s, type: static, value: 1, series: [1, 2]}\n", 2, 39,
       "'value' and 'series' cannot be used together"},
      {"query_needs",
       with_head("  - name: web\n    target: {type: static}\n    max: 3\n"
                 "    policies:\n      - type: queue\n"
                 "        metric: {source: cloudwatch, name: Backlog}\n"
                 "        target_per_instance: 5\n"),
       11, 38, "'name' needs 'namespace'"},
      {"source_bad_url", "sources:\n  - {name: p, type: prometheus, url: 'localhost:9090'}\n", 2,
       38, "url: expected an http:// or https:// URL, got 'localhost:9090'"},
      {"source_query_key_at_source_level",
       "sources:\n  - {name: p, type: prometheus, url: 'http://x', query: up}\n", 2, 50,
       "a metric query key: write it in the policy's metric"},
      // missing required keys
      {"missing_max",
       with_head("  - name: web\n    target: {type: static}\n"
                 "    policies: [{type: scheduled, cron: '0 8 * * *', "
                 "duration: 1h, min: 2}]\n"),
       6, 5, "missing required key 'max' in group"},
      {"missing_groups", "state: ./x.db\n", 1, 1, "missing required key 'groups' in the top level"},
      {"missing_target_type",
       with_head("  - name: web\n    target: {name: x}\n    max: 3\n"
                 "    policies: [{type: scheduled, cron: '0 8 * * *', "
                 "duration: 1h, min: 2}]\n"),
       7, 13, "missing required key 'type' in target"},
      {"missing_metric",
       with_head("  - name: web\n    target: {type: static}\n    max: 3\n"
                 "    policies:\n      - type: target-tracking\n"
                 "        target: 5\n"),
       10, 9, "missing required key 'metric' in target-tracking policy"},
      {"missing_target_key",
       with_head("  - name: web\n    target: {type: aws-asg}\n    max: 3\n"
                 "    policies: [{type: scheduled, cron: '0 8 * * *', "
                 "duration: 1h, min: 2}]\n"),
       7, 13, "missing required key 'name' in target (aws-asg)"},
      {"lambda_memory_needs_a_timeout",
       with_head("  - name: fn\n    target: {type: static}\n    max: 3008\n"
                 "    policies:\n      - type: lambda-memory\n"
                 "        metric: { source: prom, query: p99 }\n"),
       10, 9,
       "missing required key 'function_timeout' in lambda-memory policy (the function's "
       "timeout; or set `timeout` on the aws-lambda-memory target)"},
      {"lambda_memory_threads",
       with_head("  - name: fn\n    target: {type: static}\n    max: 3008\n"
                 "    policies:\n      - type: lambda-memory\n"
                 "        threads: 8\n        function_timeout: 3s\n"
                 "        metric: { source: prom, query: p99 }\n"),
       11, 18, "threads must be at most 6, got 8"},
      {"lambda_memory_timeout_percent",
       with_head("  - name: fn\n    target: {type: static}\n    max: 3008\n"
                 "    policies:\n      - type: lambda-memory\n"
                 "        timeout_percent: 0\n        function_timeout: 3s\n"
                 "        metric: { source: prom, query: p99 }\n"),
       11, 26, "timeout_percent must be greater than 0, got 0"},
      {"lambda_memory_function_timeout",
       with_head("  - name: fn\n    target: {type: static}\n    max: 3008\n"
                 "    policies:\n      - type: lambda-memory\n"
                 "        function_timeout: 20m\n"
                 "        metric: { source: prom, query: p99 }\n"),
       11, 27, "function_timeout must be at most 15m, got 20m"},
      {"empty_policies",
       with_head("  - name: web\n    target: {type: static}\n    max: 3\n"
                 "    policies: []\n"),
       9, 15, "a group needs at least one policy"},
      {"too_many_policies",
       with_head("  - name: web\n    target: {type: static}\n    max: 3\n"
                 "    policies:\n" +
                 policies17),
       26, 9, "too many policies: a group holds at most 16"},
      // semantic ranges
      {"target_not_positive",
       with_head("  - name: web\n    target: {type: static}\n    max: 3\n    policies:\n"
                 "      - type: target-tracking\n        metric: {source: prom, query: up}\n"
                 "        target: 0\n"),
       12, 17, "target must be greater than 0, got 0"},
      {"tolerance_too_large", with_head(std::string(kGroup) + "        tolerance: 1\n"), 14, 20,
       "tolerance must be less than 1, got 1"},
      {"tolerance_conflict",
       with_head(std::string(kGroup) + "        tolerance: 0.1\n        tolerance_up: 0.2\n"), 15,
       9, "'tolerance_up' cannot be combined with 'tolerance'"},
      {"panic_threshold_too_low",
       with_head("  - name: web\n    target: {type: static}\n    max: 3\n    policies:\n"
                 "      - type: panic\n        metric: {source: prom, query: c}\n"
                 "        target: 10\n        panic_threshold: 90\n"),
       13, 26, "panic_threshold must be greater than 100, got 90"},
      {"predictive_unknown_forecaster",
       with_head("  - name: web\n    target: {type: static}\n    max: 3\n    policies:\n"
                 "      - type: predictive\n        metric: {source: prom, query: c}\n"
                 "        target: 10\n        forecaster: holt-winter\n"),
       13, 21, "forecaster: unknown value 'holt-winter'"},
      {"predictive_resolution_not_dividing_a_day",
       with_head("  - name: web\n    target: {type: static}\n    max: 3\n    policies:\n"
                 "      - type: predictive\n        metric: {source: prom, query: c}\n"
                 "        target: 10\n        resolution: 7m\n"),
       13, 21, "resolution must divide a day"},
      {"predictive_history_short",
       with_head("  - name: web\n    target: {type: static}\n    max: 3\n    policies:\n"
                 "      - type: predictive\n        metric: {source: prom, query: c}\n"
                 "        target: 10\n        history: 12h\n"),
       13, 18, "history must be at least 1d, got 12h"},
      {"predictive_buffer_needs_increase",
       with_head("  - name: web\n    target: {type: static}\n    max: 3\n    policies:\n"
                 "      - type: predictive\n        metric: {source: prom, query: c}\n"
                 "        target: 10\n        max_capacity_buffer: 10\n"),
       13, 30, "max_capacity_buffer needs max_capacity_breach: increase"},
      {"predictive_needs_target",
       with_head("  - name: web\n    target: {type: static}\n    max: 3\n    policies:\n"
                 "      - type: predictive\n        metric: {source: prom, query: c}\n"),
       10, 9, "missing required key 'target' in predictive policy"},
      {"panic_rate_too_low",
       with_head("  - name: web\n    target: {type: static}\n    max: 3\n    policies:\n"
                 "      - type: panic\n        metric: {source: prom, query: c}\n"
                 "        target: 10\n        max_scale_down_rate: 1\n"),
       13, 30, "max_scale_down_rate must be greater than 1, got 1"},
      {"panic_stable_window_short",
       with_head("  - name: web\n    target: {type: static}\n    max: 3\n    policies:\n"
                 "      - type: panic\n        metric: {source: prom, query: c}\n"
                 "        target: 10\n        stable_window: 5s\n"),
       13, 24, "stable_window must be at least 6s, got 5s"},
      {"step_overlap",
       with_head("  - name: web\n    target: {type: static}\n    max: 9\n    policies:\n"
                 "      - type: step\n        metric: {source: prom, query: c}\n"
                 "        threshold: 50\n        steps:\n"
                 "          - {lower: 0, upper: 10, adjustment: 1}\n"
                 "          - {lower: 5, adjustment: 2}\n"),
       15, 13, "step [5, +inf) overlaps step [0, 10) (line 14)"},
      {"step_gap",
       with_head("  - name: web\n    target: {type: static}\n    max: 9\n    policies:\n"
                 "      - type: step\n        metric: {source: prom, query: c}\n"
                 "        threshold: 50\n        steps:\n"
                 "          - {lower: 0, upper: 10, adjustment: 1}\n"
                 "          - {lower: 20, adjustment: 2}\n"),
       15, 13, "gap between steps [0, 10) and [20, +inf)"},
      {"step_spans_threshold",
       with_head("  - name: web\n    target: {type: static}\n    max: 9\n    policies:\n"
                 "      - type: step\n        metric: {source: prom, query: c}\n"
                 "        threshold: 50\n        steps:\n"
                 "          - {lower: -5, upper: 5, adjustment: 1}\n"),
       14, 13, "step [-5, 5) spans the threshold"},
      {"step_lower_not_below_upper",
       with_head("  - name: web\n    target: {type: static}\n    max: 9\n    policies:\n"
                 "      - type: step\n        metric: {source: prom, query: c}\n"
                 "        threshold: 50\n        steps:\n"
                 "          - {lower: 10, upper: 5, adjustment: 1}\n"),
       14, 14, "lower (10) must be less than upper (5)"},
      {"step_unbounded_both",
       with_head("  - name: web\n    target: {type: static}\n    max: 9\n    policies:\n"
                 "      - type: step\n        metric: {source: prom, query: c}\n"
                 "        threshold: 50\n        steps:\n          - {adjustment: 1}\n"),
       14, 13, "a step adjustment needs 'lower' or 'upper'"},
      {"step_exact_negative",
       with_head("  - name: web\n    target: {type: static}\n    max: 9\n    policies:\n"
                 "      - type: step\n        metric: {source: prom, query: c}\n"
                 "        threshold: 50\n        adjustment_type: exact\n        steps:\n"
                 "          - {lower: 0, adjustment: -1}\n"),
       15, 36, "adjustment must be a whole number of at least 0 with adjustment_type: exact"},
      {"min_magnitude_without_percent",
       with_head("  - name: web\n    target: {type: static}\n    max: 9\n    policies:\n"
                 "      - type: step\n        metric: {source: prom, query: c}\n"
                 "        threshold: 50\n        min_adjustment_magnitude: 2\n        steps:\n"
                 "          - {lower: 0, adjustment: 1}\n"),
       13, 9, "min_adjustment_magnitude only applies to adjustment_type: percent"},
      {"rate_limit_zero",
       with_head(std::string(kGroup) +
                 "    behavior:\n      scale_up:\n        policies: [{type: percent, value: 0}]\n"),
       16, 43, "value must be greater than 0, got 0"},
      {"rate_limit_period_long",
       with_head(std::string(kGroup) +
                 "    behavior:\n      scale_down:\n"
                 "        policies: [{type: percent, value: 10, period: 1h}]\n"),
       16, 55, "period must be at most 30m, got 1h"},
      {"stabilization_long",
       with_head(std::string(kGroup) + "    behavior:\n      scale_down: {stabilization: 2h}\n"),
       15, 35, "stabilization must be at most 1h, got 2h"},
      {"select_typo",
       with_head(std::string(kGroup) + "    behavior:\n      scale_down: {select: maximum}\n"), 15,
       28, "select: unknown value 'maximum' (did you mean 'max'?)"},
      {"target_exactly_one_of",
       with_head("  - name: web\n    target: {type: aws-ec2, "
                 "instance_ids: [i-1], tags: {a: b}}\n    max: 3\n"
                 "    policies: [{type: scheduled, cron: '0 8 * * *', "
                 "duration: 1h, min: 2}]\n"),
       7, 50, "'instance_ids' and 'tags' cannot be used together in target (aws-ec2)"},
      {"bad_group_name", with_head("  - name: 'web tier'\n" + std::string(kGroup).substr(14)), 6,
       11, "invalid group name 'web tier'"},
      {"empty_groups", "groups: []\n", 1, 9, "groups: the list is empty"},
      {"listen_bad", "api: {listen: localhost}\n" + with_head(kGroup), 1, 15,
       "listen: expected HOST:PORT"},
      {"token_and_token_env", "api: {token: a, token_env: B}\n" + with_head(kGroup), 1, 17,
       "'token' and 'token_env' cannot be used together"},
      {"log_format", "log: {format: text}\n" + with_head(kGroup), 1, 15,
       "format: unknown value 'text'"},
      // numbers the loader refuses before any arithmetic
      {"huge_number", with_head(std::string(kGroup) + "        tolerance_up: 1e400\n"), 14, 23,
       "tolerance_up: number '1e400' is out of range"},
      {"large_number", with_head(std::string(kGroup) + "        tolerance_up: 1e300\n"), 14, 23,
       "is out of range (at most 1e+15 in magnitude)"},
      {"nan", with_head(std::string(kGroup) + "        tolerance_up: nan\n"), 14, 23,
       "tolerance_up: expected a finite number, got 'nan'"},
      {"yaml_inf", with_head(std::string(kGroup) + "        tolerance_up: .inf\n"), 14, 23,
       "tolerance_up: expected a number, got '.inf'"},
  };
}

void PrintTo(const ErrorCase& c, std::ostream* os) {
  *os << c.name;
}

// The offending line with a caret under `column`, for failure messages.
std::string point_at(const std::string& text, int line, int column) {
  std::istringstream in(text);
  std::string l;
  for (int i = 0; i < line && std::getline(in, l); ++i) {
  }
  return l + "\n" + std::string(static_cast<std::size_t>(std::max(column - 1, 0)), ' ') + "^";
}

class ConfigErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ConfigErrors, ReportsPositionAndMessage) {
  const ErrorCase& c = GetParam();
  auto result = parse_config(c.yaml, "t.yaml");
  ASSERT_FALSE(result.has_value()) << "config was accepted:\n" << c.yaml;
  const Diagnostics& diags = result.error();
  bool found = false;
  for (const Diagnostic& d : diags) {
    EXPECT_EQ(d.file, "t.yaml");
    if (d.line == c.line && d.column == c.column &&
        d.message.find(c.fragment) != std::string::npos) {
      found = true;
    }
  }
  std::string carets;
  for (const Diagnostic& d : diags) carets += point_at(c.yaml, d.line, d.column) + "\n";
  EXPECT_TRUE(found) << "expected t.yaml:" << c.line << ":" << c.column << ": ... " << c.fragment
                     << "\n"
                     << point_at(c.yaml, c.line, c.column) << "\ngot:\n"
                     << dump(diags) << carets;
}

INSTANTIATE_TEST_SUITE_P(EveryKind, ConfigErrors, ::testing::ValuesIn(error_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ConfigErrors, ReportsEveryErrorNotJustTheFirst) {
  std::string yaml = with_head(
      "  - name: web\n"
      "    interval: 15x\n"         // 7
      "    target: {type: nope}\n"  // 8
      "    min: 5\n"                // 9
      "    max: 2\n"                // 10
      "    policies:\n"
      "      - type: target-tracking\n"
      "        metric: {source: nowhere, query: up}\n"  // 13
      "        target: -3\n"                            // 14
      "        colour: blue\n");                        // 15
  auto result = parse_config(yaml, "t.yaml");
  ASSERT_FALSE(result.has_value());
  std::vector<int> lines;
  for (const Diagnostic& d : result.error()) lines.push_back(d.line);
  EXPECT_EQ(lines, (std::vector<int>{7, 8, 9, 13, 14, 15})) << dump(result.error());
}

TEST(ConfigErrors, DiagnosticFormat) {
  EXPECT_EQ(format_diagnostic({"a.yaml", 3, 7, "bad"}), "a.yaml:3:7: error: bad");
  EXPECT_EQ(format_diagnostic({"a.yaml", 0, 0, "cannot read"}), "a.yaml: error: cannot read");
}

TEST(ConfigErrors, MissingFile) {
  auto result = load_config("/nonexistent/tide.yaml");
  ASSERT_FALSE(result.has_value());
  ASSERT_EQ(result.error().size(), 1u);
  EXPECT_EQ(result.error()[0].line, 0);
  EXPECT_NE(result.error()[0].message.find("cannot read"), std::string::npos);
}

TEST(ConfigErrors, Directory) {
  auto result = load_config("/tmp");
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error()[0].message.find("directory"), std::string::npos);
}

// ---- good configs -------------------------------------------------------------------------------

TEST(ConfigLoad, MinimalWithDefaults) {
  auto result = parse_config(with_head(kGroup), "t.yaml");
  ASSERT_TRUE(result.has_value()) << dump(result.error());
  const Config& c = *result;
  EXPECT_EQ(c.state, "./tide.db");
  EXPECT_EQ(c.api.listen, "127.0.0.1:9460");
  EXPECT_EQ(c.log.format, LogFormat::kLogfmt);
  EXPECT_EQ(c.log.level, "info");
  EXPECT_FALSE(c.dry_run);
  ASSERT_EQ(c.sources.size(), 1u);
  EXPECT_EQ(c.sources[0].name, "prom");
  EXPECT_EQ(c.sources[0].type, "prometheus");
  EXPECT_EQ(c.sources[0].params["url"], "http://127.0.0.1:9090");
  ASSERT_EQ(c.groups.size(), 1u);
  const GroupSpec& g = c.groups[0];
  EXPECT_EQ(g.name, "web");
  EXPECT_EQ(g.interval, std::chrono::seconds(15));
  EXPECT_EQ(g.target.type, "static");
  EXPECT_EQ(g.min, 1);
  EXPECT_EQ(g.max, 10);
  ASSERT_EQ(g.policies.size(), 1u);
  EXPECT_EQ(g.policies[0].name, "target-tracking#1");
  const auto& tt = std::get<TargetTrackingSpec>(g.policies[0].spec);
  EXPECT_EQ(tt.metric.source, "prom");
  EXPECT_EQ(tt.metric.params["query"], "up");
  EXPECT_EQ(tt.target, 50);
  EXPECT_EQ(tt.kind, TargetKind::kUtilization);
  EXPECT_DOUBLE_EQ(tt.tolerance_up, 0.1);
  EXPECT_DOUBLE_EQ(tt.tolerance_down, 0.1);
  // HPA default behavior untouched.
  BehaviorSpec defaults;
  EXPECT_EQ(g.behavior.scale_down.stabilization, defaults.scale_down.stabilization);
  EXPECT_EQ(g.behavior.scale_up.policies.size(), 2u);
  EXPECT_FALSE(g.fallback.has_value());
}

TEST(ConfigLoad, EveryPolicyTypeAndKey) {
  const char* yaml = R"y(
state: /var/lib/tide/tide.db
api: { listen: "0.0.0.0:9999", token_env: TIDE_TOKEN }
dry_run: true
log: { format: json, level: debug }
sources:
  prom: { type: prometheus, url: "http://p:9090", timeout: 2s }
  fixed: { type: static, value: 42 }
  jobs: { type: redis, url: "redis://127.0.0.1:6379/0" }
groups:
  - name: all
    interval: 1m30s
    target: { type: local-process, command: "worker --port {port}", base_port: 8100 }
    min: 0
    max: 20
    policies:
      - name: tt
        type: target-tracking
        metric: { source: prom, query: avg(cpu) }
        target: 0.7
        target_type: value
        tolerance_up: 0.2
        tolerance_down: 0.05
        disable_scale_in: true
      - type: step
        metric: fixed
        threshold: 50
        adjustment_type: percent
        min_adjustment_magnitude: 2
        aggregation: maximum
        steps:
          - { upper: -20, adjustment: -30 }
          - { lower: -20, upper: 0, adjustment: -10 }
          - { lower: 0, upper: 10, adjustment: 0 }
          - { lower: 10, adjustment: 30 }
      - type: simple
        metric: { source: fixed, value: 80 }
        threshold: 75
        comparison: ">"
        adjustment_type: change
        adjustment: 2
        cooldown: 2m
        aggregation: minimum
      - type: scheduled
        cron: "0 8 * * MON-FRI"
        end: "0 18 * * MON-FRI"
        timezone: Europe/Berlin
        capacity: 4
        min: 2
        max: 15
      - type: queue
        metric: { source: jobs, key: jobs, kind: list }
        target_per_instance: 100
        activation: 5
      - type: panic
        metric: { source: prom, query: sum(concurrency) }
        target: 10
        total: 14
        stable_window: 2m
        panic_window_percentage: 5
        panic_threshold: 300
        max_scale_up_rate: 10
        max_scale_down_rate: 4
        scale_down_delay: 30s
        activation_scale: 2
        target_burst_capacity: -1
    behavior:
      scale_up: { stabilization: 30s, select: min, policies: [ { type: instances, value: 2, period: 1m } ] }
      scale_down: { select: disabled, policies: [] }
      scale_out_cooldown: 1m
      scale_in_cooldown: 5m
      warmup: 45s
    fallback: { failures: 5, capacity: 3 }
)y";
  auto result = parse_config(yaml, "t.yaml");
  ASSERT_TRUE(result.has_value()) << dump(result.error());
  const Config& c = *result;
  EXPECT_EQ(c.state, "/var/lib/tide/tide.db");
  EXPECT_EQ(c.api.listen, "0.0.0.0:9999");
  EXPECT_EQ(c.api.token_env, "TIDE_TOKEN");
  EXPECT_TRUE(c.dry_run);
  EXPECT_EQ(c.log.format, LogFormat::kJson);
  EXPECT_EQ(c.log.level, "debug");
  ASSERT_EQ(c.sources.size(), 3u);
  EXPECT_EQ(c.sources[0].params["timeout"], 2000);  // durations as milliseconds
  const GroupSpec& g = c.groups.at(0);
  EXPECT_TRUE(g.dry_run);  // from the global dry_run
  EXPECT_EQ(g.interval, std::chrono::seconds(90));
  EXPECT_EQ(g.min, 0);
  EXPECT_EQ(g.target.params["base_port"], 8100);
  ASSERT_EQ(g.policies.size(), 6u);

  const auto& tt = std::get<TargetTrackingSpec>(g.policies[0].spec);
  EXPECT_EQ(g.policies[0].name, "tt");
  EXPECT_EQ(tt.kind, TargetKind::kPerInstance);
  EXPECT_DOUBLE_EQ(tt.tolerance_up, 0.2);
  EXPECT_DOUBLE_EQ(tt.tolerance_down, 0.05);
  EXPECT_TRUE(tt.disable_scale_in);

  const auto& step = std::get<StepSpec>(g.policies[1].spec);
  EXPECT_EQ(g.policies[1].name, "step#2");
  EXPECT_EQ(step.metric.source, "fixed");  // shorthand
  EXPECT_EQ(step.adjustment_type, AdjustmentType::kPercent);
  EXPECT_EQ(step.min_adjustment_magnitude, 2);
  EXPECT_EQ(step.aggregation, Aggregation::kMaximum);
  ASSERT_EQ(step.steps.size(), 4u);
  EXPECT_FALSE(step.steps[0].lower.has_value());
  EXPECT_EQ(step.steps[0].upper, -20);
  EXPECT_EQ(step.steps[3].lower, 10);
  EXPECT_FALSE(step.steps[3].upper.has_value());

  const auto& simple = std::get<SimpleSpec>(g.policies[2].spec);
  EXPECT_EQ(simple.comparison, Comparison::kGreater);
  EXPECT_EQ(simple.adjustment, 2);
  EXPECT_EQ(simple.cooldown, std::chrono::minutes(2));
  EXPECT_EQ(simple.aggregation, Aggregation::kMinimum);
  EXPECT_EQ(simple.metric.params["value"], 80.0);

  const auto& sched = std::get<ScheduledSpec>(g.policies[3].spec);
  EXPECT_EQ(sched.cron_text, "0 8 * * MON-FRI");
  EXPECT_NE(sched.start, nullptr);
  EXPECT_NE(sched.end, nullptr);
  EXPECT_NE(sched.zone, nullptr);
  EXPECT_EQ(sched.timezone, "Europe/Berlin");
  EXPECT_EQ(sched.capacity, 4);
  EXPECT_EQ(sched.min, 2);
  EXPECT_EQ(sched.max, 15);

  const auto& queue = std::get<QueueSpec>(g.policies[4].spec);
  EXPECT_EQ(queue.target_per_instance, 100);
  EXPECT_EQ(queue.activation, 5);
  EXPECT_EQ(queue.metric.params["kind"], "list");

  const auto& panic = std::get<PanicSpec>(g.policies[5].spec);
  EXPECT_EQ(panic.target, 10);
  EXPECT_EQ(panic.total, 14);
  EXPECT_EQ(panic.stable_window, std::chrono::minutes(2));
  EXPECT_EQ(panic.panic_window_percentage, 5);
  EXPECT_DOUBLE_EQ(panic.panic_threshold, 3.0);  // 300 % stored as a ratio
  EXPECT_EQ(panic.max_scale_up_rate, 10);
  EXPECT_EQ(panic.max_scale_down_rate, 4);
  EXPECT_EQ(panic.scale_down_delay, std::chrono::seconds(30));
  EXPECT_EQ(panic.activation_scale, 2);
  EXPECT_EQ(panic.target_burst_capacity, -1);

  EXPECT_EQ(g.behavior.scale_up.stabilization, std::chrono::seconds(30));
  EXPECT_EQ(g.behavior.scale_up.select, SelectPolicy::kMin);
  ASSERT_EQ(g.behavior.scale_up.policies.size(), 1u);
  EXPECT_EQ(g.behavior.scale_up.policies[0].type, RateLimitType::kInstances);
  EXPECT_EQ(g.behavior.scale_up.policies[0].value, 2);
  EXPECT_EQ(g.behavior.scale_up.policies[0].period, std::chrono::minutes(1));
  EXPECT_EQ(g.behavior.scale_down.select, SelectPolicy::kDisabled);
  EXPECT_TRUE(g.behavior.scale_down.policies.empty());
  EXPECT_EQ(g.behavior.scale_down.stabilization, std::chrono::seconds(300));  // default kept
  EXPECT_EQ(g.behavior.scale_out_cooldown, std::chrono::minutes(1));
  EXPECT_EQ(g.behavior.scale_in_cooldown, std::chrono::minutes(5));
  EXPECT_EQ(g.behavior.warmup, std::chrono::seconds(45));
  ASSERT_TRUE(g.fallback.has_value());
  EXPECT_EQ(g.fallback->failures, 5);
  EXPECT_EQ(g.fallback->capacity, 3);
}

TEST(ConfigLoad, ToleranceSetsBothDirections) {
  auto result = parse_config(with_head(std::string(kGroup) + "        tolerance: 0.25\n"), "t");
  ASSERT_TRUE(result.has_value()) << dump(result.error());
  const auto& tt = std::get<TargetTrackingSpec>(result->groups[0].policies[0].spec);
  EXPECT_DOUBLE_EQ(tt.tolerance_up, 0.25);
  EXPECT_DOUBLE_EQ(tt.tolerance_down, 0.25);
}

TEST(ConfigLoad, LambdaMemoryKeysAndTheTargetsTimeout) {
  const char* yaml = R"y(
sources:
  cw: { type: cloudwatch, region: us-east-1 }
groups:
  - name: from-target
    target: { type: aws-lambda-memory, function: thumbs, timeout: 30s }
    min: 128
    max: 3008
    policies:
      - type: lambda-memory
        metric: { source: cw, namespace: AWS/Lambda, name: Duration, statistic: p99 }
  - name: every-key
    target: { type: aws-lambda-memory, function: thumbs, timeout: 30s }
    max: 10240
    policies:
      - name: mem
        type: lambda-memory
        metric: { source: cw, namespace: AWS/Lambda, name: Duration, statistic: p90 }
        function_timeout: 2m
        timeout_percent: 40
        step: 128
        threads: 2
        io_time: 150ms
        tolerance: 0.05
)y";
  auto result = parse_config(yaml, "t.yaml");
  ASSERT_TRUE(result.has_value()) << dump(result.error());
  const auto& defaults = std::get<LambdaMemorySpec>(result->groups[0].policies[0].spec);
  EXPECT_EQ(result->groups[0].policies[0].name, "lambda-memory#1");
  EXPECT_EQ(defaults.function_timeout, std::chrono::seconds(30));  // the target's
  EXPECT_DOUBLE_EQ(defaults.timeout_share, 0.5);
  EXPECT_EQ(defaults.step, 64);
  EXPECT_EQ(defaults.threads, 1);
  EXPECT_EQ(defaults.io_time, Duration{0});
  EXPECT_DOUBLE_EQ(defaults.tolerance, 0.1);
  EXPECT_DOUBLE_EQ(defaults.target_ms(), 15000);
  const auto& all = std::get<LambdaMemorySpec>(result->groups[1].policies[0].spec);
  EXPECT_EQ(all.function_timeout, std::chrono::minutes(2));  // its own wins
  EXPECT_DOUBLE_EQ(all.timeout_share, 0.4);
  EXPECT_EQ(all.step, 128);
  EXPECT_EQ(all.threads, 2);
  EXPECT_EQ(all.io_time, std::chrono::milliseconds(150));
  EXPECT_DOUBLE_EQ(all.tolerance, 0.05);
  EXPECT_EQ(all.metric.params["statistic"], "p90");
}

TEST(ConfigLoad, PanicDefaultsFollowKnative) {
  auto result = parse_config(
      with_head("  - name: k\n    target: {type: static}\n    max: 9\n    policies:\n"
                "      - {type: panic, metric: {source: prom, query: c}, target: 10}\n"),
      "t");
  ASSERT_TRUE(result.has_value()) << dump(result.error());
  const auto& p = std::get<PanicSpec>(result->groups[0].policies[0].spec);
  EXPECT_EQ(p.stable_window, std::chrono::seconds(60));
  EXPECT_DOUBLE_EQ(p.panic_window_percentage, 10);
  EXPECT_DOUBLE_EQ(p.panic_threshold, 2.0);
  EXPECT_EQ(p.total, 10);  // defaults to target
}

TEST(ConfigLoad, Predictive) {
  auto result = parse_config(
      with_head("  - name: p\n    target: {type: static}\n    max: 9\n    policies:\n"
                "      - type: predictive\n"
                "        metric: {source: prom, query: 'sum(rate(requests[1m]))'}\n"
                "        target: 40\n"
                "        forecaster: holt-winters-multiplicative-weekly\n"
                "        aggregation: max\n"
                "        resolution: 15m\n"
                "        history: 21d\n"
                "        forecast_interval: 30m\n"
                "        boot_delay: 4m\n"
                "        scheduling_buffer: 2m\n"
                "        forecast_only: true\n"
                "        max_capacity_breach: increase\n"
                "        max_capacity_buffer: 10\n"
                "      - {type: predictive, metric: {source: prom, query: c}, target: 5}\n"),
      "t");
  ASSERT_TRUE(result.has_value()) << dump(result.error());
  const auto& p = std::get<PredictiveSpec>(result->groups[0].policies[0].spec);
  EXPECT_EQ(result->groups[0].policies[0].type(), PolicyType::kPredictive);
  EXPECT_EQ(p.target, 40);
  EXPECT_EQ(p.forecast.model, ForecastModel::kHoltWintersMultiplicativeWeekly);
  EXPECT_EQ(p.forecast.statistic, BucketStatistic::kMax);
  EXPECT_EQ(p.forecast.resolution, std::chrono::minutes(15));
  EXPECT_EQ(p.forecast.history, std::chrono::hours(21 * 24));
  EXPECT_EQ(p.forecast.interval, std::chrono::minutes(30));
  EXPECT_EQ(p.boot_delay, std::chrono::minutes(4));
  EXPECT_EQ(p.scheduling_buffer, std::chrono::minutes(2));
  EXPECT_EQ(p.lead(), std::chrono::minutes(6));
  EXPECT_TRUE(p.forecast_only);
  EXPECT_EQ(p.max_capacity_breach, MaxCapacityBreach::kIncrease);
  EXPECT_EQ(p.max_capacity_buffer, 10);
  // Defaults: auto, 5 minutes, 14 days, hourly, AWS's 5-minute boot delay, honor.
  const auto& d = std::get<PredictiveSpec>(result->groups[0].policies[1].spec);
  EXPECT_EQ(d.forecast.model, ForecastModel::kAuto);
  EXPECT_EQ(d.forecast.statistic, BucketStatistic::kMean);
  EXPECT_EQ(d.forecast.resolution, std::chrono::minutes(5));
  EXPECT_EQ(d.forecast.history, std::chrono::hours(14 * 24));
  EXPECT_EQ(d.forecast.interval, std::chrono::hours(1));
  EXPECT_FALSE(d.boot_delay.has_value());
  EXPECT_EQ(d.lead(), std::chrono::minutes(5));
  EXPECT_FALSE(d.forecast_only);
  EXPECT_EQ(d.max_capacity_breach, MaxCapacityBreach::kHonor);
}

TEST(ConfigLoad, ImplicitSourcesByTypeName) {
  const char* yaml = R"y(
groups:
  - name: w
    target: { type: static }
    max: 5
    policies:
      - type: target-tracking
        metric: { source: cloudwatch, namespace: AWS/EC2, name: CPUUtilization, period: 1m }
        target: 55
      - type: queue
        metric: { source: sqs, queue_name: jobs }
        target_per_instance: 10
      - type: target-tracking
        metric: { source: cloudwatch, namespace: AWS/EC2, name: NetworkIn }
        target: 1000
)y";
  auto result = parse_config(yaml, "t");
  ASSERT_TRUE(result.has_value()) << dump(result.error());
  ASSERT_EQ(result->sources.size(), 2u);
  EXPECT_EQ(result->sources[0].name, "cloudwatch");
  EXPECT_TRUE(result->sources[0].implicit);
  EXPECT_EQ(result->sources[1].type, "sqs");
  const auto& tt = std::get<TargetTrackingSpec>(result->groups[0].policies[0].spec);
  EXPECT_EQ(tt.metric.params["period"], 60000);
}

TEST(ConfigLoad, SourcesAsMapOrList) {
  const char* yaml = R"y(
sources:
  - { name: a, type: static, value: 1 }
  - { name: b, type: static, series: [1, 2, 3], step: 10s }
groups:
  - name: w
    target: { type: static }
    max: 5
    policies:
      - { type: queue, metric: a, target_per_instance: 1 }
      - { type: queue, metric: b, target_per_instance: 1 }
)y";
  auto result = parse_config(yaml, "t");
  ASSERT_TRUE(result.has_value()) << dump(result.error());
  EXPECT_EQ(result->sources[1].params["series"].size(), 3u);
  EXPECT_EQ(result->sources[1].params["step"], 10000);
}

TEST(ConfigLoad, TopLevelDryRunFalseKeepsGroupDryRun) {
  auto result = parse_config(with_head(std::string(kGroup) + "    dry_run: true\n"), "t");
  ASSERT_TRUE(result.has_value()) << dump(result.error());
  EXPECT_FALSE(result->dry_run);
  EXPECT_TRUE(result->groups[0].dry_run);
}

// ---- parse_group (tide decide)
// -------------------------------------------------------------------

TEST(ParseGroup, JsonWithoutSourceChecks) {
  YAML::Node node = YAML::Load(R"y({"name": "api", "interval": "30s", "min": 1, "max": 8,
      "target": {"type": "static"},
      "policies": [{"type": "target-tracking", "target": 60,
                    "metric": {"source": "anything", "query": "x", "n": 3}}]})y");
  auto group = parse_group(node, "situation.json", nullptr);
  ASSERT_TRUE(group.has_value()) << dump(group.error());
  EXPECT_EQ(group->name, "api");
  EXPECT_EQ(group->interval, std::chrono::seconds(30));
  const auto& tt = std::get<TargetTrackingSpec>(group->policies[0].spec);
  EXPECT_EQ(tt.metric.source, "anything");
  EXPECT_EQ(tt.metric.params["query"], "x");
  EXPECT_EQ(tt.metric.params["n"], 3);
}

TEST(ParseGroup, ChecksSourcesWhenGiven) {
  YAML::Node node = YAML::Load(R"y({"name": "api", "max": 8, "target": {"type": "static"},
      "policies": [{"type": "queue", "target_per_instance": 5,
                    "metric": {"source": "nope"}}]})y");
  std::vector<SourceSpec> sources = {{"jobs", "static", {{"value", 1}}}};
  auto group = parse_group(node, "s.json", &sources);
  ASSERT_FALSE(group.has_value());
  EXPECT_NE(group.error()[0].message.find("metric source 'nope' is not defined"), std::string::npos)
      << dump(group.error());
  EXPECT_EQ(group.error()[0].line, 3);
}

TEST(ParseGroup, ReportsErrorsWithPositions) {
  YAML::Node node = YAML::Load("{\"name\": \"api\",\n \"max\": \"lots\"}");
  auto group = parse_group(node, "s.json", nullptr);
  ASSERT_FALSE(group.has_value());
  std::string all = dump(group.error());
  EXPECT_NE(all.find("s.json:2:9: error: max: expected a whole number, got 'lots'"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("missing required key 'target'"), std::string::npos) << all;
}

TEST(ParseYaml, OneDocumentOrDiagnostics) {
  auto ok = parse_yaml("{\"group\": {\"name\": \"w\"}}", "s.json");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ((*ok)["group"]["name"].Scalar(), "w");
  auto bad = parse_yaml("{\"a\": [1, 2}", "s.json");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error()[0].file, "s.json");
  EXPECT_NE(bad.error()[0].message.find("invalid YAML"), std::string::npos);
  EXPECT_FALSE(parse_yaml(",", "s.json").has_value());  // LoadAll would never return
  EXPECT_FALSE(parse_yaml("a: 1\n---\nb: 2\n", "s.json").has_value());
}

TEST(ParseGroup, NotAMapping) {
  auto group = parse_group(YAML::Load("[1, 2]"), "s.json", nullptr);
  ASSERT_FALSE(group.has_value());
  EXPECT_NE(group.error()[0].message.find("expected a mapping"), std::string::npos);
}

// ---- registries
// -----------------------------------------------------------------------------------

TEST(Registries, ListTheBuiltinTypes) {
  EXPECT_EQ(builtin_sources().names(),
            (std::vector<std::string>{"prometheus", "prometheus-scrape", "cloudwatch", "sqs",
                                      "redis", "system", "http-json", "exec", "static"}));
  EXPECT_EQ(builtin_targets().names(),
            (std::vector<std::string>{"local-process", "exec", "aws-asg", "aws-ec2",
                                      "aws-lambda-concurrency", "aws-lambda-memory", "static"}));
  SourceRegistry r;
  register_builtin_sources(r);
  r.add(SourceType{.name = "custom", .summary = "test"});
  EXPECT_NE(r.find("custom"), nullptr);
  EXPECT_EQ(r.find("nope"), nullptr);
}

// ---- robustness -------------------------------------------------------------------------------

constexpr const char* kRich = R"y(state: ./tide.db
api: { listen: 127.0.0.1:9460, token_env: TOKEN }
log: { format: logfmt, level: info }
sources:
  - name: prom
    type: prometheus
    url: http://127.0.0.1:9090
  - { name: fixed, type: static, series: [1, 2, 3] }
groups:
  - name: web
    interval: 15s
    target: { type: aws-asg, name: web-asg, region: eu-west-1 }
    min: 2
    max: 40
    policies:
      - type: target-tracking
        metric: { source: cloudwatch, namespace: AWS/EC2, name: CPUUtilization, dimensions: { AutoScalingGroupName: web-asg }, statistic: p90, period: 60s }
        target: 55
      - type: scheduled
        cron: "0 8 * * MON-FRI"
        duration: 10h
        timezone: Europe/Berlin
        min: 6
      - type: step
        metric: { source: prom, query: "sum(rate(x[1m]))" }
        threshold: 100
        steps: [ { lower: 0, upper: 50, adjustment: 1 }, { lower: 50, adjustment: 3 } ]
      - { type: panic, metric: fixed, target: 10, panic_threshold: 200 }
    behavior:
      scale_down: { stabilization: 300s, policies: [ { type: percent, value: 10, period: 60s } ] }
    fallback: { failures: 3, capacity: 4 }
)y";

TEST(Robustness, RichConfigIsValid) {
  auto result = parse_config(kRich, "rich.yaml");
  ASSERT_TRUE(result.has_value()) << dump(result.error());
}

void expect_no_crash(const std::string& text) {
  std::expected<Config, Diagnostics> result;
  ASSERT_NO_THROW(result = parse_config(text, "fuzz.yaml")) << text;
  if (!result) {
    ASSERT_FALSE(result.error().empty());
    for (const Diagnostic& d : result.error()) {
      ASSERT_GE(d.line, 0);
      ASSERT_FALSE(d.message.empty());
    }
  }
}

TEST(Robustness, RandomTruncationsAndMutations) {
  std::mt19937 rng(20261126);
  const std::string base = kRich;
  const std::string specials = ":{}[]-#&*!|>'\"%@`,?\n\t \\0123456789abcxyz.";
  auto pick = [&](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
  };
  int accepted = 0;
  for (int i = 0; i < 600; ++i) {
    std::string text = base;
    switch (i % 6) {
      case 0:
        text.resize(pick(text.size()));
        break;  // truncation
      case 1:   // a few random replacements
        for (int k = 0; k < 1 + static_cast<int>(pick(4)); ++k) {
          text[pick(text.size())] = specials[pick(specials.size())];
        }
        break;
      case 2: {  // a deleted range
        std::size_t at = pick(text.size());
        text.erase(at, pick(40));
        break;
      }
      case 3: {  // a duplicated range
        std::size_t at = pick(text.size());
        text.insert(at, text.substr(pick(text.size()), pick(60)));
        break;
      }
      case 4:  // arbitrary bytes, including NUL and invalid UTF-8
        for (int k = 0; k < 3; ++k) text[pick(text.size())] = static_cast<char>(pick(256));
        break;
      case 5: {  // a line moved elsewhere
        std::size_t a = text.rfind('\n', pick(text.size()));
        a = a == std::string::npos ? 0 : a;
        std::size_t b = text.find('\n', a + 1);
        if (b == std::string::npos) break;
        std::string line = text.substr(a, b - a);
        text.erase(a, b - a);
        std::size_t to = text.empty() ? std::string::npos : text.rfind('\n', pick(text.size()));
        text.insert(to == std::string::npos ? 0 : to, line);
        break;
      }
    }
    expect_no_crash(text);
    if (HasFatalFailure()) return;
    if (parse_config(text, "f").has_value()) ++accepted;
  }
  // Some mutations land in comments or harmless spots; most must be caught.
  EXPECT_LT(accepted, 600);
}

TEST(Robustness, HostileInputs) {
  expect_no_crash(std::string(100000, '['));
  expect_no_crash(std::string(50000, '{') + "a");
  std::string nested = "groups:\n";
  for (int i = 0; i < 3000; ++i)
    nested += std::string(static_cast<std::size_t>(i % 200), ' ') + "- \n";
  expect_no_crash(nested);
  expect_no_crash(std::string("\0\0\0", 3));
  expect_no_crash("\xEF\xBB\xBFgroups: 1\n");
  expect_no_crash("groups: *nowhere\n");
  expect_no_crash("a: &a [*a]\n");
  expect_no_crash("? [a, b]\n: c\n");
  expect_no_crash(with_head("  - name: web\n    interval: 99999999999999999999999999d\n"));
  expect_no_crash(with_head(
      "  - name: web\n    interval: 2562047788015d2562047788015d2562047788015d2562047788015d\n"));
  expect_no_crash(with_head("  - name: web\n    max: 99999999999999999999999999999\n"));
  expect_no_crash(with_head("  - name: web\n    max: -0\n    min: 0x10\n"));
  expect_no_crash(std::string(kMaxConfigBytes + 1, '#'));
  // A billion-laughs style alias bomb inside a metric whose keys are not checked.
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    bomb += fmt::format("a{}: &a{} [", i, i);
    for (int k = 0; k < 10; ++k) bomb += fmt::format("{}*a{}", k ? ", " : "", i - 1);
    bomb += "]\n";
  }
  bomb +=
      "group:\n  name: w\n  max: 3\n  target: {type: static}\n  policies:\n"
      "    - {type: queue, target_per_instance: 1, metric: {source: s, x: *a8}}\n";
  YAML::Node root;
  ASSERT_NO_THROW(root = YAML::Load(bomb));
  std::expected<GroupSpec, Diagnostics> group;
  ASSERT_NO_THROW(group = parse_group(root["group"], "bomb.yaml", nullptr));
  ASSERT_FALSE(group.has_value());
  EXPECT_NE(dump(group.error()).find("nested too deeply or too large"), std::string::npos);
}

TEST(Robustness, ManyErrorsAreCapped) {
  std::string yaml = "groups:\n  - name: w\n";
  for (int i = 0; i < 2000; ++i) yaml += fmt::format("    unknown{}: 1\n", i);
  auto result = parse_config(yaml, "t");
  ASSERT_FALSE(result.has_value());
  EXPECT_LE(result.error().size(), kMaxDiagnostics + 1);
  EXPECT_NE(result.error().back().message.find("too many errors"), std::string::npos);
}

#ifdef TIDE_SOURCE_DIR
TEST(Examples, AllValidate) {
  namespace fs = std::filesystem;
  int n = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(TIDE_SOURCE_DIR) / "examples")) {
    if (entry.path().extension() != ".yaml") continue;
    // Simulation scenarios are another format (src/simulate/scenario_test.cpp loads them).
    if (entry.path().filename().string().starts_with("simulate-")) continue;
    ++n;
    auto result = load_config(entry.path().string());
    EXPECT_TRUE(result.has_value()) << entry.path() << "\n" << (result ? "" : dump(result.error()));
  }
  EXPECT_GE(n, 4);
}

// docs/config.md documents every type and key of the registries.
TEST(Examples, ConfigReferenceCoversTheRegistries) {
  std::ifstream in(std::string(TIDE_SOURCE_DIR) + "/docs/config.md");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  ASSERT_FALSE(doc.empty());
  auto documented = [&](const std::string& word) {
    return doc.find("`" + word + "`") != std::string::npos ||
           doc.find("`" + word + "` (") != std::string::npos;
  };
  for (const SourceType& t : builtin_sources().types()) {
    EXPECT_NE(doc.find("### `" + t.name + "`"), std::string::npos) << t.name;
    for (const KeySpec& k : t.config.keys)
      EXPECT_TRUE(documented(k.name)) << t.name << "." << k.name;
    for (const KeySpec& k : t.query.keys)
      EXPECT_TRUE(documented(k.name)) << t.name << "." << k.name;
  }
  for (const TargetType& t : builtin_targets().types()) {
    EXPECT_NE(doc.find("| `" + t.name + "` |"), std::string::npos) << t.name;
    for (const KeySpec& k : t.config.keys)
      EXPECT_TRUE(documented(k.name)) << t.name << "." << k.name;
  }
}
#endif

}  // namespace
}  // namespace tide
