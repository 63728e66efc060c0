#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include "cli/cluster_connection.h"
#include "cli/commands.h"
#include "cli/status_view.h"
#include "core/json_text.h"
#include "dcs/cluster_status.h"
#include "dcs/cluster_store.h"
#include "dcs/etcd_dcs.h"
#include "ha/cluster_admin.h"

namespace baton {

int StatusCommand(const ClusterTarget& target, bool json, double watch_seconds) {
  auto connected = Connect(target);
  if (auto* code = std::get_if<int>(&connected)) return *code;
  Connected& c = std::get<Connected>(connected);
  while (true) {
    auto view = LoadView(c);
    if (!view.ok()) {
      std::cerr << view.status().message() << "\n";
      if (watch_seconds <= 0) return kExitFailure;
    } else if (json) {
      std::cout << JsonText(ClusterStatusJson(c.cluster, *view), 2) << std::endl;
    } else {
      if (watch_seconds > 0) std::cout << "\033[H\033[2J";
      std::cout << ClusterStatusTable(c.cluster, *view) << std::flush;
    }
    if (watch_seconds <= 0) return kExitOk;
    std::this_thread::sleep_for(std::chrono::duration<double>(watch_seconds));
  }
}

int PauseCommand(const ClusterTarget& target, bool pause) {
  auto connected = Connect(target);
  if (auto* code = std::get_if<int>(&connected)) return *code;
  Connected& c = std::get<Connected>(connected);
  SteadyClock clock;
  ClusterAdmin admin(*c.dcs, c.cluster, clock);
  auto changed = admin.SetPaused(pause, OperatorName());
  if (!changed.ok()) return ReportFailure(changed.status());
  if (!*changed) {
    std::cout << "Cluster " << c.cluster << " is already " << (pause ? "paused" : "not paused")
              << "\n";
    return kExitOk;
  }
  std::cout << (pause ? "Paused cluster " : "Resumed cluster ") << c.cluster
            << (pause ? ": no automatic failover or restarts until `baton resume`.\n"
                      : ": automatic failover and restarts are back on.\n");
  return kExitOk;
}

int HistoryCommand(const ClusterTarget& target, bool json) {
  auto connected = Connect(target);
  if (auto* code = std::get_if<int>(&connected)) return *code;
  auto view = LoadView(std::get<Connected>(connected));
  if (!view.ok()) {
    std::cerr << view.status().message() << "\n";
    return kExitFailure;
  }
  if (json) {
    std::cout << JsonText(nlohmann::json(view->history), 2) << std::endl;
  } else {
    std::cout << HistoryTable(*view);
  }
  return kExitOk;
}

}  // namespace baton
