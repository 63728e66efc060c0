#include "lab/local_cluster.h"

#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/json_text.h"
#include "dcs/cluster_store.h"
#include "dcs/etcd_dcs.h"
#include "pg/fence_watchdog.h"
#include "pg/pg_connection.h"

namespace baton {

namespace fs = std::filesystem;

namespace {

constexpr const char* kManifest = "demo.json";

Status WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  return out.flush() ? Status::Ok() : Internal("cannot write " + path);
}

Status HandOver(const std::string& path, const std::optional<RunAs>& run_as) {
  if (!run_as) return Status::Ok();
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::end(it); ++it) {
    if (chown(it->path().c_str(), run_as->uid, run_as->gid) != 0) {
      return Internal("cannot hand " + it->path().string() + " to the unprivileged user");
    }
  }
  if (chown(path.c_str(), run_as->uid, run_as->gid) != 0) {
    return Internal("cannot hand " + path + " to the unprivileged user");
  }
  return Status::Ok();
}

bool AnyAlive(const LocalCluster& c) {
  for (const auto& m : c.etcd) {
    if (ProcessAlive(m.pid)) return true;
  }
  for (const auto& n : c.nodes) {
    if (ProcessAlive(n.agent_pid)) return true;
  }
  return false;
}

void StopProcess(pid_t pid, Duration grace) {
  if (!ProcessAlive(pid)) return;
  kill(pid, SIGTERM);
  if (!WaitForExit(pid, grace)) kill(pid, SIGKILL);
  ReapIfChild(pid);
}

// Creates `path` (empty, if missing) owned by `run_as`: a log a root process opens for a child
// that drops to that user later.
Status TouchOwned(const std::string& path, const std::optional<RunAs>& run_as) {
  std::ofstream(path, std::ios::app).flush();
  if (run_as && chown(path.c_str(), run_as->uid, run_as->gid) != 0) {
    return Internal("cannot hand " + path + " to the unprivileged user");
  }
  return Status::Ok();
}

std::string NodeYaml(const LocalClusterOptions& options, const std::string& cluster,
                     const LocalNode& n, const std::string& node_dir,
                     const std::vector<std::string>& etcd_endpoints) {
  std::string endpoints;
  for (const auto& e : etcd_endpoints) endpoints += (endpoints.empty() ? "" : ", ") + e;
  return fmt::format(
      "cluster:\n  name: {}\nnode:\n  name: {}\netcd:\n  endpoints: [{}]\n"
      "postgresql:\n  data_dir: {}\n  listen: {}:{}\n  socket_dir: {}\n"
      "  superuser:\n    username: postgres\n    password: {}\n"
      "  replication:\n    username: replicator\n    password: baton-demo-replication\n"
      "  parameters:\n    shared_buffers: 32MB\n    max_connections: 50\n"
      "restapi:\n  listen: {}:{}\n"
      "timing:\n  ttl: {}\n  loop_wait: {}\n  retry_timeout: {}\n  primary_start_timeout: {}\n"
      "  maximum_lag_on_failover: {}\n",
      cluster, n.name, endpoints, n.data_dir, n.host, n.pg_port, node_dir,
      LocalCluster::kSuperuserPassword, n.host, n.api_port, options.ttl_seconds,
      options.loop_wait_seconds, options.retry_timeout_seconds,
      options.primary_start_timeout_seconds, options.maximum_lag_on_failover);
}

}  // namespace

Result<std::vector<int>> FreePorts(int count) {
  std::vector<int> sockets;
  std::vector<int> ports;
  Status status;
  for (int i = 0; i < count && status.ok(); ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      status = Internal("cannot find a free loopback port");
    } else {
      ports.push_back(ntohs(addr.sin_port));
    }
    if (fd >= 0) sockets.push_back(fd);
  }
  for (int fd : sockets) close(fd);
  if (!status.ok()) return status;
  return ports;
}

