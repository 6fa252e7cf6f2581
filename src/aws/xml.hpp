// Small helpers over pugixml for AWS Query-protocol responses (namespaced documents whose element
// names carry no prefix).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <pugixml.hpp>

#include "core/result.hpp"

namespace tide::aws::xml {

// Parses `body`; a malformed document is kUnavailable with `what` and the parser's reason.
Result<std::unique_ptr<pugi::xml_document>> parse(std::string_view body, std::string_view what);

// The first element named `name` at any depth below `node` (null node when absent).
pugi::xml_node find(pugi::xml_node node, const char* name);

// The text of the element at `path` ("A/B/C", each step a child) below `node`, "" when absent.
std::string text(pugi::xml_node node, const char* path);

}  // namespace tide::aws::xml
