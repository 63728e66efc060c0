#include "drill/drill_report.h"

#include <fmt/format.h>

#include <algorithm>

namespace baton {

namespace {

struct Summary {
  size_t rounds = 0;
  double rto_median = -1, rto_worst = -1, gap_median = 0, gap_worst = 0;
  size_t acked = 0, lost = 0, errors = 0, dual_windows = 0;
  uint64_t lost_bytes = 0;
};

Summary Summarize(const std::vector<DrillRound>& rounds) {
  Summary s;
  std::vector<double> rtos, gaps;
  for (const auto& r : rounds) {
    if (!r.failure.empty()) continue;
    ++s.rounds;
    const RoundAnalysis& a = r.analysis;
    if (a.rto_seconds >= 0) rtos.push_back(a.rto_seconds);
    gaps.push_back(a.gap_seconds);
    s.acked += a.acked;
    s.lost += a.lost;
    s.errors += a.errors;
    s.dual_windows += a.dual_primary_windows;
    s.lost_bytes += a.lost_wal_bytes;
  }
  std::sort(rtos.begin(), rtos.end());
  std::sort(gaps.begin(), gaps.end());
  if (!rtos.empty()) {
    s.rto_median = rtos[rtos.size() / 2];
    s.rto_worst = rtos.back();
  }
  if (!gaps.empty()) {
    s.gap_median = gaps[gaps.size() / 2];
    s.gap_worst = gaps.back();
  }
  return s;
}

std::string Seconds(double s) {
  return s < 0 ? "-" : fmt::format("{:.2f}", s);
}

}  // namespace

std::string DrillTable(const std::vector<DrillRound>& rounds) {
  std::string out = fmt::format(
      "{:>5} {:<13} {:<21} {:<21} {:>3} {:>7} {:>7} {:>6} {:>7} {:>5} "
      "{:>8} {:>4}\n",
      "ROUND", "FAULT", "OLD PRIMARY", "NEW PRIMARY", "TL", "RTO(S)", "GAP(S)", "ERRORS", "ACKED",
      "LOST", "LOST(B)", "DUAL");
  for (const auto& r : rounds) {
    if (!r.failure.empty()) {
      out += fmt::format("{:>5} {:<13} not measured: {}\n", r.number, r.fault, r.failure);
      continue;
    }
    const RoundAnalysis& a = r.analysis;
    out += fmt::format(
        "{:>5} {:<13} {:<21} {:<21} {:>3} {:>7} {:>7} {:>6} {:>7} {:>5} {:>8} "
        "{:>4}\n",
        r.number, r.fault, a.old_primary, a.new_primary, r.timeline, Seconds(a.rto_seconds),
        Seconds(a.gap_seconds), a.errors, a.acked, a.lost, a.lost_wal_bytes,
        a.dual_primary_windows);
  }
  const Summary s = Summarize(rounds);
  out += fmt::format(
      "summary: {} round(s)  RTO median {} s, worst {} s  write gap median {} s, worst {} s  "
      "acked {}  lost {} rows ({} bytes of WAL)  errors {}  dual-primary windows {}\n",
      s.rounds, Seconds(s.rto_median), Seconds(s.rto_worst), Seconds(s.gap_median),
      Seconds(s.gap_worst), s.acked, s.lost, s.lost_bytes, s.errors, s.dual_windows);
  return out;
}

nlohmann::json DrillJson(const std::vector<DrillRound>& rounds) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& r : rounds) {
    const RoundAnalysis& a = r.analysis;
    nlohmann::json j = {{"round", r.number}, {"fault", r.fault}};
    if (!r.failure.empty()) {
      j["failure"] = r.failure;
    } else {
      j.update(
          {{"old_primary", a.old_primary},
           {"new_primary", a.new_primary},
           {"timeline", r.timeline},
           {"rto_seconds", a.rto_seconds < 0 ? nlohmann::json() : nlohmann::json(a.rto_seconds)},
           {"write_gap_seconds", a.gap_seconds},
           {"fault_at_seconds", a.fault_seconds},
           {"promoted_at_seconds",
            a.promoted_seconds < 0 ? nlohmann::json() : nlohmann::json(a.promoted_seconds)},
           {"errors", a.errors},
           {"acked", a.acked},
           {"lost_rows", a.lost},
           {"lost_wal_bytes", a.lost_wal_bytes},
           {"dual_primary_windows", a.dual_primary_windows},
           {"dual_primary_seconds", a.dual_primary_seconds}});
    }
    list.push_back(j);
  }
  const Summary s = Summarize(rounds);
  return {
      {"rounds", list},
      {"summary",
       {{"rounds_measured", s.rounds},
        {"rto_median_seconds", s.rto_median < 0 ? nlohmann::json() : nlohmann::json(s.rto_median)},
        {"rto_worst_seconds", s.rto_worst < 0 ? nlohmann::json() : nlohmann::json(s.rto_worst)},
        {"write_gap_median_seconds", s.gap_median},
        {"write_gap_worst_seconds", s.gap_worst},
        {"acked", s.acked},
        {"lost_rows", s.lost},
        {"lost_wal_bytes", s.lost_bytes},
        {"errors", s.errors},
        {"dual_primary_windows", s.dual_windows}}}};
}

