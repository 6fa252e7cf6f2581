// JSON form of a Decision: what `tide decide` prints, the API serves and the state store keeps.
#pragma once

#include <nlohmann/json.hpp>

#include "policy/decision.hpp"
#include "policy/spec.hpp"

namespace tide {

// {"at","current","desired","scale","bound_by","min","max","proposals":[{policy,type,status,
//  capacity,reason}],"stages":[{stage,value}],"explanation"}
nlohmann::json decision_to_json(const Decision& decision, const GroupSpec& spec);

}  // namespace tide
