// Agent: the loop that keeps one node in its right role. observe -> decide -> act.
//
// Each tick renews the session lease, reads the cluster from the DCS, probes PostgreSQL,
// publishes this member's state, asks the pure decision core what to do and runs its steps.
// Ticks come every loop_wait, or at once when the leader key changes (DCS watch) or the
// postmaster exits (pidfd), or right after a tick that acted. Snapshot() may be called from any
// thread (the REST API does); everything else belongs to the thread that calls Run/RunOnce.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/config.h"
#include "dcs/cluster_store.h"
#include "dcs/dcs.h"
#include "ha/agent_view.h"
#include "ha/decision.h"
#include "ha/hook_runner.h"
#include "ha/observation.h"
#include "ha/peers.h"
#include "pg/instance.h"

namespace baton {

class Agent final : public AgentView {
 public:
  Agent(Config config, Dcs& dcs, Instance& instance, const Clock& clock, Peers& peers);

  // Ticks until `stop` is set, then shuts down: stops PostgreSQL (fast) and gives up its keys.
  void Run(const std::atomic<bool>& stop);
  // One observe-decide-act pass.
  struct Tick {
    Decision decision;
    bool completed = true;  // every step ran and succeeded
    std::string failure;    // the step that failed and why
  };
  Tick RunOnce();
  // Makes a pending wait in Run() return now.
  void Wake();
  // Stops PostgreSQL and releases this node's keys (leader first waits for its server to stop).
  void Shutdown();

  AgentSnapshot Snapshot() const override;

  // Failsafe mode, as another member: `leader` asks whether it may keep its primary while etcd is
  // unreachable. Yes only when failsafe mode is on, this agent cannot reach etcd either (so it
  // takes part in no election) and its own server is not a writable primary; a yes keeps this
  // node out of elections for a TTL. Thread-safe (the REST API calls it).
  FailsafeVote ConfirmFailsafe(const std::string& leader) override;
  HookRunner::Counts HookCounts() const override { return hooks_.counts(); }

 private:
  Status Execute(Step step, const Decision& decision, const Observation& observed);
  // After winning the leader key without a leader before: re-reads the cluster and asks the
  // decision core again; if another member now ranks higher, gives the key back (Aborted).
  Status ConfirmStillBest(const Observation& observed);
  // Appends the change to /history and fires the role-change (and failover) hooks.
  void RecordRoleChange(const std::string& event, const std::string& reason);
  // pg_rewind from the leader; when that fails, moves the data aside and clones instead.
  Status Rejoin(const Upstream& leader);
  // pg_basebackup from `upstream`, publishing its progress in this member's record.
  Status Clone(const Upstream& upstream, const std::string& purpose);
  // Switchover, leader's half: stop cleanly, then pass the key to the target at the checkpoint.
  Status HandOver(const Decision& decision, const Observation& observed);
  // Before this node replicates from any leader again: publishes that it no longer counts as
  // detached (fails the step when that cannot be published), so no standby counts it for an
  // early takeover while it may confirm commits again.
  Status EndDetachment(const Observation& observed);
  // Reports the outcome of this node's operator verb in its record and deletes the request.
  Status EndAction(const Observation& observed, bool ok, const std::string& message);
  // Writes this member's record now (used mid-tick, when the outcome must show at once).
  Status Publish(MemberInfo self);
  // The history event a promotion is recorded as.
  std::string PromotionEvent(const Observation& observed) const;
  Duration LeaseMargin() const;
  // Deadline for the lease as last renewed: sent + TTL - margin.
  TimePoint LeaseDeadline() const;
  // The same for a renewal (or a failsafe confirmation) sent at `sent`.
  TimePoint DeadlineFrom(TimePoint sent) const;

