// The agent loop with an in-memory DCS, fake PostgreSQL instances and a simulated clock:
// bootstrap, follow, restart, failover and fencing stepped by hand, deterministically.
#include <gtest/gtest.h>

#include <memory>

#include "sim_cluster.h"

namespace baton {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class AgentSimTest : public SimCluster {};

TEST_F(AgentSimTest, BootstrapGivesExactlyOnePrimaryAndTwoFollowers) {
  Rounds(4);
  EXPECT_EQ(Primaries(), 1);
  const auto view = View();
  ASSERT_TRUE(view.leader.has_value());
  EXPECT_EQ(view.initialized_by, view.leader->name);
  const size_t leader = LeaderIndex();
  int bootstraps = 0;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const auto& calls = nodes_[i]->instance.calls;
    bootstraps += std::count(calls.begin(), calls.end(), "bootstrap");
    if (i == leader) continue;
    EXPECT_EQ(nodes_[i]->instance.state.role, PgRole::kReplica);
    EXPECT_EQ(nodes_[i]->instance.state.configured_upstream,
              nodes_[leader]->config.pg_connect.ToString());
    EXPECT_EQ(calls.front(), "clone:" + view.leader->name);
  }
  EXPECT_EQ(bootstraps, 1);
  ASSERT_EQ(view.history.size(), 1u);
  EXPECT_EQ(view.history[0]["event"], "bootstrap");
  EXPECT_EQ(view.members.size(), 3u);
}

TEST_F(AgentSimTest, ReplicasWaitForTheLeaderToServeBeforeCloning) {
  // Only the first node ticks once: it wins initialize and bootstraps in that same tick.
  nodes_[1]->agent->RunOnce();
  auto tick = nodes_[0]->agent->RunOnce();
  EXPECT_TRUE(tick.decision.idle()) << tick.decision.reason;  // lost the initialize race
  EXPECT_TRUE(nodes_[0]->instance.calls.empty());
}

TEST_F(AgentSimTest, DeadPostmasterOfTheLeaderIsRestartedAsPrimary) {
  Bootstrap();
  const size_t leader = LeaderIndex();
  nodes_[leader]->instance.state.running = nodes_[leader]->instance.state.accepting = false;
  auto tick = nodes_[leader]->agent->RunOnce();
  EXPECT_EQ(tick.decision.steps, (std::vector<Step>{Step::kRenewLeader, Step::kStartPrimary}));
  EXPECT_TRUE(tick.completed);
  EXPECT_EQ(nodes_[leader]->instance.state.role, PgRole::kPrimary);
  EXPECT_EQ(LeaderIndex(), leader);
}

TEST_F(AgentSimTest, DeadPostmasterOfAReplicaIsRestartedAsReplica) {
  Bootstrap();
  const size_t replica = (LeaderIndex() + 1) % 3;
  nodes_[replica]->instance.state.running = nodes_[replica]->instance.state.accepting = false;
  auto tick = nodes_[replica]->agent->RunOnce();
  EXPECT_EQ(tick.decision.steps, std::vector<Step>{Step::kStartReplica});
  EXPECT_EQ(nodes_[replica]->instance.state.role, PgRole::kReplica);
  EXPECT_EQ(Primaries(), 1);
}

TEST_F(AgentSimTest, LeaderThatCannotRestartGivesUpTheKeyAfterPrimaryStartTimeout) {
  Bootstrap();
  const size_t leader = LeaderIndex();
  auto& inst = nodes_[leader]->instance;
  inst.state.running = inst.state.accepting = false;
  inst.fail_start = true;
  for (int i = 0; i < 30; ++i) {  // 30 s of failed restarts: still within the budget
    nodes_[leader]->agent->RunOnce();
    clock_.Advance(seconds(1));
  }
  EXPECT_EQ(LeaderIndex(), leader);
  clock_.Advance(seconds(1));
  auto tick = nodes_[leader]->agent->RunOnce();
  EXPECT_EQ(tick.decision.steps, std::vector<Step>{Step::kReleaseLeader});
  EXPECT_FALSE(View().leader.has_value());
}

