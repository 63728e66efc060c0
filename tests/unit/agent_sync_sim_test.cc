// The agent loop in synchronous mode, failsafe mode and with promotion hooks, on simulated
// clusters (tests/unit/sim_cluster.h): the sync record's life, the early takeover when the
// leader's node dies, who may be promoted, hooks that stop a promotion, and an etcd outage
// ridden out by confirmation of every member.
#include <fstream>
#include <sstream>

#include "ha/cluster_admin.h"
#include "sim_cluster.h"
#include "temp_dir.h"

namespace baton {
namespace {

using std::chrono::seconds;

class SyncSimTest : public SimCluster {
 protected:
  SyncSimTest() : SimCluster([](Config& c) { c.ha.synchronous_mode = SyncMode::kQuorum; }) {}

  // Runs until the leader's record lists both replicas with one confirmation per commit.
  void SettleSyncRecord(size_t leader) {
    for (int i = 0; i < 12 && !Settled(leader); ++i) {
      ReportStandbys(leader, nodes_[leader]->instance.state.lsn);
      Rounds(1);
    }
    ASSERT_TRUE(Settled(leader)) << View().sync_text;
  }

  bool Settled(size_t leader) {
    const auto view = View();
    std::vector<std::string> others;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (i != leader) others.push_back(nodes_[i]->config.node_name);
    }
    return view.sync && *view.sync == SyncRecord::Make(nodes_[leader]->config.node_name, others, 1);
  }
};

TEST_F(SyncSimTest, TheLeaderRecordsItsStandbysAndMakesCommitsWaitForOne) {
  Bootstrap();
  const size_t leader = LeaderIndex();
  SettleSyncRecord(leader);
  const std::string& names = nodes_[leader]->instance.state.synchronous_standby_names;
  EXPECT_EQ(names.rfind("ANY 1 (", 0), 0u) << names;
  // The record was written before the setting, and claimed confirmations only after.
  const auto& calls = nodes_[leader]->instance.calls;
  EXPECT_EQ(std::count_if(
                calls.begin(), calls.end(),
                [](const std::string& c) { return c.rfind("synchronous_standby_names:", 0) == 0; }),
            1);
}

TEST_F(SyncSimTest, WhenTheLeadersNodeDiesTheFurthestStandbyTakesOverBeforeTheLeaseEnds) {
  Bootstrap();
  const size_t dead = LeaderIndex();
  SettleSyncRecord(dead);
  const size_t ahead = (dead + 1) % 3;
  const size_t behind = (dead + 2) % 3;
  nodes_[ahead]->instance.state.lsn = Lsn{0x2000000};
  nodes_[behind]->instance.state.lsn = Lsn{0x1FFFF00};
  for (size_t i : {ahead, behind}) nodes_[i]->instance.state.streaming = false;
  peers_.unreachable = {nodes_[dead]->config.node_name};
  std::vector<bool> alive = Kill(dead);
  const Duration took = RoundsUntilAPrimary(alive, seconds(10));
  ASSERT_EQ(Primaries(), 1);
  EXPECT_LT(took, seconds(5)) << "waited for the 10 s lease";
  EXPECT_EQ(nodes_[ahead]->instance.state.role, PgRole::kPrimary);
  for (size_t i : {ahead, behind}) EXPECT_TRUE(Called(i, "detach")) << i;
  // It promoted with its first commits already waiting for the other standby, and claims no
  // confirmed standby until that one confirms (a commit may have been on the old leader and
  // this node only).
  EXPECT_EQ(nodes_[ahead]->instance.state.synchronous_standby_names,
            "ANY 1 (\"" + nodes_[behind]->config.node_name + "\")");
  EXPECT_EQ(View().sync, SyncRecord::Make(nodes_[ahead]->config.node_name,
                                          {nodes_[behind]->config.node_name}, 0));
  const auto history = View().history;
  EXPECT_NE(history.back()["reason"].get<std::string>().find("without waiting for its lease"),
            std::string::npos)
      << history.back().dump();
}

TEST_F(SyncSimTest, ALeaderWhosePostgresDiesHandsTheKeyToAStandbyHoldingEveryCommit) {
  Bootstrap();
  const size_t leader = LeaderIndex();
  SettleSyncRecord(leader);
  auto& inst = nodes_[leader]->instance;
  for (auto& node : nodes_) node->instance.state.lsn = inst.state.lsn;  // standbys confirmed
  inst.state.running = inst.state.accepting = false;                    // its agent lives
  auto tick = nodes_[leader]->agent->RunOnce();
  EXPECT_EQ(tick.decision.steps, std::vector<Step>{Step::kReleaseLeader});
  EXPECT_NE(tick.decision.reason.find("in synchronous mode a standby holding every"),
            std::string::npos)
      << tick.decision.reason;
  for (int i = 0; i < 10 && (!View().leader || LeaderIndex() == leader); ++i) Rounds(1);
  ASSERT_TRUE(View().leader.has_value());
  EXPECT_NE(LeaderIndex(), leader);
  Rounds(6);
  EXPECT_EQ(Primaries(), 1);
  EXPECT_NE(LeaderIndex(), leader) << "the node that handed over took the key back";
  EXPECT_EQ(inst.state.role, PgRole::kReplica);
}

TEST_F(SyncSimTest, ASwitchoverTargetThatNeverGetsTheCheckpointLeavesTheRecordToTheOthers) {
  Bootstrap();
  const size_t old = LeaderIndex();
  SettleSyncRecord(old);
  const SyncRecord before = *View().sync;
  const size_t target = (old + 1) % 3;
  const size_t other = (old + 2) % 3;
  RequestCaughtUpSwitchover(old, target);
  nodes_[target]->instance.state.lsn = Lsn{0x100};  // it will never have the checkpoint
  nodes_[other]->instance.state.lsn = nodes_[old]->instance.state.lsn;
  // Hand-over, the wait for the checkpoint, the key given back: the record is not the target's
  // at any point, and once the target gives up another node that holds every commit leads.
  const std::string& target_name = nodes_[target]->config.node_name;
  for (int i = 0; i < 40; ++i) {
    Rounds(1);
    ASSERT_NE(View().sync->leader, target_name) << View().sync_text;
  }
  EXPECT_EQ(Primaries(), 1);
  EXPECT_NE(LeaderIndex(), target) << "the node without the checkpoint was promoted";
  EXPECT_NE(before, *View().sync);  // the new leader's own
}

class TwoAckSimTest : public SimCluster {
 protected:
  TwoAckSimTest()
      : SimCluster([](Config& c) {
          c.ha.synchronous_mode = SyncMode::kQuorum;
          c.ha.synchronous_node_count = 2;  // every commit on both standbys: either may go
        }) {}
};

TEST_F(TwoAckSimTest, AWinnerThatCannotPromoteLeavesARecordSoTheOtherStandbyCanTakeOver) {
  Bootstrap();
  const size_t dead = LeaderIndex();
  for (int i = 0; i < 12 && !(View().sync && View().sync->acks == 2); ++i) {
    ReportStandbys(dead, nodes_[dead]->instance.state.lsn);
    Rounds(1);
  }
  ASSERT_TRUE(View().sync && View().sync->acks == 2) << View().sync_text;
  const size_t first = (dead + 1) % 3;
  const size_t second = (dead + 2) % 3;
  nodes_[first]->instance.state.lsn = Lsn{0x2000000};
  nodes_[second]->instance.state.lsn = Lsn{0x2000000};
  nodes_[first]->instance.fail_promote = true;
  std::vector<bool> alive = Kill(dead);
  auto tried = [&] {
    const auto& calls = nodes_[first]->instance.calls;
    return std::find(calls.begin(), calls.end(), "promote") != calls.end();
  };
  for (int i = 0; i < 40 && !tried(); ++i) Rounds(1, alive);
  ASSERT_TRUE(tried());
  // The first candidate tried and failed, then dies; the other one holds every commit too.
  alive = Kill(first, alive);
  Rounds(40, alive);
  EXPECT_EQ(nodes_[second]->instance.state.role, PgRole::kPrimary) << View().sync_text;
}

TEST_F(SyncSimTest, ANodeThatStillAnswersIsNotTakenOverEarly) {
  Bootstrap();
  const size_t leader = LeaderIndex();
  SettleSyncRecord(leader);
  for (size_t i = 0; i < 3; ++i) {
    if (i != leader) nodes_[i]->instance.state.streaming = false;  // e.g. a network blip
  }
  Rounds(6);  // the leader's node answers (peers_.unreachable is empty)
  EXPECT_EQ(LeaderIndex(), leader);
  EXPECT_EQ(Primaries(), 1);
}

TEST_F(SyncSimTest, EveryStandbyThatMayTakeOverEarlyWatchesTheLeadersServer) {
  Bootstrap();
  const size_t leader = LeaderIndex();
  SettleSyncRecord(leader);
  for (size_t i = 0; i < 3; ++i) {
    nodes_[i]->agent->RunOnce();
    EXPECT_EQ(peers_.watched, i == leader ? "" : nodes_[leader]->config.node_name) << i;
  }
  ClusterAdmin admin(dcs_, "sim", clock_);
  // Asynchronous again (the record withdrawn): every replica may take over early, and watches.
  ASSERT_TRUE(admin.SetConfig({{"ha.synchronous_mode", "off"}}).ok());
  for (int i = 0; i < 12 && !View().sync_text.empty(); ++i) Rounds(1);
  ASSERT_EQ(View().sync_text, "");
  for (size_t i = 0; i < 3; ++i) {
    nodes_[i]->agent->RunOnce();
    EXPECT_EQ(peers_.watched, i == leader ? "" : nodes_[leader]->config.node_name) << i;
  }
}

class OnModeSimTest : public SimCluster {
 protected:
  OnModeSimTest() : SimCluster([](Config& c) { c.ha.synchronous_mode = SyncMode::kOn; }) {}
};

TEST_F(OnModeSimTest, OnlyTheChosenStandbyIsPromotedEvenWhenAnotherIsFurther) {
  Bootstrap();
  const size_t dead = LeaderIndex();
  for (int i = 0; i < 12 && !(View().sync && View().sync->acks == 1); ++i) {
    ReportStandbys(dead, nodes_[dead]->instance.state.lsn);
    Rounds(1);
  }
  ASSERT_TRUE(View().sync && View().sync->acks == 1) << View().sync_text;
  const std::string chosen = View().sync->standbys.at(0);
  size_t chosen_index = 0;
  for (size_t i = 0; i < 3; ++i) {
    if (nodes_[i]->config.node_name == chosen) chosen_index = i;
  }
  const size_t other = 3 - dead - chosen_index;
  nodes_[other]->instance.state.lsn = Lsn{0x3000000};  // further, but never confirmed a commit
  Rounds(30, Kill(dead));                              // past the lease
  EXPECT_EQ(nodes_[chosen_index]->instance.state.role, PgRole::kPrimary);
  EXPECT_EQ(nodes_[other]->instance.state.role, PgRole::kReplica);
  EXPECT_EQ(Primaries(), 1);
}

// Made before the agents, whose hooks write into it.
struct HookFiles {
  TempDir dir_;
};

class HookSimTest : protected HookFiles, public SimCluster {
 protected:
  HookSimTest()
      : SimCluster([this](Config& c) {
          c.hooks.fence_command = "echo \"$BATON_OLD_LEADER\" >> " + dir_.File("fenced");
          c.hooks.pre_promote = "test ! -e " + dir_.File("refuse");
          c.hooks.timeout_seconds = 5;
        }) {}

