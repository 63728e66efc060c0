#include "cli/local_cluster.h"

#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/json_text.h"
#include "dcs/cluster_store.h"
#include "dcs/etcd_dcs.h"
#include "pg/pg_connection.h"

namespace baton {

namespace fs = std::filesystem;

namespace {

constexpr const char* kManifest = "demo.json";

// Ports the kernel hands out as free; all sockets stay open until every port is chosen so
// the same port is never returned twice.
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
  if (ProcessAlive(c.etcd_pid)) return true;
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

}  // namespace

Result<LocalCluster> LocalCluster::Start(const LocalClusterOptions& options) {
  if (options.nodes < 1 || options.nodes > 9) return InvalidArgument("--nodes must be 1 to 9");
  LocalCluster c;
  c.dir = fs::absolute(options.dir).lexically_normal().string();
  c.cluster = options.cluster;
  c.baton_binary = options.baton_binary;
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
    fs::remove_all(c.dir, ec);  // a stopped demo of ours
  }
  fs::create_directories(c.dir, ec);
  if (ec) return Internal(fmt::format("cannot create {}: {}", c.dir, ec.message()));

  auto ports = FreePorts(2 + 2 * options.nodes);
  if (!ports.ok()) return ports.status();
  const int etcd_client = (*ports)[0];
  const int etcd_peer = (*ports)[1];
  c.etcd_endpoint = fmt::format("127.0.0.1:{}", etcd_client);
  c.etcd_data_dir = c.dir + "/etcd";

  for (int i = 0; i < options.nodes; ++i) {
    LocalNode n;
    n.name = fmt::format("node{}", i + 1);
    const std::string node_dir = c.dir + "/" + n.name;
    fs::create_directories(node_dir, ec);
    n.config_path = node_dir + "/baton.yaml";
    n.data_dir = node_dir + "/data";
    n.log_path = node_dir + "/agent.log";
    n.pg_port = (*ports)[2 + 2 * i];
    n.api_port = (*ports)[3 + 2 * i];
    const std::string yaml = fmt::format(
        "cluster:\n  name: {}\nnode:\n  name: {}\netcd:\n  endpoints: [{}]\n"
        "postgresql:\n  data_dir: {}\n  listen: 127.0.0.1:{}\n  socket_dir: {}\n"
        "  superuser:\n    username: postgres\n    password: {}\n"
        "  replication:\n    username: replicator\n    password: baton-demo-replication\n"
        "  parameters:\n    shared_buffers: 32MB\n    max_connections: 50\n"
        "restapi:\n  listen: 127.0.0.1:{}\n"
        "timing:\n  ttl: {}\n  loop_wait: {}\n  retry_timeout: {}\n  primary_start_timeout: {}\n"
        "  maximum_lag_on_failover: {}\n",
        c.cluster, n.name, c.etcd_endpoint, n.data_dir, n.pg_port, node_dir, kSuperuserPassword,
        n.api_port, options.ttl_seconds, options.loop_wait_seconds, options.retry_timeout_seconds,
        options.primary_start_timeout_seconds, options.maximum_lag_on_failover);
    if (Status s = WriteText(n.config_path, yaml); !s.ok()) return s;
    c.nodes.push_back(n);
  }
  fs::create_directories(c.etcd_data_dir, ec);
  if (Status s = HandOver(c.dir, c.run_as); !s.ok()) return s;

  c.etcd_peer_url = fmt::format("http://127.0.0.1:{}", etcd_peer);
  if (Status s = c.StartEtcd(); !s.ok()) {
    (void)c.Stop();
    return s;
  }
  for (size_t i = 0; i < c.nodes.size(); ++i) {
    if (Status s = c.StartAgent(i); !s.ok()) {
      (void)c.Stop();
      return s;
    }
  }
  return c;
}