TEST_F(AgentSimTest, WhenTheLeaderDiesTheMostCaughtUpReplicaTakesOver) {
  Bootstrap();
  const size_t dead = LeaderIndex();
  const size_t ahead = (dead + 1) % 3;
  const size_t behind = (dead + 2) % 3;
  nodes_[ahead]->instance.state.lsn = Lsn{0x2000000};
  nodes_[behind]->instance.state.lsn = Lsn{0x1FFFF00};
  std::vector<bool> alive = Kill(dead);
  // The dead leader's lease ends after its TTL; until then nobody may take over.
  Rounds(2, alive);
  EXPECT_EQ(LeaderIndex(), dead);
  Rounds(24, alive);
  EXPECT_EQ(LeaderIndex(), ahead);
  EXPECT_EQ(nodes_[ahead]->instance.state.role, PgRole::kPrimary);
  EXPECT_EQ(nodes_[ahead]->instance.state.timeline, 2u);
  EXPECT_EQ(nodes_[behind]->instance.state.role, PgRole::kReplica);
  EXPECT_EQ(nodes_[behind]->instance.state.configured_upstream,
            nodes_[ahead]->config.pg_connect.ToString());
  const auto history = View().history;
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[1]["event"], "failover");
  EXPECT_EQ(history[1]["new_leader"], nodes_[ahead]->config.node_name);
  EXPECT_EQ(history[1]["old_leader"], nodes_[dead]->config.node_name);
  // The node promoted, and it alone, announces the failover, once (the bootstrap is none).
  const auto failovers = nodes_[ahead]->alerts.Named("failover");
  ASSERT_EQ(failovers.size(), 1u);
  const Alert& alert = failovers.front();
  EXPECT_EQ(alert.severity, AlertSeverity::kCritical);
  EXPECT_EQ(alert.details["old_leader"], nodes_[dead]->config.node_name);
  EXPECT_EQ(alert.details["new_leader"], nodes_[ahead]->config.node_name);
  EXPECT_EQ(alert.details["timeline"], 2);
  EXPECT_EQ(alert.details["kind"], "failover");
  EXPECT_EQ(alert.details["lsn"], history[1]["lsn"]);
  EXPECT_EQ(alert.details["unavailable_seconds"], history[1]["unavailable_seconds"]);
  EXPECT_GT(alert.time_unix, 0);
  EXPECT_NE(alert.summary.find(nodes_[dead]->config.node_name), std::string::npos);
  EXPECT_TRUE(nodes_[behind]->alerts.Named("failover").empty());
  EXPECT_TRUE(nodes_[dead]->alerts.Named("failover").empty());
}

TEST_F(AgentSimTest, WhenTheLeadersProcessesAreGoneTheBestReplicaTakesOverBeforeTheLeaseEnds) {
  Bootstrap();
  const size_t dead = LeaderIndex();
  const size_t ahead = (dead + 1) % 3;
  const size_t behind = (dead + 2) % 3;
  nodes_[ahead]->instance.state.lsn = Lsn{0x2000000};
  nodes_[behind]->instance.state.lsn = Lsn{0x1FFFF00};
  for (size_t i : {ahead, behind}) nodes_[i]->instance.state.streaming = false;
  peers_.gone = {nodes_[dead]->config.node_name};  // both its ports refused
  std::vector<bool> alive = Kill(dead);
  const Duration took = RoundsUntilAPrimary(alive, seconds(10));
  ASSERT_EQ(Primaries(), 1);
  EXPECT_LT(took, seconds(3)) << "waited for the 10 s lease";
  EXPECT_EQ(LeaderIndex(), ahead);
  EXPECT_EQ(nodes_[ahead]->instance.state.role, PgRole::kPrimary);
  for (size_t i : {ahead, behind}) EXPECT_TRUE(Called(i, "detach")) << i;
  const auto history = View().history;
  EXPECT_NE(history.back()["reason"].get<std::string>().find("without waiting for its lease"),
            std::string::npos)
      << history.back().dump();
  // The other replica follows the new leader.
  Rounds(4, alive);
  EXPECT_EQ(nodes_[behind]->instance.state.configured_upstream,
            nodes_[ahead]->config.pg_connect.ToString());
}

TEST_F(AgentSimTest, ASilentLeaderNodeIsTakenOverOnlyOnceItsLeaseEnds) {
  Bootstrap();
  const size_t dead = LeaderIndex();
  for (size_t i = 0; i < 3; ++i) {
    nodes_[i]->instance.state.streaming = i == dead;
    nodes_[i]->instance.state.lsn = nodes_[dead]->instance.state.lsn;  // all caught up
  }
  peers_.unreachable = {nodes_[dead]->config.node_name};  // timeouts, no refusal: no proof
  std::vector<bool> alive = Kill(dead);
  const Duration took = RoundsUntilAPrimary(alive, seconds(20));
  ASSERT_EQ(Primaries(), 1);
  EXPECT_GE(took, seconds(9)) << "took over a silent node before its lease ended";
  for (size_t i = 0; i < 3; ++i) EXPECT_FALSE(Called(i, "detach")) << i;
}

