#include "core/lsn.h"

#include <fmt/format.h>

#include <charconv>

namespace baton {

namespace {
std::optional<uint32_t> ParseHex(std::string_view text) {
  if (text.empty() || text.size() > 8) return std::nullopt;
  uint32_t out = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out, 16);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return out;
}
}  // namespace

std::optional<Lsn> Lsn::Parse(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto high = ParseHex(text.substr(0, slash));
  auto low = ParseHex(text.substr(slash + 1));
  if (!high || !low) return std::nullopt;
  return Lsn{(uint64_t{*high} << 32) | *low};
}

std::string Lsn::ToString() const {
  return fmt::format("{:X}/{:X}", value >> 32, value & 0xffffffffu);
}

}  // namespace baton