Result<LocalCluster> LocalCluster::Start(const LocalClusterOptions& options) {
  if (options.nodes < 1 || options.nodes > 9) return InvalidArgument("--nodes must be 1 to 9");
  if (options.etcd_members != 1 && options.etcd_members != 3 && options.etcd_members != 5) {
    return InvalidArgument("etcd members must be 1, 3 or 5");
  }
  if (options.network_namespaces && geteuid() != 0) {
    return FailedPrecondition("network namespaces need root");
  }
  LocalCluster c;
  c.dir = fs::absolute(options.dir).lexically_normal().string();
  c.cluster = options.cluster;
  c.baton_binary = options.baton_binary;
  c.agent_env = options.agent_env;
  if (geteuid() == 0) {
    auto user = LookupUser(options.run_as_user);
    if (!user.ok()) {
      return FailedPrecondition(fmt::format(
          "running as root, PostgreSQL needs an unprivileged user: {}", user.status().message()));
    }
    c.run_as = *user;
  }
  std::error_code ec;
  if (fs::exists(c.dir) && !fs::is_empty(c.dir, ec)) {
    auto previous = Load(c.dir);
    if (!previous.ok()) {
      return FailedPrecondition(
          fmt::format("{} exists and is not a baton demo directory; choose another --dir", c.dir));
    }
    if (AnyAlive(*previous)) {
      return FailedPrecondition(fmt::format(
          "a demo is already running in {}; stop it with: baton demo stop --dir {}", c.dir, c.dir));
    }
    if (previous->network) (void)previous->network->Destroy();
    fs::remove_all(c.dir, ec);  // a stopped demo of ours
  }
  fs::create_directories(c.dir, ec);
  if (ec) return Internal(fmt::format("cannot create {}: {}", c.dir, ec.message()));

  // Where each member listens: free loopback ports, or the namespaces' own addresses.
  std::vector<std::string> etcd_hosts(options.etcd_members, "127.0.0.1");
  std::vector<std::string> node_hosts(options.nodes, "127.0.0.1");
  std::vector<int> etcd_ports, node_ports;
  if (options.network_namespaces) {
    std::vector<NamespaceSpec> specs = {{"etcd", options.etcd_members}};
    for (int i = 0; i < options.nodes; ++i) specs.push_back({fmt::format("node{}", i + 1), 1});
    auto network = LocalNetwork::Create(specs);
    if (!network.ok()) return network.status();
    c.network = std::move(network).value();
    c.etcd_netns = c.network->namespaces[0].name;
    etcd_hosts = c.network->namespaces[0].addresses;
    for (int i = 0; i < options.nodes; ++i) {
      node_hosts[i] = c.network->namespaces[i + 1].addresses[0];
      node_ports.insert(node_ports.end(), {5432, 8008});
    }
    for (int m = 0; m < options.etcd_members; ++m)
      etcd_ports.insert(etcd_ports.end(), {2379, 2380});
  } else {
    auto ports = FreePorts(2 * options.etcd_members + 2 * options.nodes);
    if (!ports.ok()) return ports.status();
    etcd_ports.assign(ports->begin(), ports->begin() + 2 * options.etcd_members);
    node_ports.assign(ports->begin() + 2 * options.etcd_members, ports->end());
  }
  for (int m = 0; m < options.etcd_members; ++m) {
    LocalEtcdMember member;
    // A single member keeps the names it always had.
    const bool single = options.etcd_members == 1;
    member.name = single ? "baton-demo" : fmt::format("etcd{}", m + 1);
    member.endpoint = fmt::format("{}:{}", etcd_hosts[m], etcd_ports[2 * m]);
    member.peer_url = fmt::format("http://{}:{}", etcd_hosts[m], etcd_ports[2 * m + 1]);
    member.data_dir = c.dir + (single ? "/etcd" : "/etcd/" + member.name);
    member.log_path = c.dir + (single ? "/etcd.log" : "/" + member.name + ".log");
    fs::create_directories(member.data_dir, ec);
    c.etcd.push_back(member);
  }
  c.etcd_endpoint = c.etcd.front().endpoint;

  for (int i = 0; i < options.nodes; ++i) {
    LocalNode n;
    n.name = fmt::format("node{}", i + 1);
    const std::string node_dir = c.dir + "/" + n.name;
    fs::create_directories(node_dir, ec);
    n.config_path = node_dir + "/baton.yaml";
    n.data_dir = node_dir + "/data";
    n.log_path = node_dir + "/agent.log";
    n.host = node_hosts[i];
    n.pg_port = node_ports[2 * i];
    n.api_port = node_ports[2 * i + 1];
    if (c.network) n.netns = c.network->namespaces[i + 1].name;
    const std::string yaml = NodeYaml(options, c.cluster, n, node_dir, c.EtcdEndpoints());
    if (Status s = WriteText(n.config_path, yaml); !s.ok()) return s;
    c.nodes.push_back(n);
  }
  auto fail = [&c](const Status& s) {
    (void)c.Stop();
    return s;
  };
  if (Status s = HandOver(c.dir, c.run_as); !s.ok()) return fail(s);
  std::vector<size_t> all_members;
  for (size_t m = 0; m < c.etcd.size(); ++m) all_members.push_back(m);
  if (Status s = c.StartEtcdMembers(all_members); !s.ok()) return fail(s);
  for (size_t i = 0; i < c.nodes.size(); ++i) {
    if (Status s = c.StartAgent(i); !s.ok()) return fail(s);
  }
  return c;
}

