#include "drill/chaos_fault.h"

#include <fmt/format.h>
#include <signal.h>

#include <fstream>
#include <future>
#include <thread>

#include "core/process.h"
#include "lab/local_network.h"
#include "pg/pg_connection.h"

namespace baton {

namespace {

constexpr auto kProbeTimeout = std::chrono::milliseconds(500);
constexpr auto kCheckTimeout = std::chrono::seconds(5);
constexpr auto kIptablesTimeout = std::chrono::seconds(10);

// The state letter in /proc/PID/stat ('T' = stopped), 0 when the process is gone.
char ProcessState(pid_t pid) {
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string line;
  if (!std::getline(stat, line)) return 0;
  const auto close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() ? 0 : line[close + 2];
}

// The furthest WAL position the nodes other than `primary` report having received (or
// replayed); 0/0 when none answers within a second.
Lsn FurthestReplicated(const LocalCluster& cluster, size_t primary) {
  Lsn furthest;
  for (size_t i = 0; i < cluster.nodes.size(); ++i) {
    if (i == primary) continue;
    auto conn = PgConnection::Connect(cluster.ConnInfo(i), std::chrono::seconds(1));
    if (!conn.ok()) continue;
    auto rows = (*conn)->Query(
        "SELECT GREATEST(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::text");
    if (!rows.ok() || rows->empty() || !(*rows)[0][0]) continue;
    if (auto lsn = Lsn::Parse(*(*rows)[0][0])) furthest = std::max(furthest, *lsn);
  }
  return furthest;
}

template <typename Condition>
bool Within(Duration timeout, Condition condition) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // poll interval
  }
  return true;
}

