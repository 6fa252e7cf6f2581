// The `exec` source: runs a command and reads one number from its standard output (the last
// non-empty line). The command is split into words like a shell would (quotes and backslashes,
// no expansions) and started directly with posix_spawn; `shell: true` runs it with /bin/sh -c.
// The child gets /dev/null as stdin, the source's `env` on top of tide's environment, the
// `working_dir`, default signal dispositions and its own process group. At the timeout (the
// query's, else the source's 10s, never more than the read's) the whole process group is killed
// with SIGKILL, and so are processes it leaves in its group when it exits. A non-zero exit is an
// error carrying the end of standard error. Error messages name only the program (argv[0]), never
// the arguments, which may hold secrets.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/time.hpp"
#include "sources/registry.hpp"
#include "sources/source.hpp"

namespace tide {

Result<std::unique_ptr<Source>> make_exec_source(const SourceSpec& spec);

// Splits a command line into words: blanks separate words; '...' is literal; in "..." a
// backslash escapes only ", \, $ and `; outside quotes a backslash escapes the next character.
// No expansions.
Result<std::vector<std::string>> split_command(std::string_view command);

// The number on the last non-empty line of a command's output.
Result<double> parse_command_output(std::string_view out);

}  // namespace tide
