// AgentMemory: each remembered moment starts when its condition is first sensed, holds while it
// lasts and ends with it; what only etcd can tell survives a tick without etcd. Time is a plain
// value here: observations carry it, no clock runs.
#include "ha/memory.h"

#include <gtest/gtest.h>

#include "ha/observation.h"

namespace baton {
namespace {

using std::chrono::seconds;

const TimePoint kStart = TimePoint(std::chrono::hours(1));

// node1 as etcd shows it at `now`: holding the key (or `leader` does), its server up and
// writable unless the test changes that.
Observation Sensed(TimePoint now, const std::string& leader = "node1") {
  Observation o;
  o.now = now;
  o.self = "node1";
  o.dcs_reachable = true;
  if (!leader.empty()) o.cluster.leader = LeaderKey{leader, 0};
  o.instance.running = o.instance.accepting = true;
  o.instance.role = leader == "node1" ? PgRole::kPrimary : PgRole::kReplica;
  return o;
}

TEST(MemoryTest, PrimaryDownSinceIsTheFirstTickThatSawItDownAndEndsWhenItIsBack) {
  AgentMemory memory;
  Observation down = Sensed(kStart);
  down.instance.running = down.instance.accepting = false;
  memory = Remember(memory, down);
  EXPECT_EQ(memory.primary_down_since, kStart);
  down.now = kStart + seconds(5);
  memory = Remember(memory, down);
  EXPECT_EQ(memory.primary_down_since, kStart) << "kept from the first sight, not moved";
  memory = Remember(memory, Sensed(kStart + seconds(6)));
  EXPECT_FALSE(memory.primary_down_since.has_value());
}

TEST(MemoryTest, ACrashIsTheLeadersServerStoppingUncleanlyAndEtcdBlipsDoNotMakeMore) {
  AgentMemory memory = Remember({}, Sensed(kStart));
  EXPECT_TRUE(memory.primary_running);
  Observation down = Sensed(kStart + seconds(1));
  down.instance.running = down.instance.accepting = false;
  memory = Remember(memory, down);
  EXPECT_EQ(memory.primary_crashed_at, kStart + seconds(1));
  EXPECT_FALSE(memory.primary_crashed_before.has_value());
  // Still down, with etcd unreachable and back: the same crash, not a second one.
  Observation blind = down;
  blind.now = kStart + seconds(2);
  blind.dcs_reachable = false;
  memory = Remember(memory, blind);
  down.now = kStart + seconds(3);
  memory = Remember(memory, down);
  EXPECT_EQ(memory.primary_crashed_at, kStart + seconds(1));
  EXPECT_FALSE(memory.primary_crashed_before.has_value());
  // Restarted, then an etcd blip while it runs: no crash either.
  memory = Remember(memory, Sensed(kStart + seconds(4)));
  blind = Sensed(kStart + seconds(5));
  blind.dcs_reachable = false;
  memory = Remember(memory, blind);
  memory = Remember(memory, Sensed(kStart + seconds(6)));
  EXPECT_FALSE(memory.primary_crashed_before.has_value());
  // A clean shutdown (a switchover's) is no crash; a second unclean stop is.
  Observation clean = down;
  clean.now = kStart + seconds(7);
  clean.instance.clean_shutdown = true;
  EXPECT_EQ(Remember(memory, clean).primary_crashed_at, kStart + seconds(1));
  down.now = kStart + seconds(7);
  memory = Remember(memory, down);
  EXPECT_EQ(memory.primary_crashed_at, kStart + seconds(7));
  EXPECT_EQ(memory.primary_crashed_before, kStart + seconds(1));
}

TEST(MemoryTest, AFormerLeaderWhoseServerWasFencedDidNotCrash) {
  AgentMemory memory = Remember({}, Sensed(kStart));
  // Its agent stalled; the watchdog fenced the server; etcd now shows another leader.
  Observation fenced = Sensed(kStart + seconds(5), "node2");
  fenced.instance.running = fenced.instance.accepting = false;
  memory = Remember(memory, fenced);
  EXPECT_FALSE(memory.primary_crashed_at.has_value());
  EXPECT_FALSE(memory.primary_running);
}

TEST(MemoryTest, AReplicasServerStoppingIsNoCrashOfAPrimary) {
  AgentMemory memory = Remember({}, Sensed(kStart, "node2"));
  Observation down = Sensed(kStart + seconds(1), "node2");
  down.instance.running = down.instance.accepting = false;
  memory = Remember(memory, down);
  EXPECT_FALSE(memory.primary_crashed_at.has_value());
}

TEST(MemoryTest, InMaintenanceModeTheRestartBudgetDoesNotRun) {
  Observation down = Sensed(kStart);
  down.instance.running = down.instance.accepting = false;
  down.cluster.paused = true;
  down.instance.unresponsive = true;
  const AgentMemory memory = Remember({}, down);
  EXPECT_FALSE(memory.primary_down_since.has_value());
  EXPECT_FALSE(memory.unresponsive_since.has_value());
}

TEST(MemoryTest, LeaderlessSinceOutlivesATickWithoutEtcdAndEndsWhenALeaderShows) {
  AgentMemory memory = Remember({}, Sensed(kStart, ""));
  EXPECT_EQ(memory.leaderless_since, kStart);
  Observation cut_off = Sensed(kStart + seconds(3), "");
  cut_off.dcs_reachable = false;
  memory = Remember(memory, cut_off);
  EXPECT_EQ(memory.leaderless_since, kStart);
  memory = Remember(memory, Sensed(kStart + seconds(4), "node2"));
  EXPECT_FALSE(memory.leaderless_since.has_value());
  EXPECT_EQ(memory.previous_leader, "node2");
}

TEST(MemoryTest, LeaderSinceCountsFromTheFirstWritableTickAndSurvivesLosingEtcd) {
  Observation starting = Sensed(kStart);
  starting.instance.accepting = false;
  AgentMemory memory = Remember({}, starting);
  EXPECT_FALSE(memory.leader_since.has_value());
  memory = Remember(memory, Sensed(kStart + seconds(2)));
  EXPECT_EQ(memory.leader_since, kStart + seconds(2));
  Observation cut_off = Sensed(kStart + seconds(9));
  cut_off.dcs_reachable = false;
  memory = Remember(memory, cut_off);
  EXPECT_EQ(memory.leader_since, kStart + seconds(2));
  memory = Remember(memory, Sensed(kStart + seconds(10), "node2"));
  EXPECT_FALSE(memory.leader_since.has_value());
}

TEST(MemoryTest, HandoverSinceIsSetOnlyForTheSwitchoverTarget) {
  Observation handed = Sensed(kStart);
  SwitchoverRequest request;
  request.from = "node2";
  request.to = "node1";
  request.handing_over = true;
  handed.cluster.switchover = request;
  AgentMemory memory = Remember({}, handed);
  EXPECT_EQ(memory.handover_since, kStart);
  handed.cluster.switchover->to = "node3";
  memory = Remember(memory, handed);
  EXPECT_FALSE(memory.handover_since.has_value());
}

TEST(MemoryTest, StandbyNamesSettleAtThePositionOfTheSecondProbeThatSeesThemInEffect) {
  Observation o = Sensed(kStart);
  o.instance.synchronous_standby_names = R"(ANY 1 ("node2"))";
  ReplicationPeer node2{"node2", "streaming", Lsn{0x100}, 0};
  node2.sync_state = "quorum";
  o.instance.replication = {node2};
  o.instance.lsn = Lsn{0x100};
  AgentMemory memory = Remember({}, o);
  EXPECT_FALSE(memory.standby_names_settled_at.has_value()) << "a probe that may predate it";
  o.instance.lsn = Lsn{0x200};
  memory = Remember(memory, o);
  EXPECT_EQ(memory.standby_names_settled_at, Lsn{0x200});
  o.instance.lsn = Lsn{0x300};
  memory = Remember(memory, o);
  EXPECT_EQ(memory.standby_names_settled_at, Lsn{0x200}) << "kept, not moved on";
  o.instance.synchronous_standby_names = R"(ANY 1 ("node3"))";
  memory = Remember(memory, o);
  EXPECT_FALSE(memory.standby_names_settled_at.has_value()) << "changed names start over";
}

}  // namespace
}  // namespace baton
