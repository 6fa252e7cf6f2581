// Errors are values: every fallible call returns Result<T>. Exceptions are only used at the edges
// (config load, main) and are converted to Error there.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace tide {

enum class ErrorCode {
  kInvalidArgument,  // bad input from a user or a file
  kNotFound,
  kUnavailable,  // a dependency (source, target, server) did not answer or failed
  kTimeout,
  kInternal,
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(ErrorCode code, std::string message) {
  return std::unexpected<Error>(Error{code, std::move(message)});
}

}  // namespace tide
