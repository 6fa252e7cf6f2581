#include <fstream>
#include <ostream>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/situation.hpp"
#include "policy/decision_json.hpp"

namespace tide::cli {

int run_decide(const std::string& file, bool explain, std::ostream& out, std::ostream& err) {
  std::ifstream in(file);
  if (!in) {
    err << file << ": error: cannot open file\n";
    return 1;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto situation = parse_situation(text.str(), file);
  if (!situation) {
    for (const std::string& line : situation.error()) err << line << '\n';
    return 1;
  }
  const Decision decision =
      decide(situation->group, situation->observation(), situation->history, situation->now);
  if (explain) {
    out << describe(decision, situation->group);
  } else {
    out << decision_to_json(decision, situation->group).dump(2) << '\n';
  }
  return 0;
}

}  // namespace tide::cli
