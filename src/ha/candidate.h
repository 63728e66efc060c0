// Candidate ranking for automatic failover, as a pure function of the members' published state.
//
// Eligible = running and accepting queries, not tagged nofailover, on the newest timeline seen
// (the members' and the old leader's: a node on an older timeline never takes over from newer
// data), and within maximum_lag_on_failover of the most advanced position known (the old
// leader's last published LSN, or a member's if one is further). In synchronous mode the
// SyncRecord rules instead of the lag: only its leader, or a standby it lists that sees enough
// of the listed standbys and is at least as far as each of them (dcs/sync_record.h). Among
// eligible members the best has the highest LSN, then the highest priority, then the lowest
// name. Thread-safe (stateless).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dcs/member.h"
#include "dcs/sync_record.h"

namespace baton {

// What a leaderless cluster knows besides the members' records.
struct PromotionContext {
  uint64_t maximum_lag_bytes = 0;
  Lsn leader_lsn;                    // the last position the leader published (0/0 = unknown)
  uint32_t leader_timeline = 0;      // its timeline then
  const SyncRecord* sync = nullptr;  // synchronous mode's record, when one is stored
  bool sync_unreadable = false;      // a record is stored but cannot be read: nobody may go
};

struct CandidateVerdict {
  std::string name;
  bool eligible = false;
  std::string why_not;  // empty when eligible
};

// Judges every member; `members` is every member's latest published state.
std::vector<CandidateVerdict> JudgeCandidates(const std::vector<MemberInfo>& members,
                                              const PromotionContext& context);
// The eligible members' names, best first.
std::vector<std::string> RankCandidates(const std::vector<MemberInfo>& members,
                                        const PromotionContext& context);
// Best first: highest LSN, then highest priority, then lowest name.
bool RanksBefore(const MemberInfo& a, const MemberInfo& b);

}  // namespace baton
