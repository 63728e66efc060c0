#include "ha/candidate.h"

#include <gtest/gtest.h>

namespace baton {
namespace {

MemberInfo Member(const std::string& name, uint64_t lsn, int priority = 1, uint32_t timeline = 1) {
  MemberInfo m;
  m.name = name;
  m.state = MemberState::kRunning;
  m.role = MemberRole::kReplica;
  m.lsn = Lsn{lsn};
  m.priority = priority;
  m.timeline = timeline;
  return m;
}

using Names = std::vector<std::string>;

PromotionContext LagRules(uint64_t maximum_lag_bytes, Lsn leader_lsn) {
  PromotionContext context;
  context.maximum_lag_bytes = maximum_lag_bytes;
  context.leader_lsn = leader_lsn;
  return context;
}

TEST(CandidateTest, HighestLsnFirst) {
  EXPECT_EQ(
      RankCandidates({Member("a", 100), Member("b", 300), Member("c", 200)}, LagRules(1000, Lsn{})),
      (Names{"b", "c", "a"}));
}

TEST(CandidateTest, EqualLsnFallsToPriorityThenName) {
  EXPECT_EQ(RankCandidates({Member("a", 100, 1), Member("b", 100, 5)}, LagRules(1000, Lsn{})),
            (Names{"b", "a"}));
  EXPECT_EQ(RankCandidates({Member("c", 100, 2), Member("b", 100, 2)}, LagRules(1000, Lsn{})),
            (Names{"b", "c"}));
}

TEST(CandidateTest, IneligibleMembersAreSkippedWithAReason) {
  MemberInfo tagged = Member("tagged", 900);
  tagged.nofailover = true;
  MemberInfo stopped = Member("stopped", 900);
  stopped.state = MemberState::kStopped;
  MemberInfo old_timeline = Member("old", 950, 1, 1);
  MemberInfo lagging = Member("lagging", 100, 1, 2);
  MemberInfo good = Member("good", 900, 1, 2);
  std::vector<MemberInfo> members = {tagged, stopped, old_timeline, lagging, good};
  EXPECT_EQ(RankCandidates(members, LagRules(500, Lsn{})), Names{"good"});
  auto verdicts = JudgeCandidates(members, LagRules(500, Lsn{}));
  EXPECT_EQ(verdicts[0].why_not, "tagged nofailover");
  EXPECT_EQ(verdicts[1].why_not, "postgres is stopped");
  EXPECT_NE(verdicts[2].why_not.find("timeline 1"), std::string::npos);
  EXPECT_NE(verdicts[3].why_not.find("maximum_lag_on_failover"), std::string::npos);
  EXPECT_TRUE(verdicts[4].eligible);
}

TEST(CandidateTest, LagIsMeasuredAgainstTheOldLeadersLastPosition) {
  // Both survivors are equally far behind the dead leader: neither is eligible.
  const std::vector<MemberInfo> members = {Member("a", 1000), Member("b", 1000)};
  EXPECT_EQ(RankCandidates(members, LagRules(500, Lsn{})), (Names{"a", "b"}));
  EXPECT_TRUE(RankCandidates(members, LagRules(500, Lsn{2000})).empty());
  EXPECT_NE(JudgeCandidates(members, LagRules(500, Lsn{2000}))[0].why_not.find("lags 1000 bytes"),
            std::string::npos);
}

TEST(CandidateTest, NobodyEligibleMeansNobody) {
  MemberInfo m = Member("a", 1);
  m.nofailover = true;
  EXPECT_TRUE(RankCandidates({m}, LagRules(1000, Lsn{})).empty());
  EXPECT_TRUE(RankCandidates({}, LagRules(1000, Lsn{})).empty());
}

}  // namespace
}  // namespace baton
