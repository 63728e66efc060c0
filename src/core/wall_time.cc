#include "core/wall_time.h"

#include <fmt/format.h>

#include <chrono>
#include <ctime>

namespace baton {

namespace {
std::tm UtcCalendar(std::chrono::system_clock::time_point at) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(at);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return tm;
}
}  // namespace

std::string UtcTimestamp() {
  return UtcTimestamp(UnixNow());
}

std::string UtcTimestamp(double unix_seconds) {
  const auto at = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::duration<double>(unix_seconds)));
  const std::tm tm = UtcCalendar(at);
  char buffer[40];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &tm);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count() % 1000;
  return fmt::format("{}.{:03d}Z", buffer, millis);
}

std::string UtcFileStamp() {
  const std::tm tm = UtcCalendar(std::chrono::system_clock::now());
  char buffer[40];
  std::strftime(buffer, sizeof buffer, "%Y%m%dT%H%M%SZ", &tm);
  return buffer;
}

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Result<double> ParseWhen(const std::string& text) {
  const auto bad = [&] {
    return InvalidArgument(fmt::format(
        "'{}' is not a time: use ISO 8601 UTC like 2026-11-22T15:30:00Z, or +90s, +5m, +2h", text));
  };
  if (!text.empty() && text[0] == '+') {
    char* end = nullptr;
    const double amount = std::strtod(text.c_str() + 1, &end);
    const std::string unit(end);
    double scale = 0;
    if (unit == "s" || unit.empty()) scale = 1;
    if (unit == "m") scale = 60;
    if (unit == "h") scale = 3600;
    if (scale == 0 || end == text.c_str() + 1 || amount < 0) return bad();
    return UnixNow() + amount * scale;
  }
  std::tm tm{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M", &tm);
  if (rest == nullptr) return bad();
  if (*rest == ':') {
    rest = strptime(rest, ":%S", &tm);
    if (rest == nullptr) return bad();
  }
  if (std::string(rest) != "Z") return bad();
  return static_cast<double>(timegm(&tm));
}

std::string UtcText(double unix_seconds) {
  const std::time_t seconds = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[40];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

}  // namespace baton