  // A writable primary whose lease deadline passed before this tick (the agent was stalled)
  // stops at once (immediate stop, then read-only), before any etcd call.
  void FenceIfLeasePassedUnseen();
  // Holding the leader key until lease_deadline_: the fencing watchdog kills PostgreSQL unless
  // a renewal re-arms it before then. Fails when it cannot be armed (no promotion then).
  Status ArmWatchdog();
  // Not holding the key (or the server is down): nothing for the watchdog to fence.
  void DisarmWatchdog();
  // Adopts the cluster's dynamic settings (new lease TTL, PostgreSQL parameters reloaded).
  void AdoptDynamicConfig(const ClusterView& view);
  // Remembers when synchronous_standby_names, as it is now, was first in effect (see
  // Observation::standby_names_settled_at).
  void TrackStandbyNames(const InstanceState& instance);
  // Synchronous mode, as a listed standby of a leader it no longer streams from (or detached
  // from): whether that leader's node answers at all.
  bool LeaderUnreachable(const Observation& o);
  // Synchronous mode, as a listed standby: keeps a connection to the leader's PostgreSQL whose
  // end wakes the loop at once (Peers::WatchNode); otherwise watches nothing.
  void WatchLeaderNode(const Observation& o);
  // Before a promotion: fence_command against the old leader (for a failover), then
  // pre_promote; either failing stops the promotion. Bounded by the lease.
  Status RunPromotionHooks(const Observation& observed);
  // Failsafe mode, as the primary with etcd unreachable: asks every member it last saw in etcd;
  // when all confirm, it may keep running until one TTL after it asked.
  void RunFailsafeRound(const InstanceState& instance);
  // The time past which this node's server must not be a writable primary.
  TimePoint FencingDeadline() const;
  // Whether a leader-key transaction must also replace /sync, and what /sync must read then.
  std::optional<std::string> SyncExpected(const Observation& observed) const;

  const Config local_config_;        // this node's file
  Config config_;                    // the file with the cluster's dynamic settings applied
  std::string adopted_config_text_;  // the /config last adopted
  bool registered_ = false;          // nodes/<name> written by this agent
  Instance& instance_;
  const Clock& clock_;
  Peers& peers_;
  ClusterStore store_;

  TimePoint lease_deadline_{};
  std::optional<TimePoint> primary_down_since_;
  std::optional<TimePoint> unresponsive_since_;  // while leader: postgres seen not answering
  bool watchdog_armed_ = false;
  std::optional<TimePoint> leaderless_since_;
  std::optional<TimePoint> handover_since_;
  std::optional<TimePoint> leader_since_;
  std::string settled_standby_names_;  // synchronous_standby_names seen in effect ...
  bool standby_names_seen_ = false;    // ... by an earlier probe, and
  std::optional<Lsn> settled_at_;      // the WAL position of the first probe after that one
  std::string detached_from_;          // the leader Instance::Detach() stopped replication from
  std::optional<TimePoint> promotion_refused_at_;  // a promotion hook last said no
  std::vector<MemberInfo> failsafe_members_;       // the other members, as etcd last showed them
  std::optional<TimePoint> failsafe_until_;        // every one of them confirmed failsafe mode
  std::atomic<bool> failsafe_enabled_{false};
  std::string failsafe_leader_;          // under mu_: the primary this agent confirmed to,
  TimePoint failsafe_confirmed_at_{};    // and when
  std::atomic<bool> leaderless_{false};  // read by the watch thread
  std::string previous_leader_;
  double leader_last_seen_unix_ = 0;         // wall time of the leader's last published status
  std::string rejoined_;                     // how this agent last rejoined its node, for status
  std::optional<ActionResult> last_action_;  // the last operator verb carried out here
  MemberInfo self_;                          // this member's record as of this tick
  std::string last_dcs_error_;               // last etcd error logged, "" while etcd answers
  std::string last_published_;               // member record last written (without its timestamp)
  LeaseId last_published_lease_ = 0;

  HookRunner hooks_;

  mutable std::mutex mu_;
  AgentSnapshot snapshot_;
  std::condition_variable wake_cv_;
  bool wake_ = false;
};

}  // namespace baton
