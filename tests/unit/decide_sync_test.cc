// The decision core in synchronous mode: how the leader moves its synchronous standbys without
// ever storing a SyncRecord that is not true, who may be promoted, and the early takeover.
#include <gtest/gtest.h>

#include "ha/decide.h"

namespace baton {
namespace {

using std::chrono::seconds;
using Steps = std::vector<Step>;

MemberInfo Member(const std::string& name, uint64_t lsn, MemberRole role = MemberRole::kReplica) {
  MemberInfo m;
  m.name = name;
  m.role = role;
  m.state = MemberState::kRunning;
  m.timeline = 1;
  m.lsn = Lsn{lsn};
  m.pg_address = "127.0.0.1:5432";
  return m;
}

ReplicationPeer Peer(const std::string& name, uint64_t flush, const std::string& sync_state) {
  ReplicationPeer p;
  p.name = name;
  p.state = "streaming";
  p.flush_lsn = p.replay_lsn = Lsn{flush};
  p.sync_state = sync_state;
  return p;
}

// node1 leads and runs as primary at 0/1000 with node2 and node3 streaming, quorum mode.
Observation Leader() {
  Observation o;
  o.now = TimePoint(seconds(1000));
  o.self = "node1";
  o.timing.ttl_seconds = 10;
  o.ha.synchronous_mode = SyncMode::kQuorum;
  o.dcs_reachable = true;
  o.cluster.initialized_by = "node1";
  o.cluster.leader = LeaderKey{"node1", 1, 1};
  o.cluster.members["node1"] = Member("node1", 1000, MemberRole::kPrimary);
  o.cluster.members["node2"] = Member("node2", 1000);
  o.cluster.members["node3"] = Member("node3", 1000);
  o.instance.data_present = o.instance.running = o.instance.accepting = true;
  o.instance.role = PgRole::kPrimary;
  o.instance.timeline = 1;
  o.instance.lsn = Lsn{1000};
  o.instance.replication = {Peer("node2", 1000, "async"), Peer("node3", 1000, "async")};
  o.lease_deadline = o.now + seconds(9);
  o.memory.leader_since = o.now - seconds(60);
  return o;
}

void Store(Observation* o, const SyncRecord& record) {
  o->cluster.sync = record;
  o->cluster.sync_text = record.ToJson().dump();
}

constexpr const char* kBoth = R"(ANY 1 ("node2", "node3"))";

TEST(DecideSyncTest, TheLeaderRecordsTheNewStandbysBeforeItReliesOnThem) {
  Observation o = Leader();
  Decision d = Decide(o);
  EXPECT_EQ(d.steps, (Steps{Step::kRenewLeader, Step::kWriteSyncRecord})) << d.reason;
  // True now (asynchronous: nothing is on a standby) and once the standbys confirm commits.
  EXPECT_EQ(*d.sync_record, SyncRecord::Make("node1", {"node2", "node3"}, 0));

  Store(&o, *d.sync_record);
  d = Decide(o);
  EXPECT_EQ(d.steps, (Steps{Step::kRenewLeader, Step::kSetStandbyNames})) << d.reason;
  EXPECT_EQ(*d.standby_names, kBoth);
}

TEST(DecideSyncTest, TheNewRecordWaitsUntilTheSettingHoldsAndTheStandbysConfirmedThePast) {
  Observation o = Leader();
  Store(&o, SyncRecord::Make("node1", {"node2", "node3"}, 0));
  o.instance.synchronous_standby_names = kBoth;
  // The WAL senders have not reloaded yet.
  EXPECT_EQ(Decide(o).steps, Steps{Step::kRenewLeader});
  o.instance.replication = {Peer("node2", 900, "quorum"), Peer("node3", 900, "quorum")};
  // In effect, but not yet since a probe before this one.
  EXPECT_EQ(Decide(o).steps, Steps{Step::kRenewLeader});
  o.memory.standby_names_settled_at = Lsn{1000};
  const Decision waiting = Decide(o);
  EXPECT_EQ(waiting.steps, Steps{Step::kRenewLeader});
  EXPECT_NE(waiting.reason.find("to confirm 0/3E8"), std::string::npos) << waiting.reason;
  o.instance.replication[0].flush_lsn = Lsn{1000};
  const Decision d = Decide(o);
  EXPECT_EQ(d.steps, (Steps{Step::kRenewLeader, Step::kWriteSyncRecord})) << d.reason;
  EXPECT_EQ(*d.sync_record, SyncRecord::Make("node1", {"node2", "node3"}, 1));
}

TEST(DecideSyncTest, AStandbyThatLeavesStaysInTheRecordUntilTheSettingNoLongerCountsOnIt) {
  Observation o = Leader();
  Store(&o, SyncRecord::Make("node1", {"node2", "node3"}, 1));
  o.instance.synchronous_standby_names = kBoth;
  o.instance.replication = {Peer("node2", 1000, "quorum")};  // node3 is gone
  // The stored record already covers both settings: the setting changes first.
  Decision d = Decide(o);
  EXPECT_EQ(d.steps, (Steps{Step::kRenewLeader, Step::kSetStandbyNames})) << d.reason;
  EXPECT_EQ(*d.standby_names, R"(ANY 1 ("node2"))");
  o.instance.synchronous_standby_names = *d.standby_names;
  o.memory.standby_names_settled_at = Lsn{1000};
  d = Decide(o);
  EXPECT_EQ(d.steps, (Steps{Step::kRenewLeader, Step::kWriteSyncRecord})) << d.reason;
  EXPECT_EQ(*d.sync_record, SyncRecord::Make("node1", {"node2"}, 1));
}

TEST(DecideSyncTest, ANewLeaderKeepsItsStartingStandbysWhileTheyConnect) {
  Observation o = Leader();
  Store(&o, SyncRecord::LeaderOnly("node1"));
  o.instance.synchronous_standby_names = kBoth;
  o.instance.replication = {};
  o.memory.leader_since = o.now - seconds(1);  // within ttl / 2: commits wait for them
  const Decision waiting = Decide(o);
  EXPECT_EQ(waiting.steps, Steps{Step::kRenewLeader});
  EXPECT_NE(waiting.reason.find("waiting for the setting to settle"), std::string::npos)
      << waiting.reason;
  o.memory.leader_since = o.now - seconds(6);  // they never came: a non-strict policy lets them go
  const Decision d = Decide(o);
  EXPECT_EQ(d.steps, (Steps{Step::kRenewLeader, Step::kSetStandbyNames})) << d.reason;
  EXPECT_EQ(*d.standby_names, "");
}

TEST(DecideSyncTest, TurningSynchronousModeOffWithdrawsTheClaimThenTheSettingThenTheRecord) {
  Observation o = Leader();
  o.ha.synchronous_mode = SyncMode::kOff;
  Store(&o, SyncRecord::Make("node1", {"node2", "node3"}, 1));
  o.instance.synchronous_standby_names = kBoth;
  Decision d = Decide(o);
  EXPECT_EQ(d.steps, (Steps{Step::kRenewLeader, Step::kWriteSyncRecord})) << d.reason;
  EXPECT_EQ(*d.sync_record, SyncRecord::LeaderOnly("node1"));
  Store(&o, *d.sync_record);
  d = Decide(o);
  EXPECT_EQ(d.steps, (Steps{Step::kRenewLeader, Step::kSetStandbyNames})) << d.reason;
  EXPECT_EQ(*d.standby_names, "");
  o.instance.synchronous_standby_names = "";
  EXPECT_EQ(Decide(o).steps, (Steps{Step::kRenewLeader, Step::kDeleteSyncRecord}));
}

TEST(DecideSyncTest, AStrictLeaderWithoutStandbysKeepsItsRecordSinceNothingCanBeAcknowledged) {
  Observation o = Leader();
  o.ha.synchronous_mode_strict = true;
  Store(&o, SyncRecord::Make("node1", {"node2", "node3"}, 1));
  o.instance.synchronous_standby_names = kBoth;
  o.instance.replication = {};  // both standbys gone
  Decision d = Decide(o);
  EXPECT_EQ(d.steps, (Steps{Step::kRenewLeader, Step::kSetStandbyNames})) << d.reason;
  EXPECT_EQ(*d.standby_names, R"(ANY 1 ("baton:no-standby"))");
  o.instance.synchronous_standby_names = *d.standby_names;
  o.memory.standby_names_settled_at = Lsn{1000};
  d = Decide(o);
  EXPECT_EQ(d.steps, Steps{Step::kRenewLeader}) << "the record must keep node2 and node3";
}

// node2 sees no leader; node1 led with the record (node1, {node2, node3}, 1).
Observation Leaderless(uint64_t own_lsn) {
  Observation o;
  o.now = TimePoint(seconds(1000));
  o.self = "node2";
  o.timing.ttl_seconds = 10;
  o.timing.loop_wait_seconds = 1;
  o.ha.synchronous_mode = SyncMode::kQuorum;
  o.dcs_reachable = true;
  o.cluster.initialized_by = "node1";
  o.cluster.last_leader = LeaderStatus{"node1", Lsn{5000}, 1, 0};
  Store(&o, SyncRecord::Make("node1", {"node2", "node3"}, 1));
  o.instance.data_present = o.instance.running = o.instance.accepting = true;
  o.instance.role = PgRole::kReplica;
  o.instance.timeline = 1;
  o.instance.lsn = Lsn{own_lsn};
  o.memory.leaderless_since = o.now - seconds(5);
  return o;
}

TEST(DecideSyncTest, ALeaderlessStandbyNeedsToSeeEnoughSynchronousStandbys) {
  Observation o = Leaderless(1000);  // alone: 1 of the 2 needed
  Decision d = Decide(o);
  EXPECT_TRUE(d.idle());
  EXPECT_NE(d.reason.find("sees 1 of the 2 synchronous standbys"), std::string::npos) << d.reason;
  o.cluster.members["node3"] = Member("node3", 900);
  d = Decide(o);
  EXPECT_EQ(d.steps, (Steps{Step::kAcquireLeader, Step::kPromote})) << d.reason;
  // Far behind the old leader's last position, yet it holds every acknowledged commit.
  EXPECT_EQ(*d.standby_names, R"(ANY 1 ("node3"))");
}

TEST(DecideSyncTest, OnlyTheFurthestSynchronousStandbyMayTakeOver) {
  Observation o = Leaderless(900);
  o.cluster.members["node3"] = Member("node3", 1000);
  o.cluster.members["node3"].nofailover = true;  // further, but may not be promoted
  const Decision d = Decide(o);
  EXPECT_TRUE(d.idle());
  EXPECT_NE(d.reason.find("synchronous standby node3 is further"), std::string::npos) << d.reason;
}

TEST(DecideSyncTest, AnAsynchronousReplicaIsNeverPromotedAutomatically) {
  Observation o = Leaderless(2000);
  o.self = "node4";
  o.cluster.members["node2"] = Member("node2", 1000);
  o.cluster.members["node3"] = Member("node3", 1000);
  const Decision d = Decide(o);
  EXPECT_TRUE(d.idle());
  EXPECT_NE(d.reason.find("not eligible (not a synchronous standby of node1"), std::string::npos)
      << d.reason;
}

TEST(DecideSyncTest, AnUnreadableRecordStopsAutomaticPromotion) {
  Observation o = Leaderless(1000);
  o.cluster.sync.reset();
  o.cluster.sync_text = "{not json";
  o.cluster.members["node3"] = Member("node3", 900);
  const Decision d = Decide(o);
  EXPECT_TRUE(d.idle());
  EXPECT_NE(d.reason.find("the /sync record cannot be read"), std::string::npos) << d.reason;
}

TEST(DecideSyncTest, TheRecordedLeaderMayTakeItsKeyBack) {
  Observation o = Leaderless(5000);
  o.self = "node1";
  const Decision d = Decide(o);
  EXPECT_EQ(d.steps, (Steps{Step::kAcquireLeader, Step::kPromote})) << d.reason;
}

TEST(DecideSyncTest, ANodeOnAnOlderTimelineThanTheLastLeaderNeverTakesOver) {
  Observation o = Leaderless(9000);
  o.cluster.sync.reset();
  o.cluster.sync_text.clear();
  o.ha.synchronous_mode = SyncMode::kOff;
  o.cluster.last_leader = LeaderStatus{"node3", Lsn{8000}, 2, 0};
  // Every member present is on timeline 1: the newer data is on node3, which is down.
  const Decision d = Decide(o);
  EXPECT_TRUE(d.idle());
  EXPECT_NE(d.reason.find("on timeline 1, cluster is on 2"), std::string::npos) << d.reason;
}

// node2 streams from node1, which holds the key and the record (node1, {node2, node3}, 1).
Observation FollowerOfUnreachableLeader() {
  Observation o = Leaderless(1000);
  o.cluster.leader = LeaderKey{"node1", 7, 42};
  o.cluster.members["node1"] = Member("node1", 1100, MemberRole::kPrimary);
  o.cluster.members["node3"] = Member("node3", 900);
  o.instance.configured_upstream = "127.0.0.1:5432";
  o.leader_reach = NodeReach::kSilent;
  return o;
}

TEST(DecideSyncTest, AStandbyOfAnUnreachableLeaderDetachesFirst) {
  Observation o = FollowerOfUnreachableLeader();
  EXPECT_EQ(Decide(o).steps, Steps{Step::kDetach});
  o.leader_reach = NodeReach::kAnswers;  // it answers: business as usual
  EXPECT_TRUE(Decide(o).idle());
}

TEST(DecideSyncTest, TheFurthestDetachedStandbyTakesOverOnceEnoughHaveDetached) {
  Observation o = FollowerOfUnreachableLeader();
  o.detached_from = "node1";
  o.instance.configured_upstream.clear();
  Decision d = Decide(o);
  EXPECT_TRUE(d.idle());
  EXPECT_NE(d.reason.find("1 of the 2 synchronous standbys"), std::string::npos) << d.reason;
  o.cluster.members["node3"].detached_from = "node1";
  d = Decide(o);
  EXPECT_EQ(d.steps, (Steps{Step::kTakeOverLeader, Step::kPromote})) << d.reason;
  EXPECT_EQ(*d.standby_names, R"(ANY 1 ("node3"))");  // not the old leader
  o.cluster.members["node3"].lsn = Lsn{1001};
  d = Decide(o);
  EXPECT_TRUE(d.idle());
  EXPECT_NE(d.reason.find("node3 is the furthest"), std::string::npos) << d.reason;
}

TEST(DecideSyncTest, NoEarlyTakeoverWithoutARecordThatListsThisNode) {
  Observation o = FollowerOfUnreachableLeader();
  o.cluster.sync = SyncRecord::Make("node1", {"node3"}, 1);
  EXPECT_TRUE(Decide(o).idle());
  o.cluster.sync.reset();  // asynchronous: the lease decides
  EXPECT_TRUE(Decide(o).idle());
}

}  // namespace
}  // namespace baton
