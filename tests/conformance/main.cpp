// tide-conformance: runs upstream autoscalers' test vectors through tide's own decision code.
// Usage: tide-conformance FILE.json [FILE.json ...]
// Prints one JSON line per case and, when the vectors carry expectations, a closing tally line
// "N passed, M failed, K skipped". Exit 1 when any case fails or a file cannot be read.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>

#include "report.hpp"

namespace tide::conformance {
namespace {

bool matches(const nlohmann::json& got, const nlohmann::json& expected, double slack) {
  if (expected.is_number() && got.is_number()) {
    return std::fabs(got.get<double>() - expected.get<double>()) <= slack + 1e-9;
  }
  if (expected.is_array()) {
    if (!got.is_array() || got.size() != expected.size()) return false;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      if (!matches(got[i], expected[i], slack)) return false;
    }
    return true;
  }
  if (expected.is_object()) return false;  // handled key by key in compare()
  return got == expected;
}

bool compare(const nlohmann::json& got, const nlohmann::json& expected,
             const std::vector<std::string>& tolerance_keys) {
  if (expected.is_object()) {
    if (!got.is_object()) return false;
    for (auto it = expected.begin(); it != expected.end(); ++it) {
      if (!got.contains(it.key())) return false;
      if (it.key() == "error_contains") {
        // Upstream asserts that the error message contains this text.
        if (!got[it.key()].is_string() || !it.value().is_string() ||
            got[it.key()].get<std::string>().find(it.value().get<std::string>()) ==
                std::string::npos) {
          return false;
        }
        continue;
      }
      bool tolerant =
          std::find(tolerance_keys.begin(), tolerance_keys.end(), it.key()) != tolerance_keys.end();
      if (!compare(got[it.key()], it.value(), tolerance_keys)) {
        if (!(tolerant && matches(got[it.key()], it.value(), 1.0))) return false;
      }
    }
    return true;
  }
  if (expected.is_array() && !expected.empty() && expected[0].is_object()) {
    if (!got.is_array() || got.size() != expected.size()) return false;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      if (!compare(got[i], expected[i], tolerance_keys)) return false;
    }
    return true;
  }
  return matches(got, expected, 0.0);
}

}  // namespace

void Report::result(const std::string& section, const std::string& function,
                    const std::string& upstream_test, const nlohmann::json& got,
                    const nlohmann::json& expected,
                    const std::vector<std::string>& tolerance_keys) {
  nlohmann::json line = {
      {"section", section}, {"function", function}, {"upstream_test", upstream_test}, {"got", got}};
  if (!expected.is_null()) {
    compared_ = true;
    bool pass = compare(got, expected, tolerance_keys);
    line["result"] = pass ? "pass" : "fail";
    if (!pass) line["expected"] = expected;
    ++(pass ? passed_ : failed_);
  }
  std::cout << line.dump() << '\n';
}

void Report::skip(const std::string& section, const std::string& function,
                  const std::string& upstream_test, const std::string& why) {
  ++skipped_;
  std::cout << nlohmann::json{{"section", section},
                              {"function", function},
                              {"upstream_test", upstream_test},
                              {"skipped", why}}
                   .dump()
            << '\n';
}

}  // namespace tide::conformance

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help") {
    std::cerr << "usage: tide-conformance VECTORS.json [VECTORS.json ...]\n"
                 "Runs Kubernetes HPA / Knative KPA test vectors through tide's decision code.\n";
    return argc < 2 ? 2 : 0;
  }
  tide::conformance::Report report;
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i]);
    nlohmann::json doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (!in || doc.is_discarded()) {
      std::cerr << argv[i] << ": cannot read or parse JSON\n";
      return 2;
    }
    if (doc.contains("replica_calculator_cases") || doc.contains("behavior_cases")) {
      tide::conformance::run_hpa_vectors(doc, report);
    } else if (doc.contains("decider_cases")) {
      tide::conformance::run_kpa_vectors(doc, report);
    } else {
      std::cerr << argv[i] << ": neither HPA nor KPA vectors\n";
      return 2;
    }
  }
  if (report.compared()) {
    std::cout << report.passed() << " passed, " << report.failed() << " failed, "
              << report.skipped() << " skipped\n";
  }
  return report.failed() > 0 ? 1 : 0;
}
