// Integration: synchronous replication on real etcd and PostgreSQL (3 s lease). The leader
// records its synchronous standbys in /sync and makes every commit wait for them; node death
// under load then loses no acknowledged write, and the new leader takes over before the dead
// leader's lease ends, once the standbys have detached from it.
#include <atomic>
#include <nlohmann/json.hpp>
#include <set>

#include "api/node_watch.h"
#include "ha/cluster_admin.h"
#include "harness.h"

namespace baton {
namespace {

using namespace baton::testing;  // NOLINT: the harness is this suite's vocabulary

class SyncTest : public ClusterSuite<SyncTest> {
 public:
  static LocalClusterOptions Options() { return ShortLeaseOptions(); }

 protected:
  static void SetUpTestSuite() {
    ClusterSuite::SetUpTestSuite();
    if (cluster_) {
      Status s = SetConfig({{"ha.synchronous_mode", "quorum"}});
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
  }

  void SetUp() override {
    ClusterSuite::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(PollUntil(seconds(60), [] { return BothStandbysConfirm(); }))
        << "precondition: the leader does not confirm commits on both standbys: "
        << LoadView(*cluster_).sync_text;
  }

  static Status SetConfig(const DynamicSettings& settings) {
    EtcdDcs dcs({cluster_->etcd_endpoint}, seconds(3));
    SteadyClock clock;
    ClusterAdmin admin(dcs, cluster_->cluster, clock);
    return admin.SetConfig(settings).status();
  }

  // /sync lists both replicas with one confirmation per commit, and the leader works by it.
  static bool BothStandbysConfirm() {
    const ClusterView view = LoadView(*cluster_);
    const auto leader = cluster_->LeaderIndex();
    if (!leader || !view.sync) return false;
    std::vector<std::string> others;
    for (size_t i = 0; i < cluster_->nodes.size(); ++i) {
      if (i != *leader) others.push_back(cluster_->nodes[i].name);
    }
    const SyncRecord wanted = SyncRecord::Make(cluster_->nodes[*leader].name, others, 1);
    const std::string names = "ANY 1 (\"" + others[0] + "\", \"" + others[1] + "\")";
    return *view.sync == wanted &&
           QueryOne(Conn(*leader), "SHOW synchronous_standby_names") == names &&
           QueryOne(Conn(*leader),
                    "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'quorum'") == "2";
  }

  // Rows present on `node` out of every id `load` had acknowledged.
  static size_t LostRows(const WriteLoad& load, size_t node) {
    auto rows = Query(Conn(node), "SELECT id FROM " + load.table());
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    if (!rows.ok()) return SIZE_MAX;
    std::set<int64_t> present;
    for (const auto& row : *rows) present.insert(std::stoll(*row[0]));
    size_t lost = 0;
    for (const auto& ack : load.Acked()) lost += present.count(ack.id) == 0;
    return lost;
  }
};

TEST_F(SyncTest, NodeDeathUnderLoadLosesNoAcknowledgedWriteAndDoesNotWaitForTheLease) {
  for (int round = 1; round <= 2; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const size_t old = *cluster_->LeaderIndex();
    WriteLoad load(ClusterDsn(*cluster_), "sync_node_death_" + std::to_string(round));
    ASSERT_TRUE(load.Prepare(seconds(30)).ok());
    load.Start();
    ASSERT_TRUE(PollUntil(seconds(30), [&] { return load.acked_count() >= 300; }));
    const auto killed_at = std::chrono::steady_clock::now();
    cluster_->KillNode(old);

    auto leader = WaitForNewLeader(*cluster_, old, seconds(60));
    ASSERT_TRUE(leader.has_value()) << "no standby was promoted";
    ASSERT_TRUE(PollUntil(seconds(30), [&] {
      return load.FirstAckAfter(killed_at, cluster_->nodes[old].name).has_value();
    })) << "writes did not resume";
    const size_t acked_after_kill = load.acked_count();
    ASSERT_TRUE(
        PollUntil(seconds(30), [&] { return load.acked_count() >= acked_after_kill + 50; }));
    load.Stop();
    EXPECT_EQ(LostRows(load, *leader), 0u) << "an acknowledged write was lost";
    const double rto =
        Seconds(*load.FirstAckAfter(killed_at, cluster_->nodes[old].name) - killed_at);
    std::cout << "synchronous node death: RTO " << rto << " s, acked " << load.acked_count()
              << ", lost 0, failed " << load.failed() << ", unknown " << load.unknown() << "\n";

    // The standbys detached from the dead leader and the furthest took the key at once.
    const ClusterView view = LoadView(*cluster_);
    bool early = false;
    for (const auto& h : view.history) {
      early |=
          h["event"] == "failover" && h["old_leader"] == cluster_->nodes[old].name &&
          h["reason"].get<std::string>().find("without waiting for its lease") != std::string::npos;
    }
    EXPECT_TRUE(early) << "the failover waited for the lease instead of taking over early";

    ASSERT_TRUE(cluster_->StartAgent(old).ok());
    Status healthy = cluster_->WaitHealthy(seconds(120));
    ASSERT_TRUE(healthy.ok()) << healthy.ToString();
    ASSERT_TRUE(PollUntil(seconds(60), [] { return BothStandbysConfirm(); }))
        << "the new leader does not confirm commits on both standbys: "
        << LoadView(*cluster_).sync_text;
  }
}

TEST_F(SyncTest, WithoutStandbysANonStrictLeaderGoesAsynchronousAndAStrictOneMakesWritesWait) {
  const size_t leader = *cluster_->LeaderIndex();
  const std::string name = cluster_->nodes[leader].name;
  std::vector<size_t> replicas;
  for (size_t i = 0; i < cluster_->nodes.size(); ++i) {
    if (i != leader) replicas.push_back(i);
  }
  for (size_t r : replicas) cluster_->KillNode(r);
  // Non-strict: once the standbys are gone, the claim is withdrawn, then commits stop waiting.
  ASSERT_TRUE(PollUntil(seconds(30), [&] {
    const ClusterView view = LoadView(*cluster_);
    return view.sync && *view.sync == SyncRecord::LeaderOnly(name) &&
           QueryOne(Conn(leader), "SHOW synchronous_standby_names") == "";
  })) << LoadView(*cluster_).sync_text;
  EXPECT_TRUE(Query(Conn(leader),
                    "CREATE TABLE IF NOT EXISTS async_write (i int); "
                    "INSERT INTO async_write VALUES (1)")
                  .ok());

  // Strict: with no standby, a commit waits until one confirms it.
  ASSERT_TRUE(SetConfig({{"ha.synchronous_mode_strict", "true"}}).ok());
  ASSERT_TRUE(PollUntil(seconds(30), [&] {
    return QueryOne(Conn(leader), "SHOW synchronous_standby_names") ==
           "ANY 1 (\"baton:no-standby\")";
  }));
  std::atomic<bool> committed{false};
  std::thread writer(
      [&] { committed = Query(Conn(leader), "INSERT INTO async_write VALUES (2)").ok(); });
  // Nothing may confirm it: the commit is still waiting after several agent loops.
  EXPECT_FALSE(PollUntil(seconds(3), [&] { return committed.load(); }))
      << "a strict leader acknowledged a commit without any standby";
  ASSERT_TRUE(cluster_->StartAgent(replicas[0]).ok());
  EXPECT_TRUE(PollUntil(seconds(60), [&] { return committed.load(); }))
      << "the commit did not complete once a standby came back";
  // Non-strict again: a commit still waiting (the check above failed) completes, the writer ends.
  ASSERT_TRUE(SetConfig({{"ha.synchronous_mode_strict", ""}}).ok());
  writer.join();
  ASSERT_TRUE(cluster_->StartAgent(replicas[1]).ok());
}

TEST_F(SyncTest, ASwitchoverMovesTheRecordToTheNewLeaderAndLosesNothing) {
  const size_t old = *cluster_->LeaderIndex();
  WriteLoad load(ClusterDsn(*cluster_), "sync_switchover");
  ASSERT_TRUE(load.Prepare(seconds(30)).ok());
  load.Start();
  ASSERT_TRUE(PollUntil(seconds(30), [&] { return load.acked_count() >= 200; }));
  auto result = RunCommand({BatonBinary(), "switchover", "-c", cluster_->nodes[old].config_path},
                           {}, seconds(60));
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->exit_code, 0) << result->output;
  auto leader = WaitForNewLeader(*cluster_, old, seconds(30));
  ASSERT_TRUE(leader.has_value());
  const size_t acked = load.acked_count();
  ASSERT_TRUE(PollUntil(seconds(30), [&] { return load.acked_count() >= acked + 100; }));
  load.Stop();
  EXPECT_EQ(LostRows(load, *leader), 0u);
  ASSERT_TRUE(PollUntil(seconds(60), [] { return BothStandbysConfirm(); }))
      << LoadView(*cluster_).sync_text;
}

TEST_F(SyncTest, EachListedStandbyWatchesTheLeaderAndIsToldAtOnceWhenItsConnectionEnds) {
  const size_t leader = *cluster_->LeaderIndex();
  const auto watchers = [&] {
    return QueryOne(Conn(leader),
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'baton-watch'");
  };
  EXPECT_TRUE(PollUntil(seconds(30), [&] { return watchers() == "2"; }))
      << "connections from the standbys' agents: " << watchers().value_or("?");

  std::atomic<int> lost{0};
  NodeWatch watch;
  watch.Watch(Conn(leader) + " application_name=node-watch-test", [&] { ++lost; });
  const std::string mine = "FROM pg_stat_activity WHERE application_name = 'node-watch-test'";
  ASSERT_TRUE(PollUntil(seconds(10),
                        [&] { return QueryOne(Conn(leader), "SELECT count(*) " + mine) == "1"; }));
  EXPECT_EQ(lost.load(), 0);
  ASSERT_EQ(QueryOne(Conn(leader), "SELECT bool_and(pg_terminate_backend(pid)) " + mine), "t");
  EXPECT_TRUE(PollUntil(seconds(2), [&] { return lost.load() == 1; })) << lost.load();
  // It connects again and goes on watching.
  EXPECT_TRUE(PollUntil(seconds(10),
                        [&] { return QueryOne(Conn(leader), "SELECT count(*) " + mine) == "1"; }));
  watch.Watch("", {});
  EXPECT_TRUE(PollUntil(seconds(10),
                        [&] { return QueryOne(Conn(leader), "SELECT count(*) " + mine) == "0"; }));
  EXPECT_EQ(lost.load(), 1);
}

}  // namespace
}  // namespace baton