TEST_F(AgentSimTest, AnEarlyTakeoverWaitsForEveryCandidateToSeeTheLeaderGone) {
  Bootstrap();
  const size_t dead = LeaderIndex();
  const size_t saw = (dead + 1) % 3;
  const size_t streams = (dead + 2) % 3;  // its WAL receiver still runs: it never asks
  nodes_[saw]->instance.state.streaming = false;
  for (size_t i : {saw, streams}) nodes_[i]->instance.state.lsn = nodes_[dead]->instance.state.lsn;
  peers_.gone = {nodes_[dead]->config.node_name};
  std::vector<bool> alive = Kill(dead);
  const Duration took = RoundsUntilAPrimary(alive, seconds(20));
  ASSERT_EQ(Primaries(), 1);
  EXPECT_GE(took, seconds(9)) << "one replica of two is no majority";
  EXPECT_FALSE(Called(streams, "detach"));
}

class NoEarlyTakeoverSimTest : public SimCluster {
 protected:
  NoEarlyTakeoverSimTest() : SimCluster([](Config& c) { c.ha.early_takeover = false; }) {}
};

TEST_F(NoEarlyTakeoverSimTest, WithEarlyTakeoverOffADeadLeaderIsTakenOverWhenItsLeaseEnds) {
  Bootstrap();
  const size_t dead = LeaderIndex();
  for (size_t i = 0; i < 3; ++i) {
    nodes_[i]->instance.state.streaming = i == dead;
    nodes_[i]->instance.state.lsn = nodes_[dead]->instance.state.lsn;
  }
  peers_.gone = {nodes_[dead]->config.node_name};
  std::vector<bool> alive = Kill(dead);
  const Duration took = RoundsUntilAPrimary(alive, seconds(20));
  ASSERT_EQ(Primaries(), 1);
  EXPECT_GE(took, seconds(9)) << "took over early with ha.early_takeover off";
  for (size_t i = 0; i < 3; ++i) EXPECT_FALSE(Called(i, "detach")) << i;
  EXPECT_EQ(peers_.watched, "") << "nobody needs to watch the leader's server";
}

TEST_F(AgentSimTest, ALeaderWhosePostgresCrashLoopsHandsTheKeyToAReplica) {
  Bootstrap();
  const size_t leader = LeaderIndex();
  auto& inst = nodes_[leader]->instance;
  for (auto& node : nodes_) node->instance.state.lsn = inst.state.lsn;  // replicas caught up
  inst.state.running = inst.state.accepting = false;  // the first crash: restarted in place
  auto tick = nodes_[leader]->agent->RunOnce();
  EXPECT_EQ(tick.decision.steps, (std::vector<Step>{Step::kRenewLeader, Step::kStartPrimary}));
  Rounds(20);  // 10 s later it crashes again: a crash loop
  ASSERT_EQ(LeaderIndex(), leader);
  inst.state.running = inst.state.accepting = false;
  tick = nodes_[leader]->agent->RunOnce();
  EXPECT_EQ(tick.decision.steps, std::vector<Step>{Step::kReleaseLeader});
  EXPECT_NE(tick.decision.reason.find("crash loop"), std::string::npos) << tick.decision.reason;
  // Another node leads at once (no lease to wait for); the old one stays out and follows.
  for (int i = 0; i < 10 && (!View().leader || LeaderIndex() == leader); ++i) Rounds(1);
  ASSERT_TRUE(View().leader.has_value());
  EXPECT_NE(LeaderIndex(), leader);
  Rounds(6);
  EXPECT_EQ(Primaries(), 1);
  EXPECT_NE(LeaderIndex(), leader);
  EXPECT_EQ(inst.state.role, PgRole::kReplica);
}

TEST_F(AgentSimTest, AWinnerThatDiesBeforePromotingIsReplacedWhenItsLeaseEnds) {
  Bootstrap();
  const size_t dead = LeaderIndex();
  const size_t winner = (dead + 1) % 3;
  const size_t next = (dead + 2) % 3;
  nodes_[winner]->instance.state.lsn = Lsn{0x2000000};
  nodes_[next]->instance.state.lsn = Lsn{0x1FFFF00};
  nodes_[winner]->instance.fail_promote = true;  // takes the key, then dies before promoting
  std::vector<bool> alive = Kill(dead);
  Rounds(24, alive);  // past the dead leader's TTL: the winner has taken the key
  ASSERT_EQ(LeaderIndex(), winner);
  EXPECT_EQ(Primaries(), 0);
  alive = Kill(winner, alive);  // the winner dies too
  Rounds(24, alive);            // its lease ends, and the next candidate goes
  EXPECT_EQ(LeaderIndex(), next);
  EXPECT_EQ(nodes_[next]->instance.state.role, PgRole::kPrimary);
  EXPECT_EQ(Primaries(), 1);
}

