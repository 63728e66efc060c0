#include "chaos/chaos_report.h"

#include <fmt/format.h>

#include <algorithm>

namespace baton {

namespace {

std::string Secs(double s) {
  return s < 0 ? "-" : fmt::format("{:.2f} s", s);
}

nlohmann::json OrNull(double s) {
  return s < 0 ? nlohmann::json() : nlohmann::json(s);
}

void Finish(ChaosFigures& f, std::vector<double>& rtos) {
  std::sort(rtos.begin(), rtos.end());
  if (rtos.empty()) return;
  f.rto_median = rtos.size() % 2 == 1 ? rtos[rtos.size() / 2]
                                      : (rtos[rtos.size() / 2 - 1] + rtos[rtos.size() / 2]) / 2;
  f.rto_worst = rtos.back();
}

nlohmann::json FiguresJson(const ChaosFigures& f) {
  return {{"rounds", f.rounds},
          {"failed_rounds", f.failed_rounds},
          {"acked", f.acked},
          {"lost", f.lost},
          {"dual_primary_windows", f.dual_primary_windows},
          {"dual_primary_seconds", f.dual_primary_seconds},
          {"rto_median_seconds", OrNull(f.rto_median)},
          {"rto_worst_seconds", OrNull(f.rto_worst)}};
}

}  // namespace

ChaosSummary SummarizeChaos(const std::vector<ChaosRound>& rounds) {
  ChaosSummary s;
  std::vector<double> all_rtos;
  std::map<std::string, std::vector<double>> kind_rtos;
  for (const auto& r : rounds) {
    const RoundAnalysis& a = r.drill.analysis;
    for (ChaosFigures* f : {&s.all, &s.by_kind[r.fault]}) {
      ++f->rounds;
      f->failed_rounds += !r.failed.empty();
      f->acked += a.acked;
      f->lost += a.lost;
      f->dual_primary_windows += a.dual_primary_windows;
      f->dual_primary_seconds += a.dual_primary_seconds;
    }
    if (r.drill.failure.empty() && a.rto_seconds >= 0) {
      all_rtos.push_back(a.rto_seconds);
      kind_rtos[r.fault].push_back(a.rto_seconds);
    }
    for (const auto& check : r.failed) ++s.failed_checks[check];
  }
  Finish(s.all, all_rtos);
  for (auto& [kind, f] : s.by_kind) Finish(f, kind_rtos[kind]);
  return s;
}

std::string ChaosRoundText(const ChaosRound& r, int of) {
  const RoundAnalysis& a = r.drill.analysis;
  std::string text = fmt::format(
      "round {}/{} {} {}: RTO {}, gap {}, acked {}, lost {}, dual-primary windows {}, whole "
      "after {}: {}\n",
      r.number, of, r.fault, r.target.empty() ? "-" : r.target, Secs(a.rto_seconds),
      Secs(a.gap_seconds), a.acked, a.lost, a.dual_primary_windows, Secs(r.whole_after_seconds),
      r.failed.empty() ? "PASS" : "FAIL");
  if (!r.evidence.empty()) text += "    fault: " + r.evidence + "\n";
  for (const auto& reason : r.reasons) text += "    FAILED " + reason + "\n";
  return text;
}

std::string ChaosSummaryText(const ChaosSummary& s, uint64_t seed) {
  std::string out = fmt::format("\nchaos summary (seed {})\n", seed);
  out += fmt::format("{:<22} {:>6} {:>6} {:>8} {:>6} {:>5} {:>11} {:>10}\n", "FAULT", "ROUNDS",
                     "FAILED", "ACKED", "LOST", "DUAL", "RTO MEDIAN", "RTO WORST");
  auto row = [&](const std::string& name, const ChaosFigures& f) {
    out += fmt::format("{:<22} {:>6} {:>6} {:>8} {:>6} {:>5} {:>11} {:>10}\n", name, f.rounds,
                       f.failed_rounds, f.acked, f.lost, f.dual_primary_windows, Secs(f.rto_median),
                       Secs(f.rto_worst));
  };
  for (const auto& [kind, f] : s.by_kind) row(kind, f);
  row("all", s.all);
  std::string checks;
  for (const auto& [check, n] : s.failed_checks) {
    checks += fmt::format("{}{} {}", checks.empty() ? "" : ", ", check, n);
  }
  out += fmt::format(
      "rounds {}, failed {}; acknowledged writes {}, lost {}; dual-primary windows {} ({:.2f} s); "
      "failed checks: {}\n",
      s.all.rounds, s.all.failed_rounds, s.all.acked, s.all.lost, s.all.dual_primary_windows,
      s.all.dual_primary_seconds, checks.empty() ? "none" : checks);
  return out;
}

nlohmann::json ChaosJson(const std::vector<ChaosRound>& rounds, uint64_t seed) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& r : rounds) {
    const RoundAnalysis& a = r.drill.analysis;
    nlohmann::json windows = nlohmann::json::array();
    for (const auto& w : a.windows) {
      windows.push_back({{"first", w.first},
                         {"second", w.second},
                         {"from_seconds", w.from_seconds},
                         {"to_seconds", w.to_seconds}});
    }
    list.push_back({{"round", r.number},
                    {"fault", r.fault},
                    {"target", r.target},
                    {"evidence", r.evidence},
                    {"passed", r.failed.empty()},
                    {"failed_checks", r.failed},
                    {"reasons", r.reasons},
                    {"old_primary", a.old_primary},
                    {"new_primary", a.new_primary},
                    {"timeline", r.drill.timeline},
                    {"rto_seconds", OrNull(a.rto_seconds)},
                    {"write_gap_seconds", a.gap_seconds},
                    {"errors", a.errors},
                    {"acked", a.acked},
                    {"lost", a.lost},
                    {"lost_wal_bytes", a.lost_wal_bytes},
                    {"dual_primary_windows", windows},
                    {"whole_after_seconds", OrNull(r.whole_after_seconds)}});
  }
  const ChaosSummary s = SummarizeChaos(rounds);
  nlohmann::json kinds = nlohmann::json::object();
  for (const auto& [kind, f] : s.by_kind) kinds[kind] = FiguresJson(f);
  nlohmann::json summary = FiguresJson(s.all);
  summary["by_fault"] = kinds;
  summary["failed_checks"] = s.failed_checks;
  return {{"seed", seed}, {"rounds", list}, {"summary", summary}};
}

}  // namespace baton
