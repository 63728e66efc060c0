// bench/router: what the router costs and what it saves, on one machine over loopback.
//   1. Throughput: pgbench -S (select-only) straight to the leader and through the router's
//      read-write port, alternately, twice each; the router's share of direct throughput.
//   2. Latency: one client, `SELECT 1` round trips, direct and through the router; the added
//      median.
//   3. Memory: a second `baton router` whose writer (written into etcd under a cluster of its
//      own) is a TCP sink in this process: its resident memory before and after holding N idle
//      client connections (each spliced to a sink connection; PostgreSQL would need N backends).
//   4. Switchover: clients writing through the router, then through PgBouncer (transaction
//      pooling, kept pointed at the leader by the router), while `baton switchover` runs; the
//      longest time without an acknowledged write (the pause clients see) and client errors.
// A benchmark, not a test: it prints figures.
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "core/process.h"
#include "core/tcp_probe.h"
#include "dcs/cluster_store.h"
#include "dcs/etcd_dcs.h"
#include "drill/write_load.h"
#include "lab/local_cluster.h"
#include "pg/pg_connection.h"

namespace baton {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kPgbench = "/usr/lib/postgresql/15/bin/pgbench";

template <typename Condition>
bool PollUntil(Duration timeout, Condition condition) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return condition();
}

// A child process, stopped with SIGTERM when this goes.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& log) {
    auto pid = SpawnDetached(argv, log);
    if (pid.ok()) pid_ = *pid;
  }
  ~Child() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    if (!WaitForExit(pid_, seconds(10))) kill(pid_, SIGKILL);
    WaitForExit(pid_, seconds(5));
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = 0;
};

std::string ConnTo(int port, const std::string& dbname = "postgres") {
  return LocalCluster::SuperuserConnInfo("127.0.0.1", port, dbname);
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

long ResidentKiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

struct PgbenchResult {
  double tps = 0;
  double latency_ms = 0;
};

Result<PgbenchResult> Pgbench(int port, const std::string& dbname, int clients,
                              int seconds_to_run) {
  auto result =
      RunCommand({kPgbench, "-n", "-S", "-c", std::to_string(clients), "-j", "2", "-T",
                  std::to_string(seconds_to_run), "-h", "127.0.0.1", "-p", std::to_string(port),
                  "-U", "postgres", dbname},
                 {{"PGPASSWORD", LocalCluster::kSuperuserPassword}}, seconds(seconds_to_run + 60));
  if (!result.ok()) return result.status();
  std::smatch m;
  PgbenchResult out;
  if (!std::regex_search(result->output, m, std::regex(R"(tps = ([0-9.]+) \(without)"))) {
    return Internal("pgbench: " + result->output);
  }
  out.tps = std::stod(m[1]);
  if (std::regex_search(result->output, m, std::regex(R"(latency average = ([0-9.]+) ms)"))) {
    out.latency_ms = std::stod(m[1]);
  }
  return out;
}

// Round trips of `SELECT 1` on one connection, in microseconds each.
Result<std::vector<double>> RoundTrips(int port, int count) {
  auto conn = PgConnection::Connect(ConnTo(port));
  if (!conn.ok()) return conn.status();
  std::vector<double> us;
  us.reserve(count);
  for (int i = 0; i < count; ++i) {
    const auto start = std::chrono::steady_clock::now();
    if (Status s = (*conn)->Execute("SELECT 1"); !s.ok()) return s;
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  return us;
}

// Accepts connections and holds them, doing nothing else.
class TcpSink {
 public:
  TcpSink() : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 4096);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd pfd{fd_, POLLIN, 0};
        if (poll(&pfd, 1, 50) != 1) continue;
        const int client = accept(fd_, nullptr, nullptr);
        if (client >= 0) held_.push_back(client), ++count_;
      }
    });
  }
  ~TcpSink() {
    stop_ = true;
    thread_.join();
    for (int fd : held_) close(fd);
    close(fd_);
  }
  int port() const { return port_; }
  size_t count() const { return count_; }

 private:
  const int fd_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> count_{0};
  std::vector<int> held_;
  std::thread thread_;
};