Result<pid_t> LocalCluster::Spawn(const std::vector<std::string>& argv, const std::string& netns,
                                  const std::string& log_path,
                                  const std::map<std::string, std::string>& env) const {
  if (netns.empty() || !network) return SpawnDetached(argv, log_path, run_as, env);
  // `ip netns exec` needs root: the drop to the unprivileged user comes after it (setpriv).
  if (Status s = TouchOwned(log_path, run_as); !s.ok()) return s;
  return SpawnDetached(network->InNamespace(netns, argv, run_as), log_path, std::nullopt, env);
}

Status LocalCluster::StartEtcdMembers(const std::vector<size_t>& members) {
  std::string initial_cluster;
  for (const auto& m : etcd) {
    initial_cluster += (initial_cluster.empty() ? "" : ",") + m.name + "=" + m.peer_url;
  }
  for (size_t index : members) {
    LocalEtcdMember& m = etcd.at(index);
    const std::string client_url = "http://" + m.endpoint;
    std::vector<std::string> argv = {"/usr/bin/etcd", "--name",
                                     m.name,          "--data-dir",
                                     m.data_dir,      "--listen-client-urls",
                                     client_url,      "--advertise-client-urls",
                                     client_url,      "--listen-peer-urls",
                                     m.peer_url,      "--initial-advertise-peer-urls",
                                     m.peer_url,      "--initial-cluster",
                                     initial_cluster, "--log-level",
                                     "warn"};
    if (etcd.size() > 1) {
      argv.insert(argv.end(),
                  {"--initial-cluster-token", "baton-" + cluster + "-" + std::to_string(getpid())});
    }
    auto pid = Spawn(argv, etcd_netns, m.log_path, {});
    if (!pid.ok()) return pid.status();
    m.pid = *pid;
  }
  if (Status s = WriteManifest(); !s.ok()) return s;
  // Wait until each answers (a member answers once a quorum is up). A fresh client per attempt:
  // a gRPC channel whose first connection was refused can sit in reconnect backoff for ~10 s.
  for (size_t index : members) {
    const LocalEtcdMember& m = etcd.at(index);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    Status ready = Unavailable("etcd did not start");
    while (std::chrono::steady_clock::now() < deadline) {
      ready = EtcdDcs({m.endpoint}, std::chrono::seconds(1)).GetPrefix("/baton/").status();
      if (ready.ok() || !ProcessAlive(m.pid)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!ready.ok()) {
      return ready.WithContext(fmt::format("etcd member {} (log: {})", m.name, m.log_path));
    }
  }
  return Status::Ok();
}

Status LocalCluster::RestartEtcd() {
  std::vector<size_t> all;
  for (size_t m = 0; m < etcd.size(); ++m) {
    StopProcess(etcd[m].pid, std::chrono::seconds(10));
    all.push_back(m);
  }
  return StartEtcdMembers(all);
}

void LocalCluster::KillEtcdMember(size_t index) {
  const pid_t pid = etcd.at(index).pid;
  if (ProcessAlive(pid)) kill(pid, SIGKILL);
  WaitForExit(pid, std::chrono::seconds(5));
}

std::vector<std::string> LocalCluster::EtcdEndpoints() const {
  std::vector<std::string> endpoints;
  for (const auto& m : etcd) endpoints.push_back(m.endpoint);
  return endpoints;
}

Status LocalCluster::StartAgent(size_t index, const std::map<std::string, std::string>& env) {
  LocalNode& n = nodes.at(index);
  std::map<std::string, std::string> full_env = env;
  full_env.insert(agent_env.begin(), agent_env.end());  // `env` wins over agent_env
  auto pid = Spawn({baton_binary, "agent", "-c", n.config_path}, n.netns, n.log_path, full_env);
  if (!pid.ok()) return pid.status();
  n.agent_pid = *pid;
  return WriteManifest();
}

std::optional<size_t> LocalCluster::NodeAt(const std::string& server) const {
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].pg_address() == server) return i;
  }
  return std::nullopt;
}

