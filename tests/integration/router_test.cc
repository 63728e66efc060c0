// Integration: `baton router` and PgBouncer kept pointed at the leader, on a real cluster (3 s
// lease). Through the router's read-write port, node death and a switchover reach the new
// leader with no client reconfiguration; a connection made while there is no leader waits
// for the next one; a read-only session on a replica that is promoted is closed; read-only
// connections avoid a replica that lags. Through a real PgBouncer in transaction pooling, a
// switchover under load costs clients no error.
#include <signal.h>

#include <fstream>
#include <sstream>

#include "core/tcp_probe.h"
#include "harness.h"

namespace baton {
namespace {

using namespace baton::testing;  // NOLINT: the harness is this suite's vocabulary

// A child process with its log in `dir`, stopped (SIGTERM, then waited for) on destruction.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& log) : log_(log) {
    auto pid = SpawnDetached(argv, log);
    EXPECT_TRUE(pid.ok()) << pid.status().ToString();
    pid_ = pid.ok() ? *pid : 0;
  }
  ~Child() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    if (!WaitForExit(pid_, seconds(10))) kill(pid_, SIGKILL);
    WaitForExit(pid_, seconds(10));
  }
  std::string Log() const {
    std::ifstream in(log_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  std::string log_;
  pid_t pid_ = 0;
};

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class RouterTest : public ClusterSuite<RouterTest> {
 public:
  static LocalClusterOptions Options() { return ShortLeaseOptions(); }

 protected:
  static void SetUpTestSuite() {
    ClusterSuite::SetUpTestSuite();
    if (!cluster_) return;
    auto ports = FreePorts(3);
    ASSERT_TRUE(ports.ok());
    read_write_ = (*ports)[0];
    read_only_ = (*ports)[1];
    pgbouncer_port_ = (*ports)[2];
    dir_ = cluster_->dir + "/router";
    std::filesystem::create_directories(dir_);
    StartPgBouncer();
    std::ofstream(dir_ + "/router.yaml")
        << "cluster:\n  name: " << cluster_->cluster << "\netcd:\n  endpoints: ["
        << cluster_->etcd_endpoint << "]\nrouter:\n  read_write: 127.0.0.1:" << read_write_
        << "\n  read_only: 127.0.0.1:" << read_only_
        << "\n  hold_timeout: 20\n  maximum_lag: 65536\npgbouncer:\n  listen: 127.0.0.1:"
        << pgbouncer_port_
        << "\n  username: postgres\n  password: " << LocalCluster::kSuperuserPassword
        << "\n  database: app\n  dbname: postgres\n  databases_file: " << dir_
        << "/databases.ini\n";
    router_ = std::make_unique<Child>(
        std::vector<std::string>{BatonBinary(), "router", "-c", dir_ + "/router.yaml"},
        dir_ + "/router.log");
    ASSERT_TRUE(PollUntil(seconds(30), [] {
      return TcpConnects("127.0.0.1", read_write_, std::chrono::milliseconds(200));
    })) << router_->Log();
  }

  static void TearDownTestSuite() {
    router_.reset();
    pgbouncer_.reset();
    ClusterSuite::TearDownTestSuite();
  }

  // PgBouncer in transaction pooling; its one database entry is baton's to write.
  static void StartPgBouncer() {
    std::ofstream(dir_ + "/databases.ini") << "[databases]\n";
    std::ofstream(dir_ + "/userlist.txt")
        << "\"postgres\" \"" << LocalCluster::kSuperuserPassword << "\"\n";
    std::ofstream(dir_ + "/pgbouncer.ini")
        << "%include " << dir_ << "/databases.ini\n"
        << "[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = " << pgbouncer_port_
        << "\nunix_socket_dir =\nauth_type = md5\nauth_file = " << dir_
        << "/userlist.txt\nadmin_users = postgres\npool_mode = transaction\n"
        << "default_pool_size = 10\nmax_client_conn = 200\npidfile = " << dir_
        << "/pgbouncer.pid\nignore_startup_parameters = extra_float_digits\n";
    pgbouncer_ = std::make_unique<Child>(
        std::vector<std::string>{"/usr/sbin/pgbouncer", dir_ + "/pgbouncer.ini"},
        dir_ + "/pgbouncer.log");
    ASSERT_TRUE(PollUntil(seconds(30), [] {
      return TcpConnects("127.0.0.1", pgbouncer_port_, std::chrono::milliseconds(200));
    })) << pgbouncer_->Log();
  }

  static std::string Through(int port, const std::string& dbname = "postgres") {
    return LocalCluster::SuperuserConnInfo("127.0.0.1", port, dbname);
  }

  // The PostgreSQL port a new connection through `port` reaches.
  static std::optional<std::string> ServerPort(int port, const std::string& dbname = "postgres") {
    return QueryOne(Through(port, dbname), "SELECT inet_server_port()");
  }

  // Starts a node's agent again at the end of a test that killed it, even a failed one.
  struct RestartOnExit {
    size_t node;
    ~RestartOnExit() {
      if (!ProcessAlive(cluster_->nodes[node].agent_pid)) {
        Status s = cluster_->StartAgent(node);
        EXPECT_TRUE(s.ok()) << s.ToString();
      }
    }
  };

  static void Switchover(size_t from) {
    auto result = RunCommand({BatonBinary(), "switchover", "-c", cluster_->nodes[from].config_path},
                             {}, seconds(60));
    ASSERT_TRUE(result.ok());
    ASSERT_EQ(result->exit_code, 0) << result->output;
  }

  // Acknowledged writes of `load` on the node at `server` ("host:port"), after `from` acks.
  static size_t AcksOn(const WriteLoad& load, const std::string& server, size_t from = 0) {
    const auto acked = load.Acked();
    size_t n = 0;
    for (size_t i = from; i < acked.size(); ++i) n += acked[i].server == server;
    return n;
  }

  static inline int read_write_ = 0;
  static inline int read_only_ = 0;
  static inline int pgbouncer_port_ = 0;
  static inline std::string dir_;
  static inline std::unique_ptr<Child> pgbouncer_;
  static inline std::unique_ptr<Child> router_;
};

TEST_F(RouterTest, NodeDeathAndASwitchoverReachTheNewLeaderThroughTheSamePort) {
  const size_t old = Leader();
  RestartOnExit restart{old};
  EXPECT_EQ(ServerPort(read_write_), std::to_string(cluster_->nodes[old].pg_port));
  WriteLoad load(Through(read_write_), "router_failover");
  ASSERT_TRUE(load.Prepare(seconds(30)).ok());
  load.Start();
  ASSERT_TRUE(PollUntil(seconds(30), [&] { return load.acked_count() >= 100; }));

  cluster_->KillNode(old);
  auto promoted = WaitForNewLeader(*cluster_, old, seconds(30));
  ASSERT_TRUE(promoted.has_value());
  const size_t before = load.acked_count();
  EXPECT_TRUE(PollUntil(seconds(30), [&] {
    return AcksOn(load, cluster_->nodes[*promoted].pg_address(), before) >= 100;
  })) << "writes through the router did not reach the new leader";
  ASSERT_TRUE(cluster_->StartAgent(old).ok());
  ASSERT_TRUE(cluster_->WaitHealthy(seconds(120)).ok());

  Switchover(*promoted);
  auto next = WaitForNewLeader(*cluster_, *promoted, seconds(30));
  ASSERT_TRUE(next.has_value());
  const size_t after_switchover = load.acked_count();
  EXPECT_TRUE(PollUntil(seconds(30), [&] {
    return AcksOn(load, cluster_->nodes[*next].pg_address(), after_switchover) >= 100;
  }));
  load.Stop();
  EXPECT_EQ(ServerPort(read_write_), std::to_string(cluster_->nodes[*next].pg_port));
}

TEST_F(RouterTest, ANewConnectionWhileThereIsNoLeaderWaitsForTheNextOne) {
  const size_t old = Leader();
  RestartOnExit restart{old};
  cluster_->KillNode(old);
  // Made at once: the dead leader's key lasts up to its lease, and nobody is writable.
  auto conn = PgConnection::Connect(Through(read_write_));
  ASSERT_TRUE(conn.ok()) << "refused instead of held: " << conn.status().ToString();
  auto rows = (*conn)->Query("SELECT pg_is_in_recovery(), inet_server_port()");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ((*rows)[0][0], "f");
  EXPECT_NE((*rows)[0][1], std::to_string(cluster_->nodes[old].pg_port));
}

TEST_F(RouterTest, AReadOnlyConnectionToAReplicaThatIsPromotedIsClosed) {
  const size_t old = Leader();
  auto reader = PgConnection::Connect(Through(read_only_));
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  auto port = (*reader)->Query("SELECT inet_server_port()");
  ASSERT_TRUE(port.ok());
  size_t target = old;
  for (size_t i = 0; i < cluster_->nodes.size(); ++i) {
    if (std::to_string(cluster_->nodes[i].pg_port) == (*port)[0][0]) target = i;
  }
  ASSERT_NE(target, old) << "a read-only connection reached the leader";
  const std::string cut = "connection(s) to backends no longer routed";
  const size_t cuts_before = Count(router_->Log(), cut);
  auto result = RunCommand({BatonBinary(), "switchover", "-c", cluster_->nodes[old].config_path,
                            "--to", cluster_->nodes[target].name},
                           {}, seconds(60));
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->exit_code, 0) << result->output;
  ASSERT_EQ(WaitForNewLeader(*cluster_, old, seconds(30)), target);
  // PostgreSQL keeps its sessions through a promotion: only the router closes this one.
  EXPECT_TRUE(PollUntil(seconds(10), [&] { return !(*reader)->Query("SELECT 1").ok(); }))
      << "a read-only session stayed on the new primary";
  EXPECT_GT(Count(router_->Log(), cut), cuts_before) << router_->Log();
}

