// The leader's replica-lag alerts in simulated time: once per crossing, from the leader alone.
// (The failover, switchover and fencing alerts are asserted in agent_sim_test.cc, beside the
// scenarios that cause them.)
#include <gtest/gtest.h>

#include "sim_cluster.h"

namespace baton {
namespace {

class AgentAlertsTest : public SimCluster {};

TEST_F(AgentAlertsTest, ALaggingReplicaIsAnnouncedOncePerCrossingByTheLeader) {
  Bootstrap();
  const size_t leader = LeaderIndex();
  const size_t lagging = (leader + 1) % 3;
  const std::string name = nodes_[lagging]->config.node_name;
  const uint64_t limit = nodes_[leader]->config.timing.maximum_lag_on_failover;
  FakeInstance& primary = nodes_[leader]->instance;
  auto report_lag = [&](uint64_t bytes) {
    ReportStandbys(leader, primary.state.lsn);
    for (ReplicationPeer& peer : primary.state.replication) {
      if (peer.name == name) peer.replay_lsn = Lsn{primary.state.lsn.value - bytes};
    }
  };
  const auto lag_alerts = [&](size_t node) {
    return nodes_[node]->alerts.Named("replica_lagging").size() +
           nodes_[node]->alerts.Named("replica_caught_up").size();
  };

  // The fake replicas report no replay position of their own until the leader lists them: let
  // the leader see them caught up first.
  report_lag(0);
  Rounds(4);
  for (auto& node : nodes_) node->alerts.Clear();

  report_lag(limit);  // at the limit is not past it
  Rounds(4);
  EXPECT_EQ(lag_alerts(leader), 0u);
  report_lag(limit + 1);
  Rounds(10);
  auto lagging_alerts = nodes_[leader]->alerts.Named("replica_lagging");
  ASSERT_EQ(lagging_alerts.size(), 1u) << "fired on every tick, or never";
  EXPECT_EQ(lagging_alerts.front().severity, AlertSeverity::kWarning);
  EXPECT_EQ(lagging_alerts.front().details["member"], name);
  EXPECT_EQ(lagging_alerts.front().details["lag_bytes"], limit + 1);
  EXPECT_EQ(lagging_alerts.front().details["maximum_lag_on_failover"], limit);
  // Back under the limit but not under half of it: still lagging, nothing new.
  report_lag(limit / 2 + 1);
  Rounds(4);
  EXPECT_EQ(lag_alerts(leader), 1u);
  report_lag(0);
  Rounds(10);
  const auto caught_up = nodes_[leader]->alerts.Named("replica_caught_up");
  ASSERT_EQ(caught_up.size(), 1u);
  EXPECT_EQ(caught_up.front().details["member"], name);
  EXPECT_EQ(caught_up.front().details["lag_bytes"], 0);
  // A second crossing is a second alert.
  report_lag(limit * 4);
  Rounds(4);
  EXPECT_EQ(nodes_[leader]->alerts.Named("replica_lagging").size(), 2u);
  // Only the leader watches lag.
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (i == leader) continue;
    EXPECT_EQ(lag_alerts(i), 0u) << nodes_[i]->config.node_name;
  }
}

}  // namespace
}  // namespace baton
