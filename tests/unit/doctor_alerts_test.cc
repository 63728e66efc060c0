#include <gtest/gtest.h>

#include "doctor/doctor_report.h"

namespace baton {
namespace {

TEST(DoctorAlertsTest, OneCriticalAlertPerFailedCheckAndNoneForWarnings) {
  std::vector<CheckResult> results(3);
  results[0] = {"etcd", "", CheckStatus::kOk, "3 of 3 members answer"};
  results[1] = {"replication", "db3", CheckStatus::kFail, "not streaming", {{"lag_bytes", 42}}};
  results[2] = {"slots", "", CheckStatus::kWarn, "an inactive slot holds 2 GiB"};
  const auto alerts = DoctorAlerts("prod", results, 1700000000);
  ASSERT_EQ(alerts.size(), 1u);
  const Alert& alert = alerts.front();
  EXPECT_EQ(alert.event, "doctor_check_failed");
  EXPECT_EQ(alert.severity, AlertSeverity::kCritical);
  EXPECT_DOUBLE_EQ(alert.time_unix, 1700000000);
  EXPECT_EQ(alert.details["check"], "replication");
  EXPECT_EQ(alert.details["member"], "db3");
  EXPECT_EQ(alert.details["reason"], "not streaming");
  EXPECT_EQ(alert.details["figures"]["lag_bytes"], 42);
  EXPECT_EQ(alert.summary,
            "baton doctor: check replication of db3 failed on cluster prod: "
            "not streaming");
  EXPECT_TRUE(DoctorAlerts("prod", {results[0], results[2]}, 1).empty());
}

}  // namespace
}  // namespace baton
