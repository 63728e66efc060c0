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
  const auto now = std::chrono::system_clock::now();
  const std::tm tm = UtcCalendar(now);
  char buffer[40];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &tm);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  return fmt::format("{}.{:03d}Z", buffer, millis);
}

std::string UtcFileStamp() {
  const std::tm tm = UtcCalendar(std::chrono::system_clock::now());
  char buffer[40];
  std::strftime(buffer, sizeof buffer, "%Y%m%dT%H%M%SZ", &tm);
  return buffer;
}

}  // namespace baton
