// Integration: a real HAProxy (Debian's package) in front of a real cluster, run with the config
// the docs give (docs/examples/haproxy.cfg) with only its addresses and ports changed to the
// cluster's: the read-write port reaches the leader, the read-only port the replicas, and after
// a switchover the read-write port reaches the new leader while the sessions to the nodes that
// changed role are closed (`on-marked-down shutdown-sessions`).
#include <fmt/format.h>
#include <unistd.h>

#include <regex>
#include <set>
#include <sstream>

#include "harness.h"

namespace baton {
namespace {

using namespace baton::testing;  // NOLINT: the harness is this suite's vocabulary

constexpr const char* kHaproxy = "/usr/sbin/haproxy";

// The documented config pointed at this cluster. Only two kinds of line change: each `bind`
// listens on 127.0.0.1 on a free port instead of its documented address, and each `server`
// gets a node's PostgreSQL address in place of its documented one and the node's REST port as
// its `check port` (the i-th server of a section is nodes[i]). Everything else is the file.
struct PointedConfig {
  std::string text;
  std::map<std::string, int> ports;  // section name ("primary", "replicas", "stats") -> port
  std::vector<std::string> servers;  // the server names of the first section, nodes[i]'s at i
  int server_lines = 0;
  std::vector<std::string> needs_root;  // lines an unprivileged HAProxy could not obey
};

PointedConfig PointAt(const std::string& documented, const LocalCluster& cluster) {
  static const std::regex kSection(R"(^(global|defaults|frontend|backend|listen)\b\s*(\S*).*)");
  static const std::regex kBind(R"(^(\s+bind\s+)\S+(.*)$)");
  static const std::regex kServer(R"(^(\s+server\s+(\S+)\s+)\S+(\s.*\bcheck port\s+)\d+(.*)$)");
  static const std::regex kRoot(R"(^\s*(user|group|uid|gid|chroot|daemon|stats\s+socket)\b.*)");
  PointedConfig out;
  std::istringstream in(documented);
  std::string line;
  std::string section;
  size_t index_in_section = 0;
  // More than the file has bind lines.
  auto free_ports = FreePorts(8);
  const std::vector<int> ports = free_ports.ok() ? *free_ports : std::vector<int>{};
  size_t next_port = 0;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, kSection)) {
      section = m[2];
      index_in_section = 0;
    } else if (std::regex_match(line, m, kBind) && next_port < ports.size()) {
      const int port = ports[next_port++];
      out.ports[section] = port;
      line = m[1].str() + "127.0.0.1:" + std::to_string(port) + m[2].str();
    } else if (std::regex_match(line, m, kServer) && index_in_section < cluster.nodes.size()) {
      const LocalNode& node = cluster.nodes[index_in_section++];
      if (out.servers.size() < cluster.nodes.size()) out.servers.push_back(m[2]);
      line =
          m[1].str() + node.pg_address() + m[3].str() + std::to_string(node.api_port) + m[4].str();
      ++out.server_lines;
    } else if (std::regex_match(line, kRoot)) {
      out.needs_root.push_back(line);
    }
    out.text += line + "\n";
  }
  return out;
}

class HaproxyTest : public ClusterSuite<HaproxyTest> {
 public:
  static LocalClusterOptions Options() { return ShortLeaseOptions(); }

 protected:
  // Starts HAProxy in the foreground (-db) on the documented config pointed at the cluster.
  void SetUp() override {
    ClusterSuite::SetUp();
    if (HasFatalFailure()) return;
    const std::string documented = ReadText(Example("haproxy.cfg"));
    ASSERT_FALSE(documented.empty()) << "cannot read " << Example("haproxy.cfg");
    config_ = PointAt(documented, *cluster_);
    EXPECT_TRUE(config_.needs_root.empty())
        << "the documented config must run as any user; it has: " << config_.needs_root.front();
    ASSERT_EQ(config_.servers.size(), 3u) << config_.text;
    ASSERT_EQ(config_.server_lines, 6) << "two sections of three servers expected\n"
                                       << config_.text;
    ASSERT_TRUE(config_.ports.count("primary") && config_.ports.count("replicas") &&
                config_.ports.count("stats"))
        << "a bind line in each of primary, replicas, stats expected\n"
        << config_.text;

    dir_ = cluster_->dir + "/haproxy";
    std::filesystem::create_directories(dir_);
    const std::string path = dir_ + "/haproxy.cfg";
    std::ofstream(path) << config_.text;
    auto checked = RunCommand({kHaproxy, "-c", "-f", path}, {}, seconds(10));
    ASSERT_TRUE(checked.ok()) << checked.status().ToString();
    ASSERT_EQ(checked->exit_code, 0) << checked->output;
    EXPECT_EQ(checked->output.find("WARNING"), std::string::npos) << checked->output;

    log_ = dir_ + "/haproxy.log";
    auto pid = SpawnDetached({kHaproxy, "-f", path, "-db"}, log_);
    ASSERT_TRUE(pid.ok()) << pid.status().ToString();
    pid_ = *pid;
    ASSERT_TRUE(PollUntil(seconds(10), [&] { return !ServerStates("primary").empty(); }))
        << "HAProxy's stats page does not answer\n"
        << ReadText(log_);
  }

