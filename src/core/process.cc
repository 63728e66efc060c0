#include "core/process.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

extern char** environ;  // NOLINT: POSIX

namespace baton {

namespace {

std::vector<char*> ToArgv(const std::vector<std::string>& args) {
  std::vector<char*> out;
  for (const auto& a : args) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

// The child's environment: ours plus `extra`, built before fork(); after it, in a threaded
// process, only async-signal-safe calls are allowed.
std::vector<std::string> ChildEnvironment(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string text(*entry);
    if (extra.count(text.substr(0, text.find('='))) == 0) env.push_back(text);
  }
  for (const auto& [name, value] : extra) env.push_back(name + "=" + value);
  return env;
}

// argv and envp for execve, prepared before fork().
struct ExecImage {
  std::vector<std::string> env_text;
  std::vector<char*> args;
  std::vector<char*> env;
};

Result<ExecImage> PrepareExec(const std::vector<std::string>& argv,
                              const std::map<std::string, std::string>& extra_env) {
  if (argv.empty()) return InvalidArgument("empty command");
  if (access(argv[0].c_str(), X_OK) != 0) {
    return NotFound(fmt::format("{}: {}", argv[0], std::strerror(errno)));
  }
  ExecImage image;
  image.env_text = ChildEnvironment(extra_env);
  image.args = ToArgv(argv);
  image.env = ToArgv(image.env_text);
  return image;
}

[[noreturn]] void ExecOrDie(ExecImage& image) {
  execve(image.args[0], image.args.data(), image.env.data());
  static const char kMessage[] = "baton: exec failed\n";
  ssize_t ignored = write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  (void)ignored;
  _exit(127);
}

}  // namespace

Result<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                 const std::map<std::string, std::string>& extra_env,
                                 Duration timeout,
                                 const std::function<void(const std::string&)>& on_output_line) {
  auto image = PrepareExec(argv, extra_env);
  if (!image.ok()) return image.status();
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return Internal(fmt::format("pipe: {}", std::strerror(errno)));
  }
  const pid_t pid = fork();
  if (pid < 0) {
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return Internal(fmt::format("fork: {}", std::strerror(errno)));
  }
  if (pid == 0) {
    setpgid(0, 0);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    dup2(devnull, STDIN_FILENO);
    dup2(pipe_fds[1], STDOUT_FILENO);
    dup2(pipe_fds[1], STDERR_FILENO);
    // Descriptors opened without close-on-exec (Asio's sockets: the REST API's and the
    // router's) must not outlive us in a long-lived child such as the postmaster pg_ctl starts.
    close_range(3, ~0U, 0);
    ExecOrDie(image.value());
  }
  close(pipe_fds[1]);
  CommandResult result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  std::string pending;
  char buffer[4096];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{pipe_fds[0], POLLIN, 0};
    int ready = poll(&pfd, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    ssize_t n = read(pipe_fds[0], buffer, sizeof buffer);
    if (n <= 0) break;
    result.output.append(buffer, static_cast<size_t>(n));
    if (on_output_line) {
      pending.append(buffer, static_cast<size_t>(n));
      size_t eol;
      while ((eol = pending.find_first_of("\r\n")) != std::string::npos) {
        if (eol > 0) on_output_line(pending.substr(0, eol));
        pending.erase(0, eol + 1);
      }
    }
  }
  close(pipe_fds[0]);
  if (on_output_line && !pending.empty()) on_output_line(pending);  // a last line without \n
  if (timed_out) kill(-pid, SIGKILL);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return Timeout(fmt::format("{} did not finish within {:g} s", argv[0], Seconds(timeout)));
  }
  result.exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
  return result;
}

Result<RunAs> LookupUser(const std::string& name) {
  passwd entry{};
  passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || !found) {
    return NotFound(fmt::format("no user named '{}'", name));
  }
  return RunAs{found->pw_uid, found->pw_gid};
}

