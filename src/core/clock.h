// Clock: the one source of "now" for code that makes timing decisions.
//
// The decision core and the DCS never read the wall clock themselves; they are handed a Clock.
// SteadyClock is the real monotonic clock. SimulatedClock only moves when a test calls
// Advance(), so every timing rule (lease expiry, timeouts) is testable deterministically.
// Both are thread-safe.
#pragma once

#include <atomic>
#include <chrono>

namespace baton {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class SteadyClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
};

class SimulatedClock final : public Clock {
 public:
  // Starts at an arbitrary fixed point so tests never depend on the machine's uptime.
  SimulatedClock()
      : now_ns_(std::chrono::duration_cast<Duration>(std::chrono::hours(1000)).count()) {}
  TimePoint Now() const override { return TimePoint(Duration(now_ns_.load())); }
  void Advance(Duration by) { now_ns_ += by.count(); }

 private:
  std::atomic<long long> now_ns_;
};

// Seconds as a double, for logs, JSON and status tables.
inline double Seconds(Duration d) {
  return std::chrono::duration<double>(d).count();
}

// Seconds from `t` to now on the real steady clock (for code that is not simulated: drills,
// campaigns).
inline double SecondsSince(TimePoint t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace baton
