// The chaos campaign's pure parts: its schedule, the verdict on a round, and the summary.
#include "chaos/chaos_report.h"

#include <gtest/gtest.h>

#include <set>

#include "chaos/chaos_campaign.h"
#include "drill/chaos_fault.h"

namespace baton {
namespace {

ChaosRound Round(int number, const std::string& fault, double rto, size_t acked, size_t lost) {
  ChaosRound r;
  r.number = number;
  r.fault = fault;
  r.drill.analysis.rto_seconds = rto;
  r.drill.analysis.acked = acked;
  r.drill.analysis.lost = lost;
  r.whole_after_seconds = 1;
  JudgeChaosRound(r);
  return r;
}

TEST(ChaosScheduleTest, TheFirstRoundsCoverEveryKindOnceAndASeedReplaysTheSchedule) {
  const std::vector<std::string> kinds(std::begin(kChaosFaultKinds), std::end(kChaosFaultKinds));
  const auto schedule = ChaosSchedule(kinds, 30, 42);
  ASSERT_EQ(schedule.size(), 30u);
  const std::set<std::string> first(schedule.begin(), schedule.begin() + kinds.size());
  EXPECT_EQ(first.size(), kinds.size());
  EXPECT_EQ(schedule, ChaosSchedule(kinds, 30, 42));
  EXPECT_NE(schedule, ChaosSchedule(kinds, 30, 43));
}

TEST(ChaosJudgeTest, EveryFailedCheckIsNamedWithItsReason) {
  ChaosRound ok = Round(1, "kill-node", 3, 100, 0);
  EXPECT_TRUE(ok.failed.empty());

  ChaosRound bad = Round(2, "sigstop-agent", 3, 100, 4);
  bad.drill.analysis.dual_primary_windows = 1;
  bad.drill.analysis.dual_primary_seconds = 0.5;
  bad.drill.analysis.windows = {{"node1 (a:1, timeline 1)", "node2 (b:1, timeline 2)", 4, 4.5}};
  bad.topology = "node1 is a second primary";
  JudgeChaosRound(bad);
  EXPECT_EQ(bad.failed, (std::vector<std::string>{"acked-on-final-primary", "no-dual-primary",
                                                  "one-primary-streaming"}));
  ASSERT_EQ(bad.reasons.size(), 3u);
  EXPECT_NE(bad.reasons[0].find("4 of 100"), std::string::npos) << bad.reasons[0];
  EXPECT_NE(bad.reasons[1].find("node1 (a:1, timeline 1) and node2"), std::string::npos);

  ChaosRound unmeasured = Round(3, "etcd-down", -1, 0, 0);
  unmeasured.drill.failure = "writes did not come back within 90 s";
  JudgeChaosRound(unmeasured);
  EXPECT_EQ(unmeasured.failed, std::vector<std::string>{"measured"});
}

TEST(ChaosJudgeTest, AsynchronousRoundsMayLoseOnlyWhatNoReplicaHadReceived) {
  ChaosRound tail = Round(1, "kill-node", 0.5, 100, 2);
  tail.asynchronous = true;
  tail.replicated_at_fault = Lsn{0x3000100};
  tail.drill.analysis.first_lost_lsn = Lsn{0x3000180};
  JudgeChaosRound(tail);
  EXPECT_TRUE(tail.failed.empty()) << tail.reasons.front();

  ChaosRound had = tail;  // a write a replica had received is lost: a worse node won
  had.drill.analysis.first_lost_lsn = Lsn{0x3000100};
  JudgeChaosRound(had);
  EXPECT_EQ(had.failed, std::vector<std::string>{"acked-on-final-primary"});
  EXPECT_NE(had.reasons[0].find("0/3000100, which a replica had received"), std::string::npos)
      << had.reasons[0];

  ChaosRound unknown = tail;  // no replica answered before the fault: nothing may be lost
  unknown.replicated_at_fault = Lsn{};
  JudgeChaosRound(unknown);
  EXPECT_EQ(unknown.failed, std::vector<std::string>{"acked-on-final-primary"});

  ChaosRound synchronous = tail;
  synchronous.asynchronous = false;
  JudgeChaosRound(synchronous);
  EXPECT_EQ(synchronous.failed, std::vector<std::string>{"acked-on-final-primary"});
}

TEST(ChaosJudgeTest, AnAsynchronousSilentPrimaryReplacedBeforeItsLeaseCouldEndFails) {
  ChaosRound round = Round(1, "partition-primary", 3, 100, 0);
  round.asynchronous = true;
  round.lease_floor_seconds = 1.5;
  round.drill.analysis.old_primary = "10.0.0.1:5432";
  round.drill.analysis.new_primary = "10.0.0.2:5432";
  round.drill.analysis.fault_seconds = 1.0;
  round.drill.analysis.promoted_seconds = 1.6;  // 0.6 s after the fault
  JudgeChaosRound(round);
  EXPECT_EQ(round.failed, std::vector<std::string>{"silent-waits-for-lease"});

  round.drill.analysis.promoted_seconds = 4.2;  // the lease path
  JudgeChaosRound(round);
  EXPECT_TRUE(round.failed.empty());

  ChaosRound killed = round;  // a provably dead one may go early
  killed.fault = "kill-node";
  killed.drill.analysis.promoted_seconds = 1.6;
  JudgeChaosRound(killed);
  EXPECT_TRUE(killed.failed.empty());
}

TEST(ChaosSummaryTest, CountsByKindWithMedianAndWorstRto) {
  const std::vector<ChaosRound> rounds = {
      Round(1, "kill-node", 3.0, 100, 0), Round(2, "kill-node", 4.0, 100, 2),
      Round(3, "kill-node", 3.5, 100, 0), Round(4, "etcd-down", 8.0, 50, 0)};
  const ChaosSummary s = SummarizeChaos(rounds);
  EXPECT_EQ(s.all.rounds, 4u);
  EXPECT_EQ(s.all.failed_rounds, 1u);
  EXPECT_EQ(s.all.acked, 350u);
  EXPECT_EQ(s.all.lost, 2u);
  EXPECT_DOUBLE_EQ(s.all.rto_median, 3.75);
  EXPECT_DOUBLE_EQ(s.all.rto_worst, 8.0);
  EXPECT_DOUBLE_EQ(s.by_kind.at("kill-node").rto_median, 3.5);
  EXPECT_EQ(s.by_kind.at("etcd-down").rounds, 1u);
  EXPECT_EQ(s.failed_checks.at("acked-on-final-primary"), 1u);
  const std::string text = ChaosSummaryText(s, 7);
  EXPECT_NE(text.find("seed 7"), std::string::npos);
  EXPECT_NE(text.find("acked-on-final-primary 1"), std::string::npos) << text;
  const nlohmann::json j = ChaosJson(rounds, 7);
  EXPECT_EQ(j["summary"]["by_fault"]["kill-node"]["rounds"], 3);
  EXPECT_EQ(j["rounds"][1]["passed"], false);
}

}  // namespace
}  // namespace baton
