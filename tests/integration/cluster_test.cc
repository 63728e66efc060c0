// Integration: a real etcd and three real PostgreSQL 15 servers under baton agents, on
// loopback ports chosen at run time. Runs as an unprivileged user (scripts/unprivileged.sh).
#include <nlohmann/json.hpp>

#include "harness.h"

namespace baton {
namespace {

namespace fs = std::filesystem;
using namespace baton::testing;  // NOLINT: the harness is this suite's vocabulary

pid_t PostmasterPid(const LocalNode& node) {
  std::ifstream in(node.data_dir + "/postmaster.pid");
  pid_t pid = 0;
  in >> pid;
  return pid;
}

class ClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    LocalClusterOptions options;
    options.ttl_seconds = 10;
    options.loop_wait_seconds = 0.5;
    cluster_ = SuiteCluster::Start(options);
  }

  static void TearDownTestSuite() { SuiteCluster::Stop(cluster_); }

  void SetUp() override {
    ASSERT_NE(cluster_, nullptr) << "the cluster did not start";
    Status healthy = cluster_->WaitHealthy(seconds(60));
    ASSERT_TRUE(healthy.ok()) << "precondition: " << healthy.ToString();
  }

  static ClusterView View() { return LoadView(*cluster_); }

  static size_t LeaderIndex() {
    auto leader = cluster_->LeaderIndex();
    EXPECT_TRUE(leader.has_value()) << "no leader";
    return leader.value_or(0);
  }

  static std::string RecoveryState(size_t index) {
    return QueryOne(cluster_->ConnInfo(index), "SELECT pg_is_in_recovery()").value_or("?");
  }

  static inline std::unique_ptr<LocalCluster> cluster_;
};

TEST_F(ClusterTest, BootstrapGivesExactlyOnePrimaryAndTwoStreamingReplicas) {
  const ClusterView view = View();
  ASSERT_TRUE(view.leader.has_value());
  ASSERT_TRUE(view.initialized_by.has_value());
  EXPECT_EQ(*view.initialized_by, view.leader->name);
  int primaries = 0;
  int streaming = 0;
  for (size_t i = 0; i < cluster_->nodes.size(); ++i) {
    const std::string recovery = RecoveryState(i);
    if (recovery == "f") {
      ++primaries;
      EXPECT_EQ(cluster_->nodes[i].name, view.leader->name);
    } else if (QueryOne(cluster_->ConnInfo(i), "SELECT status FROM pg_stat_wal_receiver") ==
               "streaming") {
      ++streaming;
    }
  }
  EXPECT_EQ(primaries, 1);
  EXPECT_EQ(streaming, 2);
  // Data checksums are on, as initdb was told.
  EXPECT_EQ(QueryOne(cluster_->ConnInfo(0), "SHOW data_checksums"), "on");
}

TEST_F(ClusterTest, StatusJsonReportsTheSameRoles) {
  auto result = RunCommand(
      {BatonBinary(), "status", "-c", cluster_->nodes[0].config_path, "--json"}, {}, seconds(20));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->exit_code, 0) << result->output;
  auto status = nlohmann::json::parse(result->output);
  ASSERT_EQ(status["members"].size(), 3u);
  int leaders = 0;
  int streaming = 0;
  for (const auto& m : status["members"]) {
    if (m["role"] == "leader") {
      ++leaders;
      EXPECT_EQ(m["name"], status["leader"]);
      EXPECT_EQ(m["state"], "running");
    } else {
      EXPECT_EQ(m["role"], "replica");
      if (m["state"] == "streaming" && m["lag_bytes"] == 0) ++streaming;
    }
    EXPECT_GE(m["timeline"].get<int>(), 1);
  }
  EXPECT_EQ(leaders, 1);
  EXPECT_EQ(streaming, 2);
}

TEST_F(ClusterTest, RestApiAnswersWithPatroniStatusCodes) {
  const size_t leader = LeaderIndex();
  for (size_t i = 0; i < cluster_->nodes.size(); ++i) {
    const LocalNode& node = cluster_->nodes[i];
    EXPECT_EQ(HttpStatus(node, "/primary"), i == leader ? 200 : 503) << node.name;
    EXPECT_EQ(HttpStatus(node, "/replica"), i == leader ? 503 : 200) << node.name;
    EXPECT_EQ(HttpStatus(node, "/health"), 200) << node.name;
    EXPECT_EQ(HttpStatus(node, "/liveness"), 200) << node.name;
    EXPECT_EQ(HttpStatus(node, "/readiness"), 200) << node.name;
    EXPECT_EQ(HttpStatus(node, "/cluster"), 200) << node.name;
  }
  // ?lag accepts a caught-up replica and rejects a malformed threshold.
  const size_t replica = (leader + 1) % cluster_->nodes.size();
  EXPECT_TRUE(PollUntil(seconds(10), [&] {
    return HttpStatus(cluster_->nodes[replica], "/replica?lag=1048576") == 200;
  }));
  EXPECT_EQ(HttpStatus(cluster_->nodes[replica], "/replica?lag=lots"), 400);
}

