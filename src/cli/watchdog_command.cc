#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "cli/commands.h"
#include "pg/fence_watchdog.h"

namespace baton {

int WatchdogCommand(const std::string& data_dir, const std::string& node_name) {
  // The agent blocks SIGTERM and SIGINT for its signal thread, and a blocked mask survives exec:
  // this process takes signals as any other does.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // Its lines go to the agent's log, in the agent's format.
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ [" + node_name + " watchdog] %v");
  return RunFenceWatchdog(data_dir, STDIN_FILENO);
}

}  // namespace baton
