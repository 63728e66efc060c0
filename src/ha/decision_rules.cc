#include "ha/decision_rules.h"

#include <fmt/format.h>

#include <chrono>

#include "ha/sync_standbys.h"

namespace baton::rules {

Decision Do(std::vector<Step> steps, std::string reason, std::optional<Upstream> upstream) {
  return Decision{std::move(steps), std::move(upstream), std::move(reason)};
}

Decision Wait(std::string reason) {
  return Do({}, std::move(reason));
}

bool SyncModeOn(const Observation& o) {
  return o.ha.synchronous_mode != SyncMode::kOff;
}

// Synchronous mode, a node about to promote: the synchronous_standby_names its new timeline
// starts with (every other member that may follow it, not `old_leader`, so its first commits
// already wait for them), and the record it stores just before `pg_ctl promote`, true both for
// the commits acknowledged so far (all on this node: it may be promoted) and for those it will
// acknowledge under that setting. Should it die before its own standbys confirm, the standbys
// that hold every commit may still be promoted.
void PrepareSyncPromotion(const Observation& o, const std::string& old_leader, Decision* d) {
  if (!SyncModeOn(o) && !o.cluster.sync) return;
  const SyncRecord before =
      o.cluster.sync ? o.cluster.sync->LedBy(o.self) : SyncRecord::LeaderOnly(o.self);
  if (!SyncModeOn(o)) {
    d->sync_record = SyncRecord::LeaderOnly(o.self);  // going asynchronous
    return;
  }
  std::vector<std::string> followers;
  for (const auto& [name, m] : o.cluster.members) {
    if (name != o.self && name != old_leader && m.state == MemberState::kRunning)
      followers.push_back(name);
  }
  const SyncPlan plan = PlanSyncStandbys(o.ha, o.self, o.cluster, {}, followers);
  d->standby_names = plan.standby_names;
  d->sync_record = SyncRecord::Covering(before, plan.confirms_nothing ? before : plan.record);
}

uint32_t LeaderTimelineFloor(const Observation& o) {
  return o.cluster.last_leader ? o.cluster.last_leader->timeline : 0;
}

PromotionContext PromotionRules(const Observation& o) {
  PromotionContext context;
  context.maximum_lag_bytes = o.timing.maximum_lag_on_failover;
  context.leader_lsn = o.cluster.last_leader ? o.cluster.last_leader->lsn : Lsn{};
  context.leader_timeline = LeaderTimelineFloor(o);
  if (o.cluster.sync) context.sync = &*o.cluster.sync;
  context.sync_unreadable = !o.cluster.sync && !o.cluster.sync_text.empty();
  return context;
}

// A promotion hook said no: this node waits a TTL before it tries again (the next candidate
// may take over meanwhile), instead of taking and giving back the key every loop.
std::optional<Decision> PromotionBackoff(const Observation& o) {
  const Duration backoff = std::chrono::seconds(o.timing.ttl_seconds);
  if (!o.promotion_refused_at || o.now - *o.promotion_refused_at >= backoff) return std::nullopt;
  return Wait(
      fmt::format("a promotion hook refused this node's promotion {:.1f} s ago; trying "
                  "again after {} s",
                  Seconds(o.now - *o.promotion_refused_at), o.timing.ttl_seconds));
}

}  // namespace baton::rules
