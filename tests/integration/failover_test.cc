// Integration: automatic failover and rejoin on real etcd and PostgreSQL, with a short lease
// (3 s) so each failover takes seconds. Faults are real: kill -9 of whole nodes, a frozen WAL
// receiver, and PostgreSQL tools made to fail through a bin directory where they exit 1.
#include <nlohmann/json.hpp>
#include <set>

#include "drill/write_load.h"
#include "harness.h"

namespace baton {
namespace {

using namespace baton::testing;  // NOLINT: the harness is this suite's vocabulary

class FailoverTest : public ClusterSuite<FailoverTest> {
 public:
  static LocalClusterOptions Options() {
    LocalClusterOptions options = ShortLeaseOptions();
    options.primary_start_timeout_seconds = 3;
    return options;
  }

 protected:
  static std::string Dsn() { return ClusterDsn(*cluster_); }

  static std::optional<size_t> NewLeader(size_t old, Duration timeout) {
    return WaitForNewLeader(*cluster_, old, timeout);
  }

  static void RestartAgent(size_t i, const std::map<std::string, std::string>& env = {}) {
    LocalNode& node = cluster_->nodes[i];
    if (ProcessAlive(node.agent_pid)) kill(node.agent_pid, SIGKILL);
    ASSERT_TRUE(WaitForExit(node.agent_pid, seconds(10)));
    ASSERT_TRUE(cluster_->StartAgent(i, env).ok());
    ASSERT_TRUE(PollUntil(seconds(30), [&] { return HttpStatus(node, "/liveness") == 200; }))
        << node.name << ": the restarted agent (pid " << node.agent_pid
        << ") is not up; alive: " << ProcessAlive(node.agent_pid);
  }

