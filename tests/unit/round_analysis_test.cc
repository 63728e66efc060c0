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
  EXPECT_EQ(r.first_lost_lsn, Lsn{1900});
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

TEST(RoundAnalysisTest, APauseWithoutErrorsAfterTheFailoverIsNotTheOutage) {
  ClientRecord c;
  // A's last write at 1000, the fault at 1010, errors, B from 1150; B pauses 2000 to 2200.
  c.acks = {Ack(1, 900, "A", 1),  Ack(2, 1000, "A", 2), Ack(3, 1150, "B", 3),
            Ack(4, 2000, "B", 4), Ack(5, 2200, "B", 5), Ack(6, 2300, "B", 6)};
  c.present = std::vector<bool>(c.acks.size(), true);
  c.errors = {{At(1020), true}, {At(1100), false}};
  const RoundAnalysis r = AnalyzeRound({c}, kStart, At(1010), At(2400));
  EXPECT_NEAR(r.gap_seconds, 0.15, 1e-9);  // 1000 to 1150, not B's later pause of 0.2 s
  EXPECT_NEAR(r.rto_seconds, 0.14, 1e-9);
}

TEST(RoundAnalysisTest, AnErrorInALaterPauseMakesItPartOfTheOutage) {
  ClientRecord c;
  // As above, but a client fails at 2100, inside B's pause: that pause is the outage.
  c.acks = {Ack(1, 900, "A", 1),  Ack(2, 1000, "A", 2), Ack(3, 1150, "B", 3),
            Ack(4, 2000, "B", 4), Ack(5, 2200, "B", 5), Ack(6, 2300, "B", 6)};
  c.present = std::vector<bool>(c.acks.size(), true);
  c.errors = {{At(1020), true}, {At(2100), false}};
  const RoundAnalysis r = AnalyzeRound({c}, kStart, At(1010), At(2400));
  EXPECT_NEAR(r.gap_seconds, 0.2, 1e-9);
  EXPECT_NEAR(r.rto_seconds, 1.19, 1e-9);
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

TEST(RoundAnalysisTest, APinnedClientCountsForLossesAndDualPrimariesNotForTheOutage) {
  // The clients following the primary move from A to B at 2000; a client pinned to A keeps
  // writing there until 2500 (A failed to fence), and those writes never reach B.
  ClientRecord follower, pinned;
  for (int i = 0; i < 10; ++i) follower.acks.push_back(Ack(i, i * 100, "A", 100 + i));
  for (int i = 0; i < 5; ++i) follower.acks.push_back(Ack(10 + i, 2000 + i * 100, "B", 900 + i));
  follower.present = std::vector<bool>(follower.acks.size(), true);
  follower.errors = {{At(1200), true}};
  pinned.pinned = true;
  for (int i = 0; i < 26; ++i) pinned.acks.push_back(Ack(i, i * 100, "A", 100 + i));
  pinned.present = std::vector<bool>(pinned.acks.size(), true);
  for (int i = 19; i < 26; ++i) pinned.present[i] = false;  // 1900..2500 on A: lost
  pinned.errors = {{At(2600), false}, {At(2700), false}};
  const RoundAnalysis r = AnalyzeRound({follower, pinned}, kStart, At(950), At(2500));
  EXPECT_EQ(r.old_primary, "A");
  EXPECT_EQ(r.new_primary, "B");
  EXPECT_NEAR(r.gap_seconds, 1.1, 1e-9);  // the followers' outage: 900 to 2000
  EXPECT_NEAR(r.rto_seconds, 1.05, 1e-9);
  EXPECT_EQ(r.errors, 1u);  // the pinned client's refusals are not the applications' errors
  EXPECT_EQ(r.acked, 41u);
  EXPECT_EQ(r.lost, 7u);
  ASSERT_EQ(r.dual_primary_windows, 1u);
  ASSERT_EQ(r.windows.size(), 1u);
  EXPECT_EQ(r.windows[0].first, "A (A, timeline 0)");
  EXPECT_EQ(r.windows[0].second, "B (B, timeline 0)");
  EXPECT_NEAR(r.windows[0].from_seconds, 2.0, 1e-9);
  EXPECT_NEAR(r.windows[0].to_seconds, 2.4, 1e-9);
}

TEST(RoundAnalysisTest, AServerPromotedAgainOnALaterTimelineIsAnotherWriter) {
  // A writes on timeline 1, B on 2, then A again on 3: one after the other, no overlap.
  ClientRecord c;
  auto on = [](WriteLoad::Ack a, uint32_t timeline) {
    a.timeline = timeline;
    return a;
  };
  c.acks = {on(Ack(1, 0, "A", 1), 1),   on(Ack(2, 100, "A", 2), 1), on(Ack(3, 500, "B", 3), 2),
            on(Ack(4, 600, "B", 4), 2), on(Ack(5, 900, "A", 5), 3), on(Ack(6, 1000, "A", 6), 3)};
  c.present = std::vector<bool>(c.acks.size(), true);
  c.errors = {{At(200), true}, {At(700), true}};
  const RoundAnalysis r = AnalyzeRound({c}, kStart, At(150), At(1100));
  EXPECT_EQ(r.dual_primary_windows, 0u);
}

TEST(RoundAnalysisTest, WithoutAnErrorTheRtoIsTheNextWriteWhateverPauseIsLongest) {
  ClientRecord c;
  c.acks = {Ack(1, 0, "A", 1), Ack(2, 100, "A", 2), Ack(3, 150, "A", 3), Ack(4, 400, "A", 4)};
  c.present = {true, true, true, true};
  const RoundAnalysis r = AnalyzeRound({c}, kStart, At(120), At(450));
  EXPECT_NEAR(r.rto_seconds, 0.03, 1e-9);  // the write at 150, not the end of the longest pause
  EXPECT_NEAR(r.gap_seconds, 0.25, 1e-9);
}

}  // namespace
}  // namespace baton
