// One function per `tide` subcommand; main.cpp only wires them to CLI11. Each returns the exit
// code and writes to the streams it is given (so tests can run commands in-process).
#pragma once

#include <iosfwd>
#include <string>

namespace tide::cli {

// tide decide FILE.json [--explain]: one decision from a JSON situation (docs/decide.md),
// printed as JSON, or as readable text with --explain.
int run_decide(const std::string& file, bool explain, std::ostream& out, std::ostream& err);

// tide demo [--trace FILE]: replays a day of a real trace through the decision core.
int run_demo(const std::string& source_dir, std::ostream& out, std::ostream& err);

}  // namespace tide::cli
