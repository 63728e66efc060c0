// LocalCluster: a whole baton cluster on this machine (etcd and N agents), described by
// DIR/demo.json. `baton demo`, the integration tests, the drill and the chaos tests use it.
//
// By default everything listens on loopback ports chosen free at run time, with one etcd
// member. With `network_namespaces` (root only) each node, and etcd, runs in a network namespace
// of its own on a private bridge (lab/local_network.h): node N listens on its own address with
// PostgreSQL's and the REST API's usual ports, the etcd members on the etcd namespace's
// addresses, and this process reaches all of them from the host's address on the bridge. Agents
// start as `ip netns exec NS setpriv ... baton agent`; their PostgreSQL inherits the namespace.
//
// As root, etcd and the agents run as an unprivileged user (PostgreSQL refuses root) and DIR
// is handed to that user. Not thread-safe.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/process.h"
#include "core/status.h"
#include "dcs/cluster_store.h"
#include "lab/local_network.h"

namespace baton {

// `count` loopback ports the kernel hands out as free, all different (every socket stays open
// until all are chosen). Another process may take one before the caller binds it.
Result<std::vector<int>> FreePorts(int count);

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
  int etcd_members = 1;             // 1, 3 or 5
  bool network_namespaces = false;  // each node and etcd in a network namespace of its own
  // Extra BATON_* environment for every agent start (e.g. BATON_HA_SYNCHRONOUS_MODE=quorum);
  // kept in demo.json, so restarts use it too.
  std::map<std::string, std::string> agent_env;
};

struct LocalNode {
  std::string name;
  std::string config_path;
  std::string data_dir;
  std::string log_path;
  int pg_port = 0;
  int api_port = 0;
  pid_t agent_pid = 0;
  std::string host = "127.0.0.1";  // the address its PostgreSQL and REST API listen on
  std::string netns;               // its network namespace; "" = this machine's

  std::string pg_address() const { return host + ":" + std::to_string(pg_port); }
};

struct LocalEtcdMember {
  std::string name;
  std::string endpoint;  // host:port for clients
  std::string peer_url;
  std::string data_dir;
  std::string log_path;
  pid_t pid = 0;
};

struct LocalCluster {
  std::string dir;
  std::string cluster;
  std::string etcd_endpoint;  // the first member's, for callers that need only one
  std::vector<LocalEtcdMember> etcd;
  std::string etcd_netns;  // the etcd members' network namespace; "" = this machine's
  std::string baton_binary;
  std::optional<RunAs> run_as;
  std::vector<LocalNode> nodes;
  std::map<std::string, std::string> agent_env;
  std::optional<LocalNetwork> network;  // with network namespaces

  // Writes etcd's and every node's config, starts etcd and the agents, writes demo.json.
  static Result<LocalCluster> Start(const LocalClusterOptions& options);
  // Reads DIR/demo.json.
  static Result<LocalCluster> Load(const std::string& dir);

  // Stops every etcd member (SIGTERM) and starts them again on the same addresses and data;
  // returns once each answers.
  Status RestartEtcd();
  // Kills one etcd member (kill -9).
  void KillEtcdMember(size_t index);
  // Starts the given etcd members (on their data, if any); returns once each of them answers.
  Status StartEtcdMembers(const std::vector<size_t>& members);
  // Every member's client endpoint, host:port.
  std::vector<std::string> EtcdEndpoints() const;
  // (Re)starts one node's agent, e.g. after a test killed it; `env` adds BATON_* overrides
  // (over agent_env).
  Status StartAgent(size_t index, const std::map<std::string, std::string>& env = {});
  // Kills one node whole, as a power cut would (kill -9): its agent, everything the agent
  // started, and every PostgreSQL process. Returns the pids it killed.
  std::vector<pid_t> KillNode(size_t index);
  // The index of the node whose PostgreSQL listens at `server` ("host:port"), if any.
  std::optional<size_t> NodeAt(const std::string& server) const;
  // The pid in the node's postmaster.pid, 0 when none.
  pid_t PostmasterPid(size_t index) const;
  // Stops every agent (SIGTERM, then SIGKILL past the deadline) and etcd.
  Status Stop();
  // The cluster as etcd holds it now.
  Result<ClusterView> View() const;
  // Index in `nodes` of the node holding the leader key, if any.
  std::optional<size_t> LeaderIndex() const;
  // Waits until one leader runs as primary and every other node streams from it with no lag
  // (in synchronous mode, and is listed in the leader's /sync record as confirming commits).
  Status WaitHealthy(Duration timeout) const;
  // A superuser libpq connection string for node `index`.
  std::string ConnInfo(size_t index) const;
  // The superuser's connection string to host:port: a node, or a router or pooler in front of
  // the nodes.
  static std::string SuperuserConnInfo(const std::string& host, int port,
                                       const std::string& dbname = "postgres",
                                       int connect_timeout_seconds = 30);
  Status WriteManifest() const;

  static constexpr const char* kSuperuserPassword = "baton-demo-superuser";

 private:
  // The agent's or etcd's argv, wrapped to run in `netns` as the unprivileged user.
  Result<pid_t> Spawn(const std::vector<std::string>& argv, const std::string& netns,
                      const std::string& log_path,
                      const std::map<std::string, std::string>& env) const;
};

}  // namespace baton
