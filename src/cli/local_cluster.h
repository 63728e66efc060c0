// LocalCluster: a whole baton cluster on this machine (one etcd and N agents on loopback
// ports chosen free at run time), described by DIR/demo.json. `baton demo` and the
// integration tests both use it.
//
// As root, etcd and the agents run as an unprivileged user (PostgreSQL refuses root) and DIR
// is handed to that user. Not thread-safe.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/process.h"
#include "core/status.h"
#include "dcs/cluster_store.h"

namespace baton {

struct LocalClusterOptions {
  std::string dir = "/tmp/baton-demo";
  int nodes = 3;
  std::string cluster = "demo";
  std::string baton_binary;              // the `baton` executable the agents run
  std::string run_as_user = "postgres";  // used only when started as root
  int ttl_seconds = 10;
  double loop_wait_seconds = 1.0;
  double retry_timeout_seconds = 3.0;
  double primary_start_timeout_seconds = 30.0;
  uint64_t maximum_lag_on_failover = 1 << 20;
};

struct LocalNode {
  std::string name;
  std::string config_path;
  std::string data_dir;
  std::string log_path;
  int pg_port = 0;
  int api_port = 0;
  pid_t agent_pid = 0;
};

struct LocalCluster {
  std::string dir;
  std::string cluster;
  std::string etcd_endpoint;
  std::string etcd_data_dir;
  std::string etcd_peer_url;
  std::string baton_binary;
  pid_t etcd_pid = 0;
  std::optional<RunAs> run_as;
  std::vector<LocalNode> nodes;

  // Writes etcd's and every node's config, starts etcd and the agents, writes demo.json.
  static Result<LocalCluster> Start(const LocalClusterOptions& options);
  // Reads DIR/demo.json.
  static Result<LocalCluster> Load(const std::string& dir);

  // Stops etcd (SIGTERM) and starts it again on the same ports and data; returns once it answers.
  Status RestartEtcd();
  // (Re)starts one node's agent, e.g. after a test killed it; `env` adds BATON_* overrides.
  Status StartAgent(size_t index, const std::map<std::string, std::string>& env = {});
  // Kills one node whole, as a power cut would: its agent and every PostgreSQL process (kill -9).
  void KillNode(size_t index);
  // The pid in the node's postmaster.pid, 0 when none.
  pid_t PostmasterPid(size_t index) const;
  // Stops every agent (SIGTERM, then SIGKILL past the deadline) and etcd.
  Status Stop();
  // The cluster as etcd holds it now.
  Result<ClusterView> View() const;
  // Index in `nodes` of the node holding the leader key, if any.
  std::optional<size_t> LeaderIndex() const;
  // Waits until one leader runs as primary and every other node streams from it with no lag.
  Status WaitHealthy(Duration timeout) const;
  // A superuser libpq connection string for node `index`.
  std::string ConnInfo(size_t index) const;
  Status WriteManifest() const;

  static constexpr const char* kSuperuserPassword = "baton-demo-superuser";

 private:
  Status StartEtcd();
};

}  // namespace baton
