#include "ha/candidate.h"

#include <gtest/gtest.h>

namespace baton {
namespace {

MemberInfo Member(const std::string& name, uint64_t lsn, int priority = 1, uint32_t timeline = 1) {
  MemberInfo m;
  m.name = name;
  m.state = "running";
  m.role = "replica";
  m.lsn = Lsn{lsn};
  m.priority = priority;
  m.timeline = timeline;
  return m;
}

TEST(CandidateTest, HighestLsnWins) {
  EXPECT_EQ(BestCandidate({Member("a", 100), Member("b", 300), Member("c", 200)}, 1000), "b");
}

TEST(CandidateTest, EqualLsnFallsToPriorityThenName) {
  EXPECT_EQ(BestCandidate({Member("a", 100, 1), Member("b", 100, 5)}, 1000), "b");
  EXPECT_EQ(BestCandidate({Member("c", 100, 2), Member("b", 100, 2)}, 1000), "b");
}

TEST(CandidateTest, IneligibleMembersAreSkippedWithAReason) {
  MemberInfo tagged = Member("tagged", 900);
  tagged.nofailover = true;
  MemberInfo stopped = Member("stopped", 900);
  stopped.state = "stopped";
  MemberInfo old_timeline = Member("old", 950, 1, 1);
  MemberInfo lagging = Member("lagging", 100, 1, 2);
  MemberInfo good = Member("good", 900, 1, 2);
  std::vector<MemberInfo> members = {tagged, stopped, old_timeline, lagging, good};
  EXPECT_EQ(BestCandidate(members, 500), "good");
  auto verdicts = JudgeCandidates(members, 500);
  EXPECT_EQ(verdicts[0].why_not, "tagged nofailover");
  EXPECT_EQ(verdicts[1].why_not, "postgres is stopped");
  EXPECT_NE(verdicts[2].why_not.find("timeline 1"), std::string::npos);
  EXPECT_NE(verdicts[3].why_not.find("maximum_lag_on_failover"), std::string::npos);
  EXPECT_TRUE(verdicts[4].eligible);
}

TEST(CandidateTest, NobodyEligibleMeansNobody) {
  MemberInfo m = Member("a", 1);
  m.nofailover = true;
  EXPECT_FALSE(BestCandidate({m}, 1000).has_value());
  EXPECT_FALSE(BestCandidate({}, 1000).has_value());
}

}  // namespace
}  // namespace baton
