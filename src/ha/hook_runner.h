// HookRunner: runs the operator's hook commands (config `hooks.*`) when the agent starts or
// stops, when this node's role changes, when it is promoted by a failover and for each alert
// (on_alert, fired by AlertSender).
//
// Fire() only queues the event: one worker thread runs the hooks in order, each as
// `/bin/sh -c <command>` with the event in BATON_* environment variables, killed with its
// process group after `hooks.timeout`. So a slow or hung hook never blocks the agent loop. The
// queue holds kQueueCapacity events; when full, the oldest waiting one is dropped. A hook that
// fails, times out or is dropped is logged and counted, never reported to the caller. The
// promotion hooks (pre_promote, fence_command) are different: RunNow() runs them on the
// caller's thread and reports how they ended, since a failure must stop the promotion. All
// public methods are thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/config.h"

namespace baton {

// What happened, passed to the hook command as environment variables.
struct HookEvent {
  std::string name;      // "on_start" | "on_stop" | "on_role_change" | "on_failover" |
                         // "on_alert" | "pre_promote" | "fence_command"
  std::string old_role;  // "primary" | "replica" | "" (unknown)
  std::string new_role;
  uint32_t timeline = 0;
  std::string reason;
  std::map<std::string, std::string> details{};  // more BATON_* variables (old leader address)
};

class HookRunner {
 public:
  static constexpr size_t kQueueCapacity = 64;

  HookRunner(Hooks hooks, std::string cluster, std::string node);
  // Lets the hook running now finish (bounded by its timeout); drops the waiting ones with a log
  // line.
  ~HookRunner();
  HookRunner(const HookRunner&) = delete;
  HookRunner& operator=(const HookRunner&) = delete;

  // Queues the command configured for event.name, if any, and returns at once.
  void Fire(const HookEvent& event);
  // Blocks until no hook is waiting or running, or `timeout` passes. True when drained.
  bool Drain(Duration timeout);
  // Runs the command configured for event.name now, on this thread, killed after the lesser of
  // `hooks.timeout` and `budget`. Ok when none is configured or it exits 0; FailedPrecondition
  // (exit code and last output line) or Timeout otherwise. Counted like the others.
  Status RunNow(const HookEvent& event, Duration budget);

  struct Counts {
    uint64_t started = 0;
    uint64_t failed = 0;     // exited non-zero, timed out, or could not be started
    uint64_t timed_out = 0;  // killed at the timeout (also counted in failed)
    uint64_t dropped = 0;    // pushed out of a full queue before they ran
  };
  Counts counts() const;

 private:
  struct PendingHook {
    HookEvent event;
    std::string command;
  };

  enum class Outcome { kSucceeded, kFailed, kTimedOut };
  struct Ended {
    Outcome outcome;
    std::string detail;  // exit code and last output line, or why it could not run
  };

  void WorkLoop();
  // Runs one hook to completion or `timeout`, logging its output, and says how it ended.
  Ended Run(const PendingHook& hook, Duration timeout) const;
  void Count(Outcome outcome);  // with mu_ held

  const Hooks hooks_;
  const std::string cluster_;
  const std::string node_;

  mutable std::mutex mu_;
  std::condition_variable work_or_stop_;  // the queue got an event, or the runner is stopping
  std::condition_variable idle_;          // the queue is empty and no hook runs
  std::deque<PendingHook> queue_;
  bool running_ = false;
  bool stopping_ = false;
  Counts counts_;
  std::thread worker_;  // last: starts after every member it uses is constructed
};

}  // namespace baton
