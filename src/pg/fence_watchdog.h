// FenceWatchdog: the fencing watchdog process, and the agent's handle to it.
//
// The watchdog is this program run again (`baton watchdog --data-dir DIR`, from /proc/self/exe)
// in a session of its own, so that a SIGSTOP, a kill -9 or a blocked call in the agent does
// not reach it. The agent arms it with its leader lease deadline; if the deadline passes before
// the next arming, the watchdog kills this node's PostgreSQL at once (postmaster and every
// backend, SIGKILL; see postmaster.h) and logs it. Its decision is FenceRule's, fed the
// commands that arrive on its standard input, a socket whose other end only the agent holds:
// when the agent dies the socket closes, and the watchdog still enforces the last armed
// deadline, then exits (at once, if disarmed). Its pid is kept in <data_dir>.watchdog.pid, so
// that the next agent can end a watchdog its predecessor left, and a test's power cut can kill
// it. The handle is not thread-safe (PostgresInstance owns it).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "core/clock.h"
#include "core/status.h"

namespace baton {

class FenceWatchdog {
 public:
  // Starts a disarmed watchdog for `data_dir`; `node_name` is for its log lines.
  static Result<std::unique_ptr<FenceWatchdog>> Start(const std::string& data_dir,
                                                      const std::string& node_name);
  // Closes the channel: a disarmed watchdog exits at once (and is reaped here); an armed one
  // enforces its deadline first.
  ~FenceWatchdog();
  FenceWatchdog(const FenceWatchdog&) = delete;
  FenceWatchdog& operator=(const FenceWatchdog&) = delete;

  // Unavailable when the watchdog is gone (killed by someone): start another.
  Status Arm(TimePoint deadline);
  Status Disarm();
  pid_t pid() const { return pid_; }

  // The pid of a live baton watchdog for `data_dir` (its pid file, checked against the
  // process's command line), 0 when none.
  static pid_t Find(const std::string& data_dir);
  static std::string PidFile(const std::string& data_dir) { return data_dir + ".watchdog.pid"; }

 private:
  FenceWatchdog(std::string data_dir, pid_t pid, int channel)
      : data_dir_(std::move(data_dir)), pid_(pid), channel_(channel) {}
  Status Send(const std::string& line);

  const std::string data_dir_;
  const pid_t pid_;
  const int channel_;  // our end of the watchdog's standard input
  bool armed_ = false;
};

// The watchdog process itself (`baton watchdog`): reads commands from `command_fd` until it
// closes, fences `data_dir`'s PostgreSQL when an armed deadline passes, and returns the exit
// code once the agent is gone and nothing is armed.
int RunFenceWatchdog(const std::string& data_dir, int command_fd);

}  // namespace baton
