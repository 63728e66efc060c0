// The pure decision core on hand-built observations: one rule per test.
#include "ha/decide.h"

#include <gtest/gtest.h>

namespace baton {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

MemberInfo Replica(const std::string& name, uint64_t lsn, const std::string& leader_seen = "") {
  MemberInfo m;
  m.name = name;
  m.role = MemberRole::kReplica;
  m.state = MemberState::kRunning;
  m.timeline = 1;
  m.lsn = Lsn{lsn};
  m.pg_address = "127.0.0.1:5432";
  m.leader_seen = leader_seen;
  return m;
}

// node1 sees no leader; it runs as a streaming replica at `lsn`.
Observation Leaderless(uint64_t lsn) {
  Observation o;
  o.now = TimePoint(seconds(1000));
  o.self = "node1";
  o.timing.loop_wait_seconds = 1;
  o.dcs_reachable = true;
  o.cluster.initialized_by = "node0";
  o.instance.data_present = o.instance.running = o.instance.accepting = true;
  o.instance.role = PgRole::kReplica;
  o.instance.timeline = 1;
  o.instance.lsn = Lsn{lsn};
  o.memory.leaderless_since = o.now;
  return o;
}

TEST(DecideTest, BestReplicaTakesTheKeyAndPromotes) {
  Observation o = Leaderless(500);
  o.cluster.members["node2"] = Replica("node2", 400);
  const Decision d = Decide(o);
  EXPECT_EQ(d.steps, (std::vector<Step>{Step::kAcquireLeader, Step::kPromote})) << d.reason;
}

TEST(DecideTest, ABetterCandidateGoesFirst) {
  Observation o = Leaderless(400);
  o.cluster.members["node2"] = Replica("node2", 500);
  const Decision d = Decide(o);
  EXPECT_TRUE(d.idle());
  EXPECT_NE(d.reason.find("node2 is the best candidate"), std::string::npos) << d.reason;
}

TEST(DecideTest, ABetterCandidateThatDoesNotActIsPassedOverAfterABoundedWait) {
  Observation o = Leaderless(400);
  o.cluster.members["node2"] = Replica("node2", 500);
  o.now += milliseconds(1999);  // TakeoverWait is 2 x loop_wait
  EXPECT_TRUE(Decide(o).idle());
  o.now += milliseconds(2);
  const Decision d = Decide(o);
  EXPECT_EQ(d.steps, (std::vector<Step>{Step::kAcquireLeader, Step::kPromote}));
  EXPECT_NE(d.reason.find("node2 did not take over in time"), std::string::npos) << d.reason;
}

TEST(DecideTest, PositionsPublishedBeforeTheLeaderVanishedAreWaitedForBriefly) {
  Observation o = Leaderless(500);
  o.cluster.members["node2"] = Replica("node2", 100, /*leader_seen=*/"node0");
  Decision d = Decide(o);
  EXPECT_TRUE(d.idle());
  EXPECT_NE(d.reason.find("waiting for node2 to report its position"), std::string::npos);
  o.now += seconds(1);  // after PositionWait the stale record is ignored
  EXPECT_EQ(Decide(o).steps, (std::vector<Step>{Step::kAcquireLeader, Step::kPromote}));
}

TEST(DecideTest, NobodyEligibleMeansNobodyIsPromotedAndTheReasonSaysWhy) {
  Observation o = Leaderless(1000);
  o.timing.maximum_lag_on_failover = 100;
  o.cluster.last_leader = LeaderStatus{"node0", Lsn{5000}, 1, 0};
  o.cluster.members["node2"] = Replica("node2", 1000);
  const Decision d = Decide(o);
  EXPECT_TRUE(d.idle());
  EXPECT_NE(d.reason.find("no member is eligible"), std::string::npos) << d.reason;
  EXPECT_NE(d.reason.find("node1: lags 4000 bytes"), std::string::npos) << d.reason;
}

TEST(DecideTest, NofailoverTagKeepsANodeFromTakingOver) {
  Observation o = Leaderless(900);
  o.tags.nofailover = true;
  o.cluster.members["node2"] = Replica("node2", 500);
  const Decision d = Decide(o);
  EXPECT_TRUE(d.idle());
  EXPECT_NE(d.reason.find("tagged nofailover"), std::string::npos) << d.reason;
}

Observation Follower() {
  Observation o = Leaderless(500);
  o.memory.leaderless_since.reset();
  o.cluster.leader = LeaderKey{"node2", 1, 1};
  MemberInfo leader = Replica("node2", 900);
  leader.role = MemberRole::kPrimary;
  leader.timeline = 2;
  leader.pg_address = "127.0.0.1:6000";
  o.cluster.members["node2"] = leader;
  return o;
}

TEST(DecideTest, AStoppedNodeOnAnOlderTimelineRewindsBeforeFollowing) {
  Observation o = Follower();
  o.instance.running = o.instance.accepting = false;
  const Decision d = Decide(o);
  EXPECT_EQ(d.steps, (std::vector<Step>{Step::kRewind, Step::kStartReplica})) << d.reason;
  ASSERT_TRUE(d.upstream.has_value());
  EXPECT_EQ(d.upstream->address.ToString(), "127.0.0.1:6000");
}

TEST(DecideTest, AStoppedReplicaStartsAsReplicaWhateverTimelineItsControlFileNames) {
  Observation o = Follower();
  o.instance.running = o.instance.accepting = false;
  o.instance.stopped_in_recovery = true;  // killed while streaming; last restartpoint on 1
  const Decision d = Decide(o);
  EXPECT_EQ(d.steps, std::vector<Step>{Step::kStartReplica}) << d.reason;
}

TEST(DecideTest, AStoppedNodeOnTheLeadersTimelineJustStartsAsReplica) {
  Observation o = Follower();
  o.instance.running = o.instance.accepting = false;
  o.instance.timeline = 2;
  EXPECT_EQ(Decide(o).steps, std::vector<Step>{Step::kStartReplica});
}

TEST(DecideTest, AReplicaThatReceivedPastTheLeadersSwitchPointIsRewound) {
  Observation o = Follower();
  o.cluster.members["node2"].timeline_start = Lsn{800};
  o.instance.configured_upstream = "127.0.0.1:6000";
  o.instance.lsn = Lsn{800};  // exactly at the switch point: it can follow
  EXPECT_TRUE(Decide(o).idle());
  o.instance.lsn = Lsn{801};  // one byte the leader never had
  const Decision d = Decide(o);
  EXPECT_EQ(d.steps, (std::vector<Step>{Step::kRewind, Step::kStartReplica})) << d.reason;
}

TEST(DecideTest, AStoppedNodeWaitsForTheLeaderToServeBeforeChoosingHowToRejoin) {
  Observation o = Follower();
  o.instance.running = o.instance.accepting = false;
  o.cluster.members["node2"].role = MemberRole::kReplica;  // its record from before it promoted
  const Decision d = Decide(o);
  EXPECT_TRUE(d.idle());
  EXPECT_NE(d.reason.find("waiting for leader node2"), std::string::npos) << d.reason;
}

TEST(DecideTest, AReplicaPointingElsewhereIsRepointedWithoutARestart) {
  Observation o = Follower();
  o.instance.timeline = 2;
  o.instance.configured_upstream = "127.0.0.1:5999";
  EXPECT_EQ(Decide(o).steps, std::vector<Step>{Step::kFollow});
}

TEST(DecideTest, APausedClusterFailsOverToNobody) {
  Observation o = Leaderless(500);
  o.cluster.paused = true;
  o.cluster.members["node2"] = Replica("node2", 400);
  const Decision d = Decide(o);
  EXPECT_TRUE(d.idle());
  EXPECT_NE(d.reason.find("cluster paused"), std::string::npos) << d.reason;
}

TEST(DecideTest, APausedLeaderKeepsItsKeyButDoesNotRestartPostgres) {
  Observation o = Follower();
  o.self = "node2";
  o.instance.running = o.instance.accepting = false;
  o.cluster.paused = true;
  EXPECT_EQ(Decide(o).steps, std::vector<Step>{Step::kRenewLeader});
  o.cluster.paused = false;
  EXPECT_EQ(Decide(o).steps, (std::vector<Step>{Step::kRenewLeader, Step::kStartPrimary}));
}

TEST(DecideTest, APausedReplicaIsNotRepointed) {
  Observation o = Follower();
  o.instance.timeline = 2;
  o.instance.configured_upstream = "127.0.0.1:5999";
  o.cluster.paused = true;
  EXPECT_TRUE(Decide(o).idle());
}

TEST(DecideTest, AWritablePrimaryWithoutTheKeyThatIsNotTakingItFencesItself) {
  Observation o = Leaderless(500);
  o.self = "node2";  // ranks after node1 at the same position
  o.instance.role = PgRole::kPrimary;
  o.cluster.members["node1"] = Replica("node1", 500);
  const Decision d = Decide(o);
  EXPECT_EQ(d.steps, std::vector<Step>{Step::kFence}) << d.reason;
  o.tags.nofailover = true;
  EXPECT_EQ(Decide(o).steps, std::vector<Step>{Step::kFence});
}

TEST(DecideTest, APrimaryFacingALeaderWithoutAnAddressFencesItself) {
  Observation o = Follower();
  o.instance.role = PgRole::kPrimary;
  o.cluster.members.erase("node2");
  EXPECT_EQ(Decide(o).steps, std::vector<Step>{Step::kFence});
}

TEST(DecideTest, ALeaderWhoseDataIsAReplicasRestartsItReadOnlyBeforePromoting) {
  Observation o = Follower();
  o.self = "node2";
  o.instance.running = o.instance.accepting = false;
  o.instance.stopped_in_recovery = true;
  EXPECT_EQ(Decide(o).steps, (std::vector<Step>{Step::kRenewLeader, Step::kStartReplica}));
}

TEST(DecideTest, ALeaderWhosePostgresStopsAnsweringKillsItAfterHalfTheTtl) {
  Observation o = Follower();
  o.self = "node2";  // the leader, ttl 10 s
  o.timing.ttl_seconds = 10;
  o.instance.accepting = false;
  o.instance.unresponsive = true;
  o.memory.unresponsive_since = o.now;
  o.now += seconds(5);  // exactly half the TTL: still waits
  Decision d = Decide(o);
  EXPECT_EQ(d.steps, std::vector<Step>{Step::kRenewLeader}) << d.reason;
  EXPECT_NE(d.reason.find("does not answer"), std::string::npos) << d.reason;
  o.now += milliseconds(1);
  d = Decide(o);
  EXPECT_EQ(d.steps, (std::vector<Step>{Step::kRenewLeader, Step::kKill})) << d.reason;
  EXPECT_NE(d.reason.find("not answered for 5.0 s"), std::string::npos) << d.reason;
  // Once killed it is down, and the restart-in-place rule takes over.
  o.instance.running = o.instance.unresponsive = false;
  o.memory.primary_down_since = o.now;
  EXPECT_EQ(Decide(o).steps, (std::vector<Step>{Step::kRenewLeader, Step::kStartPrimary}));
}

TEST(DecideTest, AServerThatRefusesConnectionsWhileStartingIsNeverKilled) {
  Observation o = Follower();
  o.self = "node2";
  o.instance.accepting = false;  // "the database system is starting up": not unresponsive
  o.memory.unresponsive_since.reset();
  o.now += seconds(600);
  EXPECT_EQ(Decide(o).steps, std::vector<Step>{Step::kRenewLeader});
}

TEST(DecideTest, AnUnfinishedBootstrapIsRetriedByTheNodeThatClaimedIt) {
  Observation o = Leaderless(0);
  o.cluster.initialized_by = "node1";
  o.instance = InstanceState{};
  EXPECT_EQ(Decide(o).steps, (std::vector<Step>{Step::kAcquireLeader, Step::kBootstrap}));
  o.self = "node2";  // anyone else waits for it
  EXPECT_TRUE(Decide(o).idle());
}

TEST(DecideTest, OnlyStateChangesMakeTheAgentLookAgainAtOnce) {
  EXPECT_FALSE(Decision{}.ChangesState());
  EXPECT_FALSE((Decision{{Step::kRenewLeader}, std::nullopt, ""}.ChangesState()));
  EXPECT_TRUE(
      (Decision{{Step::kRenewLeader, Step::kStartPrimary}, std::nullopt, ""}.ChangesState()));
  EXPECT_TRUE((Decision{{Step::kFollow}, std::nullopt, ""}.ChangesState()));
  EXPECT_TRUE((Decision{{Step::kRenewLeader, Step::kKill}, std::nullopt, ""}.ChangesState()));
}

TEST(DecideTest, APrimaryCutOffFromEtcdServesUntilItsLeaseDeadlineThenFences) {
  Observation o = Leaderless(900);
  o.dcs_reachable = false;
  o.instance.role = PgRole::kPrimary;
  o.lease_deadline = o.now + milliseconds(1);
  EXPECT_TRUE(Decide(o).idle());
  o.now += milliseconds(1);
  EXPECT_EQ(Decide(o).steps, std::vector<Step>{Step::kFence});
}

TEST(DecideTest, PromotionIsNeverDecidedWithoutEtcd) {
  Observation o = Leaderless(900);
  o.dcs_reachable = false;
  EXPECT_TRUE(Decide(o).idle());
}

TEST(DecideTest, ACleanlyStoppedPrimaryFollowsTheNextTimelineWithoutARewind) {
  Observation o = Follower();  // leader node2 on timeline 2, this node stopped on timeline 1
  o.instance.running = o.instance.accepting = false;
  o.instance.clean_shutdown = true;
  o.instance.lsn = Lsn{700};  // its shutdown checkpoint
  o.cluster.members["node2"].timeline_start = Lsn{750};
  EXPECT_EQ(Decide(o).steps, std::vector<Step>{Step::kStartReplica});
  // Timeline 3 may have forked from timeline 1 earlier than that: pg_rewind decides.
  o.cluster.members["node2"].timeline = 3;
  EXPECT_EQ(Decide(o).steps, (std::vector<Step>{Step::kRewind, Step::kStartReplica}));
  // Past the switch point it holds WAL the leader never had.
  o.cluster.members["node2"].timeline = 2;
  o.instance.lsn = Lsn{760};
  EXPECT_EQ(Decide(o).steps, (std::vector<Step>{Step::kRewind, Step::kStartReplica}));
}

// node2 leads as primary; node1 and node3 stream from it.
Observation LeaderWithSwitchover(const SwitchoverRequest& request) {
  Observation o = Follower();
  o.self = "node2";
  o.instance.role = PgRole::kPrimary;
  o.instance.lsn = Lsn{900};
  o.instance.timeline = 2;
  o.cluster.members["node1"] = Replica("node1", 900);
  o.instance.replication = {{"node1", "streaming", Lsn{900}, 0}};
  o.cluster.switchover = request;
  o.wall_now_unix = 1000;
  return o;
}

TEST(DecideTest, AScheduledSwitchoverIsJudgedAtItsTimeNotBefore) {
  SwitchoverRequest request;
  request.from = "node2";
  request.to = "node1";
  request.at_unix = 2000;
  Observation o = LeaderWithSwitchover(request);
  o.instance.replication.clear();  // node1 is not streaming right now
  Decision d = Decide(o);
  EXPECT_EQ(d.steps, std::vector<Step>{Step::kRenewLeader}) << d.reason;
  EXPECT_NE(d.reason.find("scheduled"), std::string::npos) << d.reason;
  o.wall_now_unix = 2000;  // at its time, the target must be fit
  d = Decide(o);
  EXPECT_EQ(d.steps, (std::vector<Step>{Step::kRenewLeader, Step::kRefuseSwitchover}));
  EXPECT_NE(d.reason.find("not streaming"), std::string::npos) << d.reason;
  o.instance.replication = {{"node1", "streaming", Lsn{900}, 0}};
  d = Decide(o);
  EXPECT_EQ(d.steps, (std::vector<Step>{Step::kRenewLeader, Step::kHandOver})) << d.reason;
  EXPECT_EQ(d.upstream->name, "node1");
}

TEST(DecideTest, AHandOverUnderWayFinishesEvenIfTheClusterIsPaused) {
  SwitchoverRequest request;
  request.from = "node0";
  request.to = "node1";
  request.handing_over = true;
  request.checkpoint = Lsn{400};
  Observation o = Leaderless(500);  // node1, a replica that received past the checkpoint
  o.memory.leaderless_since.reset();
  o.cluster.leader = LeaderKey{"node1", 1, 1};
  o.cluster.switchover = request;
  o.cluster.paused = true;
  EXPECT_EQ(Decide(o).steps, (std::vector<Step>{Step::kRenewLeader, Step::kPromote}));
}

TEST(DecideTest, AnOperatorRestartOfALeaderThatIsNotYetPrimaryIsRefused) {
  Observation o = Leaderless(500);
  o.memory.leaderless_since.reset();
  o.cluster.leader = LeaderKey{"node1", 1, 1};
  o.cluster.actions["node1"] = NodeAction{NodeVerb::kRestart, "id", false, "t"};
  o.instance.accepting = false;  // still starting (or promoting)
  Decision d = Decide(o);
  EXPECT_EQ(d.steps, std::vector<Step>{Step::kRefuseAction}) << d.reason;
  o.instance.accepting = true;
  o.instance.role = PgRole::kPrimary;
  d = Decide(o);
  EXPECT_EQ(d.steps, (std::vector<Step>{Step::kRenewLeader, Step::kRestart, Step::kEndAction}));
}

TEST(DecideTest, AManualFailoverForADeadOrExpiredRequestDoesNotHoldBackAFailover) {
  Observation o = Leaderless(500);
  o.wall_now_unix = 1000;
  o.cluster.members["node2"] = Replica("node2", 400);
  o.cluster.failover = FailoverRequest{"node2", false, "t", 1060};
  EXPECT_TRUE(Decide(o).idle());     // node2 was named: node1 waits for it
  o.cluster.failover->to = "node9";  // not a member (died meanwhile)
  EXPECT_EQ(Decide(o).steps, (std::vector<Step>{Step::kAcquireLeader, Step::kPromote}));
  o.cluster.failover = FailoverRequest{"node2", false, "t", 999};  // expired
  EXPECT_EQ(Decide(o).steps, (std::vector<Step>{Step::kAcquireLeader, Step::kPromote}));
}

}  // namespace
}  // namespace baton
