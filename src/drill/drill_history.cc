#include "drill/drill_history.h"

#include <fmt/format.h>

#include "core/wall_time.h"
#include "drill/drill_report.h"

namespace baton {

namespace {

// The measured round with the longest RTO (a round whose writes never came back counts as
// longest), or nullptr when none was measured.
const DrillRound* SlowestRound(const std::vector<DrillRound>& rounds) {
  const DrillRound* slowest = nullptr;
  auto rto = [](const DrillRound& r) {
    return r.analysis.rto_seconds < 0 ? 1e300 : r.analysis.rto_seconds;
  };
  for (const auto& r : rounds) {
    if (!r.failure.empty()) continue;
    if (slowest == nullptr || rto(r) > rto(*slowest)) slowest = &r;
  }
  return slowest;
}

nlohmann::json Timeline(const DrillRound& round) {
  const RoundAnalysis& a = round.analysis;
  nlohmann::json writes = nlohmann::json::array();
  nlohmann::json errors = nlohmann::json::array();
  for (const Bucket& b : a.buckets) {
    writes.push_back(b.writes);
    errors.push_back(b.errors);
  }
  return {{"round", round.number},
          {"bucket_seconds", 0.1},
          {"fault_at_seconds", a.fault_seconds},
          {"promoted_at_seconds",
           a.promoted_seconds < 0 ? nlohmann::json() : nlohmann::json(a.promoted_seconds)},
          {"writes", writes},
          {"errors", errors}};
}

std::string Figure(const nlohmann::json& summary, const char* key) {
  const auto found = summary.find(key);
  if (found == summary.end() || !found->is_number()) return "-";
  return fmt::format("{:.2f}", found->get<double>());
}

std::string Count(const nlohmann::json& summary, const char* key) {
  const auto found = summary.find(key);
  if (found == summary.end() || !found->is_number_unsigned()) return "-";
  return fmt::format("{}", found->get<uint64_t>());
}

}  // namespace

nlohmann::json DrillRecord(const std::vector<DrillRound>& rounds, const std::string& fault,
                           double unix_seconds, const std::string& by) {
  const nlohmann::json report = DrillJson(rounds);
  nlohmann::json lines = nlohmann::json::array();
  for (const nlohmann::json& round : report["rounds"]) {
    nlohmann::json line = {{"round", round["round"]}};
    for (const char* key : {"failure", "rto_seconds", "write_gap_seconds", "lost_rows",
                            "dual_primary_windows", "new_primary", "timeline"}) {
      if (round.contains(key)) line[key] = round[key];
    }
    lines.push_back(line);
  }
  nlohmann::json record = {{"time", UtcTimestamp(unix_seconds)},
                           {"time_unix", unix_seconds},
                           {"fault", fault},
                           {"by", by},
                           {"summary", report["summary"]},
                           {"rounds", lines}};
  if (const DrillRound* slowest = SlowestRound(rounds)) record["timeline"] = Timeline(*slowest);
  return record;
}

std::string DrillHistoryTable(const std::vector<nlohmann::json>& records) {
  if (records.empty()) return "no drill recorded\n";
  std::string out = fmt::format("{:<24} {:<14} {:>6} {:>10} {:>9} {:>10} {:>9} {:>8} {:>5} {:>4}\n",
                                "TIME", "FAULT", "ROUNDS", "RTO MED(S)", "RTO MAX", "GAP MED(S)",
                                "GAP MAX", "ACKED", "LOST", "DUAL");
  for (const nlohmann::json& r : records) {
    const nlohmann::json summary = r.value("summary", nlohmann::json::object());
    const size_t planned = r.contains("rounds") && r["rounds"].is_array() ? r["rounds"].size() : 0;
    out += fmt::format("{:<24} {:<14} {:>6} {:>10} {:>9} {:>10} {:>9} {:>8} {:>5} {:>4}\n",
                       r.value("time", "?"), r.value("fault", "?"),
                       fmt::format("{}/{}", Count(summary, "rounds_measured"), planned),
                       Figure(summary, "rto_median_seconds"), Figure(summary, "rto_worst_seconds"),
                       Figure(summary, "write_gap_median_seconds"),
                       Figure(summary, "write_gap_worst_seconds"), Count(summary, "acked"),
                       Count(summary, "lost_rows"), Count(summary, "dual_primary_windows"));
  }
  return out;
}

}  // namespace baton
