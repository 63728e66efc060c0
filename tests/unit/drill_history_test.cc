// A finished drill as the record kept in etcd: its summary, one line per round, the slowest
// round's writes per 100 ms; the --history table; and the records' round trip through the
// ClusterStore (oldest first, beside the role-change history).
#include "drill/drill_history.h"

#include <gtest/gtest.h>

#include "core/clock.h"
#include "dcs/cluster_store.h"
#include "dcs/memory_dcs.h"

namespace baton {
namespace {

DrillRound Measured(int number, double rto, size_t lost) {
  DrillRound r;
  r.number = number;
  r.fault = "kill-node";
  r.timeline = static_cast<uint32_t>(number + 1);
  r.analysis.old_primary = "127.0.0.1:5401";
  r.analysis.new_primary = "127.0.0.1:5402";
  r.analysis.fault_seconds = 1.0;
  r.analysis.promoted_seconds = 1.0 + rto;
  r.analysis.rto_seconds = rto;
  r.analysis.gap_seconds = rto - 0.01;
  r.analysis.acked = 1000;
  r.analysis.lost = lost;
  for (int i = 0; i < 30; ++i) {
    const bool down = i >= 10 && i < 10 + static_cast<int>(rto * 10);
    r.analysis.buckets.push_back(
        {i * 0.1, down ? 0u : 40u + static_cast<size_t>(number), down ? 3u : 0u});
  }
  return r;
}

TEST(DrillHistoryTest, TheRecordHoldsTheSummaryEveryRoundAndTheSlowestRoundsTimeline) {
  DrillRound failed;
  failed.number = 3;
  failed.fault = "kill-node";
  failed.failure = "writes did not come back within 120 s";
  const std::vector<DrillRound> rounds = {Measured(1, 0.3, 0), Measured(2, 0.9, 2), failed};
  const nlohmann::json record = DrillRecord(rounds, "kill-node", 1.8e9, "ops@db1");

  EXPECT_EQ(record["fault"], "kill-node");
  EXPECT_EQ(record["by"], "ops@db1");
  EXPECT_EQ(record["time"], "2027-01-15T08:00:00.000Z");
  EXPECT_EQ(record["summary"]["rounds_measured"], 2);
  EXPECT_DOUBLE_EQ(record["summary"]["rto_worst_seconds"].get<double>(), 0.9);
  EXPECT_EQ(record["summary"]["lost_rows"], 2);
  ASSERT_EQ(record["rounds"].size(), 3u);
  EXPECT_DOUBLE_EQ(record["rounds"][1]["rto_seconds"].get<double>(), 0.9);
  EXPECT_EQ(record["rounds"][2]["failure"], failed.failure);
  EXPECT_FALSE(record["rounds"][0].contains("failure"));

  const nlohmann::json& timeline = record["timeline"];
  EXPECT_EQ(timeline["round"], 2) << "the slowest measured round is drawn";
  ASSERT_EQ(timeline["writes"].size(), 30u);
  EXPECT_EQ(timeline["writes"][0], 42);
  EXPECT_EQ(timeline["errors"][10], 3);
  EXPECT_DOUBLE_EQ(timeline["promoted_at_seconds"].get<double>(), 1.9);
}

TEST(DrillHistoryTest, ARoundWhoseWritesNeverCameBackIsTheSlowest) {
  DrillRound stuck = Measured(2, 0.5, 0);
  stuck.analysis.rto_seconds = -1;
  stuck.analysis.promoted_seconds = -1;
  const nlohmann::json record = DrillRecord({Measured(1, 4.0, 0), stuck}, "pause-primary", 0, "");
  EXPECT_EQ(record["timeline"]["round"], 2);
  EXPECT_TRUE(record["timeline"]["promoted_at_seconds"].is_null());
}

TEST(DrillHistoryTest, ADrillWithNoMeasuredRoundHasNoTimeline) {
  DrillRound failed;
  failed.number = 1;
  failed.failure = "the cluster did not become healthy";
  const nlohmann::json record = DrillRecord({failed}, "kill-node", 0, "");
  EXPECT_FALSE(record.contains("timeline"));
  EXPECT_EQ(record["summary"]["rounds_measured"], 0);
  EXPECT_TRUE(record["summary"]["rto_median_seconds"].is_null());
}

TEST(DrillHistoryTest, TheTableHasALinePerDrillWithItsFigures) {
  EXPECT_EQ(DrillHistoryTable({}), "no drill recorded\n");
  const std::vector<nlohmann::json> records = {
      DrillRecord({Measured(1, 0.25, 0), Measured(2, 0.41, 1)}, "kill-node", 1.8e9, "a@b"),
      DrillRecord({Measured(1, 0.12, 0)}, "switchover", 1.8e9 + 60, "a@b")};
  const std::string table = DrillHistoryTable(records);
  EXPECT_NE(table.find("TIME"), std::string::npos) << table;
  const auto first = table.find("2027-01-15T08:00:00.000Z");
  const auto second = table.find("2027-01-15T08:01:00.000Z");
  ASSERT_NE(first, std::string::npos) << table;
  ASSERT_NE(second, std::string::npos) << table;
  EXPECT_LT(first, second) << "oldest first";
  const std::string line = table.substr(first, table.find('\n', first) - first);
  EXPECT_NE(line.find("kill-node"), std::string::npos) << line;
  EXPECT_NE(line.find("2/2"), std::string::npos) << line;
  EXPECT_NE(line.find("0.41"), std::string::npos) << line;
  // A record from elsewhere with missing figures still gets its line.
  const std::string odd = DrillHistoryTable({nlohmann::json{{"time", "t"}}});
  EXPECT_NE(odd.find("t "), std::string::npos) << odd;
}

TEST(DrillHistoryTest, KeptDrillsLoadOldestFirstApartFromTheRoleChanges) {
  SimulatedClock clock;
  MemoryDcs dcs(clock);
  ClusterStore store(dcs, "c", "drill", 10, clock);
  ASSERT_TRUE(store.AppendDrill({{"fault", "kill-node"}}).ok());
  ASSERT_TRUE(store.AppendHistory({{"event", "failover"}}).ok());
  ASSERT_TRUE(store.AppendDrill({{"fault", "switchover"}}).ok());
  auto view = store.Load();
  ASSERT_TRUE(view.ok());
  ASSERT_EQ(view->drills.size(), 2u);
  EXPECT_EQ(view->drills[0]["fault"], "kill-node");
  EXPECT_EQ(view->drills[1]["fault"], "switchover");
  ASSERT_EQ(view->history.size(), 1u);
  EXPECT_EQ(view->history[0]["event"], "failover");
}

}  // namespace
}  // namespace baton