  void TearDown() override {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    if (!WaitForExit(pid_, seconds(10))) {
      kill(pid_, SIGKILL);
      WaitForExit(pid_, seconds(10));
    }
    if (HasFailure()) std::cerr << "HAProxy's log:\n" << ReadText(log_);
  }

  // Server name -> status ("UP", "DOWN", "UP 1/2", ...) of one proxy, from the stats page's CSV.
  std::map<std::string, std::string> ServerStates(const std::string& proxy) const {
    httplib::Client client("127.0.0.1", config_.ports.at("stats"));
    client.set_connection_timeout(2);
    client.set_url_encode(false);  // HAProxy wants ";csv" as it is
    auto res = client.Get("/;csv");
    std::map<std::string, std::string> states;
    if (!res || res->status != 200) return states;
    std::istringstream in(res->body);
    std::string line;
    size_t status_column = SIZE_MAX;
    while (std::getline(in, line)) {
      std::vector<std::string> cells;
      std::istringstream fields(line.rfind("# ", 0) == 0 ? line.substr(2) : line);
      for (std::string cell; std::getline(fields, cell, ',');) cells.push_back(cell);
      if (line.rfind("# ", 0) == 0) {
        for (size_t i = 0; i < cells.size(); ++i) {
          if (cells[i] == "status") status_column = i;
        }
      } else if (cells.size() > std::max<size_t>(status_column, 1) && cells[0] == proxy &&
                 cells[1] != "FRONTEND" && cells[1] != "BACKEND") {
        states[cells[1]] = cells[status_column];
      }
    }
    return states;
  }

  std::set<std::string> UpServers(const std::string& proxy) const {
    std::set<std::string> up;
    for (const auto& [server, status] : ServerStates(proxy)) {
      if (status == "UP") up.insert(server);
    }
    return up;
  }

  // HAProxy's checks agree with the cluster: only `leader` is up for writes, only the others
  // for reads.
  bool Settled(size_t leader) const {
    std::set<std::string> replicas;
    for (size_t i = 0; i < config_.servers.size(); ++i) {
      if (i != leader) replicas.insert(config_.servers[i]);
    }
    return UpServers("primary") == std::set<std::string>{config_.servers[leader]} &&
           UpServers("replicas") == replicas;
  }

  std::string StatesText() const {
    std::string text;
    for (const char* proxy : {"primary", "replicas"}) {
      text += std::string(proxy) + ":";
      for (const auto& [server, status] : ServerStates(proxy)) {
        text += " " + server + "=" + status;
      }
      text += "\n";
    }
    return text;
  }

  // A superuser connection string through one of HAProxy's ports.
  std::string Through(const std::string& section) const {
    return ConnInfo({{"host", "127.0.0.1"},
                     {"port", std::to_string(config_.ports.at(section))},
                     {"user", "postgres"},
                     {"password", LocalCluster::kSuperuserPassword},
                     {"dbname", "postgres"},
                     {"connect_timeout", "3"}});
  }

  struct Where {
    bool in_recovery = false;
    std::optional<size_t> node;
  };
  static std::optional<Where> WhereIs(PgConnection& conn) {
    auto rows = conn.Query("SELECT pg_is_in_recovery(), inet_server_port()", seconds(3));
    if (!rows.ok() || rows->empty() || !(*rows)[0][0] || !(*rows)[0][1]) return std::nullopt;
    return Where{*(*rows)[0][0] == "t", cluster_->NodeAt("127.0.0.1:" + *(*rows)[0][1])};
  }
  // Opens a new connection through `section`'s port and says where it landed.
  std::optional<Where> NewConnectionLandsOn(const std::string& section) const {
    auto conn = PgConnection::Connect(Through(section), seconds(3));
    if (!conn.ok()) return std::nullopt;
    return WhereIs(**conn);
  }

  PointedConfig config_;
  std::string dir_;
  std::string log_;
  pid_t pid_ = 0;
};

TEST_F(HaproxyTest, ReadWritePortReachesTheLeaderAndReadOnlyPortTheReplicas) {
  const size_t leader = Leader();
  ASSERT_TRUE(PollUntil(seconds(30), [&] { return Settled(leader); }))
      << "HAProxy's checks do not agree with the cluster (leader " << cluster_->nodes[leader].name
      << "):\n"
      << StatesText();
  for (int i = 0; i < 3; ++i) {
    const auto where = NewConnectionLandsOn("primary");
    ASSERT_TRUE(where.has_value()) << "no connection through the read-write port";
    EXPECT_FALSE(where->in_recovery);
    EXPECT_EQ(where->node, leader);
  }
  // Two sessions held open through the read-only port: one on each replica (leastconn).
  std::set<size_t> reached;
  std::vector<std::unique_ptr<PgConnection>> held;
  for (int i = 0; i < 2; ++i) {
    auto conn = PgConnection::Connect(Through("replicas"), seconds(3));
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    const auto where = WhereIs(**conn);
    ASSERT_TRUE(where.has_value() && where->node.has_value());
    EXPECT_TRUE(where->in_recovery);
    EXPECT_NE(*where->node, leader);
    reached.insert(*where->node);
    held.push_back(std::move(conn).value());
  }
  EXPECT_EQ(reached.size(), 2u) << "leastconn should spread two sessions over both replicas";
}