int ConnectTo(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

struct SwitchoverRound {
  double pause_seconds = 0;
  size_t errors = 0;
  size_t acked = 0;
};

// Clients writing through `dsn` while the leader switches over; the longest stretch without an
// acknowledged write around it, and the errors clients saw.
Result<SwitchoverRound> SwitchoverThrough(LocalCluster& cluster, const std::string& dsn,
                                          const std::string& table, int clients) {
  if (Status s = cluster.WaitHealthy(seconds(120)); !s.ok()) return s;
  auto leader = cluster.LeaderIndex();
  if (!leader) return FailedPrecondition("no leader");
  std::vector<std::unique_ptr<WriteLoad>> loads;
  for (int i = 0; i < clients; ++i) {
    loads.push_back(std::make_unique<WriteLoad>(dsn, fmt::format("{}_{}", table, i)));
    if (Status s = loads.back()->Prepare(seconds(30)); !s.ok()) return s;
  }
  for (auto& load : loads) load->Start();
  PollUntil(seconds(30), [&] { return loads[0]->acked_count() >= 300; });
  const auto started = std::chrono::steady_clock::now();
  auto result =
      RunCommand({cluster.baton_binary, "switchover", "-c", cluster.nodes[*leader].config_path}, {},
                 seconds(90));
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) return Internal("baton switchover: " + result->output);
  const std::string old_name = cluster.nodes[*leader].name;
  PollUntil(seconds(60), [&] {
    for (auto& load : loads) {
      if (!load->FirstAckAfter(started, old_name)) return false;
    }
    return true;
  });
  std::this_thread::sleep_for(seconds(1));  // a second of writes on the new leader
  SwitchoverRound round;
  std::vector<TimePoint> acks;
  for (auto& load : loads) {
    load->Stop();
    round.errors += load->failed() + load->unknown();
    for (const auto& ack : load->Acked()) acks.push_back(ack.at);
  }
  round.acked = acks.size();
  std::sort(acks.begin(), acks.end());
  for (size_t i = 1; i < acks.size(); ++i) {
    if (acks[i] < started) continue;
    round.pause_seconds =
        std::max(round.pause_seconds, std::chrono::duration<double>(acks[i] - acks[i - 1]).count());
  }
  return round;
}

