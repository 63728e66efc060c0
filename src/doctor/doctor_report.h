// The doctor's report: the check results as a table people read at a glance, as JSON for
// scripts (schema in docs/doctor.md), and as the exit code (0 all ok, 1 any warn, 2 any fail).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "doctor/checks.h"

namespace baton {

std::string DoctorTable(const std::string& cluster, const std::vector<CheckResult>& results,
                        double elapsed_seconds);
nlohmann::json DoctorJson(const std::string& cluster, const std::vector<CheckResult>& results,
                          double elapsed_seconds);
int DoctorExitCode(const std::vector<CheckResult>& results);

}  // namespace baton