  std::string Fenced() {
    std::ifstream in(dir_.File("fenced"));
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // The replicas have everything the leader wrote, so either may take over.
  void CatchUp(size_t leader) {
    for (auto& node : nodes_) node->instance.state.lsn = nodes_[leader]->instance.state.lsn;
  }
};

TEST_F(HookSimTest, TheFenceCommandRunsAgainstTheOldLeaderBeforeAFailoverPromotes) {
  Bootstrap();
  const size_t dead = LeaderIndex();
  CatchUp(dead);
  Rounds(30, Kill(dead));
  ASSERT_EQ(Primaries(), 1);
  EXPECT_EQ(Fenced(), nodes_[dead]->config.node_name + "\n");
}

TEST_F(HookSimTest, AFailingPrePromoteHookStopsThePromotionAndGivesTheKeyUp) {
  Bootstrap();
  const size_t dead = LeaderIndex();
  CatchUp(dead);
  std::ofstream(dir_.File("refuse")) << "no\n";
  Rounds(30, Kill(dead));
  EXPECT_EQ(Primaries(), 0);
  const auto view = View();
  EXPECT_FALSE(view.leader.has_value());
  int refused = 0;
  for (const auto& h : view.history) refused += h["event"] == "promotion-refused";
  EXPECT_GE(refused, 1);
  // Each candidate waits a TTL after a refusal: over these 15 s, at most two tries each.
  EXPECT_LE(refused, 4);
  std::filesystem::remove(dir_.File("refuse"));
  Rounds(24, Kill(dead));  // past the 10 s backoff
  EXPECT_EQ(Primaries(), 1) << "promotes once the hook agrees";
}

class FailsafeSimTest : public SimCluster {
 protected:
  FailsafeSimTest() : SimCluster([](Config& c) { c.ha.failsafe_mode = true; }) {
    for (auto& node : nodes_) peers_.agents[node->config.node_name] = node->agent.get();
  }
};

TEST_F(FailsafeSimTest, ThePrimaryRidesOutAnEtcdOutageWhileEveryMemberConfirms) {
  Bootstrap();
  const size_t leader = LeaderIndex();
  dcs_.SetReachable(false);
  Rounds(40);  // 20 s: twice the lease
  EXPECT_EQ(Primaries(), 1);
  EXPECT_EQ(nodes_[leader]->instance.state.role, PgRole::kPrimary);
  EXPECT_TRUE(nodes_[leader]->instance.state.accepting) << "fenced despite every confirmation";

  // etcd is back, the leader's lease long gone: the members who confirmed stay out of the
  // election and the primary takes its key back.
  dcs_.SetReachable(true);
  Rounds(6);
  EXPECT_EQ(LeaderIndex(), leader);
  EXPECT_EQ(Primaries(), 1);
  for (auto& node : nodes_) {
    const auto& calls = node->instance.calls;
    EXPECT_EQ(std::find(calls.begin(), calls.end(), "promote"), calls.end())
        << node->config.node_name << " was promoted";
  }
}

TEST_F(FailsafeSimTest, ARegisteredNodeWhoseAgentIsDownIsAskedToo) {
  Bootstrap();
  const size_t leader = LeaderIndex();
  const size_t down = (leader + 1) % 3;
  std::vector<bool> alive = Kill(down);
  Rounds(30, alive);  // its member record is gone with its lease; its registration stays
  ASSERT_EQ(View().Member(nodes_[down]->config.node_name), nullptr);
  peers_.unreachable = {nodes_[down]->config.node_name};
  dcs_.SetReachable(false);
  Rounds(24, alive);
  const InstanceState& state = nodes_[leader]->instance.state;
  EXPECT_FALSE(state.running && state.role == PgRole::kPrimary)
      << "kept running without the confirmation of a node that could be elected";
}

TEST_F(FailsafeSimTest, AMemberThatDoesNotAnswerMakesThePrimaryFenceAtItsDeadline) {
  Bootstrap();
  const size_t leader = LeaderIndex();
  peers_.unreachable = {nodes_[(leader + 1) % 3]->config.node_name};
  dcs_.SetReachable(false);
  Rounds(24);  // 12 s: past the 9 s deadline
  EXPECT_EQ(Primaries(), 0);
  const InstanceState& fenced = nodes_[leader]->instance.state;
  EXPECT_FALSE(fenced.running && fenced.role == PgRole::kPrimary);
}

class RestartSimTest : public SimCluster {};

TEST_F(RestartSimTest, AfterAFullRestartTheNodesOnTheOldTimelineWaitForTheNewestData) {
  Bootstrap();
  const size_t old = LeaderIndex();
  for (auto& node : nodes_) node->instance.state.lsn = Lsn{0x1000000};
  Rounds(26, Kill(old));  // failover: the new leader is on timeline 2
  const size_t newest = LeaderIndex();
  ASSERT_NE(newest, old);
  const size_t other = 3 - old - newest;
  ASSERT_EQ(nodes_[newest]->instance.state.timeline, 2u);
  // Everything stops before the third node followed the new timeline; the old primary and that
  // node come back first, both on timeline 1, with more WAL than the new leader reported.
  std::vector<bool> alive = Kill(newest, Kill(other));
  Rounds(30, alive);  // every lease ends
  for (size_t i : {old, other}) {
    auto& state = nodes_[i]->instance.state;
    state.timeline = 1;
    state.lsn = Lsn{0x3000000};
    state.running = state.accepting = false;
    state.role = PgRole::kReplica;
    nodes_[i]->instance.watchdog_alive = true;
  }
  alive = {true, true, true};
  alive[newest] = false;
  Rounds(30, alive);
  EXPECT_EQ(Primaries(), 0) << "a node on timeline 1 took over from timeline 2";
  EXPECT_NE(nodes_[other]->agent->Snapshot().last_decision.find("on timeline 1, cluster is on 2"),
            std::string::npos)
      << nodes_[other]->agent->Snapshot().last_decision;
  // The node with the newest data returns and leads again.
  auto& back = nodes_[newest]->instance.state;
  back.running = back.accepting = false;
  back.role = PgRole::kPrimary;
  nodes_[newest]->instance.watchdog_alive = true;
  Rounds(30);
  EXPECT_EQ(LeaderIndex(), newest);
  EXPECT_EQ(Primaries(), 1);
}

}  // namespace
}  // namespace baton
