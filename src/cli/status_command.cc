#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "cli/status_view.h"
#include "core/json_text.h"
#include "dcs/cluster_store.h"
#include "dcs/etcd_dcs.h"

namespace baton {

namespace {

struct Connected {
  std::unique_ptr<EtcdDcs> dcs;
  std::string cluster;
};

// Resolves the target to an etcd connection, or prints why not and returns an exit code.
std::variant<Connected, int> Connect(const ClusterTarget& target) {
  std::vector<std::string> endpoints;
  std::string cluster = target.cluster;
  if (!target.config_path.empty()) {
    auto config = LoadConfigFile(target.config_path, ProcessEnvironment());
    if (!config.ok()) {
      std::cerr << config.status().message() << "\n";
      return kExitBadInput;
    }
    endpoints = config->etcd_endpoints;
    if (cluster.empty()) cluster = config->cluster_name;
  }
  if (!target.etcd.empty()) {
    endpoints.clear();
    std::stringstream list(target.etcd);
    std::string item;
    while (std::getline(list, item, ',')) {
      auto parsed = HostPort::Parse(item.rfind("http://", 0) == 0 ? item.substr(7) : item);
      if (!parsed.ok()) {
        std::cerr << "--etcd: " << parsed.status().message() << "\n";
        return kExitBadInput;
      }
      endpoints.push_back(parsed->ToString());
    }
  }
  if (endpoints.empty() || cluster.empty()) {
    std::cerr << "say which cluster: -c CONFIG, or --etcd HOST:PORT with --cluster NAME\n";
    return kExitBadInput;
  }
  return Connected{std::make_unique<EtcdDcs>(endpoints, std::chrono::seconds(3)), cluster};
}

Result<ClusterView> LoadView(Connected& c) {
  SteadyClock clock;
  ClusterStore store(*c.dcs, c.cluster, "", 10, clock);
  auto view = store.Load();
  if (!view.ok()) return view.status().WithContext("cannot read the cluster from etcd");
  return view;
}

}  // namespace

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
  auto view = LoadView(c);
  if (!view.ok()) {
    std::cerr << view.status().message() << "\n";
    return kExitFailure;
  }
  if (view->paused == pause) {
    std::cout << "Cluster " << c.cluster << " is already " << (pause ? "paused" : "not paused")
              << "\n";
    return kExitOk;
  }
  SteadyClock clock;
  ClusterStore store(*c.dcs, c.cluster, "", 10, clock);
  char host[256] = "unknown";
  gethostname(host, sizeof host - 1);
  if (Status s = store.SetPaused(pause, std::string("baton CLI on ") + host); !s.ok()) {
    std::cerr << s.ToString() << "\n";
    return kExitFailure;
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
