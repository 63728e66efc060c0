// AgentView: what the REST API (and anything else that reports on a node from another thread)
// may ask the agent: a snapshot of what it last saw and did, a failsafe-mode vote, and its hook
// and alert counters. Agent implements it; the API depends on this interface alone, so it can be
// served over a fake in tests and never reaches into the loop's state. Implementations are
// thread-safe.
#pragma once

#include <string>

#include "dcs/cluster_store.h"
#include "dcs/member.h"
#include "ha/alert.h"
#include "ha/hook_runner.h"
#include "pg/instance.h"

namespace baton {

// What the REST API and status report about this node, copied out under a lock.
struct AgentSnapshot {
  bool dcs_reachable = false;
  bool is_leader = false;       // holds the leader key and its lease has not passed its deadline
  bool watchdog_armed = false;  // the fencing watchdog kills PostgreSQL at the lease deadline
  TimePoint lease_deadline{};   // while leader: when its lease may end unrenewed
  uint64_t leader_changes = 0;  // times this agent saw the leader key pass to another node
  uint64_t fences = 0;          // times this agent stopped its own writable primary to fence it
  InstanceState instance;
  ClusterView cluster;
  MemberInfo self;
  std::string last_decision;
  TimePoint last_tick{};
};

// A member's answer when a primary in failsafe mode asks it to confirm (POST /failsafe).
struct FailsafeVote {
  bool accepted = false;
  std::string reason;
};

class AgentView {
 public:
  virtual ~AgentView() = default;
  virtual AgentSnapshot Snapshot() const = 0;
  // Failsafe mode, as another member: `leader` asks whether it may keep its primary while etcd
  // is unreachable (see Agent::ConfirmFailsafe).
  virtual FailsafeVote ConfirmFailsafe(const std::string& leader) = 0;
  virtual HookRunner::Counts HookCounts() const = 0;
  virtual AlertCounts AlertStats() const = 0;
};

}  // namespace baton