TEST_F(RouterTest, ReadOnlyConnectionsAvoidAReplicaThatLags) {
  const size_t leader = Leader();
  const size_t lagging = (leader + 1) % 3;
  const size_t other = (leader + 2) % 3;
  const std::string lagging_port = std::to_string(cluster_->nodes[lagging].pg_port);
  ASSERT_TRUE(PollUntil(seconds(30), [&] { return ServerPort(read_only_) == lagging_port; }))
      << "precondition: reads reach every replica";
  ASSERT_TRUE(Query(Conn(lagging), "SELECT pg_wal_replay_pause()").ok());
  ASSERT_TRUE(Query(Conn(leader),
                    "CREATE TABLE IF NOT EXISTS router_lag AS SELECT "
                    "generate_series(1, 100000) AS n")
                  .ok());
  // Once the leader publishes the lag, six new read-only connections in a row avoid it.
  int in_a_row = 0;
  EXPECT_TRUE(PollUntil(seconds(30), [&] {
    const auto port = ServerPort(read_only_);
    in_a_row = port == std::to_string(cluster_->nodes[other].pg_port) ? in_a_row + 1 : 0;
    return in_a_row >= 6;
  }));
  ASSERT_TRUE(Query(Conn(lagging), "SELECT pg_wal_replay_resume()").ok());
  EXPECT_TRUE(PollUntil(seconds(30), [&] { return ServerPort(read_only_) == lagging_port; }))
      << "the replica did not take reads again once caught up";
  ASSERT_TRUE(Query(Conn(leader), "DROP TABLE router_lag").ok());
}

