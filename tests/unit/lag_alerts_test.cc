#include "ha/lag_alerts.h"

#include <gtest/gtest.h>

namespace baton {
namespace {

constexpr uint64_t kLimit = 1000;

// A cluster led by "a" at LSN 10000 whose primary reports each of `replay` (name -> replayed
// LSN) as a streaming standby.
ClusterView View(const std::map<std::string, uint64_t>& replay) {
  ClusterView view;
  view.leader = LeaderKey{"a", 1, 1};
  MemberInfo leader;
  leader.name = "a";
  leader.lsn = Lsn{10000};
  for (const auto& [name, lsn] : replay) {
    leader.replication.push_back({name, "streaming", Lsn{lsn}});
    MemberInfo member;
    member.name = name;
    view.members[name] = member;
  }
  view.members["a"] = leader;
  return view;
}

std::vector<std::string> Events(const std::vector<Alert>& alerts) {
  std::vector<std::string> events;
  for (const Alert& alert : alerts)
    events.push_back(alert.event + ":" + alert.details["member"].get<std::string>());
  return events;
}

using Names = std::vector<std::string>;

TEST(LagAlertsTest, FiresOnCrossingsOnlyWithAMarginOnTheWayBack) {
  LagAlerts watch;
  EXPECT_EQ(Events(watch.Update(View({{"b", 9000}, {"c", 10000}}), "a", true, kLimit, 1)), Names{});
  EXPECT_EQ(Events(watch.Update(View({{"b", 8999}, {"c", 10000}}), "a", true, kLimit, 2)),
            Names{"replica_lagging:b"});
  EXPECT_EQ(Events(watch.Update(View({{"b", 5000}, {"c", 10000}}), "a", true, kLimit, 3)), Names{});
  EXPECT_EQ(Events(watch.Update(View({{"b", 9400}, {"c", 8000}}), "a", true, kLimit, 4)),
            Names{"replica_lagging:c"});  // b within the limit, not yet within half of it
  const auto back = watch.Update(View({{"b", 9500}, {"c", 8000}}), "a", true, kLimit, 5);
  EXPECT_EQ(Events(back), Names{"replica_caught_up:b"});
  EXPECT_EQ(back.front().severity, AlertSeverity::kInfo);
  EXPECT_DOUBLE_EQ(back.front().time_unix, 5);
}

TEST(LagAlertsTest, ForgetsMembersThatLeaveAndEverythingWhenNoLongerLeading) {
  LagAlerts watch;
  EXPECT_EQ(Events(watch.Update(View({{"b", 0}, {"c", 0}}), "a", true, kLimit, 1)),
            (Names{"replica_lagging:b", "replica_lagging:c"}));
  // c leaves; when it comes back still lagging, that is a new crossing.
  EXPECT_EQ(Events(watch.Update(View({{"b", 0}}), "a", true, kLimit, 2)), Names{});
  EXPECT_EQ(Events(watch.Update(View({{"b", 0}, {"c", 0}}), "a", true, kLimit, 3)),
            Names{"replica_lagging:c"});
  // No longer the leader: silent, and a fresh start when it leads again.
  EXPECT_EQ(Events(watch.Update(View({{"b", 10000}, {"c", 10000}}), "a", false, kLimit, 4)),
            Names{});
  EXPECT_EQ(Events(watch.Update(View({{"b", 10000}, {"c", 0}}), "a", true, kLimit, 5)),
            Names{"replica_lagging:c"});
}

TEST(LagAlertsTest, AnUnknownLagChangesNothing) {
  LagAlerts watch;
  ASSERT_EQ(watch.Update(View({{"b", 0}}), "a", true, kLimit, 1).size(), 1u);
  ClusterView unknown = View({});
  MemberInfo b;
  b.name = "b";
  b.state = MemberState::kStopped;  // neither listed by the leader nor running: lag unknown
  unknown.members["b"] = b;
  EXPECT_EQ(Events(watch.Update(unknown, "a", true, kLimit, 2)), Names{});
  EXPECT_EQ(Events(watch.Update(View({{"b", 0}}), "a", true, kLimit, 3)), Names{});
}

}  // namespace
}  // namespace baton