TEST_F(AgentSimTest, AWinnerThatIsNoLongerTheBestGivesTheKeyBack) {
  Bootstrap();
  const size_t dead = LeaderIndex();
  const size_t first = (dead + 1) % 3;
  const size_t better = (dead + 2) % 3;
  nodes_[first]->instance.state.lsn = Lsn{0x1000100};
  nodes_[better]->instance.state.lsn = Lsn{0x1000000};
  Rounds(18, Kill(dead));  // 9 s: the dead leader's lease is about to end
  clock_.Advance(seconds(2));
  ASSERT_FALSE(View().leader.has_value());
  nodes_[better]->agent->RunOnce();  // publishes its position; waits for `first`'s
  ASSERT_FALSE(View().leader.has_value());

  // `better` reports a further position just after `first` has read the cluster (the moment
  // `first` publishes its own record), i.e. between `first`'s decision and its win.
  const std::string better_key = "/baton/sim/members/" + nodes_[better]->config.node_name;
  const KeyValue better_record = dcs_.GetPrefix(better_key)->front();
  MemberInfo updated = *MemberInfo::FromJson(better_record.value);
  updated.lsn = Lsn{0x2000000};
  nodes_[better]->instance.state.lsn = updated.lsn;  // its server really got that far
  bool injected = false;
  dcs_.WatchPrefix("/baton/sim/members/" + nodes_[first]->config.node_name, [&](const WatchEvent&) {
    if (injected) return;
    injected = true;
    ASSERT_TRUE(dcs_.Put(better_key, updated.ToJson().dump(), better_record.lease).ok());
  });
  auto tick = nodes_[first]->agent->RunOnce();  // decides on the old records, wins, re-checks
  ASSERT_TRUE(injected);
  EXPECT_FALSE(tick.completed);
  EXPECT_NE(tick.failure.find("no longer the best candidate"), std::string::npos) << tick.failure;
  EXPECT_NE(nodes_[first]->instance.state.role, PgRole::kPrimary);
  EXPECT_FALSE(View().leader.has_value()) << "the key was not given back";
  // `better` takes over on its next tick.
  nodes_[better]->agent->RunOnce();
  EXPECT_EQ(LeaderIndex(), better);
}

TEST_F(AgentSimTest, AKeyThatExpiresWhilePromotingLeavesAtMostOnePrimary) {
  Bootstrap();
  const size_t dead = LeaderIndex();
  const size_t slow = (dead + 1) % 3;
  const size_t other = (dead + 2) % 3;
  nodes_[slow]->instance.state.lsn = Lsn{0x2000000};
  nodes_[other]->instance.state.lsn = Lsn{0x1FFFF00};
  // The promotion takes longer than the lease: the key ends while it runs.
  nodes_[slow]->instance.during_promote = [this] { clock_.Advance(seconds(11)); };
  Rounds(24, Kill(dead));
  // Whoever holds the key now, exactly one node runs as primary and it is the key holder.
  EXPECT_EQ(Primaries(), 1);
  const size_t leader = LeaderIndex();
  EXPECT_EQ(nodes_[leader]->instance.state.role, PgRole::kPrimary);
  EXPECT_TRUE(leader == slow || leader == other);
}

TEST_F(AgentSimTest, AFormerPrimaryRejoinsWithRewindOrFallsBackToAReclone) {
  Bootstrap();
  const size_t old = LeaderIndex();
  for (auto& node : nodes_) node->instance.state.lsn = Lsn{0x1000000};
  Rounds(26, Kill(old));  // failover to another node, timeline 2
  const size_t leader = LeaderIndex();
  ASSERT_NE(leader, old);
  // The old primary's server is down; its agent comes back.
  auto& inst = nodes_[old]->instance;
  inst.state.running = inst.state.accepting = false;
  inst.fail_rewind = true;
  inst.calls.clear();
  Rounds(4);
  const std::vector<std::string> expected_start = {
      "rewind:" + nodes_[leader]->config.node_name, "move-aside",
      "clone:" + nodes_[leader]->config.node_name, "start:replica"};
  ASSERT_GE(inst.calls.size(), expected_start.size());
  EXPECT_TRUE(std::equal(expected_start.begin(), expected_start.end(), inst.calls.begin()));
  EXPECT_EQ(inst.state.role, PgRole::kReplica);
  const auto view = View();
  EXPECT_EQ(view.Member(nodes_[old]->config.node_name)->rejoined, "re-clone");
  EXPECT_EQ(view.history.back()["event"], "rejoin");
}

TEST_F(AgentSimTest, PausedClusterPromotesNobodyUntilResumed) {
  Bootstrap();
  ClusterStore admin(dcs_, "sim", "", 10, clock_);
  ASSERT_TRUE(admin.SetPaused(true, "test").ok());
  const size_t dead = LeaderIndex();
  for (auto& node : nodes_) node->instance.state.lsn = Lsn{0x1000000};
  const std::vector<bool> alive = Kill(dead);
  Rounds(40, alive);  // 20 s: twice the TTL
  EXPECT_FALSE(View().leader.has_value());
  EXPECT_EQ(Primaries(), 0);
  ASSERT_TRUE(admin.SetPaused(false, "test").ok());
  Rounds(4, alive);
  EXPECT_EQ(Primaries(), 1);
  EXPECT_NE(LeaderIndex(), dead);
}

