// Wall-clock time as text, for records people and scripts read (history, logs, file names).
// Timing decisions never use these; they use Clock. Thread-safe.
#pragma once

#include <string>

#include "core/status.h"

namespace baton {

// Now in UTC as ISO 8601 with milliseconds: "2026-11-22T01:29:32.986Z".
std::string UtcTimestamp();
// The same for a given moment, as seconds since the epoch (Clock::UnixNow()).
std::string UtcTimestamp(double unix_seconds);
// Now in UTC, compact and safe in a file name: "20261122T012932Z".
std::string UtcFileStamp();
// Now as wall-clock seconds since the epoch.
double UnixNow();
// A moment given by a person, as seconds since the epoch: ISO 8601 UTC
// ("2026-11-22T15:30:00Z", seconds optional) or relative to now ("+90s", "+5m", "+2h").
Result<double> ParseWhen(const std::string& text);
// Seconds since the epoch as ISO 8601 UTC, to the second.
std::string UtcText(double unix_seconds);

}  // namespace baton
