#include "ha/candidate.h"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

namespace baton {

std::vector<CandidateVerdict> JudgeCandidates(const std::vector<MemberInfo>& members,
                                              uint64_t maximum_lag_bytes, Lsn leader_lsn) {
  uint32_t newest_timeline = 0;
  Lsn most_advanced = leader_lsn;
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

std::vector<std::string> RankCandidates(const std::vector<MemberInfo>& members,
                                        uint64_t maximum_lag_bytes, Lsn leader_lsn) {
  const auto verdicts = JudgeCandidates(members, maximum_lag_bytes, leader_lsn);
  std::vector<const MemberInfo*> eligible;
  for (size_t i = 0; i < members.size(); ++i) {
    if (verdicts[i].eligible) eligible.push_back(&members[i]);
  }
  // Best first: highest LSN, then highest priority, then lowest name.
  std::sort(eligible.begin(), eligible.end(), [](const MemberInfo* a, const MemberInfo* b) {
    return std::make_tuple(b->lsn, b->priority, a->name) <
           std::make_tuple(a->lsn, a->priority, b->name);
  });
  std::vector<std::string> names;
  for (const MemberInfo* m : eligible) names.push_back(m->name);
  return names;
}

}  // namespace baton
