// The `baton` verbs. Each returns the process exit code: 0 success, 1 failure at run time,
// 2 bad input (flags, config file). main.cc only parses flags and dispatches here.
#pragma once

#include <string>
#include <vector>

#include "dcs/requests.h"
#include "drill/drill.h"
#include "lab/local_cluster.h"

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
// The client router (and PgBouncer's controller) of a router or node config file.
int RouterCommand(const std::string& config_path);
// The agent's fencing watchdog (hidden verb; the agent starts it, see pg/fence_watchdog.h).
int WatchdogCommand(const std::string& data_dir, const std::string& node_name);
int StatusCommand(const ClusterTarget& target, bool json, double watch_seconds);
int HistoryCommand(const ClusterTarget& target, bool json);

struct DoctorOptions {
  bool json = false;
  bool smoke_write = false;
  double timeout_seconds = 2;  // each probe's deadline
  bool alert = false;          // send each failed check to the config's alerts
};
// One pass of checks over the whole cluster; exit 0 all ok, 1 any warn, 2 any fail.
int DoctorCommand(const ClusterTarget& target, const DoctorOptions& options);
// Maintenance mode on (pause) or off (resume).
int PauseCommand(const ClusterTarget& target, bool pause);
int ConfigCheckCommand(const std::string& config_path);

struct SwitchoverOptions {
  std::string to;
  std::string at;  // ISO 8601 UTC or +90s; "" = now
  bool force = false;
  bool cancel = false;
  bool list = false;
  double timeout_seconds = 60;  // how long to follow an immediate switchover
};
int SwitchoverCommand(const ClusterTarget& target, const SwitchoverOptions& options);
int FailoverCommand(const ClusterTarget& target, const std::string& to, bool allow_data_loss,
                    double timeout_seconds);
// restart, reload or reinit on `nodes` (reload: every member when empty), waiting for each.
int NodeVerbCommand(const ClusterTarget& target, NodeVerb verb, std::vector<std::string> nodes,
                    bool pending_only, double timeout_seconds);
int RemoveCommand(const ClusterTarget& target, const std::string& node);
int ConfigShowCommand(const ClusterTarget& target, bool json);
int ConfigSetCommand(const ClusterTarget& target, const std::vector<std::string>& assignments);
int ConfigEditCommand(const ClusterTarget& target);

struct DrillCommandOptions {
  std::string demo_dir;       // a local baton demo: every fault kind
  std::string config_path;    // a baton cluster through a node's config: switchover
  std::string baton_binary;   // this program, for `baton switchover`
  std::string dsn;            // any cluster: --fault-command only
  std::string fault;          // kill-node | kill-postgres | stop-agent | pause-primary | switchover
  std::string fault_command;  // shell command that faults BATON_DRILL_PRIMARY
  std::string heal_command;   // shell command that undoes it, after each round
  double hold_seconds = 0;    // how long the fault lasts before healing (pause-primary)
  DrillOptions options;
  bool json = false;
  std::string plot_path;
  bool history = false;  // list the drills kept in etcd instead of running one
};
int DrillCommand(const DrillCommandOptions& options);
// `baton drill --history`: the drills kept in the cluster's etcd, oldest first.
int DrillHistoryCommand(const DrillCommandOptions& options);
// Keeps a finished drill's record in the etcd of the cluster `options` names (-c or --demo).
// Returns the line that says where it went, or why it was not kept (--dsn names no cluster,
// etcd unreachable).
std::string RecordDrill(const DrillCommandOptions& options, const std::vector<DrillRound>& rounds);
int DemoStartCommand(const LocalClusterOptions& options);
int DemoStopCommand(const std::string& dir);

}  // namespace baton
