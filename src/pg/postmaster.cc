#include "pg/postmaster.h"

#include <fmt/format.h>
#include <signal.h>

#include <fstream>

#include "core/process.h"

namespace baton {

pid_t LivePostmaster(const std::string& data_dir) {
  std::ifstream in(data_dir + "/postmaster.pid");
  pid_t pid = 0;
  if (!(in >> pid) || pid <= 0) return 0;
  ReapIfChild(pid);
  std::ifstream comm(fmt::format("/proc/{}/comm", pid));
  std::string name;
  std::getline(comm, name);
  return ProcessAlive(pid) && name.rfind("postgres", 0) == 0 ? pid : 0;
}

int KillServer(pid_t postmaster, Duration timeout) {
  if (!ProcessAlive(postmaster)) return 0;
  // A frozen postmaster forks no new backend between the scan and the kill, and cannot restart
  // the ones it sees die.
  kill(postmaster, SIGSTOP);
  const std::vector<pid_t> tree = ProcessTree(postmaster);
  for (auto it = tree.rbegin(); it != tree.rend(); ++it) kill(*it, SIGKILL);
  WaitForExit(postmaster, timeout);
  return static_cast<int>(tree.size());
}

}  // namespace baton