TEST_F(ClusterTest, AHealthyClusterWritesToEtcdAtTheLoopPaceNotInATightLoop) {
  // Every etcd write bumps the global revision; the leader's status key shows it.
  auto revision = [] {
    EtcdDcs dcs({cluster_->etcd_endpoint}, seconds(3));
    auto kvs = dcs.GetPrefix(ClusterStore::Prefix(cluster_->cluster) + "status");
    return kvs.ok() && !kvs->empty() ? kvs->front().mod_revision : int64_t{0};
  };
  const int64_t before = revision();
  const auto started = std::chrono::steady_clock::now();
  ASSERT_GT(before, 0);
  ASSERT_TRUE(PollUntil(seconds(10),
                        [&] { return std::chrono::steady_clock::now() - started >= seconds(3); }));
  const int64_t writes = revision() - before;
  // Three members and the leader's status, each once per loop_wait (0.5 s): about 24 writes in
  // 3 s. A loop that does not wait would write thousands.
  EXPECT_GT(writes, 0);
  EXPECT_LT(writes, 100) << "agents write to etcd far faster than once per loop_wait";
}

TEST_F(ClusterTest, RowWrittenOnThePrimaryIsReadOnBothReplicas) {
  const size_t leader = LeaderIndex();
  const std::string primary = cluster_->ConnInfo(leader);
  ASSERT_TRUE(Query(primary, "CREATE TABLE IF NOT EXISTS replicated (id text PRIMARY KEY)").ok());
  const std::string id =
      std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  ASSERT_TRUE(Query(primary, "INSERT INTO replicated VALUES ('" + id + "')").ok());
  for (size_t i = 0; i < cluster_->nodes.size(); ++i) {
    if (i == leader) continue;
    EXPECT_TRUE(PollUntil(seconds(30),
                          [&] {
                            return QueryOne(cluster_->ConnInfo(i),
                                            "SELECT count(*) FROM replicated WHERE id = '" + id +
                                                "'") == "1";
                          }))
        << cluster_->nodes[i].name << " never saw the row";
    // Its status now carries the commit time of the last transaction it replayed.
    const std::string name = cluster_->nodes[i].name;
    std::string last_status;
    EXPECT_TRUE(PollUntil(seconds(10),
                          [&] {
                            auto out = RunCommand({BatonBinary(), "status", "-c",
                                                   cluster_->nodes[0].config_path, "--json"},
                                                  {}, seconds(10));
                            if (!out.ok() || out->exit_code != 0) return false;
                            last_status = out->output;
                            const auto status = nlohmann::json::parse(out->output);
                            for (const auto& m : status["members"]) {
                              if (m["name"] == name && m["replay_timestamp"].is_string())
                                return true;
                            }
                            return false;
                          }))
        << name << " reports no replay timestamp: " << last_status;
    // And a replica refuses writes.
    EXPECT_FALSE(
        Query(cluster_->ConnInfo(i), "INSERT INTO replicated VALUES ('x" + id + "')").ok());
  }
}

TEST_F(ClusterTest, KilledPostmasterComesBackInItsRole) {
  const size_t leader = LeaderIndex();
  const size_t replica = (leader + 1) % cluster_->nodes.size();
  for (size_t i : {leader, replica}) {
    const LocalNode& node = cluster_->nodes[i];
    const pid_t before = PostmasterPid(node);
    ASSERT_GT(before, 0);
    ASSERT_EQ(kill(before, SIGKILL), 0);
    EXPECT_TRUE(PollUntil(seconds(30),
                          [&] {
                            const pid_t now = PostmasterPid(node);
                            return now != 0 && now != before &&
                                   RecoveryState(i) == (i == leader ? "f" : "t");
                          }))
        << node.name << " was not restarted in its role";
    EXPECT_EQ(LeaderIndex(), leader) << "the leader changed although its agent lived";
    ASSERT_TRUE(cluster_->WaitHealthy(seconds(60)).ok());
  }
}

