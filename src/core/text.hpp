// Small text helpers shared across modules.
#pragma once

#include <cstddef>
#include <string_view>

namespace tide {

// The line of `text` starting at `pos`, without its '\n', and moves `pos` to the start of the next
// line (text.size() after the last one). Loop with `while (pos < text.size())`; a final line need
// not end with '\n', and a trailing '\n' gives no extra empty line.
inline std::string_view next_line(std::string_view text, std::size_t& pos) {
  std::size_t nl = text.find('\n', pos);
  std::string_view line =
      text.substr(pos, nl == std::string_view::npos ? text.size() - pos : nl - pos);
  pos = nl == std::string_view::npos ? text.size() : nl + 1;
  return line;
}

}  // namespace tide
