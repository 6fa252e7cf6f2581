#include "aws/xml.hpp"

#include <cstring>

#include <fmt/format.h>

namespace tide::aws::xml {

Result<std::unique_ptr<pugi::xml_document>> parse(std::string_view body, std::string_view what) {
  auto doc = std::make_unique<pugi::xml_document>();
  pugi::xml_parse_result r = doc->load_buffer(body.data(), body.size());
  if (!r) {
    return fail(ErrorCode::kUnavailable,
                fmt::format("{}: invalid XML response ({} at offset {})", what, r.description(),
                            static_cast<long long>(r.offset)));
  }
  return doc;
}

pugi::xml_node find(pugi::xml_node node, const char* name) {
  return node.find_node([name](pugi::xml_node n) {
    return n.type() == pugi::node_element && std::strcmp(n.name(), name) == 0;
  });
}

std::string text(pugi::xml_node node, const char* path) {
  pugi::xml_node n = node.first_element_by_path(path);
  return n ? std::string(n.child_value()) : std::string();
}

}  // namespace tide::aws::xml
