// Agent: the loop that keeps one node in its right role. observe -> decide -> act.
//
// Each tick renews the session lease, reads the cluster from the DCS, probes PostgreSQL,
// updates its memory (ha/memory.h), publishes this member's state, asks the pure decision core
// what to do and has the StepRunner carry out its steps. Waits go through the Clock, so the
// real loop runs in simulated time too.
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
#include "ha/alert.h"
#include "ha/decision.h"
#include "ha/hook_runner.h"
#include "ha/lag_alerts.h"
#include "ha/memory.h"
#include "ha/observation.h"
#include "ha/peers.h"
#include "ha/step_runner.h"
#include "pg/instance.h"

namespace baton {

class Agent final : public AgentView {
 public:
  // `alerts` gets the failover, fencing and replica-lag events (none by default).
  Agent(Config config, Dcs& dcs, Instance& instance, const Clock& clock, Peers& peers,
        Alerts& alerts = DiscardAlerts());

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
  // This agent's hooks and the alert sender's hooks.on_alert runs, together.
  HookRunner::Counts HookCounts() const override;
  AlertCounts AlertStats() const override { return alerts_.counts(); }

 private:
  // Adopts the cluster's dynamic settings (new lease TTL, PostgreSQL parameters reloaded).
  void AdoptDynamicConfig(const ClusterView& view);
  // As a replica that watches the leader (Observation::WatchesLeader) and no longer streams
  // from it (or detached from it): how that leader's node answers; kAnswers when not asked.
  NodeReach ProbeLeader(const Observation& o);
  // As a replica that watches the leader: keeps a connection to the leader's PostgreSQL whose
  // end wakes the loop at once (Peers::WatchNode); otherwise watches nothing.
  void WatchLeaderNode(const Observation& o);
  // Failsafe mode, as the primary with etcd unreachable: asks every member it last saw in etcd;
  // when all confirm, it may keep running until one TTL after it asked.
  void RunFailsafeRound(const InstanceState& instance);

  const Config local_config_;        // this node's file
  Config config_;                    // the file with the cluster's dynamic settings applied
  std::string adopted_config_text_;  // the /config last adopted
  bool registered_ = false;          // nodes/<name> written by this agent
  Instance& instance_;
  const Clock& clock_;
  Peers& peers_;
  Alerts& alerts_;
  ClusterStore store_;
  LagAlerts lag_alerts_;  // as leader: which replicas lag past maximum_lag_on_failover

  AgentMemory memory_;
  std::vector<MemberInfo> failsafe_members_;  // the other members, as etcd last showed them
  std::atomic<bool> failsafe_enabled_{false};
  std::string failsafe_leader_;          // under mu_: the primary this agent confirmed to,
  TimePoint failsafe_confirmed_at_{};    // and when
  std::atomic<bool> leaderless_{false};  // read by the watch thread
  std::string last_dcs_error_;           // last etcd error logged, "" while etcd answers
  std::string last_leader_seen_;         // under mu_: the leader key's holder last seen

  HookRunner hooks_;
  StepRunner steps_;

  mutable std::mutex mu_;
  AgentSnapshot snapshot_;
  std::condition_variable wake_cv_;
  bool wake_ = false;
};

}  // namespace baton