Result<pid_t> SpawnDetached(const std::vector<std::string>& argv, const std::string& log_path,
                            const std::optional<RunAs>& run_as,
                            const std::map<std::string, std::string>& extra_env) {
  auto image = PrepareExec(argv, extra_env);
  if (!image.ok()) return image.status();
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) return Internal(fmt::format("open {}: {}", log_path, std::strerror(errno)));
  if (run_as && fchown(log_fd, run_as->uid, run_as->gid) != 0) {
    close(log_fd);
    return Internal(fmt::format("chown {}: {}", log_path, std::strerror(errno)));
  }
  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return Internal(fmt::format("fork: {}", std::strerror(errno)));
  }
  if (pid == 0) {
    setsid();
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    dup2(devnull, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    close_range(3, ~0U, 0);  // as in RunCommand
    if (run_as &&
        (setgroups(0, nullptr) != 0 || setgid(run_as->gid) != 0 || setuid(run_as->uid) != 0)) {
      _exit(126);
    }
    ExecOrDie(image.value());
  }
  close(log_fd);
  return pid;
}

Result<pid_t> SpawnWithInput(const std::vector<std::string>& argv, int stdin_fd) {
  auto image = PrepareExec(argv, {});
  if (!image.ok()) return image.status();
  const pid_t pid = fork();
  if (pid < 0) return Internal(fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) {
    setsid();
    dup2(stdin_fd, STDIN_FILENO);
    // Descriptors opened without close-on-exec (a listening socket, say) must not outlive us
    // in the child.
    close_range(3, ~0U, 0);
    ExecOrDie(image.value());
  }
  return pid;
}

std::vector<pid_t> ProcessTree(pid_t pid) {
  std::map<pid_t, std::vector<pid_t>> children;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses; ppid follows the last ')'.
    const auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 1));
    char state = 0;
    pid_t parent = 0;
    if (rest >> state >> parent && state != 'Z') children[parent].push_back(std::stoi(name));
  }
  std::vector<pid_t> tree;
  if (!ProcessAlive(pid)) return tree;
  tree.push_back(pid);
  for (size_t i = 0; i < tree.size(); ++i) {
    for (pid_t child : children[tree[i]]) tree.push_back(child);
  }
  return tree;
}

std::optional<ProcessUsage> UsageOf(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  ProcessUsage usage;
  bool found_rss = false;
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) {
      usage.rss_kib = std::strtol(line.c_str() + 6, nullptr, 10);
      found_rss = true;
    }
  }
  std::error_code error;
  for (auto it = std::filesystem::directory_iterator(fmt::format("/proc/{}/fd", pid), error);
       !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
    ++usage.descriptors;
  }
  if (!found_rss || error) return std::nullopt;
  return usage;
}

bool ProcessAlive(pid_t pid) {
  if (pid <= 0) return false;
  if (kill(pid, 0) != 0 && errno != EPERM) return false;
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string line;
  if (!std::getline(stat, line)) return false;
  // Format: pid (comm) state ...; comm may contain spaces and parentheses.
  auto close_paren = line.rfind(')');
  return close_paren == std::string::npos || close_paren + 2 >= line.size() ||
         line[close_paren + 2] != 'Z';
}

void ReapIfChild(pid_t pid) {
  int wstatus = 0;
  waitpid(pid, &wstatus, WNOHANG);
}

bool WaitForExit(pid_t pid, Duration timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    ReapIfChild(pid);
    if (!ProcessAlive(pid)) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

ExitWatch::ExitWatch(pid_t pid, std::function<void()> on_exit) : pid_(pid) {
  thread_ = std::thread([this, on_exit = std::move(on_exit)] {
    const int fd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
    while (!stop_) {
      if (fd >= 0) {
        pollfd pfd{fd, POLLIN, 0};
        if (poll(&pfd, 1, 200) > 0) break;
      } else {
        if (!ProcessAlive(pid_)) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // no pidfd: poll
      }
    }
    if (fd >= 0) close(fd);
    if (!stop_) on_exit();
  });
}

ExitWatch::~ExitWatch() {
  stop_ = true;
  thread_.join();
}

bool RaiseDescriptorLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return false;
  if (limit.rlim_cur == limit.rlim_max) return true;
  limit.rlim_cur = limit.rlim_max;
  return setrlimit(RLIMIT_NOFILE, &limit) == 0;
}

}  // namespace baton