TEST_F(AgentSimTest, AStalledLeaderWhoseLeaseEndedStopsWritingAtItsFirstTick) {
  Bootstrap();
  const size_t stalled = LeaderIndex();
  for (auto& node : nodes_) node->instance.state.lsn = Lsn{0x1000000};
  // Only the leader's agent stalls (its server keeps running): past its TTL another node
  // takes over.
  std::vector<bool> alive = {true, true, true};
  alive[stalled] = false;
  nodes_[stalled]->instance.watchdog_alive = false;  // its watchdog was killed as well
  Rounds(26, alive);
  ASSERT_NE(LeaderIndex(), stalled);
  ASSERT_EQ(Primaries(), 2);  // the stalled one is still writable: nothing could stop it
  // Its first tick after the stall stops it writing at once, before it even asks etcd.
  nodes_[stalled]->instance.calls.clear();
  nodes_[stalled]->agent->RunOnce();
  ASSERT_FALSE(nodes_[stalled]->instance.calls.empty());
  EXPECT_EQ(nodes_[stalled]->instance.calls.front(), "stop:immediate");
  EXPECT_EQ(Primaries(), 1);
}

TEST_F(AgentSimTest, OnlyTheLeaderArmsItsWatchdogWithItsLeaseDeadline) {
  Bootstrap();
  const size_t leader = LeaderIndex();
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const auto& deadline = nodes_[i]->instance.fence.deadline();
    if (i != leader) {
      EXPECT_FALSE(deadline.has_value()) << nodes_[i]->config.node_name;
      continue;
    }
    // Renewed half a second ago (the last round): TTL 10 s minus the 1 s margin from then.
    ASSERT_TRUE(deadline.has_value());
    EXPECT_EQ(*deadline, clock_.Now() - milliseconds(500) + seconds(9));
  }
  // An orderly shutdown stops the server, then disarms.
  nodes_[leader]->agent->Shutdown();
  EXPECT_FALSE(nodes_[leader]->instance.state.running);
  EXPECT_FALSE(nodes_[leader]->instance.fence.deadline().has_value());
}

TEST_F(AgentSimTest, ABootstrapThatOutlivesTheLeaseIsNotKilledAndItsNodeLeads) {
  FakeInstance& first = nodes_[0]->instance;  // ticks first: claims /initialize
  first.during_bootstrap = [&] {
    clock_.Advance(seconds(12));  // a slow initdb: past the 9 s deadline, and the 10 s lease
    first.RunWatchdog(clock_.Now());
  };
  Rounds(8);
  EXPECT_EQ(first.watchdog_kills, 0) << "the bootstrap was killed half-made";
  EXPECT_EQ(Primaries(), 1);
  EXPECT_EQ(LeaderIndex(), 0u);
  EXPECT_TRUE(first.fence.deadline().has_value()) << "not armed again once it held the key";
}

TEST_F(AgentSimTest, AShortLeaseKeepsAQuarterOfItsTtlAsTheFencingMargin) {
  for (auto& node : nodes_) {
    node->config.timing.ttl_seconds = 3;
    node->config.timing.loop_wait_seconds = 0.5;
    node->config.timing.retry_timeout_seconds = 1;
    node->agent = std::make_unique<Agent>(node->config, dcs_, node->instance, clock_, peers_);
  }
  Bootstrap();
  const auto& deadline = nodes_[LeaderIndex()]->instance.fence.deadline();
  ASSERT_TRUE(deadline.has_value());
  // Renewed in the last round, half a second ago: 3 s minus a 0.75 s margin from then.
  EXPECT_EQ(*deadline - clock_.Now(), milliseconds(1750)) << Seconds(*deadline - clock_.Now());
}

