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
#include "ha/decision.h"
#include "ha/hook_runner.h"
#include "ha/observation.h"
#include "pg/instance.h"

namespace baton {

// What the REST API and status report about this node, copied out under a lock.
struct AgentSnapshot {
  bool dcs_reachable = false;
  bool is_leader = false;  // holds the leader key and its lease has not passed its deadline
  InstanceState instance;
  ClusterView cluster;
  MemberInfo self;
  std::string last_decision;
  TimePoint last_tick{};
};

class Agent {
 public:
  Agent(Config config, Dcs& dcs, Instance& instance, const Clock& clock);

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

  AgentSnapshot Snapshot() const;
  HookRunner::Counts HookCounts() const { return hooks_.counts(); }

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
  // Reports the outcome of this node's operator verb in its record and deletes the request.
  Status EndAction(const Observation& observed, bool ok, const std::string& message);
  // Writes this member's record now (used mid-tick, when the outcome must show at once).
  Status Publish(MemberInfo self);
  // The history event a promotion is recorded as.
  std::string PromotionEvent(const Observation& observed) const;
  Duration LeaseMargin() const;
  // Deadline for the lease as last renewed: sent + TTL - margin.
  TimePoint LeaseDeadline() const;

  // A writable primary whose lease deadline passed before this tick (the agent was stalled)
  // stops at once (immediate stop, then read-only), before any etcd call.
  void FenceIfLeasePassedUnseen();
  // Adopts the cluster's dynamic settings (new lease TTL, PostgreSQL parameters reloaded).
  void AdoptDynamicConfig(const ClusterView& view);

  const Config local_config_;        // this node's file
  Config config_;                    // the file with the cluster's dynamic settings applied
  std::string adopted_config_text_;  // the /config last adopted
  bool registered_ = false;          // nodes/<name> written by this agent
  Instance& instance_;
  const Clock& clock_;
  ClusterStore store_;

  TimePoint lease_deadline_{};
  std::optional<TimePoint> primary_down_since_;
  std::optional<TimePoint> leaderless_since_;
  std::optional<TimePoint> handover_since_;
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
