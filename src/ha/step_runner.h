// StepRunner: carries out the steps the decision core chose, against the instance, the cluster
// store, the hooks and the fencing watchdog.
//
// It owns what acting needs to remember: the leader lease deadline and the watchdog that
// enforces it, the detachment from a leader, how this node last rejoined, the last operator verb
// and the member record last written. Promotions, hand-overs, rejoins and clones go through it,
// and each role change is written to /history and announced to the hooks here (and to the
// alerts: a promotion that replaced a leader, a primary stopped to fence it). The agent's loop
// senses and decides; this runs on the same thread, never concurrently.
#pragma once

#include <optional>
#include <string>

#include "core/clock.h"
#include "core/config.h"
#include "dcs/cluster_store.h"
#include "ha/alert.h"
#include "ha/decision.h"
#include "ha/hook_runner.h"
#include "ha/memory.h"
#include "ha/observation.h"
#include "pg/instance.h"

namespace baton {

class StepRunner {
 public:
  // `config` is the agent's effective config (its dynamic settings change under it).
  StepRunner(const Config& config, ClusterStore& store, Instance& instance, HookRunner& hooks,
             Alerts& alerts, const Clock& clock);

  // Carries out `step` of `decision`, taken on `observed`. Hand-overs and role changes update
  // `memory` (the previous leader).
  Status Run(Step step, const Decision& decision, const Observation& observed, AgentMemory& memory);

  // The leader lease, as this node may count on it.
  TimePoint lease_deadline() const { return lease_deadline_; }
  // The lease holding the key was just renewed: its deadline moves on.
  void LeaseRenewed() { lease_deadline_ = LeaseDeadline(); }
  // The deadline for a renewal (or a failsafe confirmation) sent at `sent`: sent + TTL - margin.
  TimePoint DeadlineFrom(TimePoint sent) const;
  // Failsafe mode: every member confirmed until `until` (nullopt: none did).
  void SetFailsafeUntil(std::optional<TimePoint> until) { failsafe_until_ = until; }
  std::optional<TimePoint> failsafe_until() const { return failsafe_until_; }
  // The time past which this node's server must not be a writable primary.
  TimePoint FencingDeadline() const;

  // A writable primary whose fencing deadline passed before this tick (the agent was stalled)
  // stops at once (immediate stop, then read-only), before any etcd call.
  void FenceIfLeasePassedUnseen(bool was_writable);
  // Holding the leader key until the fencing deadline: the watchdog kills PostgreSQL unless a
  // renewal re-arms it before then. Fails when it cannot be armed (no promotion then).
  Status ArmWatchdog();
  // Not holding the key (or the server is down): nothing for the watchdog to fence.
  void DisarmWatchdog();
  // Armed, and its last arming succeeded (what status and `baton doctor` report).
  bool watchdog_armed() const { return watchdog_armed_ && !last_arm_failed_; }
  // Times this node stopped its own writable primary to fence it.
  uint64_t fences() const { return fences_; }

  // This member's record as of this tick, the base of every record written mid-tick.
  void SetSelf(MemberInfo self) { self_ = std::move(self); }
  // Writes this member's record unless it is what was last written on the same lease.
  Status Publish(MemberInfo self);

  const std::string& detached_from() const { return detached_from_; }
  std::optional<TimePoint> promotion_refused_at() const { return promotion_refused_at_; }
  const std::string& rejoined() const { return rejoined_; }
  const std::optional<ActionResult>& last_action() const { return last_action_; }

 private:
  // After winning the leader key without a leader before: re-reads the cluster and asks the
  // decision core again; if another member now ranks higher, gives the key back (Aborted).
  Status ConfirmStillBest(const Observation& observed);
  Status Promote(const Decision& decision, const Observation& observed, AgentMemory& memory);
  Status Restart(const Decision& decision, const Observation& observed);
  // Rewrites the leader key before this node's server becomes writable (ClusterStore::
  // ReclaimLeader), so an early takeover that read the key while it was down fails.
  Status ReclaimLeader();
  // Starts PostgreSQL as primary after ReclaimLeader; stops it again if that outlasted the lease.
  Status StartAsPrimary();
  // This node stopped its own writable primary (on `timeline`) to fence it: counts it, fires
  // the role-change hook and the `fenced` alert.
  void Fenced(uint32_t timeline, const std::string& reason);
  // Appends the change to /history and fires the role-change (and failover) hooks and alert.
  void RecordRoleChange(const std::string& event, const std::string& reason,
                        const AgentMemory& memory);
  // pg_rewind from the leader; when that fails, moves the data aside and clones instead.
  Status Rejoin(const Upstream& leader, const AgentMemory& memory);
  // pg_basebackup from `upstream`, publishing its progress in this member's record, whose
  // state reads `purpose` meanwhile (cloning, reinit, re-clone).
  Status Clone(const Upstream& upstream, MemberState purpose);
  // Switchover, leader's half: stop cleanly, then pass the key to the target at the checkpoint.
  Status HandOver(const Decision& decision, const Observation& observed, AgentMemory& memory);
  // Before this node replicates from any leader again: publishes that it no longer counts as
  // detached (fails the step when that cannot be published), so no standby counts it for an
  // early takeover while it may confirm commits again.
  Status EndDetachment(const Observation& observed);
  // Reports the outcome of this node's operator verb in its record and deletes the request.
  Status EndAction(const Observation& observed, bool ok, const std::string& message);
  // Before a promotion: fence_command against the old leader (for a failover), then
  // pre_promote; either failing stops the promotion. Bounded by the lease.
  Status RunPromotionHooks(const Observation& observed, const AgentMemory& memory);
  // The history event a promotion is recorded as.
  std::string PromotionEvent(const Observation& observed) const;
  // Whether a leader-key transaction must also replace /sync, and what /sync must read then.
  std::optional<std::string> SyncExpected(const Observation& observed) const;
  // Fails once the lease may have ended: nothing may run as primary then.
  Status LeaseValid() const;
  // Deadline for the lease as last renewed.
  TimePoint LeaseDeadline() const;
  Duration LeaseMargin() const;

  const Config& config_;
  ClusterStore& store_;
  Instance& instance_;
  HookRunner& hooks_;
  Alerts& alerts_;
  const Clock& clock_;

  TimePoint lease_deadline_{};
  std::optional<TimePoint> failsafe_until_;
  bool watchdog_armed_ = false;  // may need disarming
  bool last_arm_failed_ = false;
  uint64_t fences_ = 0;
  std::string detached_from_;  // the leader Instance::Detach() stopped replication from
  std::optional<TimePoint> promotion_refused_at_;  // a promotion hook last said no
  std::string rejoined_;                           // how this node last rejoined, for status
  std::optional<ActionResult> last_action_;        // the last operator verb carried out here
  MemberInfo self_;
  std::string last_published_;  // member record last written (without its timestamp)
  LeaseId last_published_lease_ = 0;
};

}  // namespace baton
