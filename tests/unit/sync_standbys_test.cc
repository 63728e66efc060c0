// Which standbys the leader makes synchronous, and whether PostgreSQL works by the setting yet.
#include "ha/sync_standbys.h"

#include <gtest/gtest.h>

namespace baton {
namespace {

using Names = std::vector<std::string>;

ClusterView Members(const Names& names) {
  ClusterView view;
  for (const auto& name : names) {
    MemberInfo m;
    m.name = name;
    m.role = MemberRole::kReplica;
    m.state = MemberState::kRunning;
    view.members[name] = m;
  }
  return view;
}

ReplicationPeer Streaming(const std::string& name, uint64_t flush = 100) {
  ReplicationPeer p;
  p.name = name;
  p.state = "streaming";
  p.flush_lsn = Lsn{flush};
  return p;
}

HaPolicy Policy(SyncMode mode, int count = 1, bool strict = false) {
  HaPolicy policy;
  policy.synchronous_mode = mode;
  policy.synchronous_node_count = count;
  policy.synchronous_mode_strict = strict;
  return policy;
}

TEST(SyncStandbysTest, QuorumWaitsForAnyKOfEveryStreamingMember) {
  const ClusterView view = Members({"n1", "n2", "n3"});
  const SyncPlan plan = PlanSyncStandbys(Policy(SyncMode::kQuorum), "n1", view,
                                         {Streaming("n2"), Streaming("n3")}, {});
  EXPECT_EQ(plan.standby_names, R"(ANY 1 ("n2", "n3"))");
  EXPECT_EQ(plan.record, SyncRecord::Make("n1", {"n2", "n3"}, 1));
}

TEST(SyncStandbysTest, StandbysThatAreNotStreamingMembersOrAreNofailoverAreLeftOut) {
  ClusterView view = Members({"n1", "n2", "n3", "n4"});
  view.members["n4"].nofailover = true;
  ReplicationPeer catching_up = Streaming("n3");
  catching_up.state = "catchup";
  const SyncPlan plan =
      PlanSyncStandbys(Policy(SyncMode::kQuorum), "n1", view,
                       {Streaming("n2"), catching_up, Streaming("n4"), Streaming("stranger")}, {});
  EXPECT_EQ(plan.standby_names, R"(ANY 1 ("n2"))");
}

TEST(SyncStandbysTest, WithTooFewStandbysANonStrictPolicyAsksForWhatThereIs) {
  const ClusterView view = Members({"n1", "n2", "n3"});
  EXPECT_EQ(PlanSyncStandbys(Policy(SyncMode::kQuorum, 2), "n1", view, {Streaming("n2")}, {})
                .standby_names,
            R"(ANY 1 ("n2"))");
  const SyncPlan none = PlanSyncStandbys(Policy(SyncMode::kQuorum, 2), "n1", view, {}, {});
  EXPECT_EQ(none.standby_names, "");
  EXPECT_EQ(none.record, SyncRecord::LeaderOnly("n1"));
}

TEST(SyncStandbysTest, AStrictPolicyStillDemandsItsCountSoWritesWait) {
  const ClusterView view = Members({"n1", "n2", "n3"});
  const SyncPlan few =
      PlanSyncStandbys(Policy(SyncMode::kQuorum, 2, true), "n1", view, {Streaming("n2")}, {});
  EXPECT_EQ(few.standby_names, R"(ANY 2 ("n2"))");
  EXPECT_EQ(few.record.acks, 1);  // never claims more than there are
  const SyncPlan none = PlanSyncStandbys(Policy(SyncMode::kQuorum, 1, true), "n1", view, {}, {});
  EXPECT_EQ(none.standby_names, R"(ANY 1 ("baton:no-standby"))");
  EXPECT_EQ(none.record, SyncRecord::LeaderOnly("n1"));
}

TEST(SyncStandbysTest, OnPicksTheCountFurthestAndKeepsTheOnesAlreadyChosen) {
  ClusterView view = Members({"n1", "n2", "n3"});
  const std::vector<ReplicationPeer> peers = {Streaming("n2", 100), Streaming("n3", 200)};
  EXPECT_EQ(PlanSyncStandbys(Policy(SyncMode::kOn), "n1", view, peers, {}).standby_names,
            R"(FIRST 1 ("n3"))");
  view.sync = SyncRecord::Make("n1", {"n2"}, 1);
  EXPECT_EQ(PlanSyncStandbys(Policy(SyncMode::kOn), "n1", view, peers, {}).standby_names,
            R"(FIRST 1 ("n2"))");
}

TEST(SyncStandbysTest, KeptStandbysStayWhileTheyReconnect) {
  const ClusterView view = Members({"n1", "n2", "n3"});
  EXPECT_EQ(PlanSyncStandbys(Policy(SyncMode::kQuorum), "n1", view, {Streaming("n2")}, {"n3"})
                .standby_names,
            R"(ANY 1 ("n2", "n3"))");
}

TEST(SyncStandbysTest, OffMeansAsynchronous) {
  const SyncPlan plan =
      PlanSyncStandbys(Policy(SyncMode::kOff), "n1", Members({"n1", "n2"}), {Streaming("n2")}, {});
  EXPECT_EQ(plan.standby_names, "");
}

TEST(SyncStandbysTest, WalSendersFollowWhenListedOnesAreNotAsyncAndTheOthersAre) {
  ReplicationPeer n2 = Streaming("n2");
  ReplicationPeer n3 = Streaming("n3");
  n2.sync_state = "quorum";
  n3.sync_state = "async";
  EXPECT_TRUE(WalSendersFollow(R"(ANY 1 ("n2"))", {n2, n3}));
  EXPECT_FALSE(WalSendersFollow(R"(ANY 1 ("n2", "n3"))", {n2, n3}));  // n3 not reloaded yet
  EXPECT_FALSE(WalSendersFollow("", {n2, n3}));
  EXPECT_EQ(ListedStandbys(R"(FIRST 2 ("a", "b-1"))"), (Names{"a", "b-1"}));
}

}  // namespace
}  // namespace baton
