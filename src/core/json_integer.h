// JsonInteger: an integer read from JSON without undefined behaviour.
//
// nlohmann's get<int>() and value(key, 0) convert any number with static_cast, which is
// undefined when the target type cannot hold it (1e300 into an int, -1.5 into an unsigned).
// Records from etcd, a peer or a file can hold anything, so their integers are read through
// these: a value that is not an integer the type can hold is refused, never converted.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <utility>

namespace baton {

// `value` as an Int: nullopt unless it is a JSON integer (not a float, string...) in Int's range.
template <typename Int>
std::optional<Int> JsonInteger(const nlohmann::json& value) {
  if (value.is_number_unsigned()) {
    const auto number = value.get<nlohmann::json::number_unsigned_t>();
    if (std::in_range<Int>(number)) return static_cast<Int>(number);
  } else if (value.is_number_integer()) {
    const auto number = value.get<nlohmann::json::number_integer_t>();
    if (std::in_range<Int>(number)) return static_cast<Int>(number);
  }
  return std::nullopt;
}

// The integer at `key` of `object`: `fallback` when the key is absent, nullopt when its value is
// not an integer Int can hold.
template <typename Int>
std::optional<Int> JsonIntegerField(const nlohmann::json& object, std::string_view key,
                                    Int fallback) {
  const auto found = object.find(key);
  if (found == object.end()) return fallback;
  return JsonInteger<Int>(*found);
}

}  // namespace baton