TEST_F(AgentSimTest, AStalledLeadersWatchdogFencesItsPrimaryBeforeAnotherNodePromotes) {
  Bootstrap();
  const size_t stalled = LeaderIndex();
  for (auto& node : nodes_) node->instance.state.lsn = Lsn{0x1000000};
  // Whoever promotes checks that the stalled node is down by then, and is armed itself.
  std::optional<TimePoint> promoted_at;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (i == stalled) continue;
    FakeInstance& instance = nodes_[i]->instance;
    instance.during_promote = [&, &instance = instance] {
      promoted_at = clock_.Now();
      EXPECT_FALSE(nodes_[stalled]->instance.state.running) << "two writable primaries";
      EXPECT_TRUE(instance.fence.deadline().has_value()) << "promoted without an armed watchdog";
    };
  }
  // Only the leader's agent stalls (SIGSTOP); its server and its watchdog keep running.
  const TimePoint stalled_at = clock_.Now();
  std::vector<bool> alive = {true, true, true};
  alive[stalled] = false;
  std::optional<TimePoint> fenced_at;
  for (int step = 0; step < 30 && !promoted_at; ++step) {
    Rounds(1, alive);
    if (!fenced_at && nodes_[stalled]->instance.watchdog_kills > 0) fenced_at = clock_.Now();
    EXPECT_LE(Primaries(), 1);
  }
  ASSERT_TRUE(fenced_at.has_value()) << "the watchdog never fenced";
  ASSERT_TRUE(promoted_at.has_value()) << "nobody took over";
  // Last renewed 0.5 s before the stall: fenced at its deadline (9 s after), promoted later.
  EXPECT_EQ(*fenced_at, stalled_at - milliseconds(500) + seconds(9));
  EXPECT_LT(*fenced_at, *promoted_at);
  EXPECT_EQ(Primaries(), 1);
  // The agent resumes: its server, killed, comes back as a replica of the new leader.
  Rounds(6);
  const size_t leader = LeaderIndex();
  ASSERT_NE(leader, stalled);
  EXPECT_EQ(Primaries(), 1);
  EXPECT_TRUE(nodes_[stalled]->instance.state.running);
  EXPECT_EQ(nodes_[stalled]->instance.state.role, PgRole::kReplica);
  EXPECT_FALSE(nodes_[stalled]->instance.fence.deadline().has_value());
}

TEST_F(AgentSimTest, ALeaderWhosePostgresStopsAnsweringKillsItAndRestartsItAsPrimary) {
  Bootstrap();
  const size_t leader = LeaderIndex();
  FakeInstance& instance = nodes_[leader]->instance;
  instance.calls.clear();
  instance.state.accepting = false;  // SIGSTOPped: every probe times out
  instance.state.unresponsive = true;
  const TimePoint stopped_at = clock_.Now();
  std::optional<TimePoint> killed_at;
  for (int step = 0; step < 20 && !killed_at; ++step) {
    Rounds(1);
    if (!instance.calls.empty() && instance.calls.front() == "stop:kill") killed_at = clock_.Now();
    EXPECT_EQ(LeaderIndex(), leader);  // its agent keeps the key all along
  }
  ASSERT_TRUE(killed_at.has_value());
  EXPECT_GT(*killed_at - stopped_at, seconds(5));  // half the TTL
  EXPECT_LE(*killed_at - stopped_at, seconds(6));
  Rounds(1);  // it is down now: restarted in place, as any dead primary of the leader
  EXPECT_EQ(instance.calls, (std::vector<std::string>{"stop:kill", "start:primary"}));
  EXPECT_EQ(instance.watchdog_kills, 0);  // the lease was renewed throughout
  EXPECT_EQ(Primaries(), 1);
  EXPECT_TRUE(instance.state.accepting);
}

TEST_F(AgentSimTest, PrimaryCutOffFromEtcdFencesItselfAtItsLeaseDeadline) {
  Bootstrap();
  const size_t leader = LeaderIndex();
  dcs_.SetReachable(false);
  // Before the deadline (TTL - margin after the last renewal) it keeps serving.
  clock_.Advance(seconds(7));
  auto tick = nodes_[leader]->agent->RunOnce();
  EXPECT_TRUE(tick.decision.idle()) << tick.decision.reason;
  EXPECT_EQ(nodes_[leader]->instance.state.role, PgRole::kPrimary);
  // Past it (woken there by its own timer) it fences: immediate stop, then read-only.
  clock_.Advance(seconds(2));
  nodes_[leader]->agent->RunOnce();
  EXPECT_EQ(nodes_[leader]->instance.state.role, PgRole::kReplica);
  EXPECT_EQ(Primaries(), 0);
  const auto& calls = nodes_[leader]->instance.calls;
  EXPECT_NE(std::find(calls.begin(), calls.end(), "stop:immediate"), calls.end());
  // Announced once: the next tick, still cut off, has nothing left to fence.
  nodes_[leader]->agent->RunOnce();
  const auto fenced = nodes_[leader]->alerts.Named("fenced");
  ASSERT_EQ(fenced.size(), 1u);
  EXPECT_EQ(fenced.front().severity, AlertSeverity::kCritical);
  EXPECT_EQ(fenced.front().details["fences"], 1);
  EXPECT_FALSE(fenced.front().details["reason"].get<std::string>().empty());
}