Status Iptables(const std::string& netns, const std::vector<std::string>& args) {
  auto iptables = SystemTool("iptables");
  if (!iptables.ok()) return iptables.status();
  std::vector<std::string> argv = {*iptables, "-w"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto result = RunInNamespace(netns, argv, kIptablesTimeout);
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) return Internal("iptables in " + netns + ": " + result->output);
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<ChaosFault>> ChaosFault::Make(const std::string& kind, LocalCluster& cluster,
                                                     Duration hold, uint64_t pick) {
  bool known = false;
  for (const char* k : kChaosFaultKinds) known = known || kind == k;
  if (!known) {
    std::string kinds;
    for (const char* k : kChaosFaultKinds) kinds += (kinds.empty() ? "" : ", ") + std::string(k);
    return InvalidArgument(fmt::format("unknown fault kind '{}' ({})", kind, kinds));
  }
  if (kind.rfind("partition-", 0) == 0 && !cluster.network) {
    return FailedPrecondition(kind + " needs a cluster in network namespaces");
  }
  if (kind == "partition-replica" && cluster.nodes.size() < 2) {
    return FailedPrecondition("partition-replica needs a replica");
  }
  return std::unique_ptr<ChaosFault>(new ChaosFault(kind, cluster, hold, pick));
}

Status ChaosFault::Inject(const std::string& primary) {
  node_ = cluster_.NodeAt(primary);
  etcd_members_.clear();
  stopped_.clear();
  target_.clear();
  evidence_.clear();
  if (!node_) return NotFound("the primary " + primary + " is not a node of this cluster");
  const size_t p = *node_;
  target_ = cluster_.nodes[p].name;
  replicated_ = FurthestReplicated(cluster_, p);
  if (kind_ == "kill-node") {
    const std::vector<pid_t> killed = cluster_.KillNode(p);
    for (pid_t pid : killed) {
      if (!WaitForExit(pid, kCheckTimeout)) {
        return Internal(fmt::format("process {} of {} survived kill -9", pid, target_));
      }
    }
    evidence_ = fmt::format("{} processes killed and gone (agent, PostgreSQL)", killed.size());
    return Status::Ok();
  }
  if (kind_ == "sigstop-postgres") {
    const pid_t postmaster = cluster_.PostmasterPid(p);
    if (postmaster <= 0 || !ProcessAlive(postmaster)) {
      return FailedPrecondition(target_ + " has no postmaster to stop");
    }
    // The postmaster first, so it forks nothing new while its tree is gathered.
    if (Status s = StopProcesses({postmaster}); !s.ok()) return s;
    std::vector<pid_t> children = ProcessTree(postmaster);
    children.erase(children.begin());
    if (Status s = StopProcesses(children); !s.ok()) return s;
    evidence_ = fmt::format("{} PostgreSQL processes stopped (state T)", stopped_.size());
    return Status::Ok();
  }
  if (kind_ == "sigstop-agent") {
    if (Status s = StopProcesses({cluster_.nodes[p].agent_pid}); !s.ok()) return s;
    evidence_ = fmt::format("agent pid {} stopped (state T)", cluster_.nodes[p].agent_pid);
    return Status::Ok();
  }
  if (kind_.rfind("partition-", 0) == 0) {
    if (kind_ == "partition-replica") {
      std::vector<size_t> replicas;
      for (size_t i = 0; i < cluster_.nodes.size(); ++i) {
        if (i != p) replicas.push_back(i);
      }
      node_ = replicas[pick_ % replicas.size()];
      target_ = cluster_.nodes[*node_].name;
    }
    const bool out = kind_ != "partition-primary-in";
    const bool in = kind_ != "partition-primary-out";
    if (Status s = Partition(*node_, out, in); !s.ok()) return s;
    return CheckPartition(*node_);
  }
  // etcd-member-down, etcd-down
  for (size_t m = 0; m < cluster_.etcd.size(); ++m) {
    if (kind_ == "etcd-down" || m == pick_ % cluster_.etcd.size()) etcd_members_.push_back(m);
  }
  target_.clear();
  for (size_t m : etcd_members_) {
    cluster_.KillEtcdMember(m);
    target_ += (target_.empty() ? "" : " ") + cluster_.etcd[m].name;
    if (ProcessAlive(cluster_.etcd[m].pid)) {
      return Internal(cluster_.etcd[m].name + " survived kill -9");
    }
    // Its listening socket closes once the last of its threads is gone, a moment after the
    // process counts as dead.
    const auto [host, port] = HostPort::Parse(cluster_.etcd[m].endpoint).value();
    if (!Within(kCheckTimeout,
                [&, h = host, p = port] { return !TcpConnects("", h, p, kProbeTimeout); })) {
      return Internal(cluster_.etcd[m].name + " still accepts connections after kill -9");
    }
  }
  evidence_ = fmt::format("{} of {} etcd members gone (no process, connections refused)",
                          etcd_members_.size(), cluster_.etcd.size());
  return Status::Ok();
}

Status ChaosFault::StopProcesses(const std::vector<pid_t>& pids) {
  for (pid_t pid : pids) {
    if (kill(pid, SIGSTOP) == 0) stopped_.push_back(pid);
  }
  for (pid_t pid : pids) {
    const char state = ProcessState(pid);
    if (state == 0) continue;  // exited meanwhile (a backend whose client left)
    if (!Within(kCheckTimeout, [&] { return ProcessState(pid) == 'T'; })) {
      return Internal(fmt::format("process {} did not stop (state {})", pid, ProcessState(pid)));
    }
  }
  return Status::Ok();
}

Status ChaosFault::Partition(size_t node, bool drop_outbound, bool drop_inbound) {
  std::string others;  // every etcd member's and every other node's address
  for (const auto& m : cluster_.etcd) {
    const std::string host = HostPort::Parse(m.endpoint).value().host;
    if (others.find(host) == std::string::npos) others += (others.empty() ? "" : ",") + host;
  }
  for (size_t i = 0; i < cluster_.nodes.size(); ++i) {
    if (i != node) others += "," + cluster_.nodes[i].host;
  }
  const std::string& netns = cluster_.nodes[node].netns;
  if (drop_outbound) {
    if (Status s = Iptables(netns, {"-A", "OUTPUT", "-d", others, "-j", "DROP"}); !s.ok()) return s;
  }
  if (drop_inbound) {
    if (Status s = Iptables(netns, {"-A", "INPUT", "-s", others, "-j", "DROP"}); !s.ok()) return s;
  }
  return Status::Ok();
}

Status ChaosFault::CheckPartition(size_t node) {
  const LocalNode& n = cluster_.nodes[node];
  // Every path that must be cut, and the one that must stay: TCP connection attempts, in
  // parallel so the check takes one probe's time.
  struct Probe {
    std::string what;
    std::future<bool> connects;
    bool must_connect;
  };
  std::vector<Probe> probes;
  auto probe = [&](std::string what, std::string netns, std::string host, int port, bool must) {
    probes.push_back({std::move(what),
                      std::async(std::launch::async,
                                 [=] { return TcpConnects(netns, host, port, kProbeTimeout); }),
                      must});
  };
  for (const auto& m : cluster_.etcd) {
    const auto [host, port] = HostPort::Parse(m.endpoint).value();
    probe(n.name + " -> " + m.name, n.netns, host, port, false);
  }
  probe(cluster_.etcd.front().name + " -> " + n.name, cluster_.etcd_netns, n.host, n.api_port,
        false);
  for (const auto& peer : cluster_.nodes) {
    if (peer.name == n.name) continue;
    probe(n.name + " -> " + peer.name, n.netns, peer.host, peer.pg_port, false);
    probe(peer.name + " -> " + n.name, peer.netns, n.host, n.pg_port, false);
  }
  probe("clients -> " + n.name, "", n.host, n.pg_port, true);
  std::string wrong;
  for (auto& p : probes) {
    if (p.connects.get() != p.must_connect) {
      wrong += fmt::format("{}{} {}", wrong.empty() ? "" : ", ", p.what,
                           p.must_connect ? "is cut" : "still connects");
    }
  }
  if (!wrong.empty()) return Internal("the partition is not what it should be: " + wrong);
  evidence_ = fmt::format(
      "TCP probes: {} reaches no etcd member and no peer, none reaches it; the clients still do "
      "({} paths checked)",
      n.name, probes.size());
  return Status::Ok();
}

Status ChaosFault::Heal() {
  Status healed;
  if (kind_ == "kill-node" && node_ && !ProcessAlive(cluster_.nodes[*node_].agent_pid)) {
    healed = cluster_.StartAgent(*node_);
  } else if (kind_.rfind("sigstop-", 0) == 0) {
    for (pid_t pid : stopped_) kill(pid, SIGCONT);
  } else if (kind_.rfind("partition-", 0) == 0 && node_) {
    const LocalNode& n = cluster_.nodes[*node_];
    healed = Iptables(n.netns, {"-F", "INPUT"});
    if (healed.ok()) healed = Iptables(n.netns, {"-F", "OUTPUT"});
    const auto [host, port] = HostPort::Parse(cluster_.etcd.front().endpoint).value();
    if (healed.ok() && !Within(kCheckTimeout, [&, h = host, p = port] {
          return TcpConnects(n.netns, h, p, kProbeTimeout);
        })) {
      healed = Internal(n.name + " still cannot reach etcd after the partition was lifted");
    }
  } else if (!etcd_members_.empty()) {
    std::vector<size_t> down;  // an injection that failed half-way left some running
    for (size_t m : etcd_members_) {
      if (!ProcessAlive(cluster_.etcd[m].pid)) down.push_back(m);
    }
    healed = cluster_.StartEtcdMembers(down);
  }
  node_.reset();
  etcd_members_.clear();
  stopped_.clear();
  return healed;
}

}  // namespace baton
