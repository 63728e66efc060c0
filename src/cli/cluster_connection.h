// How a `baton` verb reaches a cluster: an etcd client and the cluster's name, resolved from a
// node's config file or from --etcd and --cluster; plus the small helpers every verb shares.
#pragma once

#include <signal.h>

#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "cli/commands.h"
#include "core/config.h"
#include "dcs/cluster_store.h"
#include "dcs/etcd_dcs.h"

namespace baton {

// A target resolved: the etcd endpoints, the cluster's name and, with -c, the node's config.
struct ResolvedTarget {
  std::vector<std::string> endpoints;
  std::string cluster;
  std::optional<Config> config;
};

// Resolves the target, or prints why it cannot and returns an exit code.
std::variant<ResolvedTarget, int> Resolve(const ClusterTarget& target);

struct Connected {
  std::unique_ptr<EtcdDcs> dcs;
  std::string cluster;
};

// Resolves the target to an etcd connection, or prints why not and returns an exit code.
std::variant<Connected, int> Connect(const ClusterTarget& target);
// Reads the cluster once.
Result<ClusterView> LoadView(Connected& c);
// "user@host", recorded with every request as who asked.
std::string OperatorName();
// Prints the status's message and returns the exit code for it (2 for bad input, else 1).
int ReportFailure(const Status& status);
// Blocks SIGTERM and SIGINT in this thread and every thread it starts from now on, so that one
// thread takes them with sigwait on the set returned.
sigset_t BlockTerminationSignals();

}  // namespace baton
