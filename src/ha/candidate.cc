#include "ha/candidate.h"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

namespace baton {

std::vector<CandidateVerdict> JudgeCandidates(const std::vector<MemberInfo>& members,
                                              uint64_t maximum_lag_bytes) {
  uint32_t newest_timeline = 0;
  Lsn most_advanced;
  for (const auto& m : members) {
    if (m.state != "running") continue;
    newest_timeline = std::max(newest_timeline, m.timeline);
    most_advanced = std::max(most_advanced, m.lsn);
  }
  std::vector<CandidateVerdict> verdicts;
  for (const auto& m : members) {
    CandidateVerdict v{m.name, false, ""};
    if (m.state != "running") {
      v.why_not = fmt::format("postgres is {}", m.state);
    } else if (m.nofailover) {
      v.why_not = "tagged nofailover";
    } else if (m.timeline < newest_timeline) {
      v.why_not = fmt::format("on timeline {}, cluster is on {}", m.timeline, newest_timeline);
    } else if (most_advanced.value - m.lsn.value > maximum_lag_bytes) {
      v.why_not = fmt::format("lags {} bytes, more than maximum_lag_on_failover ({})",
                              most_advanced.value - m.lsn.value, maximum_lag_bytes);
    } else {
      v.eligible = true;
    }
    verdicts.push_back(v);
  }
  return verdicts;
}

std::optional<std::string> BestCandidate(const std::vector<MemberInfo>& members,
                                         uint64_t maximum_lag_bytes) {
  const auto verdicts = JudgeCandidates(members, maximum_lag_bytes);
  const MemberInfo* best = nullptr;
  auto rank = [](const MemberInfo& m) {
    // Higher is better: LSN, then priority, then the lower name (negated by comparison below).
    return std::make_tuple(m.lsn, m.priority);
  };
  for (size_t i = 0; i < members.size(); ++i) {
    if (!verdicts[i].eligible) continue;
    const MemberInfo& m = members[i];
    if (best == nullptr || rank(m) > rank(*best) ||
        (rank(m) == rank(*best) && m.name < best->name)) {
      best = &m;
    }
  }
  if (best == nullptr) return std::nullopt;
  return best->name;
}

}  // namespace baton
