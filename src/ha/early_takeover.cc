#include "ha/early_takeover.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "ha/candidate.h"
#include "ha/decision_rules.h"

namespace baton {

using rules::Do;
using rules::LeaderTimelineFloor;
using rules::PrepareSyncPromotion;
using rules::PromotionBackoff;
using rules::PromotionRules;
using rules::Wait;

namespace {

// The members other than `leader` that count for an early takeover (for `counts`), this node's
// own record as it is now included, and those of them that detached from `leader`.
struct Detachments {
  std::vector<MemberInfo> counted;
  std::vector<MemberInfo> detached;
};
Detachments CountDetachments(const Observation& o, const std::string& leader,
                             const std::function<bool(const std::string&)>& counts) {
  Detachments d;
  d.counted.push_back(DescribeSelf(o));
  d.detached.push_back(d.counted.back());
  for (const auto& [name, m] : o.cluster.members) {
    if (name == o.self || name == leader || !counts(name)) continue;
    d.counted.push_back(m);
    if (m.detached_from == leader && m.state == MemberState::kRunning) d.detached.push_back(m);
  }
  return d;
}

bool Detached(const Detachments& d, const std::string& name) {
  return std::any_of(d.detached.begin(), d.detached.end(),
                     [&](const MemberInfo& m) { return m.name == name; });
}

// The last checks before this node, the chosen one, takes the key over.
Decision TakeOver(const Observation& o, const LeaderKey& leader, std::string reason) {
  if (o.tags.nofailover || o.instance.timeline < LeaderTimelineFloor(o)) {
    return Wait(fmt::format("detached from {}; this node may not take over", leader.name));
  }
  if (auto backoff = PromotionBackoff(o)) return *backoff;
  Decision d = Do({Step::kTakeOverLeader, Step::kPromote}, std::move(reason));
  PrepareSyncPromotion(o, leader.name, &d);
  return d;
}

// Synchronous mode: a standby the record lists detaches when the leader's node answers
// nothing (refused or silent). Once QuorumToPromote() listed standbys have detached, the old
// leader cannot have another commit confirmed, and the furthest of them holds every confirmed
// commit.
std::optional<Decision> DecideSyncTakeover(const Observation& o, const LeaderKey& leader) {
  const auto& sync = o.cluster.sync;
  if (!sync || sync->QuorumToPromote() == 0) return std::nullopt;
  if (o.leader_reach == NodeReach::kAnswers) return std::nullopt;  // (re)attached as usual
  if (o.detached_from != leader.name) {
    return Do({Step::kDetach},
              fmt::format("leader {} unreachable (PostgreSQL and API): detaching from it so it "
                          "gets no more confirmations",
                          leader.name));
  }
  Detachments d =
      CountDetachments(o, leader.name, [&](const std::string& name) { return sync->Lists(name); });
  const size_t quorum = sync->QuorumToPromote();
  if (d.detached.size() < quorum) {
    return Wait(
        fmt::format("detached from unreachable leader {}; {} of the {} synchronous standbys "
                    "needed to take over early have",
                    leader.name, d.detached.size(), quorum));
  }
  std::sort(d.detached.begin(), d.detached.end(), RanksBefore);
  if (d.detached.front().name != o.self) {
    return Wait(
        fmt::format("detached from unreachable leader {}; {} is the furthest and takes "
                    "over",
                    leader.name, d.detached.front().name));
  }
  return TakeOver(o, leader,
                  fmt::format("leader {} unreachable and {} synchronous standbys detached: it can "
                              "confirm no more commits, and this node holds every confirmed one; "
                              "taking over without waiting for its lease",
                              leader.name, d.detached.size()));
}

// Asynchronous mode (with ha.early_takeover): any replica detaches, only when the leader's node
// refused both its PostgreSQL port and its agent's with TCP resets (NodeReach::kProcessesGone):
// nothing there can take a write. A majority of the replicas must have detached, and every
// running one, so that the winner is the one the lease path would pick now, at positions that
// no longer move: it loses what waiting would lose and no more.
std::optional<Decision> DecideAsyncTakeover(const Observation& o, const LeaderKey& leader) {
  if (o.leader_reach != NodeReach::kProcessesGone) return std::nullopt;
  if (o.detached_from != leader.name) {
    return Do({Step::kDetach},
              fmt::format("leader {}'s node refuses connections to its PostgreSQL and its agent "
                          "(neither runs): detaching from it to take over early",
                          leader.name));
  }
  Detachments d = CountDetachments(o, leader.name, [](const std::string&) { return true; });
  const size_t majority = d.counted.size() / 2 + 1;
  if (d.detached.size() < majority) {
    return Wait(
        fmt::format("detached from {}; {} of the {} replicas needed to take over early "
                    "have",
                    leader.name, d.detached.size(), majority));
  }
  for (const MemberInfo& m : d.counted) {
    if (m.state == MemberState::kRunning && !Detached(d, m.name)) {
      return Wait(
          fmt::format("detached from {}; waiting for {} to detach too", leader.name, m.name));
    }
  }
  const auto ranked = RankCandidates(d.counted, PromotionRules(o));
  if (ranked.empty()) {
    return Wait(fmt::format("detached from {}; no replica is eligible to take over", leader.name));
  }
  if (ranked.front() != o.self) {
    return Wait(fmt::format("detached from {}; {} is the best candidate and takes over",
                            leader.name, ranked.front()));
  }
  return TakeOver(o, leader,
                  fmt::format("leader {}'s PostgreSQL and agent are gone and {} replicas "
                              "detached: this node is the best candidate; taking over without "
                              "waiting for its lease",
                              leader.name, d.detached.size()));
}

}  // namespace

std::optional<Decision> DecideEarlyTakeover(const Observation& o, const LeaderKey& leader) {
  const InstanceState& inst = o.instance;
  if (!o.WatchesLeader() || !inst.accepting || inst.role != PgRole::kReplica) return std::nullopt;
  return o.Asynchronous() ? DecideAsyncTakeover(o, leader) : DecideSyncTakeover(o, leader);
}

}  // namespace baton
