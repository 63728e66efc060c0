// The doctor's report: the check results as a table people read at a glance, as JSON for
// scripts (schema in docs/doctor.md), as the exit code (0 all ok, 1 any warn, 2 any fail), and
// as alerts (`baton doctor --alert`): one doctor_check_failed event per failed check.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "doctor/checks.h"
#include "ha/alert.h"

namespace baton {

std::string DoctorTable(const std::string& cluster, const std::vector<CheckResult>& results,
                        double elapsed_seconds);
nlohmann::json DoctorJson(const std::string& cluster, const std::vector<CheckResult>& results,
                          double elapsed_seconds);
int DoctorExitCode(const std::vector<CheckResult>& results);
// A critical doctor_check_failed alert for each failed check (warnings send none), stamped
// `now_unix`.
std::vector<Alert> DoctorAlerts(const std::string& cluster, const std::vector<CheckResult>& results,
                                double now_unix);

}  // namespace baton
