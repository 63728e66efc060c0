#include "doctor/doctor_report.h"

#include <fmt/format.h>

#include <algorithm>

namespace baton {

namespace {

size_t Count(const std::vector<CheckResult>& results, CheckStatus status) {
  return static_cast<size_t>(std::count_if(
      results.begin(), results.end(), [&](const CheckResult& r) { return r.status == status; }));
}

}  // namespace

std::string DoctorTable(const std::string& cluster, const std::vector<CheckResult>& results,
                        double elapsed_seconds) {
  size_t check_width = 5;
  size_t member_width = 6;
  for (const CheckResult& r : results) {
    check_width = std::max(check_width, r.check.size());
    member_width = std::max(member_width, r.member.size());
  }
  std::string out = fmt::format("Cluster {}: {} checks, {} ok, {} warn, {} fail ({:.2f} s)\n",
                                cluster, results.size(), Count(results, CheckStatus::kOk),
                                Count(results, CheckStatus::kWarn),
                                Count(results, CheckStatus::kFail), elapsed_seconds);
  out += fmt::format("{:<{}}  {:<{}}  {:<6}  {}\n", "CHECK", check_width, "MEMBER", member_width,
                     "STATUS", "DETAIL");
  for (const CheckResult& r : results) {
    out += fmt::format("{:<{}}  {:<{}}  {:<6}  {}\n", r.check, check_width, r.member, member_width,
                       CheckStatusName(r.status), r.reason);
  }
  return out;
}

nlohmann::json DoctorJson(const std::string& cluster, const std::vector<CheckResult>& results,
                          double elapsed_seconds) {
  nlohmann::json checks = nlohmann::json::array();
  for (const CheckResult& r : results) {
    checks.push_back({{"check", r.check},
                      {"member", r.member.empty() ? nlohmann::json() : nlohmann::json(r.member)},
                      {"status", CheckStatusName(r.status)},
                      {"reason", r.reason},
                      {"figures", r.figures}});
  }
  return {{"cluster", cluster},
          {"status", CheckStatusName(WorstStatus(results))},
          {"exit_code", DoctorExitCode(results)},
          {"elapsed_seconds", elapsed_seconds},
          {"counts",
           {{"ok", Count(results, CheckStatus::kOk)},
            {"warn", Count(results, CheckStatus::kWarn)},
            {"fail", Count(results, CheckStatus::kFail)}}},
          {"checks", checks}};
}

int DoctorExitCode(const std::vector<CheckResult>& results) {
  switch (WorstStatus(results)) {
    case CheckStatus::kOk:
      return 0;
    case CheckStatus::kWarn:
      return 1;
    case CheckStatus::kFail:
      return 2;
  }
  return 2;
}

std::vector<Alert> DoctorAlerts(const std::string& cluster, const std::vector<CheckResult>& results,
                                double now_unix) {
  std::vector<Alert> alerts;
  for (const CheckResult& r : results) {
    if (r.status != CheckStatus::kFail) continue;
    Alert alert;
    alert.event = "doctor_check_failed";
    alert.severity = AlertSeverity::kCritical;
    alert.summary = fmt::format("baton doctor: check {}{} failed on cluster {}: {}", r.check,
                                r.member.empty() ? "" : " of " + r.member, cluster, r.reason);
    alert.details = {
        {"check", r.check}, {"member", r.member}, {"reason", r.reason}, {"figures", r.figures}};
    alert.time_unix = now_unix;
    alerts.push_back(std::move(alert));
  }
  return alerts;
}

}  // namespace baton