TEST_F(RouterTest, ASwitchoverThroughPgBouncerCostsItsClientsNoError) {
  const size_t old = Leader();
  ASSERT_TRUE(PollUntil(seconds(30), [&] {
    return ServerPort(pgbouncer_port_, "app") == std::to_string(cluster_->nodes[old].pg_port);
  })) << pgbouncer_->Log();
  std::vector<std::unique_ptr<WriteLoad>> loads;
  for (int i = 0; i < 4; ++i) {
    loads.push_back(std::make_unique<WriteLoad>(Through(pgbouncer_port_, "app"),
                                                "pgbouncer_switchover_" + std::to_string(i)));
    ASSERT_TRUE(loads.back()->Prepare(seconds(30)).ok());
  }
  for (auto& load : loads) load->Start();
  ASSERT_TRUE(PollUntil(seconds(30), [&] { return loads[0]->acked_count() >= 200; }));
  Switchover(old);
  auto promoted = WaitForNewLeader(*cluster_, old, seconds(30));
  ASSERT_TRUE(promoted.has_value());
  const std::string new_server = cluster_->nodes[*promoted].pg_address();
  for (auto& load : loads) {
    EXPECT_TRUE(PollUntil(seconds(30), [&] { return AcksOn(*load, new_server) >= 100; }));
  }
  for (auto& load : loads) {
    load->Stop();
    EXPECT_EQ(load->failed(), 0u);
    EXPECT_EQ(load->unknown(), 0u);
    auto rows = QueryOne(Conn(*promoted), "SELECT count(*) FROM " + load->table());
    EXPECT_EQ(rows, std::to_string(load->acked_count())) << "acknowledged rows lost";
  }
}

TEST_F(RouterTest, AnAgentWithARouterSectionRoutesClientsToTheLeader) {
  const size_t replica = (Leader() + 1) % 3;
  auto port = FreePorts(1);
  ASSERT_TRUE(port.ok());
  const auto restart_with = [&](const std::map<std::string, std::string>& env) {
    LocalNode& node = cluster_->nodes[replica];
    kill(node.agent_pid, SIGTERM);
    ASSERT_TRUE(WaitForExit(node.agent_pid, seconds(30)));
    ASSERT_TRUE(cluster_->StartAgent(replica, env).ok());
  };
  restart_with({{"BATON_ROUTER_READ_WRITE", "127.0.0.1:" + std::to_string((*port)[0])}});
  EXPECT_TRUE(PollUntil(seconds(30), [&] {
    return ServerPort((*port)[0]) == std::to_string(cluster_->nodes[Leader()].pg_port);
  })) << "the agent's router does not reach the leader";
  restart_with({});
  ASSERT_TRUE(cluster_->WaitHealthy(seconds(120)).ok());
}

}  // namespace
}  // namespace baton
