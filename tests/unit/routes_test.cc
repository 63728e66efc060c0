// Where the router sends clients, from a cluster view: the writer is the key holder once it
// runs as primary; readers are streaming replicas within the lag limit, or the writer alone.
// And RouteFollower on the in-memory DCS: each read tells the sink, and a cluster unreadable
// for longer than its lease loses its writer unless failsafe mode is on.
#include "router/routes.h"

#include <gtest/gtest.h>

#include "core/clock.h"
#include "dcs/memory_dcs.h"
#include "router/route_follower.h"

namespace baton {
namespace {

using std::chrono::seconds;

MemberInfo Member(const std::string& name, MemberRole role, int port, Lsn lsn) {
  MemberInfo m;
  m.name = name;
  m.role = role;
  m.state = MemberState::kRunning;
  m.pg_address = "127.0.0.1:" + std::to_string(port);
  m.lsn = m.replay_lsn = lsn;
  m.streaming = role == MemberRole::kReplica;
  return m;
}

ClusterView ThreeNodes() {
  ClusterView view;
  view.leader = LeaderKey{"node1", 1, 1};
  view.members["node1"] = Member("node1", MemberRole::kPrimary, 5401, Lsn{0x3000000});
  view.members["node2"] = Member("node2", MemberRole::kReplica, 5402, Lsn{0x3000000});
  view.members["node3"] = Member("node3", MemberRole::kReplica, 5403, Lsn{0x3000000});
  return view;
}

std::vector<std::string> Names(const std::vector<Backend>& backends) {
  std::vector<std::string> names;
  for (const auto& b : backends) names.push_back(b.name);
  return names;
}

TEST(RoutesTest, TheWriterIsTheLeaderAndEveryCaughtUpReplicaTakesReads) {
  const Routes routes = RoutesFor(ThreeNodes(), 1 << 20);
  ASSERT_TRUE(routes.writer);
  EXPECT_EQ(routes.writer->name, "node1");
  EXPECT_EQ(routes.writer->address.port, 5401);
  EXPECT_EQ(Names(routes.readers), (std::vector<std::string>{"node2", "node3"}));
}

TEST(RoutesTest, AKeyHolderThatHasNotPromotedYetIsNoWriter) {
  ClusterView view = ThreeNodes();
  view.leader = LeaderKey{"node2", 2, 2};
  view.members["node1"].role = MemberRole::kReplica;  // the old leader, demoted
  view.members["node1"].streaming = false;
  EXPECT_FALSE(RoutesFor(view, 1 << 20).writer);
}

TEST(RoutesTest, AReplicaPastTheLagLimitOrNotStreamingTakesNoReads) {
  ClusterView view = ThreeNodes();
  view.members["node2"].replay_lsn = Lsn{0x1000000};  // 32 MiB behind
  view.members["node3"].streaming = false;
  const Routes routes = RoutesFor(view, 1 << 20);
  EXPECT_EQ(Names(routes.readers), (std::vector<std::string>{"node1"})) << routes.Describe();
}

TEST(RoutesTest, WithoutALeaderThereIsNoWriterAndNoReaderOfKnownLag) {
  ClusterView view = ThreeNodes();
  view.leader.reset();
  const Routes routes = RoutesFor(view, 1 << 20);
  EXPECT_FALSE(routes.writer);
  EXPECT_TRUE(routes.readers.empty());
}

class RouteFollowerTest : public ::testing::Test {
 protected:
  RouteFollowerTest() : dcs_(clock_) {
    config_.cluster_name = "sim";
    config_.timing.ttl_seconds = 10;
    const std::string prefix = ClusterStore::Prefix("sim");
    const ClusterView view = ThreeNodes();
    EXPECT_TRUE(dcs_.Put(prefix + "leader", "node1", 0).ok());
    for (const auto& [name, member] : view.members) {
      EXPECT_TRUE(dcs_.Put(prefix + "members/" + name, member.ToJson().dump(), 0).ok());
    }
  }
  SimulatedClock clock_;
  MemoryDcs dcs_;
  Config config_;
  std::vector<Routes> heard_;
};

TEST_F(RouteFollowerTest, AnUnreadableClusterLosesItsWriterOnceItsLeaseHasEnded) {
  RouteFollower follower(dcs_, config_, clock_, [this](const Routes& routes, const ClusterView*) {
    heard_.push_back(routes);
  });
  follower.Refresh();
  ASSERT_EQ(heard_.size(), 1u);
  ASSERT_TRUE(heard_.back().writer);
  dcs_.SetReachable(false);
  clock_.Advance(seconds(9));
  follower.Refresh();
  EXPECT_EQ(heard_.size(), 1u) << "the leader may still hold its lease";
  clock_.Advance(seconds(2));
  follower.Refresh();
  ASSERT_EQ(heard_.size(), 2u);
  EXPECT_FALSE(heard_.back().writer);
  EXPECT_EQ(Names(heard_.back().readers), (std::vector<std::string>{"node2", "node3"}));
  dcs_.SetReachable(true);
  follower.Refresh();
  ASSERT_EQ(heard_.size(), 3u);
  EXPECT_TRUE(heard_.back().writer);
}

TEST_F(RouteFollowerTest, InFailsafeModeAnUnreadableClusterKeepsItsWriter) {
  config_.ha.failsafe_mode = true;
  RouteFollower follower(dcs_, config_, clock_, [this](const Routes& routes, const ClusterView*) {
    heard_.push_back(routes);
  });
  follower.Refresh();
  dcs_.SetReachable(false);
  clock_.Advance(seconds(30));
  follower.Refresh();
  EXPECT_EQ(heard_.size(), 1u);
}

}  // namespace
}  // namespace baton