std::string DrillSvg(const std::vector<DrillRound>& rounds) {
  constexpr int kWidth = 960, kPanel = 180, kLeft = 60, kRight = 20, kTop = 30;
  std::vector<const DrillRound*> measured;
  for (const auto& r : rounds) {
    if (r.failure.empty()) measured.push_back(&r);
  }
  const int height = kTop + static_cast<int>(measured.size()) * (kPanel + 40) + 10;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" "
      "fill=\"white\"/>\n<text x=\"{}\" y=\"18\" font-size=\"14\">baton drill: acknowledged writes "
      "(blue) and errors (red) per 100 ms; fault (orange) and first write on a new primary "
      "(green)</text>\n",
      kWidth, height, kLeft);
  int y0 = kTop;
  for (const DrillRound* r : measured) {
    const RoundAnalysis& a = r->analysis;
    const double span = a.buckets.empty() ? 1 : a.buckets.back().start_seconds + 0.1;
    size_t peak = 1;
    for (const auto& b : a.buckets) peak = std::max({peak, b.writes, b.errors});
    const double x_scale = (kWidth - kLeft - kRight) / span;
    const double y_scale = static_cast<double>(kPanel) / static_cast<double>(peak);
    const int base = y0 + kPanel;
    svg += fmt::format("<text x=\"{}\" y=\"{}\">round {}: {}, RTO {} s, gap {} s, lost {}</text>\n",
                       kLeft, y0 - 4, r->number, r->fault, Seconds(a.rto_seconds),
                       Seconds(a.gap_seconds), a.lost);
    svg += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#888\"/>\n",
                       kLeft, base, kWidth - kRight);
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", kLeft - 4,
                       y0 + 10, peak);
    const double bar = std::max(1.0, 0.1 * x_scale - 1);
    for (const auto& b : a.buckets) {
      const double x = kLeft + b.start_seconds * x_scale;
      if (b.writes > 0) {
        svg += fmt::format(
            "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
            "fill=\"#3b6fb6\"/>\n",
            x, base - b.writes * y_scale, bar, b.writes * y_scale);
      }
      if (b.errors > 0) {
        svg += fmt::format(
            "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"#d33\" "
            "opacity=\"0.8\"/>\n",
            x, base - b.errors * y_scale, bar, b.errors * y_scale);
      }
    }
    auto marker = [&](double at, const char* color, const char* label) {
      if (at < 0) return;
      const double x = kLeft + at * x_scale;
      svg += fmt::format(
          "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"{3}\" "
          "stroke-width=\"2\"/>\n<text x=\"{4:.1f}\" y=\"{5}\" fill=\"{3}\">{6}</text>\n",
          x, y0, base, color, x + 3, y0 + 24, label);
    };
    marker(a.fault_seconds, "#e69500", "fault");
    marker(a.promoted_seconds, "#2a9d3a", "new primary");
    for (int s = 0; s <= static_cast<int>(span); ++s) {
      svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}s</text>\n",
                         kLeft + s * x_scale, base + 14, s);
    }
    y0 += kPanel + 40;
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace baton