  static std::string AgentLog(size_t i) {
    std::ifstream in(cluster_->nodes[i].log_path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
};

TEST_F(FailoverTest, NodeDeathUnderLoadPromotesAReplicaAndTheOldPrimaryRejoinsWithRewind) {
  const size_t old = Leader();
  const uint32_t old_timeline = LoadView(*cluster_).Member(cluster_->nodes[old].name)->timeline;
  WriteLoad load(Dsn(), "node_death");
  ASSERT_TRUE(load.Prepare(seconds(30)).ok());
  load.Start();
  ASSERT_TRUE(PollUntil(seconds(30), [&] { return load.acked_count() >= 300; }));

  // One writer commits ids in order, so every id up to the smallest of the replicas' maxima is
  // on both replicas: those rows must survive whichever replica is promoted.
  int64_t replicated = INT64_MAX;
  for (size_t i = 0; i < cluster_->nodes.size(); ++i) {
    if (i == old) continue;
    auto max_id = QueryOne(Conn(i), "SELECT coalesce(max(id), 0) FROM node_death");
    ASSERT_TRUE(max_id.has_value());
    replicated = std::min<int64_t>(replicated, std::stoll(*max_id));
  }
  ASSERT_GT(replicated, 0);
  const auto killed_at = std::chrono::steady_clock::now();
  cluster_->KillNode(old);

  auto leader = NewLeader(old, seconds(60));
  ASSERT_TRUE(leader.has_value()) << "no replica was promoted";
  ASSERT_TRUE(PollUntil(seconds(30), [&] {
    return load.FirstAckAfter(killed_at, cluster_->nodes[old].name).has_value();
  })) << "writes did not resume";
  const size_t other = 3 - old - *leader;
  EXPECT_TRUE(PollUntil(seconds(30), [&] {
    return QueryOne(Conn(other), "SELECT status || ':' || sender_port FROM pg_stat_wal_receiver") ==
           "streaming:" + std::to_string(cluster_->nodes[*leader].pg_port);
  })) << "the other replica does not stream from the new leader";
  const size_t acked_after_kill = load.acked_count();
  ASSERT_TRUE(PollUntil(seconds(30), [&] { return load.acked_count() >= acked_after_kill + 100; }));
  load.Stop();

  auto rows = Query(Conn(*leader), "SELECT id FROM node_death");
  ASSERT_TRUE(rows.ok());
  std::set<int64_t> present;
  for (const auto& row : *rows) present.insert(std::stoll(*row[0]));
  size_t lost_replicated = 0;
  size_t lost_unreplicated = 0;
  for (const auto& ack : load.Acked()) {
    if (present.count(ack.id)) continue;
    (ack.id <= replicated ? lost_replicated : lost_unreplicated) += 1;
  }
  EXPECT_EQ(lost_replicated, 0u) << "acknowledged rows that had reached both replicas were lost";
  const double rto = std::chrono::duration<double>(
                         *load.FirstAckAfter(killed_at, cluster_->nodes[old].name) - killed_at)
                         .count();
  std::cout << "node death: RTO " << rto << " s, acked " << load.acked_count()
            << ", acked-but-unreplicated rows lost " << lost_unreplicated << " (asynchronous mode)"
            << ", failed " << load.failed() << ", unknown " << load.unknown() << "\n";

  const ClusterView view = LoadView(*cluster_);
  const MemberInfo* new_primary = view.Member(cluster_->nodes[*leader].name);
  ASSERT_NE(new_primary, nullptr);
  EXPECT_GT(new_primary->timeline, old_timeline);
  bool recorded = false;
  for (const auto& h : view.history) {
    recorded |= h["event"] == "failover" && h["old_leader"] == cluster_->nodes[old].name &&
                h["new_leader"] == cluster_->nodes[*leader].name &&
                h["unavailable_seconds"].get<double>() > 0;
  }
  EXPECT_TRUE(recorded) << "no failover record in /history";
  // Its PostgreSQL and its agent both gone (connections refused): nothing there could take a
  // write, so the best replica took over without waiting for the lease.
  bool early = false;
  for (const auto& h : view.history) {
    early |=
        h["event"] == "failover" && h["old_leader"] == cluster_->nodes[old].name &&
        h["reason"].get<std::string>().find("without waiting for its lease") != std::string::npos;
  }
  EXPECT_TRUE(early) << "the failover waited for the lease";

  // The old primary comes back and follows the new leader after pg_rewind.
  ASSERT_TRUE(cluster_->StartAgent(old).ok());
  Status healthy = cluster_->WaitHealthy(seconds(120));
  ASSERT_TRUE(healthy.ok()) << healthy.ToString();
  const ClusterView after = LoadView(*cluster_);
  const MemberInfo* rejoined = after.Member(cluster_->nodes[old].name);
  ASSERT_NE(rejoined, nullptr);
  EXPECT_EQ(rejoined->rejoined, "pg_rewind");
  EXPECT_EQ(rejoined->timeline, new_primary->timeline);
  EXPECT_EQ(QueryOne(Conn(old), "SELECT pg_is_in_recovery()"), "t");
  auto status =
      RunCommand({BatonBinary(), "status", "-c", cluster_->nodes[0].config_path}, {}, seconds(20));
  ASSERT_TRUE(status.ok());
  EXPECT_NE(status->output.find("rejoined via pg_rewind"), std::string::npos) << status->output;
  auto history = RunCommand(
      {BatonBinary(), "history", "-c", cluster_->nodes[0].config_path, "--json"}, {}, seconds(20));
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->exit_code, 0);
  EXPECT_NE(history->output.find("\"failover\""), std::string::npos) << history->output;
}

TEST_F(FailoverTest, PrimaryThatCannotRestartGivesUpTheKeyAfterPrimaryStartTimeout) {
  const size_t old = Leader();
  // The agent comes back with a postgres that cannot start; it adopts the running server.
  const std::string broken =
      BinDirWithBroken("postgres", std::filesystem::path(cluster_->dir).parent_path().string());
  RestartAgent(old, {{"BATON_POSTGRESQL_BIN_DIR", broken}});
  ASSERT_TRUE(PollUntil(seconds(30), [&] {
    return HttpStatus(cluster_->nodes[old], "/primary") == 200;
  })) << "the restarted agent did not take up its primary";
  const pid_t postmaster = cluster_->PostmasterPid(old);
  ASSERT_GT(postmaster, 0);
  ASSERT_EQ(kill(-postmaster, SIGKILL), 0);

  auto leader = NewLeader(old, seconds(60));
  ASSERT_TRUE(leader.has_value()) << "no failover after primary_start_timeout";
  EXPECT_NE(AgentLog(old).find("did not come back within primary_start_timeout"),
            std::string::npos);
  EXPECT_NE(AgentLog(old).find("start-primary failed"), std::string::npos)
      << "it should have tried to restart in place first";

  RestartAgent(old);  // with the real binaries again: it rejoins
  Status healthy = cluster_->WaitHealthy(seconds(120));
  ASSERT_TRUE(healthy.ok()) << healthy.ToString();
}

TEST_F(FailoverTest, APostgresThatCrashesAgainSoonAfterARestartInPlaceHandsTheKeyOver) {
  const size_t old = Leader();
  // The first crash: its agent (alive, so no replica takes over early) restarts it in place.
  auto running_lines = [&] {
    const std::string log = AgentLog(old);
    size_t n = 0;
    for (size_t at = log.find("leader, running as primary"); at != std::string::npos;
         at = log.find("leader, running as primary", at + 1)) {
      ++n;
    }
    return n;
  };
  const size_t before = running_lines();
  const pid_t first = cluster_->PostmasterPid(old);
  ASSERT_GT(first, 0);
  ASSERT_EQ(kill(-first, SIGKILL), 0);
  // Restarted once the agent itself saw its primary running again (a tick after the start).
  ASSERT_TRUE(PollUntil(seconds(30), [&] { return running_lines() > before; }))
      << "the agent did not restart its primary in place";
  const pid_t second = cluster_->PostmasterPid(old);
  ASSERT_GT(second, 0);
  ASSERT_NE(second, first);
  EXPECT_EQ(Leader(), old) << "a crash the agent can restart from moved the key";
  // The second, minutes later at most: a crash loop. The key goes to a replica at once.
  ASSERT_EQ(kill(-second, SIGKILL), 0);
  auto leader = NewLeader(old, seconds(60));
  ASSERT_TRUE(leader.has_value()) << "the key was not handed over";
  EXPECT_NE(AgentLog(old).find("(a crash loop): handing the leader key over"), std::string::npos);
  // The old node stays out of the race and follows the new leader.
  Status healthy = cluster_->WaitHealthy(seconds(120));
  ASSERT_TRUE(healthy.ok()) << healthy.ToString();
  EXPECT_NE(Leader(), old);
}

TEST_F(FailoverTest, FailedRewindFallsBackToReCloneAndKeepsTheOldDataAside) {
  const size_t old = Leader();
  cluster_->KillNode(old);
  ASSERT_TRUE(NewLeader(old, seconds(60)).has_value());
  const std::string broken =
      BinDirWithBroken("pg_rewind", std::filesystem::path(cluster_->dir).parent_path().string());
  ASSERT_TRUE(cluster_->StartAgent(old, {{"BATON_POSTGRESQL_BIN_DIR", broken}}).ok());
  Status healthy = cluster_->WaitHealthy(seconds(120));
  ASSERT_TRUE(healthy.ok()) << healthy.ToString();

  const ClusterView view = LoadView(*cluster_);
  EXPECT_EQ(view.Member(cluster_->nodes[old].name)->rejoined, "re-clone");
  const std::string data_dir = cluster_->nodes[old].data_dir;
  bool kept_aside = false;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::filesystem::path(data_dir).parent_path())) {
    const std::string name = entry.path().string();
    if (name.rfind(data_dir + ".diverged-", 0) == 0 &&
        std::filesystem::exists(entry.path() / "PG_VERSION")) {
      kept_aside = true;
    }
  }
  EXPECT_TRUE(kept_aside) << "the diverged data directory was not kept";
  EXPECT_NE(view.history.back()["reason"].get<std::string>().find("re-cloned"), std::string::npos);
  RestartAgent(old);  // back to the real binaries
  ASSERT_TRUE(cluster_->WaitHealthy(seconds(120)).ok());
}

TEST_F(FailoverTest, PausedClusterPromotesNobodyUntilResumed) {
  const std::string& config = cluster_->nodes[0].config_path;
  auto paused = RunCommand({BatonBinary(), "pause", "-c", config}, {}, seconds(20));
  ASSERT_TRUE(paused.ok());
  ASSERT_EQ(paused->exit_code, 0) << paused->output;
  auto status = RunCommand({BatonBinary(), "status", "-c", config}, {}, seconds(20));
  ASSERT_TRUE(status.ok());
  EXPECT_NE(status->output.find("PAUSED"), std::string::npos) << status->output;

  const size_t old = Leader();
  cluster_->KillNode(old);
  // The dead leader's key ends after its 3 s lease; then nobody takes over, however long.
  ASSERT_TRUE(PollUntil(seconds(20), [&] { return !LoadView(*cluster_).leader.has_value(); }));
  const auto until = std::chrono::steady_clock::now() + seconds(6);
  while (std::chrono::steady_clock::now() < until) {
    for (size_t i = 0; i < cluster_->nodes.size(); ++i) {
      if (i == old) continue;
      ASSERT_EQ(QueryOne(Conn(i), "SELECT pg_is_in_recovery()"), "t")
          << cluster_->nodes[i].name << " was promoted while the cluster was paused";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  const ClusterView view = LoadView(*cluster_);
  EXPECT_TRUE(view.paused);
  EXPECT_NE(view.Member(cluster_->nodes[(old + 1) % 3].name)->note.find("cluster paused"),
            std::string::npos);

  auto resumed = RunCommand({BatonBinary(), "resume", "-c", config}, {}, seconds(20));
  ASSERT_TRUE(resumed.ok());
  ASSERT_EQ(resumed->exit_code, 0) << resumed->output;
  EXPECT_TRUE(NewLeader(old, seconds(30)).has_value()) << "no failover after resume";
  ASSERT_TRUE(cluster_->StartAgent(old).ok());
  Status healthy = cluster_->WaitHealthy(seconds(120));
  ASSERT_TRUE(healthy.ok()) << healthy.ToString();
}

TEST_F(FailoverTest, LaggingReplicaIsNotPromotedAndStatusSaysWhy) {
  const size_t leader = Leader();
  const size_t lagging = (leader + 1) % 3;
  const size_t absent = (leader + 2) % 3;
  // One replica leaves (its agent stops it cleanly); the other stops receiving WAL.
  ASSERT_EQ(kill(cluster_->nodes[absent].agent_pid, SIGTERM), 0);
  ASSERT_TRUE(WaitForExit(cluster_->nodes[absent].agent_pid, seconds(60)));
  auto receiver = QueryOne(Conn(lagging), "SELECT pid FROM pg_stat_wal_receiver");
  ASSERT_TRUE(receiver.has_value());
  const pid_t receiver_pid = std::stoi(*receiver);
  ASSERT_EQ(kill(receiver_pid, SIGSTOP), 0);
  // The leader writes well past maximum_lag_on_failover (1 MiB) and publishes its position.
  ASSERT_TRUE(Query(Conn(leader),
                    "CREATE TABLE filler AS SELECT g, repeat('x', 1000) FROM "
                    "generate_series(1, 4000) g")
                  .ok());
  const auto written = QueryOne(Conn(leader), "SELECT pg_current_wal_lsn()");
  ASSERT_TRUE(written.has_value());
  const Lsn after_filler = *Lsn::Parse(*written);
  const std::string lagging_name = cluster_->nodes[lagging].name;
  ASSERT_TRUE(PollUntil(seconds(20), [&] {
    const ClusterView view = LoadView(*cluster_);
    const MemberInfo* m = view.Member(lagging_name);
    return view.last_leader && view.last_leader->lsn >= after_filler && m &&
           m->lsn.value + (1 << 20) < after_filler.value;
  })) << "the leader never published the position past the filler";
  cluster_->KillNode(leader);

  ASSERT_TRUE(PollUntil(seconds(30), [&] {
    const ClusterView view = LoadView(*cluster_);
    const MemberInfo* m = view.Member(lagging_name);
    return !view.leader && m && m->note.find("no member is eligible") != std::string::npos;
  })) << "the lagging replica did not explain why it stays a replica";
  const ClusterView view = LoadView(*cluster_);
  EXPECT_NE(view.Member(lagging_name)->note.find("more than maximum_lag_on_failover"),
            std::string::npos);
  auto status = RunCommand({BatonBinary(), "status", "-c", cluster_->nodes[lagging].config_path},
                           {}, seconds(20));
  ASSERT_TRUE(status.ok());
  EXPECT_NE(status->output.find("maximum_lag_on_failover"), std::string::npos) << status->output;
  // And it stays that way: past two more lease periods nobody is promoted.
  const auto until = std::chrono::steady_clock::now() + seconds(6);
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_FALSE(LoadView(*cluster_).leader.has_value()) << "a lagging replica was promoted";
    ASSERT_EQ(QueryOne(Conn(lagging), "SELECT pg_is_in_recovery()"), "t");
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }

  // Restore: the old leader, which has every acknowledged commit, takes over again.
  kill(receiver_pid, SIGCONT);
  ASSERT_TRUE(cluster_->StartAgent(leader).ok());
  ASSERT_TRUE(cluster_->StartAgent(absent).ok());
  Status healthy = cluster_->WaitHealthy(seconds(120));
  ASSERT_TRUE(healthy.ok()) << healthy.ToString();
  EXPECT_EQ(Leader(), leader);
}

}  // namespace
}  // namespace baton
