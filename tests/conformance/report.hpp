// Shared output of the conformance runner: one JSON line per case, then a tally.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace tide::conformance {

class Report {
 public:
  // Prints {"section","function","upstream_test","got"} and, when `expected` is not null,
  // compares every key of `expected` with `got` (numbers to 1e-9; a multi-step case passes
  // got={"steps":[...]} and expected={"steps":[step expectations...]}). Keys named in
  // `tolerance_keys` may differ by up to 1 (KPA excess burst capacity, as upstream allows).
  void result(const std::string& section, const std::string& function,
              const std::string& upstream_test, const nlohmann::json& got,
              const nlohmann::json& expected, const std::vector<std::string>& tolerance_keys = {});
  // Prints {"section","function","upstream_test","skipped": why}.
  void skip(const std::string& section, const std::string& function,
            const std::string& upstream_test, const std::string& why);

  int passed() const { return passed_; }
  int failed() const { return failed_; }
  int skipped() const { return skipped_; }
  bool compared() const { return compared_; }

 private:
  int passed_ = 0, failed_ = 0, skipped_ = 0;
  bool compared_ = false;
};

// Each upstream file has its own mapping onto tide's code.
void run_hpa_vectors(const nlohmann::json& doc, Report& report);  // hpa.cpp
void run_kpa_vectors(const nlohmann::json& doc, Report& report);  // kpa.cpp

}  // namespace tide::conformance
