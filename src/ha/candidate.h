// Candidate ranking for automatic failover, as a pure function of the members' published state.
//
// Eligible = running and accepting queries, not tagged nofailover, on the newest timeline seen,
// and within maximum_lag_on_failover of the most advanced position known (the old leader's
// last published LSN, or a member's if one is further). Among eligible members the best has
// the highest LSN, then the highest priority, then the lowest name. Thread-safe (stateless).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dcs/member.h"

namespace baton {

struct CandidateVerdict {
  std::string name;
  bool eligible = false;
  std::string why_not;  // empty when eligible
};

// Judges every member; `members` is every member's latest published state and `leader_lsn`
// the last position the leader published (0/0 when unknown).
std::vector<CandidateVerdict> JudgeCandidates(const std::vector<MemberInfo>& members,
                                              uint64_t maximum_lag_bytes, Lsn leader_lsn);
// The eligible members' names, best first.
std::vector<std::string> RankCandidates(const std::vector<MemberInfo>& members,
                                        uint64_t maximum_lag_bytes, Lsn leader_lsn);

}  // namespace baton
