// Lsn: a PostgreSQL write-ahead-log position ("16/B374D848"), as a comparable 64-bit value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace baton {

struct Lsn {
  uint64_t value = 0;

  // Parses PostgreSQL's text form "X/Y" (hex halves). nullopt for anything else.
  static std::optional<Lsn> Parse(std::string_view text);
  std::string ToString() const;

  auto operator<=>(const Lsn&) const = default;
};

}  // namespace baton
