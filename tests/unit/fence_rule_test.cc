// The fencing watchdog's rule, stepped by hand in simulated time: arming, re-arming, disarming,
// the agent dying armed or disarmed, and the command lines the agent sends.
#include "pg/fence_rule.h"

#include <gtest/gtest.h>

namespace baton {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

using Action = FenceRule::Action;

const TimePoint kStart = TimePoint(seconds(5000));

TEST(FenceRuleTest, DisarmedItWaitsForCommandsOnly) {
  FenceRule rule;
  const auto verdict = rule.Next(kStart);
  EXPECT_EQ(verdict.action, Action::kWait);
  EXPECT_FALSE(verdict.wake_at.has_value());
  EXPECT_TRUE(verdict.read_commands);
}

TEST(FenceRuleTest, ArmedItWakesAtTheDeadlineAndFencesFromThenOn) {
  FenceRule rule;
  rule.Arm(kStart + seconds(9));
  auto verdict = rule.Next(kStart + seconds(9) - milliseconds(1));
  EXPECT_EQ(verdict.action, Action::kWait);
  EXPECT_EQ(verdict.wake_at, kStart + seconds(9));
  EXPECT_EQ(rule.Next(kStart + seconds(9)).action, Action::kFence);
  EXPECT_EQ(rule.Next(kStart + seconds(60)).action, Action::kFence);  // a late wake still fences
}

TEST(FenceRuleTest, ReArmingMovesTheDeadlineAndDisarmingCancelsIt) {
  FenceRule rule;
  rule.Arm(kStart + seconds(9));
  rule.Arm(kStart + seconds(12));
  EXPECT_EQ(rule.Next(kStart + seconds(10)).action, Action::kWait);
  EXPECT_EQ(rule.Next(kStart + seconds(12)).action, Action::kFence);
  rule.Disarm();
  EXPECT_EQ(rule.Next(kStart + seconds(100)).action, Action::kWait);
}

TEST(FenceRuleTest, ItFencesOncePerArming) {
  FenceRule rule;
  rule.Arm(kStart);
  ASSERT_EQ(rule.Next(kStart).action, Action::kFence);
  rule.Fenced();
  EXPECT_EQ(rule.Next(kStart + seconds(1)).action, Action::kWait);
  rule.Arm(kStart + seconds(5));  // armed again: fences again at the new deadline
  EXPECT_EQ(rule.Next(kStart + seconds(5)).action, Action::kFence);
}

TEST(FenceRuleTest, AnAgentThatDiesArmedIsFencedAtItsDeadlineThenTheWatchdogExits) {
  FenceRule rule;
  rule.Arm(kStart + seconds(9));
  rule.AgentGone();
  auto verdict = rule.Next(kStart + seconds(1));
  EXPECT_EQ(verdict.action, Action::kWait);
  EXPECT_EQ(verdict.wake_at, kStart + seconds(9));
  EXPECT_FALSE(verdict.read_commands);
  ASSERT_EQ(rule.Next(kStart + seconds(9)).action, Action::kFence);
  rule.Fenced();
  EXPECT_EQ(rule.Next(kStart + seconds(9)).action, Action::kExit);
}

TEST(FenceRuleTest, AnAgentThatLeavesDisarmedEndsTheWatchdogAtOnce) {
  FenceRule rule;
  rule.Arm(kStart + seconds(9));
  rule.Disarm();
  rule.AgentGone();
  EXPECT_EQ(rule.Next(kStart).action, Action::kExit);
}

TEST(FenceRuleTest, CommandLinesRoundTripAndAnythingElseIsRefused) {
  const TimePoint deadline = kStart + milliseconds(8765);
  auto armed = ParseFenceCommand(ArmCommand(deadline));
  ASSERT_TRUE(armed.ok());
  EXPECT_EQ(*armed, deadline);
  auto disarmed = ParseFenceCommand(DisarmCommand());
  ASSERT_TRUE(disarmed.ok());
  EXPECT_FALSE(disarmed->has_value());
  for (const char* bad : {"arm", "arm ", "arm 12x", "arm -", "ARM 5", "disarm now", ""}) {
    EXPECT_EQ(ParseFenceCommand(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace baton