TEST_F(ClusterTest, RestartedAgentAdoptsItsRunningPostgresAndKeepsTheRoles) {
  for (size_t i : {LeaderIndex(), (LeaderIndex() + 1) % cluster_->nodes.size()}) {
    const std::string leader_before = View().leader->name;
    LocalNode& node = cluster_->nodes[i];
    const pid_t postmaster = PostmasterPid(node);
    const auto killed_at = std::chrono::steady_clock::now();
    ASSERT_EQ(kill(node.agent_pid, SIGKILL), 0);
    EXPECT_TRUE(WaitForExit(node.agent_pid, seconds(10)));
    ASSERT_TRUE(cluster_->StartAgent(i).ok());
    ASSERT_TRUE(cluster_->WaitHealthy(seconds(60)).ok());
    EXPECT_EQ(PostmasterPid(node), postmaster) << node.name << ": postgres was restarted";
    EXPECT_EQ(View().leader->name, leader_before);
    // The new agent moved its keys to its own lease: past the old lease's TTL the leader is
    // unchanged and the member is still listed, at every look.
    int looks = 0;
    while (std::chrono::steady_clock::now() - killed_at < seconds(12)) {
      const ClusterView view = View();
      ASSERT_TRUE(view.leader.has_value()) << "leader key vanished";
      ASSERT_EQ(view.leader->name, leader_before);
      ASSERT_NE(view.Member(node.name), nullptr) << node.name << " vanished";
      ++looks;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    EXPECT_GT(looks, 0);
  }
}

TEST_F(ClusterTest, AnEtcdRestartDoesNotMakeTheHealthyPrimaryFenceItself) {
  const size_t leader = LeaderIndex();
  const LocalNode& node = cluster_->nodes[leader];
  const pid_t postmaster = PostmasterPid(node);
  ASSERT_TRUE(cluster_->RestartEtcd().ok());
  // Agents reconnect within a second or two; the primary's lease deadline is 9 s away.
  ASSERT_TRUE(cluster_->WaitHealthy(seconds(30)).ok());
  EXPECT_EQ(LeaderIndex(), leader);
  EXPECT_EQ(PostmasterPid(node), postmaster) << "the primary was restarted (fenced)";
  EXPECT_EQ(RecoveryState(leader), "f");
  std::ifstream log(node.log_path);
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find("fencing"), std::string::npos) << "the primary fenced itself";
}

TEST(CliTest, ConfigCheckRefusesABadFileNamingTheKey) {
  char pattern[] = "/tmp/baton-cli.XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::string path = std::string(pattern) + "/bad.yaml";
  std::ofstream(path) << "cluster: {name: c}\nnode: {name: n}\netcd: {endpoints: [127.0.0.1:1]}\n"
                         "postgresql: {data_dir: /tmp/x, listen: '127.0.0.1:5432',\n"
                         "  superuser: {password: a}, replication: {password: b}}\n"
                         "restapi: {listen: '127.0.0.1:8008'}\ntiming: {ttl: soon}\n";
  auto result = RunCommand({BatonBinary(), "config", "check", path}, {}, seconds(10));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->exit_code, 2);
  EXPECT_NE(result->output.find(path), std::string::npos) << result->output;
  EXPECT_NE(result->output.find("timing.ttl"), std::string::npos) << result->output;

  std::ofstream(path, std::ios::trunc)
      << "cluster: {name: c}\nnode: {name: n}\netcd: {endpoints: [127.0.0.1:1]}\n"
         "postgresql: {data_dir: /tmp/x, listen: '127.0.0.1:5432',\n"
         "  superuser: {password: a}, replication: {password: b}}\n"
         "restapi: {listen: '127.0.0.1:8008'}\n";
  result = RunCommand({BatonBinary(), "config", "check", path}, {}, seconds(10));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->exit_code, 0) << result->output;

  // etcd that nobody listens on: status fails clearly instead of hanging.
  result = RunCommand({BatonBinary(), "status", "-c", path}, {}, seconds(30));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->exit_code, 1);
  EXPECT_NE(result->output.find("cannot read the cluster from etcd"), std::string::npos)
      << result->output;
  fs::remove_all(pattern);
}

TEST(CliTest, EveryVerbHasHelp) {
  for (std::vector<std::string> verb : std::vector<std::vector<std::string>>{{"agent"},
                                                                             {"status"},
                                                                             {"history"},
                                                                             {"pause"},
                                                                             {"resume"},
                                                                             {"config", "check"},
                                                                             {"demo", "start"},
                                                                             {"switchover"},
                                                                             {"failover"},
                                                                             {"restart"},
                                                                             {"reload"},
                                                                             {"reinit"},
                                                                             {"remove"},
                                                                             {"drill"},
                                                                             {"config", "show"},
                                                                             {"config", "set"},
                                                                             {"config", "edit"},
                                                                             {"demo", "stop"}}) {
    std::vector<std::string> argv = {BatonBinary()};
    argv.insert(argv.end(), verb.begin(), verb.end());
    argv.push_back("--help");
    auto result = RunCommand(argv, {}, seconds(10));
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result->exit_code, 0) << verb.front();
    EXPECT_NE(result->output.find("Usage"), std::string::npos) << result->output;
  }
  auto bad = RunCommand({BatonBinary(), "status", "--no-such-flag"}, {}, seconds(10));
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->exit_code, 2);
}

}  // namespace
}  // namespace baton
