// Clock: the one source of "now" and of waiting for code that makes timing decisions.
//
// The decision core and the DCS never read the clocks themselves; they are handed a Clock. It
// tells monotonic time (Now, for every timing rule), wall time (UnixNow, for records people read
// and for schedules) and waits until a monotonic deadline (WaitUntil, for loops). SteadyClock is
// the machine's. SimulatedClock only moves when a test calls Advance(), so every timing rule
// (lease expiry, timeouts) and the agent's real loop play out deterministically in simulated
// time. Both are thread-safe.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>

#include "core/wall_time.h"

namespace baton {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
  // Wall-clock seconds since the epoch.
  virtual double UnixNow() const = 0;
  // With `lock` held (on `cv`'s mutex), waits until `done()` holds or Now() reaches `deadline`;
  // whoever makes `done()` true notifies `cv`. Returns with `lock` held.
  virtual void WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                         TimePoint deadline, const std::function<bool()>& done) const = 0;
};

class SteadyClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  double UnixNow() const override { return baton::UnixNow(); }
  void WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                 TimePoint deadline, const std::function<bool()>& done) const override {
    cv.wait_until(lock, deadline, done);
  }
};

class SimulatedClock final : public Clock {
 public:
  // Starts at an arbitrary fixed point so tests never depend on the machine's uptime.
  SimulatedClock()
      : now_ns_(std::chrono::duration_cast<Duration>(std::chrono::hours(1000)).count()) {}
  TimePoint Now() const override { return TimePoint(Duration(now_ns_.load())); }
  // Wall time moves with simulated time, from a fixed day (2026-01-01T00:00:00Z at the start).
  double UnixNow() const override {
    return kStartUnix + std::chrono::duration<double>(Now() - start_).count();
  }
  // Advance() does not know the waiter's condition variable, so a waiter looks again every
  // millisecond of real time: it returns at the first look after the simulated deadline passes.
  void WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                 TimePoint deadline, const std::function<bool()>& done) const override {
    const auto waiting = Enter(deadline);
    while (!done() && Now() < deadline) cv.wait_for(lock, std::chrono::milliseconds(1));
    Leave(waiting);
  }
  // How many WaitUntil calls are blocked on a deadline still ahead: a test that drives loops
  // on other threads advances once they all wait, so none lags behind simulated time.
  size_t WaitsAhead() const {
    std::lock_guard lock(waits_mu_);
    const TimePoint now = Now();
    return static_cast<size_t>(std::count_if(waits_.begin(), waits_.end(),
                                             [&](TimePoint deadline) { return deadline > now; }));
  }
  void Advance(Duration by) { now_ns_ += by.count(); }

 private:
  using Waits = std::multiset<TimePoint>;
  Waits::iterator Enter(TimePoint deadline) const {
    std::lock_guard lock(waits_mu_);
    return waits_.insert(deadline);
  }
  void Leave(Waits::iterator waiting) const {
    std::lock_guard lock(waits_mu_);
    waits_.erase(waiting);
  }

  static constexpr double kStartUnix = 1767225600;
  std::atomic<long long> now_ns_;
  const TimePoint start_ = Now();
  mutable std::mutex waits_mu_;
  mutable Waits waits_;  // the deadlines of the WaitUntil calls blocked now
};

// Seconds as a double, for logs, JSON and status tables.
inline double Seconds(Duration d) {
  return std::chrono::duration<double>(d).count();
}

// A Duration from seconds as a double (config values, flags).
inline Duration FromSeconds(double seconds) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
}

// Seconds from `t` to now on the real steady clock (for code that is not simulated: drills,
// campaigns).
inline double SecondsSince(TimePoint t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace baton
