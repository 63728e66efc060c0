// Decision rules: the building blocks the decision core's rule files share.
//
// Internal to src/ha (decide.cc, early_takeover.cc): making a Decision, the rules a promotion
// follows (ranking context, timeline floor, hook backoff) and what a node about to promote
// prepares in synchronous mode. Pure functions of the Observation, like the core itself.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ha/candidate.h"
#include "ha/decision.h"
#include "ha/observation.h"

namespace baton::rules {

Decision Do(std::vector<Step> steps, std::string reason,
            std::optional<Upstream> upstream = std::nullopt);
Decision Wait(std::string reason);

bool SyncModeOn(const Observation& o);

// A node on an older timeline than the last leader's never takes over (invariant 5).
uint32_t LeaderTimelineFloor(const Observation& o);

// How candidates are ranked and which are eligible (lag limit, timeline, synchronous record).
PromotionContext PromotionRules(const Observation& o);

// Synchronous mode, a node about to promote: sets `d`'s standby names and the record it stores
// just before promoting.
void PrepareSyncPromotion(const Observation& o, const std::string& old_leader, Decision* d);

// A promotion hook said no: this node waits a TTL before it tries again.
std::optional<Decision> PromotionBackoff(const Observation& o);

}  // namespace baton::rules
