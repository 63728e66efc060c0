// ClusterAdmin on an in-memory DCS: each operator verb's refusals, and that a refused verb
// writes nothing.
#include "ha/cluster_admin.h"

#include <gtest/gtest.h>

#include "dcs/memory_dcs.h"

namespace baton {
namespace {

class ClusterAdminTest : public ::testing::Test {
 protected:
  ClusterAdminTest()
      : dcs_(clock_),
        node1_(dcs_, "c", "node1", 10, clock_),
        node2_(dcs_, "c", "node2", 10, clock_),
        admin_(dcs_, "c", clock_) {
    EXPECT_TRUE(node1_.RefreshSession().ok());
    EXPECT_TRUE(node2_.RefreshSession().ok());
    EXPECT_TRUE(*node1_.ClaimInitialize());
    EXPECT_TRUE(*node1_.AcquireLeader());
    Publish(node1_, MemberRole::kPrimary, 0x5000);
    Publish(node2_, MemberRole::kReplica, 0x4000);
  }

  void Publish(ClusterStore& store, MemberRole role, uint64_t lsn) {
    MemberInfo m;
    m.name = store.node();
    m.role = role;
    m.state = MemberState::kRunning;
    m.lsn = Lsn{lsn};
    m.pg_address = "127.0.0.1:5432";
    if (role == MemberRole::kPrimary) m.replication = {{"node2", "streaming", Lsn{0x4000}, 0}};
    EXPECT_TRUE(store.PublishMember(m).ok());
  }

  SimulatedClock clock_;
  MemoryDcs dcs_;
  ClusterStore node1_;
  ClusterStore node2_;
  ClusterAdmin admin_;
};

TEST_F(ClusterAdminTest, FailoverIsRefusedWhileALeaderServesOrWhenItWouldLoseWal) {
  auto refused = admin_.Failover("node2", false, 60, "t");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("node1 is the leader"), std::string::npos);

  ASSERT_TRUE(node1_.ReleaseLeader().ok());
  ASSERT_TRUE(node1_.WriteLeaderStatus({"node1", Lsn{0x5000}, 1, 0}).ok());
  refused = admin_.Failover("node2", false, 60, "t");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("would lose 4096 bytes of WAL"), std::string::npos)
      << refused.status().message();
  EXPECT_FALSE(admin_.Load()->failover.has_value());

  auto accepted = admin_.Failover("node2", true, 60, "t");
  ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
  EXPECT_EQ(accepted->lost_bytes, 4096u);
  EXPECT_EQ(admin_.Load()->failover->to, "node2");
  EXPECT_FALSE(admin_.Failover("node9", true, 60, "t").ok());
}

TEST_F(ClusterAdminTest, SwitchoverRefusalsWriteNothing) {
  EXPECT_FALSE(admin_.Switchover("node1", 0, false, "t").ok());  // already the leader
  EXPECT_FALSE(admin_.Switchover("node9", 0, false, "t").ok());  // not a member
  ASSERT_TRUE(*admin_.SetPaused(true, "t"));
  auto paused = admin_.Switchover("node2", 0, false, "t");
  ASSERT_FALSE(paused.ok());
  EXPECT_NE(paused.status().message().find("paused"), std::string::npos);
  EXPECT_FALSE(admin_.Load()->switchover.has_value());
  ASSERT_TRUE(*admin_.SetPaused(false, "t"));
  EXPECT_FALSE(*admin_.SetPaused(false, "t"));  // already resumed: nothing to do

  auto plan = admin_.Switchover("", 0, false, "t");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->target, "node2");
  EXPECT_FALSE(admin_.Switchover("node2", 0, false, "t").ok());  // one at a time
  EXPECT_TRUE(admin_.CancelSwitchover().ok());
  EXPECT_FALSE(admin_.CancelSwitchover().ok());  // nothing left to cancel
}

TEST_F(ClusterAdminTest, DynamicSettingsAreValidatedBeforeAnythingIsStored) {
  EXPECT_EQ(admin_.SetConfig({{"timing.loop_wait", "30"}}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(admin_.SetConfig({{"node.name", "x"}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(admin_.Load()->config_text.empty());
  auto stored = admin_.SetConfig({{"postgresql.parameters.work_mem", "8MB"}});
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(admin_.Load()->Settings(),
            (DynamicSettings{{"postgresql.parameters.work_mem", "8MB"}}));
  // An edit based on an old read is refused.
  EXPECT_FALSE(admin_.ReplaceConfig({}, {{"timing.ttl", "5"}}).ok());
  EXPECT_TRUE(admin_.SetConfig({{"postgresql.parameters.work_mem", ""}})->empty());
}

TEST_F(ClusterAdminTest, NodeVerbsAndRemoveRefuseWhatMakesNoSense) {
  EXPECT_FALSE(admin_.RequestAction("node1", NodeVerb::kReinit, false, "t").ok());  // the leader
  EXPECT_FALSE(admin_.RequestAction("node9", NodeVerb::kRestart, false, "t").ok());
  auto action = admin_.RequestAction("node2", NodeVerb::kRestart, true, "t");
  ASSERT_TRUE(action.ok());
  EXPECT_FALSE(admin_.RequestAction("node2", NodeVerb::kReload, false, "t").ok());  // pending
  EXPECT_FALSE(admin_.Remove("node2").ok());                                        // alive
  EXPECT_FALSE(admin_.Remove("node9").ok());                                        // unknown
}

}  // namespace
}  // namespace baton
