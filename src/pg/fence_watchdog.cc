#include "pg/fence_watchdog.h"

#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "core/process.h"
#include "pg/fence_rule.h"
#include "pg/postmaster.h"

namespace baton {

namespace {

// This very program, even if its file was replaced since it started.
constexpr const char* kSelf = "/proc/self/exe";
constexpr auto kKillTimeout = std::chrono::seconds(5);
constexpr auto kExitTimeout = std::chrono::seconds(2);

std::vector<std::string> CommandLine(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/cmdline", pid), std::ios::binary);
  std::vector<std::string> args;
  std::string arg;
  while (std::getline(in, arg, '\0')) args.push_back(arg);
  return args;
}

bool IsWatchdogFor(pid_t pid, const std::string& data_dir) {
  const std::vector<std::string> args = CommandLine(pid);
  if (args.size() < 2 || args[1] != "watchdog") return false;
  for (size_t i = 2; i + 1 < args.size(); ++i) {
    if (args[i] == "--data-dir" && args[i + 1] == data_dir) return true;
  }
  return false;
}

void Fence(const std::string& data_dir, Duration late) {
  const pid_t postmaster = LivePostmaster(data_dir);
  if (postmaster == 0) {
    spdlog::info(
        "the lease deadline passed without a renewal; postgres is not "
        "running");
    return;
  }
  const int killed = KillServer(postmaster, kKillTimeout);
  spdlog::warn(
      "fenced postgres {:.3f} s after the lease deadline passed without a "
      "renewal: killed the postmaster (pid {}) and {} other process(es)",
      Seconds(late), postmaster, std::max(killed - 1, 0));
}

// CLOCK_BOOTTIME: the agent's monotonic clock, plus any time the machine spent suspended, which
// must count against a lease as well.
TimePoint BootNow() {
  timespec now{};
  clock_gettime(CLOCK_BOOTTIME, &now);
  return TimePoint(std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec));
}

// A deadline on the agent's monotonic clock, as the same moment on the boot clock.
TimePoint OnBootClock(TimePoint monotonic_deadline) {
  return BootNow() + (monotonic_deadline - std::chrono::steady_clock::now());
}

// Milliseconds for poll() until `wake_at`, rounded up (waking early would only spin).
int PollTimeout(const std::optional<TimePoint>& wake_at, TimePoint now) {
  if (!wake_at) return -1;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(*wake_at - now).count();
  return static_cast<int>(std::clamp<long long>(left, 0, INT_MAX));
}

}  // namespace

Result<std::unique_ptr<FenceWatchdog>> FenceWatchdog::Start(const std::string& data_dir,
                                                            const std::string& node_name) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return Internal(fmt::format("socketpair: {}", std::strerror(errno)));
  }
  auto pid =
      SpawnWithInput({kSelf, "watchdog", "--data-dir", data_dir, "--node", node_name}, fds[1]);
  close(fds[1]);
  if (!pid.ok()) {
    close(fds[0]);
    return pid.status().WithContext("starting the watchdog");
  }
  std::unique_ptr<FenceWatchdog> watchdog(new FenceWatchdog(data_dir, *pid, fds[0]));
  std::ofstream pid_file(PidFile(data_dir), std::ios::trunc);
  pid_file << *pid << "\n";
  if (!pid_file.flush()) {
    return Internal(fmt::format("cannot write {}", PidFile(data_dir)));  // ends it, disarmed
  }
  spdlog::info("started the watchdog (pid {}) that kills postgres past the lease deadline", *pid);
  return watchdog;
}

FenceWatchdog::~FenceWatchdog() {
  close(channel_);
  // Armed, it outlives us on purpose: the deadline still holds.
  if (armed_) return;
  if (!WaitForExit(pid_, kExitTimeout)) {
    kill(pid_, SIGKILL);  // stuck (stopped?) with nothing armed: nothing to keep it for
    WaitForExit(pid_, kExitTimeout);
  }
  std::ifstream in(PidFile(data_dir_));
  pid_t recorded = 0;
  if (in >> recorded && recorded == pid_) {
    std::error_code ec;
    std::filesystem::remove(PidFile(data_dir_), ec);
  }
}

Status FenceWatchdog::Send(const std::string& line) {
  const std::string text = line + "\n";
  // Never blocks, never raises SIGPIPE: a watchdog that is gone or stuck is reported instead.
  const ssize_t sent = send(channel_, text.data(), text.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (sent == static_cast<ssize_t>(text.size())) return Status::Ok();
  return Unavailable(fmt::format("the watchdog (pid {}) does not take commands: {}", pid_,
                                 sent < 0 ? std::strerror(errno) : "short write"));
}

Status FenceWatchdog::Arm(TimePoint deadline) {
  if (Status s = Send(ArmCommand(deadline)); !s.ok()) return s;
  armed_ = true;
  return Status::Ok();
}

Status FenceWatchdog::Disarm() {
  if (!armed_) return Status::Ok();
  if (Status s = Send(DisarmCommand()); !s.ok()) return s;
  armed_ = false;
  return Status::Ok();
}

pid_t FenceWatchdog::Find(const std::string& data_dir) {
  std::ifstream in(PidFile(data_dir));
  pid_t pid = 0;
  if (!(in >> pid) || pid <= 0) return 0;
  return ProcessAlive(pid) && IsWatchdogFor(pid, data_dir) ? pid : 0;
}

int RunFenceWatchdog(const std::string& data_dir, int command_fd) {
  FenceRule rule;
  std::string pending;
  char buffer[512];
  while (true) {
    const TimePoint now = BootNow();
    const FenceRule::Verdict verdict = rule.Next(now);
    if (verdict.action == FenceRule::Action::kExit) {
      spdlog::info("the agent is gone and nothing is armed: exiting");
      return 0;
    }
    if (verdict.action == FenceRule::Action::kFence) {
      Fence(data_dir, now - *rule.deadline());
      rule.Fenced();
      continue;
    }
    pollfd input{command_fd, POLLIN, 0};
    const int ready =
        poll(&input, verdict.read_commands ? 1 : 0, PollTimeout(verdict.wake_at, now));
    if (ready <= 0) continue;  // the deadline, or a signal
    const ssize_t n = read(command_fd, buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      rule.AgentGone();
      if (rule.deadline()) {
        spdlog::warn("the agent is gone; its lease deadline holds ({:.3f} s left)",
                     Seconds(*rule.deadline() - BootNow()));
      }
      continue;
    }
    pending.append(buffer, static_cast<size_t>(n));
    size_t eol;
    while ((eol = pending.find('\n')) != std::string::npos) {
      const bool was_armed = rule.deadline().has_value();
      auto command = ParseFenceCommand(pending.substr(0, eol));
      if (!command.ok()) {
        spdlog::error("{}", command.status().message());
      } else if (*command) {
        rule.Arm(OnBootClock(**command));
      } else {
        rule.Disarm();
      }
      if (was_armed != rule.deadline().has_value()) {
        spdlog::info("{}", was_armed ? "disarmed" : "armed");
      }
      pending.erase(0, eol + 1);
    }
  }
}

}  // namespace baton
