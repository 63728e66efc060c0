// MemberInfo's role and state: each value has one name in the record's JSON and reads back as
// itself; a name this version does not know (a newer agent's, a typo) reads as unknown, so such a
// member is never taken for a running primary or a healthy replica.
#include "dcs/member.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace baton {
namespace {

TEST(MemberTest, EveryRoleAndStateReadsBackAsItself) {
  for (MemberRole role : {MemberRole::kUnknown, MemberRole::kPrimary, MemberRole::kReplica}) {
    for (MemberState state :
         {MemberState::kUnknown, MemberState::kEmpty, MemberState::kStopped, MemberState::kStarting,
          MemberState::kUnresponsive, MemberState::kRunning, MemberState::kCloning,
          MemberState::kReinit, MemberState::kReclone}) {
      MemberInfo m;
      m.name = "node1";
      m.role = role;
      m.state = state;
      const auto read = MemberInfo::FromJson(m.ToJson().dump());
      ASSERT_TRUE(read.has_value());
      EXPECT_EQ(read->role, role) << MemberRoleName(role);
      EXPECT_EQ(read->state, state) << MemberStateName(state);
    }
  }
}

TEST(MemberTest, TheRecordSpellsTheNamesOperatorsRead) {
  MemberInfo m;
  m.role = MemberRole::kReplica;
  m.state = MemberState::kReclone;
  const nlohmann::json j = m.ToJson();
  EXPECT_EQ(j["role"], "replica");
  EXPECT_EQ(j["state"], "re-clone");
}

TEST(MemberTest, AnUnknownNameIsUnknownAndNeverRuns) {
  const auto m = MemberInfo::FromJson(R"({"name": "n1", "role": "leader", "state": "warming"})");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->role, MemberRole::kUnknown);
  EXPECT_EQ(m->state, MemberState::kUnknown);
  EXPECT_FALSE(m->Runs(MemberRole::kPrimary));
  const auto absent = MemberInfo::FromJson(R"({"name": "n1"})");
  ASSERT_TRUE(absent.has_value());
  EXPECT_EQ(absent->role, MemberRole::kUnknown);
  EXPECT_EQ(absent->state, MemberState::kUnknown);
  MemberInfo running;
  running.role = MemberRole::kPrimary;
  running.state = MemberState::kRunning;
  EXPECT_TRUE(running.Runs(MemberRole::kPrimary));
  EXPECT_FALSE(running.Runs(MemberRole::kReplica));
}

}  // namespace
}  // namespace baton
