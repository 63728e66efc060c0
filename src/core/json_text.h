// JsonText: JSON serialization that cannot throw.
//
// Text from outside (PostgreSQL's log, a command's output, a host name) can hold invalid UTF-8,
// on which nlohmann::json::dump() throws; these replace such bytes with U+FFFD instead.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace baton {

inline std::string JsonText(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace baton
