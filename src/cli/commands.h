// The `baton` verbs. Each returns the process exit code: 0 success, 1 failure at run time,
// 2 bad input (flags, config file). main.cc only parses flags and dispatches here.
#pragma once

#include <string>

#include "cli/local_cluster.h"

namespace baton {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitBadInput = 2;

// Where a read-only verb finds the cluster: a node's config file, or etcd + cluster name.
struct ClusterTarget {
  std::string config_path;
  std::string etcd;  // host:port[,host:port]
  std::string cluster;
};

int AgentCommand(const std::string& config_path);
int StatusCommand(const ClusterTarget& target, bool json, double watch_seconds);
int HistoryCommand(const ClusterTarget& target, bool json);
// Maintenance mode on (pause) or off (resume).
int PauseCommand(const ClusterTarget& target, bool pause);
int ConfigCheckCommand(const std::string& config_path);
int DemoStartCommand(const LocalClusterOptions& options);
int DemoStopCommand(const std::string& dir);

}  // namespace baton
