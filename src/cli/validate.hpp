// tide validate FILE... [--json]: loads each config and reports either a one-line summary per
// group or every problem as FILE:LINE:COL: error: message.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace tide::cli {

// Exit code 0 when every file is valid, 1 otherwise. Text mode writes summaries to `out` and
// diagnostics to `err`; JSON mode writes one JSON document to `out`:
//   {"ok": bool, "files": [{"file", "ok", "errors": [{file,line,column,message}],
//                           "sources": [{name,type,implicit}], "groups": [...]}]}
int run_validate(const std::vector<std::string>& files, bool json, std::ostream& out,
                 std::ostream& err);

}  // namespace tide::cli