TEST_F(AgentSimTest, AStalePrimaryThatFindsAnotherLeaderDemotesItself) {
  Bootstrap();
  const size_t leader = LeaderIndex();
  const size_t other = (leader + 1) % 3;
  // A node that believes it is primary (e.g. came back from a pause) while another leads.
  nodes_[other]->instance.state.role = PgRole::kPrimary;
  auto tick = nodes_[other]->agent->RunOnce();
  EXPECT_EQ(tick.decision.steps, std::vector<Step>{Step::kDemote});
  EXPECT_EQ(nodes_[other]->instance.state.role, PgRole::kReplica);
  EXPECT_EQ(Primaries(), 1);
}

TEST_F(AgentSimTest, SwitchoverPassesTheKeyAndTheOldLeaderFollowsWithoutARewind) {
  Bootstrap();
  const size_t old_leader = LeaderIndex();
  const size_t target = (old_leader + 1) % 3;
  SimNode& leader = *nodes_[old_leader];
  const SwitchoverRequest request = RequestCaughtUpSwitchover(old_leader, target);
  leader.agent->RunOnce();  // stops cleanly and hands the key over
  EXPECT_FALSE(leader.instance.state.running);
  EXPECT_TRUE(leader.instance.state.clean_shutdown);
  EXPECT_FALSE(leader.instance.fence.deadline().has_value()) << "still armed after the hand-over";
  const auto handing = View();
  ASSERT_TRUE(handing.leader.has_value());
  EXPECT_EQ(handing.leader->name, request.to);
  ASSERT_TRUE(handing.switchover && handing.switchover->handing_over);
  EXPECT_EQ(handing.switchover->checkpoint, leader.instance.state.lsn);
  // The target received the shutdown checkpoint (and nothing else exists to receive).
  nodes_[target]->instance.state.lsn = Lsn{leader.instance.state.lsn.value + 0x100};
  Rounds(6);
  EXPECT_EQ(LeaderIndex(), target);
  EXPECT_EQ(Primaries(), 1);
  EXPECT_EQ(nodes_[target]->instance.state.role, PgRole::kPrimary);
  EXPECT_TRUE(nodes_[target]->instance.fence.deadline().has_value());
  EXPECT_EQ(leader.instance.state.role, PgRole::kReplica);
  EXPECT_TRUE(leader.instance.state.running);
  EXPECT_EQ(leader.instance.state.configured_upstream,
            nodes_[target]->config.pg_connect.ToString());
  for (const auto& call : leader.instance.calls)
    EXPECT_EQ(call.rfind("rewind", 0), std::string::npos);
  const auto view = View();
  EXPECT_FALSE(view.switchover.has_value());
  bool recorded = false;
  for (const auto& record : view.history) {
    if (record["event"] == "switchover") {
      recorded = true;
      EXPECT_EQ(record["new_leader"], request.to);
      EXPECT_EQ(record["old_leader"], request.from);
    }
  }
  EXPECT_TRUE(recorded);
  // Planned, so news rather than a page; and no failover.
  const auto switchovers = nodes_[target]->alerts.Named("switchover");
  ASSERT_EQ(switchovers.size(), 1u);
  EXPECT_EQ(switchovers.front().severity, AlertSeverity::kInfo);
  EXPECT_EQ(switchovers.front().details["old_leader"], request.from);
  EXPECT_TRUE(nodes_[target]->alerts.Named("failover").empty());
}

TEST_F(AgentSimTest, ACandidateThatMissedTheShutdownCheckpointGivesTheKeyBack) {
  Bootstrap();
  const size_t old_leader = LeaderIndex();
  const size_t target = (old_leader + 1) % 3;
  SimNode& leader = *nodes_[old_leader];
  const SwitchoverRequest request = RequestCaughtUpSwitchover(old_leader, target);
  leader.agent->RunOnce();
  ASSERT_EQ(View().leader->name, request.to);
  Rounds(30);  // the target never reaches the checkpoint
  for (const auto& call : nodes_[target]->instance.calls) EXPECT_NE(call, "promote");
  EXPECT_EQ(Primaries(), 1);
  // The old leader has the most WAL: it is the one that serves again.
  EXPECT_EQ(LeaderIndex(), old_leader);
  bool refused = false;
  for (const auto& record : View().history) {
    if (record["event"] == "switchover-refused") {
      refused = true;
      EXPECT_NE(record["reason"].get<std::string>().find("short of the shutdown checkpoint"),
                std::string::npos);
    }
  }
  EXPECT_TRUE(refused);
}

TEST_F(AgentSimTest, ASwitchoverToALaggingReplicaIsRefusedWithTheReason) {
  Bootstrap();
  const size_t old_leader = LeaderIndex();
  SimNode& leader = *nodes_[old_leader];
  ReportStandbys(old_leader, Lsn{leader.instance.state.lsn.value - 0x800000});
  ClusterStore admin(dcs_, "sim", "", 10, clock_);
  SwitchoverRequest request;
  request.from = leader.config.node_name;
  request.to = nodes_[(old_leader + 1) % 3]->config.node_name;
  ASSERT_TRUE(*admin.RequestSwitchover(request));
  Rounds(2);
  EXPECT_EQ(LeaderIndex(), old_leader);
  EXPECT_TRUE(leader.instance.state.running);
  const auto view = View();
  EXPECT_FALSE(view.switchover.has_value());
  ASSERT_FALSE(view.history.empty());
  EXPECT_EQ(view.history.back()["event"], "switchover-refused");
  EXPECT_NE(view.history.back()["reason"].get<std::string>().find("lags 8388608 bytes"),
            std::string::npos);
}

