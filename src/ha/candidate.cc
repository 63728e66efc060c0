#include "ha/candidate.h"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

namespace baton {

namespace {

std::string Names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

// Synchronous mode: why `m` may not be promoted, "" when it may.
std::string SyncRefusal(const MemberInfo& m, const SyncRecord& sync,
                        const std::vector<const MemberInfo*>& listed_running) {
  if (m.name == sync.leader) return "";
  if (!sync.Lists(m.name)) {
    return fmt::format("not a synchronous standby of {} (those are: {})", sync.leader,
                       Names(sync.standbys));
  }
  const size_t quorum = sync.QuorumToPromote();
  if (quorum == 0) {
    return fmt::format("{} has not confirmed any synchronous standby yet", sync.leader);
  }
  if (listed_running.size() < quorum) {
    return fmt::format(
        "sees {} of the {} synchronous standbys ({} of {} acknowledge each commit) needed to be "
        "sure of every acknowledged commit",
        listed_running.size(), quorum, sync.acks, Names(sync.standbys));
  }
  for (const MemberInfo* other : listed_running) {
    if (other->lsn > m.lsn) {
      return fmt::format("synchronous standby {} is further ({} > {})", other->name,
                         other->lsn.ToString(), m.lsn.ToString());
    }
  }
  return "";
}

}  // namespace

bool RanksBefore(const MemberInfo& a, const MemberInfo& b) {
  return std::make_tuple(b.lsn, b.priority, a.name) < std::make_tuple(a.lsn, a.priority, b.name);
}

std::vector<CandidateVerdict> JudgeCandidates(const std::vector<MemberInfo>& members,
                                              const PromotionContext& context) {
  uint32_t newest_timeline = context.leader_timeline;
  for (const auto& m : members) {
    if (m.state == MemberState::kRunning) newest_timeline = std::max(newest_timeline, m.timeline);
  }
  // Positions compare only on one history: WAL on an older timeline may have forked off.
  Lsn most_advanced = context.leader_timeline == newest_timeline || context.leader_timeline == 0
                          ? context.leader_lsn
                          : Lsn{};
  std::vector<const MemberInfo*> listed_running;
  for (const auto& m : members) {
    if (m.state != MemberState::kRunning) continue;
    if (m.timeline == newest_timeline) most_advanced = std::max(most_advanced, m.lsn);
    if (context.sync != nullptr && context.sync->Lists(m.name)) listed_running.push_back(&m);
  }
  std::vector<CandidateVerdict> verdicts;
  for (const auto& m : members) {
    CandidateVerdict v{m.name, false, ""};
    if (m.state != MemberState::kRunning) {
      v.why_not = fmt::format("postgres is {}", MemberStateName(m.state));
    } else if (m.nofailover) {
      v.why_not = "tagged nofailover";
    } else if (m.timeline < newest_timeline) {
      v.why_not = fmt::format("on timeline {}, cluster is on {}", m.timeline, newest_timeline);
    } else if (context.sync_unreadable) {
      v.why_not = "the /sync record cannot be read: no automatic promotion until it is fixed";
    } else if (context.sync != nullptr) {
      v.why_not = SyncRefusal(m, *context.sync, listed_running);
      v.eligible = v.why_not.empty();
    } else if (most_advanced.value - m.lsn.value > context.maximum_lag_bytes) {
      v.why_not = fmt::format("lags {} bytes, more than maximum_lag_on_failover ({})",
                              most_advanced.value - m.lsn.value, context.maximum_lag_bytes);
    } else {
      v.eligible = true;
    }
    verdicts.push_back(v);
  }
  return verdicts;
}

std::vector<std::string> RankCandidates(const std::vector<MemberInfo>& members,
                                        const PromotionContext& context) {
  const auto verdicts = JudgeCandidates(members, context);
  std::vector<const MemberInfo*> eligible;
  for (size_t i = 0; i < members.size(); ++i) {
    if (verdicts[i].eligible) eligible.push_back(&members[i]);
  }
  std::sort(eligible.begin(), eligible.end(),
            [](const MemberInfo* a, const MemberInfo* b) { return RanksBefore(*a, *b); });
  std::vector<std::string> names;
  for (const MemberInfo* m : eligible) names.push_back(m->name);
  return names;
}

}  // namespace baton