Status LocalCluster::StartEtcd() {
  const std::string client_url = fmt::format("http://{}", etcd_endpoint);
  auto etcd = SpawnDetached(
      {"/usr/bin/etcd", "--name", "baton-demo", "--data-dir", etcd_data_dir, "--listen-client-urls",
       client_url, "--advertise-client-urls", client_url, "--listen-peer-urls", etcd_peer_url,
       "--initial-advertise-peer-urls", etcd_peer_url, "--initial-cluster",
       "baton-demo=" + etcd_peer_url, "--log-level", "warn"},
      dir + "/etcd.log", run_as);
  if (!etcd.ok()) return etcd.status();
  etcd_pid = *etcd;
  if (Status s = WriteManifest(); !s.ok()) return s;
  // Wait until etcd answers. A fresh client per attempt: a gRPC channel whose first connection
  // was refused can sit in reconnect backoff for ~10 s.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  Status ready = Unavailable("etcd did not start");
  while (std::chrono::steady_clock::now() < deadline) {
    ready = EtcdDcs({etcd_endpoint}, std::chrono::seconds(1)).GetPrefix("/baton/").status();
    if (ready.ok() || !ProcessAlive(etcd_pid)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return ready.WithContext(fmt::format("etcd (log: {}/etcd.log)", dir));
}

Status LocalCluster::RestartEtcd() {
  StopProcess(etcd_pid, std::chrono::seconds(10));
  return StartEtcd();
}

Status LocalCluster::StartAgent(size_t index, const std::map<std::string, std::string>& env) {
  LocalNode& n = nodes.at(index);
  auto pid = SpawnDetached({baton_binary, "agent", "-c", n.config_path}, n.log_path, run_as, env);
  if (!pid.ok()) return pid.status();
  n.agent_pid = *pid;
  return WriteManifest();
}

pid_t LocalCluster::PostmasterPid(size_t index) const {
  std::ifstream pidfile(nodes.at(index).data_dir + "/postmaster.pid");
  pid_t pid = 0;
  return pidfile >> pid ? pid : 0;
}

void LocalCluster::KillNode(size_t index) {
  const pid_t agent = nodes.at(index).agent_pid;
  const pid_t postmaster = PostmasterPid(index);
  if (ProcessAlive(agent)) kill(agent, SIGKILL);
  // Every PostgreSQL process: each backend runs in a session of its own.
  for (pid_t pid : ProcessTree(postmaster)) kill(pid, SIGKILL);
  ReapIfChild(agent);
}

Status LocalCluster::WriteManifest() const {
  nlohmann::json nodes_json = nlohmann::json::array();
  for (const auto& n : nodes) {
    nodes_json.push_back({{"name", n.name},
                          {"config", n.config_path},
                          {"data_dir", n.data_dir},
                          {"log", n.log_path},
                          {"pg_port", n.pg_port},
                          {"api_url", fmt::format("http://127.0.0.1:{}", n.api_port)},
                          {"api_port", n.api_port},
                          {"agent_pid", n.agent_pid}});
  }
  nlohmann::json manifest = {{"cluster", cluster},
                             {"dir", dir},
                             {"baton_binary", baton_binary},
                             {"etcd",
                              {{"endpoint", etcd_endpoint},
                               {"peer_url", etcd_peer_url},
                               {"pid", etcd_pid},
                               {"data_dir", etcd_data_dir}}},
                             {"nodes", nodes_json}};
  if (run_as) manifest["run_as"] = {{"uid", run_as->uid}, {"gid", run_as->gid}};
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
    c.etcd_endpoint = j.at("etcd").at("endpoint");
    c.etcd_pid = j.at("etcd").at("pid");
    c.etcd_data_dir = j.at("etcd").at("data_dir");
    c.etcd_peer_url = j.at("etcd").value("peer_url", "");
    if (j.contains("run_as")) c.run_as = RunAs{j["run_as"]["uid"], j["run_as"]["gid"]};
    for (const auto& n : j.at("nodes")) {
      c.nodes.push_back({n.at("name"), n.at("config"), n.at("data_dir"), n.at("log"),
                         n.at("pg_port"), n.at("api_port"), n.at("agent_pid")});
    }
    return c;
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(fmt::format("{}/{}: {}", dir, kManifest, e.what()));
  }
}

Status LocalCluster::Stop() {
  // Agents first, in parallel (each stops its PostgreSQL), then etcd.
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
  StopProcess(etcd_pid, std::chrono::seconds(10));
  return Status::Ok();
}

Result<ClusterView> LocalCluster::View() const {
  EtcdDcs dcs({etcd_endpoint}, std::chrono::seconds(2));
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
        // from before the replica connected cannot pass for a caught-up one.
        const ClusterView::Lag lag = view->LagOf(m);
        if (leader && name != leader->name && m.streaming && m.upstream == leader->name &&
            lag.seconds.has_value() && lag.bytes == 0u) {
          ++streaming;
        }
      }
      const bool leader_ok = leader && leader->role == "primary" && leader->state == "running";
      if (leader_ok && streaming + 1 == nodes.size()) return Status::Ok();
      last = fmt::format("leader {}, {} of {} replicas streaming with zero lag",
                         leader_ok ? leader->name : "none", streaming, nodes.size() - 1);
    } else {
      last = view.status().ToString();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return Timeout(fmt::format("cluster not healthy after {:.0f} s: {}", Seconds(timeout), last));
}

std::string LocalCluster::ConnInfo(size_t index) const {
  return baton::ConnInfo({{"host", "127.0.0.1"},
                          {"port", std::to_string(nodes.at(index).pg_port)},
                          {"user", "postgres"},
                          {"password", kSuperuserPassword},
                          {"dbname", "postgres"},
                          {"connect_timeout", "3"}});
}

}  // namespace baton