TEST_F(AgentSimTest, AManualFailoverPromotesTheNamedNodeEvenWhilePaused) {
  Bootstrap();
  ClusterStore admin(dcs_, "sim", "", 10, clock_);
  ASSERT_TRUE(admin.SetPaused(true, "test").ok());
  const size_t dead = LeaderIndex();
  const size_t chosen = (dead + 2) % 3;
  const std::vector<bool> alive = Kill(dead);
  Rounds(30, alive);
  EXPECT_EQ(Primaries(), 0);
  ASSERT_TRUE(
      admin.RequestFailover({nodes_[chosen]->config.node_name, true, "test", clock_.UnixNow() + 60})
          .ok());
  Rounds(4, alive);
  EXPECT_EQ(Primaries(), 1);
  EXPECT_EQ(LeaderIndex(), chosen);
  const auto view = View();
  EXPECT_FALSE(view.failover.has_value());
  EXPECT_EQ(view.history.back()["event"], "manual-failover");
}

TEST_F(AgentSimTest, RestartAndReinitAreCarriedOutAndReportedOnTheMember) {
  Bootstrap();
  const size_t replica = (LeaderIndex() + 1) % 3;
  SimNode& node = *nodes_[replica];
  ClusterStore admin(dcs_, "sim", "", 10, clock_);
  node.instance.calls.clear();
  ASSERT_TRUE(*admin.RequestAction(node.config.node_name, {NodeVerb::kRestart, "r1", false, "t"}));
  Rounds(2);
  EXPECT_EQ(node.instance.calls, (std::vector<std::string>{"stop:fast", "start:replica"}));
  auto view = View();
  EXPECT_EQ(view.actions.count(node.config.node_name), 0u);
  ASSERT_TRUE(view.Member(node.config.node_name)->last_action.has_value());
  EXPECT_EQ(view.Member(node.config.node_name)->last_action->id, "r1");
  EXPECT_TRUE(view.Member(node.config.node_name)->last_action->ok);

  node.instance.calls.clear();
  ASSERT_TRUE(*admin.RequestAction(node.config.node_name, {NodeVerb::kReinit, "r2", false, "t"}));
  Rounds(2);
  const std::string leader_name = View().leader->name;
  EXPECT_EQ(node.instance.calls,
            (std::vector<std::string>{"stop:immediate", "remove-data", "clone:" + leader_name,
                                      "start:replica"}));
  EXPECT_EQ(View().Member(node.config.node_name)->last_action->id, "r2");

  // The leader refuses to re-clone itself, and says why.
  SimNode& leader = *nodes_[LeaderIndex()];
  ASSERT_TRUE(*admin.RequestAction(leader.config.node_name, {NodeVerb::kReinit, "r3", false, "t"}));
  Rounds(2);
  const auto result = View().Member(leader.config.node_name)->last_action;
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->id, "r3");
  EXPECT_FALSE(result->ok);
  EXPECT_NE(result->message.find("switch over first"), std::string::npos);
  EXPECT_TRUE(leader.instance.state.running);
}

TEST_F(AgentSimTest, ANewLeaseTtlFromTheDynamicConfigIsAdoptedWithoutLosingTheKey) {
  Bootstrap();
  const size_t leader = LeaderIndex();
  const LeaseId old_lease = View().leader->lease;
  ClusterStore admin(dcs_, "sim", "", 10, clock_);
  ASSERT_TRUE(*admin.ReplaceConfig(View().config_text, {{"timing.ttl", "4"}}));
  Rounds(30);  // 15 s: past the old 10 s lease, which nobody renews any more
  ASSERT_EQ(LeaderIndex(), leader);
  EXPECT_NE(View().leader->lease, old_lease);
  EXPECT_EQ(View().members.size(), 3u);
  // The new, shorter lease is the one that counts: a dead leader is replaced within it.
  for (auto& node : nodes_) node->instance.state.lsn = nodes_[leader]->instance.state.lsn;
  Rounds(1);
  const std::vector<bool> alive = Kill(leader);
  Rounds(12, alive);  // 6 s: the old 10 s TTL would still hold the key
  EXPECT_NE(LeaderIndex(), leader);
  EXPECT_EQ(Primaries(), 1);
}

}  // namespace
}  // namespace baton