int Main(int argc, char** argv) {
  CLI::App app{"The router's throughput, latency, memory and switchover pause"};
  LocalClusterOptions options;
  options.dir = "/tmp/baton-bench-router";
  int bench_seconds = 10;
  int clients = 4;
  int idle = 5000;
  int rounds = 3;
  app.add_option("--dir", options.dir, "Working directory (replaced)")->capture_default_str();
  app.add_option("--seconds", bench_seconds, "Seconds per pgbench run")->capture_default_str();
  app.add_option("--clients", clients, "pgbench and writer clients")->capture_default_str();
  app.add_option("--idle", idle, "Idle connections for the memory figure")->capture_default_str();
  app.add_option("--rounds", rounds, "Switchovers through the router and through PgBouncer")
      ->capture_default_str();
  app.add_option("--baton", options.baton_binary, "The baton binary")->required();
  CLI11_PARSE(app, argc, argv);
  RaiseDescriptorLimit();  // two per idle connection, here and in the sink

  std::error_code ignored;
  std::filesystem::remove_all(options.dir, ignored);
  std::cout << "bench/router: starting a 3-node cluster in " << options.dir << "\n" << std::flush;
  auto cluster = LocalCluster::Start(options);
  if (!cluster.ok()) {
    std::cerr << cluster.status().ToString() << "\n";
    return 1;
  }
  if (Status s = cluster->WaitHealthy(seconds(120)); !s.ok()) {
    std::cerr << s.ToString() << "\n";
    return 1;
  }
  auto ports = FreePorts(4);
  if (!ports.ok()) return 1;
  const int rw = (*ports)[0], ro = (*ports)[1], bouncer = (*ports)[2], idle_rw = (*ports)[3];
  const std::string dir = options.dir + "/router";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/databases.ini") << "[databases]\n";
  std::ofstream(dir + "/userlist.txt")
      << "\"postgres\" \"" << LocalCluster::kSuperuserPassword << "\"\n";
  std::ofstream(dir + "/pgbouncer.ini")
      << "%include " << dir << "/databases.ini\n[pgbouncer]\nlisten_addr = 127.0.0.1\n"
      << "listen_port = " << bouncer << "\nunix_socket_dir =\nauth_type = md5\nauth_file = " << dir
      << "/userlist.txt\nadmin_users = postgres\npool_mode = transaction\ndefault_pool_size = 20\n"
      << "max_client_conn = 500\npidfile = " << dir << "/pgbouncer.pid\n";
  std::ofstream(dir + "/router.yaml")
      << "cluster:\n  name: " << cluster->cluster << "\netcd:\n  endpoints: ["
      << cluster->etcd_endpoint << "]\nrouter:\n  read_write: 127.0.0.1:" << rw
      << "\n  read_only: 127.0.0.1:" << ro << "\npgbouncer:\n  listen: 127.0.0.1:" << bouncer
      << "\n  username: postgres\n  password: " << LocalCluster::kSuperuserPassword
      << "\n  database: app\n  dbname: postgres\n  databases_file: " << dir << "/databases.ini\n";
  int status = 0;
  {
    Child pgbouncer({"/usr/sbin/pgbouncer", dir + "/pgbouncer.ini"}, dir + "/pgbouncer.log");
    Child router({options.baton_binary, "router", "-c", dir + "/router.yaml"}, dir + "/router.log");
    const bool up = PollUntil(seconds(30), [&] {
      if (!TcpConnects("127.0.0.1", rw, milliseconds(200))) return false;
      auto conn = PgConnection::Connect(ConnTo(bouncer, "app"), seconds(2));
      return conn.ok() && (*conn)->Execute("SELECT 1").ok();
    });
    const auto leader = cluster->LeaderIndex();
    if (!up || !leader) {
      std::cerr << "the router or PgBouncer did not come up; see " << dir << "\n";
      (void)cluster->Stop();
      return 1;
    }
    const int direct = cluster->nodes[*leader].pg_port;

    // 1. Throughput.
    auto init = RunCommand({kPgbench, "-i", "-s", "10", "-q", "-h", "127.0.0.1", "-p",
                            std::to_string(direct), "-U", "postgres", "postgres"},
                           {{"PGPASSWORD", LocalCluster::kSuperuserPassword}}, seconds(300));
    if (!init.ok() || init->exit_code != 0) {
      std::cerr << "pgbench -i failed\n";
      (void)cluster->Stop();
      return 1;
    }
    // Direct, through the router, and through PgBouncer (for reference: another proxy on the
    // same cores), in turn, twice.
    const std::vector<std::pair<std::string, std::pair<int, std::string>>> targets = {
        {"direct", {direct, "postgres"}},
        {"via router", {rw, "postgres"}},
        {"via PgBouncer", {bouncer, "app"}}};
    std::map<std::string, std::vector<double>> tps;
    for (int i = 0; i < 2; ++i) {
      for (const auto& [name, target] : targets) {
        auto r = Pgbench(target.first, target.second, clients, bench_seconds);
        if (!r.ok()) {
          std::cerr << r.status().ToString() << "\n";
          status = 1;
          continue;
        }
        tps[name].push_back(r->tps);
        std::cout << fmt::format("pgbench -S -c {} -T {} {:<13}: {:.0f} tps, latency {:.3f} ms\n",
                                 clients, bench_seconds, name, r->tps, r->latency_ms)
                  << std::flush;
      }
    }
    auto mean = [](const std::vector<double>& v) {
      double sum = 0;
      for (double x : v) sum += x;
      return v.empty() ? 0.0 : sum / v.size();
    };
    const double direct_mean = mean(tps["direct"]);
    const double router_mean = mean(tps["via router"]);
    const double bouncer_mean = mean(tps["via PgBouncer"]);

    // 2. Latency.
    auto direct_rt = RoundTrips(direct, 20000);
    auto router_rt = RoundTrips(rw, 20000);
    double direct_median = 0, router_median = 0;
    if (direct_rt.ok() && router_rt.ok()) {
      direct_median = Median(*direct_rt);
      router_median = Median(*router_rt);
    } else {
      status = 1;
    }

    // 3. Memory, on a router of its own whose writer is a sink.
    long rss_before = -1, rss_after = -1;
    size_t held = 0;
    {
      TcpSink sink;
      EtcdDcs dcs({cluster->etcd_endpoint}, seconds(3));
      const std::string prefix = ClusterStore::Prefix("routerbench");
      MemberInfo member;
      member.name = "sink";
      member.role = MemberRole::kPrimary;
      member.state = MemberState::kRunning;
      member.pg_address = "127.0.0.1:" + std::to_string(sink.port());
      (void)dcs.Put(prefix + "leader", "sink", 0);
      (void)dcs.Put(prefix + "members/sink", member.ToJson().dump(), 0);
      std::ofstream(dir + "/idle.yaml")
          << "cluster:\n  name: routerbench\netcd:\n  endpoints: [" << cluster->etcd_endpoint
          << "]\nrouter:\n  read_write: 127.0.0.1:" << idle_rw << "\n";
      Child idle_router({options.baton_binary, "router", "-c", dir + "/idle.yaml"},
                        dir + "/idle-router.log");
      PollUntil(seconds(30), [&] { return TcpConnects("127.0.0.1", idle_rw, milliseconds(200)); });
      std::this_thread::sleep_for(milliseconds(500));  // its first read of etcd
      rss_before = ResidentKiB(idle_router.pid());
      std::vector<int> clients_fds;
      for (int i = 0; i < idle; ++i) {
        const int fd = ConnectTo(idle_rw);
        if (fd >= 0) clients_fds.push_back(fd);
      }
      PollUntil(seconds(60), [&] { return sink.count() >= clients_fds.size(); });
      held = sink.count();
      rss_after = ResidentKiB(idle_router.pid());
      for (int fd : clients_fds) close(fd);
      (void)dcs.Delete(prefix + "leader");
      (void)dcs.Delete(prefix + "members/sink");
    }

    // 4. Switchovers.
    std::vector<double> router_pauses, bouncer_pauses;
    size_t router_errors = 0, bouncer_errors = 0;
    for (int r = 1; r <= rounds; ++r) {
      for (bool via_bouncer : {false, true}) {
        auto round = SwitchoverThrough(*cluster, via_bouncer ? ConnTo(bouncer, "app") : ConnTo(rw),
                                       fmt::format("switchover_{}_{}", via_bouncer, r), clients);
        if (!round.ok()) {
          std::cerr << round.status().ToString() << "\n";
          status = 1;
          continue;
        }
        (via_bouncer ? bouncer_pauses : router_pauses).push_back(round->pause_seconds);
        (via_bouncer ? bouncer_errors : router_errors) += round->errors;
        std::cout << fmt::format("switchover {} through {}: pause {:.3f} s, {} errors, {} acked\n",
                                 r, via_bouncer ? "PgBouncer" : "the router", round->pause_seconds,
                                 round->errors, round->acked)
                  << std::flush;
      }
    }

    auto worst = [](const std::vector<double>& v) {
      return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end());
    };
    std::cout << "\n| figure | value |\n|---|---|\n"
              << fmt::format("| pgbench -S, {} clients: direct | {:.0f} tps |\n", clients,
                             direct_mean)
              << fmt::format(
                     "| pgbench -S, {} clients: through the router | {:.0f} tps ({:.1f}% "
                     "of direct) |\n",
                     clients, router_mean, direct_mean > 0 ? 100 * router_mean / direct_mean : 0)
              << fmt::format(
                     "| pgbench -S, {} clients: through PgBouncer (reference) | {:.0f} "
                     "tps ({:.1f}% of direct) |\n",
                     clients, bouncer_mean, direct_mean > 0 ? 100 * bouncer_mean / direct_mean : 0)
              << fmt::format("| one client, SELECT 1: median round trip direct | {:.1f} µs |\n",
                             direct_median)
              << fmt::format(
                     "| one client, SELECT 1: median through the router | {:.1f} µs "
                     "(+{:.1f} µs) |\n",
                     router_median, router_median - direct_median)
              << fmt::format(
                     "| {} idle connections held (to a TCP sink) | router resident "
                     "memory {:.1f} MB -> {:.1f} MB (+{:.1f} MB) |\n",
                     held, rss_before / 1024.0, rss_after / 1024.0,
                     (rss_after - rss_before) / 1024.0)
              << fmt::format(
                     "| switchover through the router, {} clients | pause median {:.3f} "
                     "s, worst {:.3f} s; {} client errors in {} rounds |\n",
                     clients, Median(router_pauses), worst(router_pauses), router_errors,
                     router_pauses.size())
              << fmt::format(
                     "| switchover through PgBouncer, {} clients | pause median {:.3f} s, "
                     "worst {:.3f} s; {} client errors in {} rounds |\n",
                     clients, Median(bouncer_pauses), worst(bouncer_pauses), bouncer_errors,
                     bouncer_pauses.size())
              << std::flush;
  }
  (void)cluster->Stop();
  return status;
}

}  // namespace
}  // namespace baton

int main(int argc, char** argv) {
  return baton::Main(argc, argv);
}