TEST_F(HaproxyTest, AfterASwitchoverTheReadWritePortReachesTheNewLeaderAndOldSessionsAreClosed) {
  const size_t old = Leader();
  ASSERT_TRUE(PollUntil(seconds(30), [&] { return Settled(old); })) << StatesText();
  auto writer = PgConnection::Connect(Through("primary"), seconds(3));
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  const auto writer_at = WhereIs(**writer);
  ASSERT_TRUE(writer_at && writer_at->node == old && !writer_at->in_recovery);
  // A reader on a replica, which the switchover then promotes: PostgreSQL keeps its sessions
  // through a promotion, so only HAProxy's shutdown-sessions can close this one.
  auto reader = PgConnection::Connect(Through("replicas"), seconds(3));
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  const auto reader_at = WhereIs(**reader);
  ASSERT_TRUE(reader_at && reader_at->node && reader_at->in_recovery);
  const size_t target = *reader_at->node;

  const auto started = std::chrono::steady_clock::now();
  auto result = RunCommand({BatonBinary(), "switchover", "-c", cluster_->nodes[old].config_path,
                            "--to", cluster_->nodes[target].name},
                           {}, seconds(90));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->exit_code, 0) << result->output;
  const auto done = std::chrono::steady_clock::now();
  ASSERT_EQ(cluster_->LeaderIndex(), target) << result->output;

  // Every 100 ms: a new connection through the read-write port, a query on each session opened
  // before, and HAProxy's view. The new leader answers 200 on its next check (rise 1); the old
  // primary, stopped then restarted as a standby, drops out after two failed checks (fall 2), so
  // until then new connections may fail or land on it read-only: counted and reported.
  using Clock = std::chrono::steady_clock;
  std::optional<Clock::time_point> on_new_leader, only_new_leader, reader_closed, writer_closed;
  int on_standby = 0;
  int failed = 0;
  const std::set<std::string> just_target = {config_.servers[target]};
  PollUntil(seconds(15), [&] {
    const auto where = NewConnectionLandsOn("primary");
    if (!where) ++failed;
    if (where && where->in_recovery) ++on_standby;
    if (!on_new_leader && where && !where->in_recovery && where->node == target) {
      on_new_leader = Clock::now();
    }
    if (!only_new_leader && UpServers("primary") == just_target) only_new_leader = Clock::now();
    if (!reader_closed && !(*reader)->Query("SELECT 1", seconds(3)).ok()) {
      reader_closed = Clock::now();
    }
    if (!writer_closed && !(*writer)->Query("SELECT 1", seconds(3)).ok()) {
      writer_closed = Clock::now();
    }
    return on_new_leader && only_new_leader && reader_closed && writer_closed;
  });
  EXPECT_TRUE(on_new_leader) << "the read-write port does not reach the new leader "
                             << cluster_->nodes[target].name << "\n"
                             << StatesText();
  EXPECT_TRUE(only_new_leader) << "HAProxy keeps the old primary for writes\n" << StatesText();
  // PostgreSQL keeps sessions through a promotion: HAProxy closed this one (shutdown-sessions).
  EXPECT_TRUE(reader_closed) << "a session through the read-only port to the promoted node "
                                "stays open\n"
                             << StatesText();
  // The old primary's clean stop closes this one whatever HAProxy does.
  EXPECT_TRUE(writer_closed) << "a session through the read-write port to the old primary stays "
                                "open";

  // Once the old primary streams from the new one, it is back in the read-only pool.
  EXPECT_TRUE(PollUntil(seconds(60), [&] { return Settled(target); })) << StatesText();

  auto after = [&](const std::optional<Clock::time_point>& t) {
    return t ? fmt::format("{:.2f} s", Seconds(*t - done)) : std::string("never");
  };
  std::cout << fmt::format(
      "haproxy: switchover took {:.2f} s; after it returned: read-write port on the new leader "
      "{}, old primary out of the read-write pool {}, read-only session on the promoted node "
      "closed {}, read-write session on the old primary closed {}; meanwhile {} new "
      "connection(s) landed on the read-only old primary and {} failed\n",
      Seconds(done - started), after(on_new_leader), after(only_new_leader), after(reader_closed),
      after(writer_closed), on_standby, failed);
}

}  // namespace
}  // namespace baton
