// The tide binary: parses the command line and hands over to one function per command.
// Exceptions stop here: no command ever ends in a stack trace.
#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/validate.hpp"

int main(int argc, char** argv) {
  CLI::App app{"tide: capacity that follows load.\nDocs: README.md, docs/config.md, docs/decide.md",
               "tide"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("tide ") + TIDE_VERSION);

  auto* version = app.add_subcommand("version", "Print tide's version");

  std::vector<std::string> validate_files;
  bool validate_json = false;
  auto* validate = app.add_subcommand("validate", "Check config files; print every error");
  validate->add_option("FILE", validate_files, "Config files (YAML)")->required();
  validate->add_flag("--json", validate_json, "Machine-readable output");

  std::string decide_file;
  bool decide_explain = false;
  auto* decide = app.add_subcommand(
      "decide", "One decision from a JSON situation, printed as JSON (see docs/decide.md)");
  decide->add_option("FILE", decide_file, "Situation file (JSON or YAML)")->required();
  decide->add_flag("--explain", decide_explain, "Readable text instead of JSON");

  std::string demo_trace = "traces/nasa_http_1995_per_minute.csv";
  auto* demo = app.add_subcommand("demo", "Replay a real day of web traffic through tide");
  demo->add_option("--trace", demo_trace, "NASA-HTTP per-minute CSV")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (*version) {
      std::cout << "tide " << TIDE_VERSION << '\n';
      return 0;
    }
    if (*validate)
      return tide::cli::run_validate(validate_files, validate_json, std::cout, std::cerr);
    if (*decide) return tide::cli::run_decide(decide_file, decide_explain, std::cout, std::cerr);
    if (*demo) return tide::cli::run_demo(demo_trace, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "tide: error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