pid_t LocalCluster::PostmasterPid(size_t index) const {
  std::ifstream pidfile(nodes.at(index).data_dir + "/postmaster.pid");
  pid_t pid = 0;
  return pidfile >> pid ? pid : 0;
}

std::vector<pid_t> LocalCluster::KillNode(size_t index) {
  const pid_t agent = nodes.at(index).agent_pid;
  // Everything the agent started (PostgreSQL, pg_basebackup, hooks...) and every PostgreSQL
  // process (each backend runs in a session of its own), gathered before the first kill: a
  // killed agent's children are re-parented and would no longer show in its tree.
  std::vector<pid_t> victims = ProcessTree(agent);
  std::vector<pid_t> others = ProcessTree(PostmasterPid(index));
  // The fencing watchdog too, even one that outlived an agent killed earlier.
  others.push_back(FenceWatchdog::Find(nodes.at(index).data_dir));
  for (pid_t pid : others) {
    if (pid > 0 && std::find(victims.begin(), victims.end(), pid) == victims.end()) {
      victims.push_back(pid);
    }
  }
  for (pid_t pid : victims) kill(pid, SIGKILL);
  ReapIfChild(agent);
  return victims;
}

Status LocalCluster::WriteManifest() const {
  nlohmann::json nodes_json = nlohmann::json::array();
  for (const auto& n : nodes) {
    nlohmann::json node = {{"name", n.name},
                           {"config", n.config_path},
                           {"data_dir", n.data_dir},
                           {"log", n.log_path},
                           {"host", n.host},
                           {"pg_port", n.pg_port},
                           {"api_url", fmt::format("http://{}:{}", n.host, n.api_port)},
                           {"api_port", n.api_port},
                           {"agent_pid", n.agent_pid}};
    if (!n.netns.empty()) node["netns"] = n.netns;
    nodes_json.push_back(node);
  }
  nlohmann::json members = nlohmann::json::array();
  for (const auto& m : etcd) {
    members.push_back({{"name", m.name},
                       {"endpoint", m.endpoint},
                       {"peer_url", m.peer_url},
                       {"data_dir", m.data_dir},
                       {"log", m.log_path},
                       {"pid", m.pid}});
  }
  // The first member also at the top of "etcd", as the manifest always had it.
  nlohmann::json etcd_json = {{"endpoint", etcd_endpoint}, {"members", members}};
  if (!etcd.empty()) {
    etcd_json.update(
        {{"peer_url", etcd[0].peer_url}, {"pid", etcd[0].pid}, {"data_dir", etcd[0].data_dir}});
  }
  if (!etcd_netns.empty()) etcd_json["netns"] = etcd_netns;
  nlohmann::json manifest = {{"cluster", cluster},
                             {"dir", dir},
                             {"baton_binary", baton_binary},
                             {"etcd", etcd_json},
                             {"nodes", nodes_json}};
  if (run_as) manifest["run_as"] = {{"uid", run_as->uid}, {"gid", run_as->gid}};
  if (!agent_env.empty()) manifest["agent_env"] = agent_env;
  if (network) manifest["network"] = network->ToJson();
  return WriteText(dir + "/" + kManifest, JsonText(manifest, 2) + "\n");
}

