// The `http-json` source: GET the source's `url` plus the query's `path`, parse the body as JSON
// and pick the value at the query's RFC 6901 JSON `pointer`. The value must be a number or a
// string holding one ("42", "1.5e3"); anything else is an error that names the pointer. Queries of
// the same URL within `cache_window` (1s) share one request. A non-2xx status is an error.
#pragma once

#include <memory>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "sources/registry.hpp"
#include "sources/source.hpp"

namespace tide {

Result<std::unique_ptr<Source>> make_http_json_source(const SourceSpec& spec);

// Checks an RFC 6901 pointer's syntax ("" is the whole document; otherwise '/'-separated
// reference tokens where '~' must be followed by 0 or 1).
Result<void> check_json_pointer(std::string_view pointer);

// The value `pointer` refers to in `doc`. kInvalidArgument for a malformed pointer, kNotFound for
// a member or index that does not exist (array indexes are 0 or digits without a leading zero;
// "-" never exists).
Result<const nlohmann::json*> resolve_json_pointer(const nlohmann::json& doc,
                                                   std::string_view pointer);

// A JSON number, or a string holding a finite decimal number.
Result<double> json_to_number(const nlohmann::json& value);

}  // namespace tide
