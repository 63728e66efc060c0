// Candidate ranking for automatic failover, as a pure function of the members' published state.
//
// Eligible = running and accepting queries, not tagged nofailover, on the newest timeline seen,
// within maximum_lag_on_failover of the most advanced member. Among eligible members the best
// has the highest LSN, then the highest priority, then the lowest name. Thread-safe (stateless).
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

// Judges every member; `members` is every member's latest published state.
std::vector<CandidateVerdict> JudgeCandidates(const std::vector<MemberInfo>& members,
                                              uint64_t maximum_lag_bytes);
// The member that should take over, if any is eligible.
std::optional<std::string> BestCandidate(const std::vector<MemberInfo>& members,
                                         uint64_t maximum_lag_bytes);

}  // namespace baton