Result<LocalCluster> LocalCluster::Load(const std::string& dir) {
  std::ifstream in(dir + "/" + kManifest);
  if (!in) return NotFound(fmt::format("no {} in {}", kManifest, dir));
  std::stringstream text;
  text << in.rdbuf();
  auto j = nlohmann::json::parse(text.str(), nullptr, false);
  if (!j.is_object())
    return InvalidArgument(fmt::format("{}/{} is not valid JSON", dir, kManifest));
  try {
    LocalCluster c;
    c.dir = j.at("dir");
    c.cluster = j.at("cluster");
    c.baton_binary = j.value("baton_binary", "");
    const nlohmann::json& etcd = j.at("etcd");
    c.etcd_endpoint = etcd.at("endpoint");
    c.etcd_netns = etcd.value("netns", "");
    if (etcd.contains("members")) {
      for (const auto& m : etcd.at("members")) {
        c.etcd.push_back({m.at("name"), m.at("endpoint"), m.at("peer_url"), m.at("data_dir"),
                          m.at("log"), m.at("pid")});
      }
    } else {  // a manifest from before etcd could have several members
      c.etcd.push_back({"baton-demo", c.etcd_endpoint, etcd.value("peer_url", ""),
                        etcd.at("data_dir"), c.dir + "/etcd.log", etcd.at("pid")});
    }
    if (j.contains("run_as")) c.run_as = RunAs{j["run_as"]["uid"], j["run_as"]["gid"]};
    for (const auto& n : j.at("nodes")) {
      LocalNode node;
      node.name = n.at("name");
      node.config_path = n.at("config");
      node.data_dir = n.at("data_dir");
      node.log_path = n.at("log");
      node.pg_port = n.at("pg_port");
      node.api_port = n.at("api_port");
      node.agent_pid = n.at("agent_pid");
      node.host = n.value("host", "127.0.0.1");
      node.netns = n.value("netns", "");
      c.nodes.push_back(node);
    }
    if (j.contains("agent_env")) {
      c.agent_env = j["agent_env"].get<std::map<std::string, std::string>>();
    }
    if (j.contains("network")) {
      auto network = LocalNetwork::FromJson(j["network"]);
      if (!network.ok()) return network.status().WithContext(dir + "/" + kManifest);
      c.network = std::move(network).value();
    }
    return c;
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(fmt::format("{}/{}: {}", dir, kManifest, e.what()));
  }
}

