// Wall-clock time as text, for records people and scripts read (history, logs, file names).
// Timing decisions never use these; they use Clock. Thread-safe.
#pragma once

#include <string>

namespace baton {

// Now in UTC as ISO 8601 with milliseconds: "2026-11-22T01:29:32.986Z".
std::string UtcTimestamp();
// Now in UTC, compact and safe in a file name: "20261122T012932Z".
std::string UtcFileStamp();

}  // namespace baton
