// The drill's measurements on hand-made client records: RTO, write gap, losses, dual primaries.
#include "drill/round_analysis.h"

#include <gtest/gtest.h>

namespace baton {
namespace {

using std::chrono::milliseconds;

const TimePoint kStart{std::chrono::seconds(100)};

TimePoint At(int ms) {
  return kStart + milliseconds(ms);
}

WriteLoad::Ack Ack(int64_t id, int ms, const std::string& server, uint64_t lsn) {
  return {id, At(ms), "c/" + server, server, Lsn{lsn}};
}

TEST(RoundAnalysisTest, FailoverMeasuresRtoGapLossesAndTheNewPrimary) {
  ClientRecord c;
  // Writes on A every 100 ms until 1000; the fault at 1050; errors; writes on B from 3000.
  for (int i = 0; i <= 10; ++i) c.acks.push_back(Ack(i, i * 100, "A", 1000 + 100 * i));
  c.acks.push_back(Ack(11, 3000, "B", 5000));
  c.acks.push_back(Ack(12, 3100, "B", 5100));
  c.present = std::vector<bool>(c.acks.size(), true);
  c.present[9] = c.present[10] = false;  // the last two on A never reached B
  c.errors = {{At(1100), true}, {At(1500), false}, {At(2000), false}};
  const RoundAnalysis r = AnalyzeRound({c}, kStart, At(1050), At(3200));
  EXPECT_EQ(r.old_primary, "A");
  EXPECT_EQ(r.new_primary, "B");
  EXPECT_NEAR(r.rto_seconds, 1.95, 1e-9);
  EXPECT_NEAR(r.gap_seconds, 2.0, 1e-9);  // from A's last ack (1000) to B's first (3000)
  EXPECT_NEAR(r.promoted_seconds, 3.0, 1e-9);
  EXPECT_EQ(r.errors, 3u);
  EXPECT_EQ(r.acked, 13u);
  EXPECT_EQ(r.lost, 2u);
  EXPECT_EQ(r.lost_wal_bytes, 200u);  // 2000 (last lost on A) - 1800 (last kept on A)
  EXPECT_EQ(r.dual_primary_windows, 0u);
  ASSERT_EQ(r.buckets.size(), 33u);
  EXPECT_EQ(r.buckets[30].writes, 1u);
  EXPECT_EQ(r.buckets[11].errors, 1u);
}

TEST(RoundAnalysisTest, AStragglerAcknowledgedAmidTheFirstErrorsDoesNotEndTheOutage) {
  ClientRecord c;
  c.acks = {Ack(1, 0, "A", 1), Ack(2, 1000, "A", 2), Ack(3, 1010, "A", 3), Ack(4, 2500, "B", 9)};
  c.present = {true, true, true, true};
  c.errors = {{At(1005), true}, {At(1500), false}};
  const RoundAnalysis r = AnalyzeRound({c}, kStart, At(1000), At(2600));
  EXPECT_NEAR(r.rto_seconds, 1.5, 1e-9);  // not 0.01: the ack at 1010 came from the dying A
  EXPECT_NEAR(r.gap_seconds, 1.49, 1e-9);
}

TEST(RoundAnalysisTest, NoErrorMeansNoOutageAndOverlappingServersAreADualPrimaryWindow) {
  ClientRecord one, two;
  for (int i = 0; i < 10; ++i) one.acks.push_back(Ack(i, i * 100, "A", 100 * i));
  for (int i = 0; i < 5; ++i) two.acks.push_back(Ack(i, 500 + i * 100, "B", 100 * i));
  one.present = std::vector<bool>(one.acks.size(), true);
  two.present = std::vector<bool>(two.acks.size(), true);
  const RoundAnalysis r = AnalyzeRound({one, two}, kStart, At(450), At(1000));
  EXPECT_NEAR(r.rto_seconds, 0.05, 1e-9);  // the next write after the fault, as always
  EXPECT_NEAR(r.gap_seconds, 0.1, 1e-9);
  EXPECT_EQ(r.dual_primary_windows, 1u);
  EXPECT_NEAR(r.dual_primary_seconds, 0.4, 1e-9);  // both acknowledged from 500 to 900
}

TEST(RoundAnalysisTest, WritesThatNeverComeBackHaveNoRtoAndTheGapRunsToTheEnd) {
  ClientRecord c;
  c.acks = {Ack(1, 0, "A", 1), Ack(2, 100, "A", 2)};
  c.present = {true, true};
  c.errors = {{At(200), true}};
  const RoundAnalysis r = AnalyzeRound({c}, kStart, At(150), At(5000));
  EXPECT_EQ(r.rto_seconds, -1);
  EXPECT_NEAR(r.gap_seconds, 4.9, 1e-9);
}

}  // namespace
}  // namespace baton