Status LocalCluster::Stop() {
  // Agents first, in parallel (each stops its PostgreSQL), then etcd. A process that a fault
  // left stopped (SIGSTOP) is resumed first, or its SIGTERM would wait for the SIGKILL.
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (pid_t pid : ProcessTree(nodes[i].agent_pid)) kill(pid, SIGCONT);
    for (pid_t pid : ProcessTree(PostmasterPid(i))) kill(pid, SIGCONT);
  }
  for (const auto& n : nodes) {
    if (ProcessAlive(n.agent_pid)) kill(n.agent_pid, SIGTERM);
  }
  for (const auto& n : nodes) StopProcess(n.agent_pid, std::chrono::seconds(60));
  // A PostgreSQL whose agent was killed earlier may still run: stop it too.
  for (size_t i = 0; i < nodes.size(); ++i) {
    const pid_t pg = PostmasterPid(i);
    if (pg > 0 && ProcessAlive(pg)) {
      kill(pg, SIGQUIT);
      StopProcess(pg, std::chrono::seconds(10));
    }
  }
  for (const auto& m : etcd) {
    if (ProcessAlive(m.pid)) kill(m.pid, SIGTERM);
  }
  for (const auto& m : etcd) StopProcess(m.pid, std::chrono::seconds(10));
  // Then the network: whatever still runs in a namespace is killed with it.
  if (network) {
    if (Status s = network->Destroy(); !s.ok()) return s;
  }
  return Status::Ok();
}

Result<ClusterView> LocalCluster::View() const {
  EtcdDcs dcs(EtcdEndpoints(), std::chrono::seconds(2));
  SteadyClock clock;
  return ClusterStore(dcs, cluster, "", 10, clock).Load();
}

std::optional<size_t> LocalCluster::LeaderIndex() const {
  auto view = View();
  if (!view.ok() || !view->leader) return std::nullopt;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].name == view->leader->name) return i;
  }
  return std::nullopt;
}

Status LocalCluster::WaitHealthy(Duration timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last = "no answer from etcd";
  while (std::chrono::steady_clock::now() < deadline) {
    auto view = View();
    if (view.ok()) {
      const MemberInfo* leader = view->LeaderMember();
      size_t streaming = 0;
      for (const auto& [name, m] : view->members) {
        // Zero lag as the leader itself reports it (pg_stat_replication), so a leader record
        // from before the replica connected cannot pass for a caught-up one; and the leader's
        // timeline in the replica's own record, so a record published while the replica still
        // received on the timeline before a promotion cannot pass for one that follows.
        const ClusterView::Lag lag = view->LagOf(m);
        if (leader && name != leader->name && m.streaming && m.upstream == leader->name &&
            m.timeline == leader->timeline && lag.seconds.has_value() && lag.bytes == 0u) {
          ++streaming;
        }
      }
      const bool leader_ok = leader && leader->Runs(MemberRole::kPrimary);
      // In synchronous mode, also: the leader's record lists every replica, with confirmations.
      const bool sync_ok =
          !view->sync || (leader_ok && view->sync->leader == leader->name && view->sync->acks > 0 &&
                          view->sync->standbys.size() + 1 == nodes.size());
      if (leader_ok && streaming + 1 == nodes.size() && sync_ok) return Status::Ok();
      last = fmt::format("leader {}, {} of {} replicas streaming on its timeline with zero lag{}",
                         leader_ok ? leader->name : "none", streaming, nodes.size() - 1,
                         sync_ok ? "" : ", synchronous record " + view->sync_text);
    } else {
      last = view.status().ToString();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return Timeout(fmt::format("cluster not healthy after {:.0f} s: {}", Seconds(timeout), last));
}

std::string LocalCluster::ConnInfo(size_t index) const {
  return SuperuserConnInfo(nodes.at(index).host, nodes.at(index).pg_port, "postgres", 3);
}

std::string LocalCluster::SuperuserConnInfo(const std::string& host, int port,
                                            const std::string& dbname,
                                            int connect_timeout_seconds) {
  return baton::ConnInfo({{"host", host},
                          {"port", std::to_string(port)},
                          {"user", "postgres"},
                          {"password", kSuperuserPassword},
                          {"dbname", dbname},
                          {"connect_timeout", std::to_string(connect_timeout_seconds)}});
}

}  // namespace baton
