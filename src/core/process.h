// Process helpers: run a command with a deadline, start a long-lived child, tell whether a pid
// is alive, and get called back the moment a process exits.
//
// PID 1 on some machines never reaps orphans, so a process that outlived its parent can
// linger as a zombie; ProcessAlive() treats a zombie as dead. All functions are thread-safe.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace baton {

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  std::string output;  // stdout and stderr, interleaved
};

// Runs argv[0] (a path) to completion, with extra environment variables, capturing its output.
// Past `timeout` the process group is killed and Timeout is returned. A non-zero exit is not an
// error here; callers judge exit_code. `on_output_line` (optional) sees each line as it arrives.
Result<CommandResult> RunCommand(
    const std::vector<std::string>& argv, const std::map<std::string, std::string>& extra_env,
    Duration timeout, const std::function<void(const std::string&)>& on_output_line = {});

// An unprivileged account to run a child as (PostgreSQL refuses to run as root).
struct RunAs {
  uid_t uid;
  gid_t gid;
};
// Looks up a user by name. NotFound when there is no such user.
Result<RunAs> LookupUser(const std::string& name);

// Starts argv in a new session with stdin from /dev/null and stdout/stderr appended to
// `log_path`, optionally as another user. Returns the child's pid; the caller reaps it.
Result<pid_t> SpawnDetached(const std::vector<std::string>& argv, const std::string& log_path,
                            const std::optional<RunAs>& run_as = std::nullopt,
                            const std::map<std::string, std::string>& extra_env = {});

// Starts argv in a new session with `stdin_fd` as its standard input and our stdout and stderr
// (so it logs where we do); no other descriptor of ours stays open in it. The caller reaps it.
Result<pid_t> SpawnWithInput(const std::vector<std::string>& argv, int stdin_fd);

// Raises this process's soft limit on open descriptors to its hard limit. false = it could not.
bool RaiseDescriptorLimit();

// What a process holds, from /proc: resident memory and open descriptors. nullopt when it is
// gone or not ours to read.
struct ProcessUsage {
  long rss_kib = 0;
  int descriptors = 0;
};
std::optional<ProcessUsage> UsageOf(pid_t pid);

// True when the process exists and is not a zombie.
bool ProcessAlive(pid_t pid);
// `pid` and every live process descended from it (from /proc). PostgreSQL's backends each run
// in a session of their own, so a signal to the postmaster's process group misses them.
std::vector<pid_t> ProcessTree(pid_t pid);
// Collects the exit status of `pid` if it is our child and has exited. No-op otherwise.
void ReapIfChild(pid_t pid);
// Polls (reaping it if it is our child) until `pid` is gone or `timeout` passes. True when gone.
bool WaitForExit(pid_t pid, Duration timeout);

// Calls `on_exit` once, from its own thread, when `pid` exits (pidfd_open + poll). Destroying the
// watch stops it without calling back.
class ExitWatch {
 public:
  ExitWatch(pid_t pid, std::function<void()> on_exit);
  ~ExitWatch();
  ExitWatch(const ExitWatch&) = delete;
  ExitWatch& operator=(const ExitWatch&) = delete;
  pid_t pid() const { return pid_; }

 private:
  const pid_t pid_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace baton
