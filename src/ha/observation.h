// Observation: everything the decision core is told about one moment of one node.
//
// The agent fills it from a PostgreSQL probe, a DCS read and its own short memory; the
// decision core reads nothing else (no sockets, no clock). Plain value.
#pragma once

#include <optional>
#include <string>

#include "core/clock.h"
#include "core/config.h"
#include "dcs/cluster_store.h"
#include "ha/memory.h"
#include "ha/peers.h"
#include "pg/instance.h"

namespace baton {

struct Observation {
  TimePoint now{};
  double wall_now_unix = 0;  // wall-clock seconds, for scheduled switchovers only
  std::string self;
  Tags tags;
  Timing timing;
  HaPolicy ha;

  bool dcs_reachable = false;
  ClusterView cluster;  // meaningful only when dcs_reachable
  InstanceState instance;
  // etcd answered this tick and shows this node holding the leader key.
  bool HoldsKey() const { return dcs_reachable && cluster.leader && cluster.leader->name == self; }
  // Synchronous mode is off and no /sync record is stored: no commit waits for a standby.
  bool Asynchronous() const {
    return ha.synchronous_mode == SyncMode::kOff && cluster.sync_text.empty();
  }
  // Another node leads, and this one may take over from it early should its node die, so it
  // watches that node: as a standby the /sync record lists, or as any member when asynchronous
  // (with ha.early_takeover on).
  bool WatchesLeader() const {
    return dcs_reachable && cluster.leader && cluster.leader->name != self &&
           (cluster.ListsAsStandby(self) || (Asynchronous() && ha.early_takeover));
  }

  // The agent's memory across loops.
  TimePoint lease_deadline{};  // local fencing deadline for the leader key
  AgentMemory memory;          // the moments remembered up to this tick (see Remember)
  // As a replica that watches the leader (WatchesLeader): the leader this node detached from
  // (Instance::Detach), and how the leader's node answers (Peers::Reach). Asked only while it
  // matters, when this replica is not streaming or has detached (see Agent); kAnswers otherwise.
  std::string detached_from;
  NodeReach leader_reach = NodeReach::kAnswers;
  std::optional<TimePoint> promotion_refused_at;  // when a promotion hook last said no
  // Failsafe mode. As the primary, with etcd unreachable: every member it last saw confirmed
  // that it cannot reach etcd either, which lets it keep running until this time.
  std::optional<TimePoint> failsafe_until;
  // As another member: the primary this agent last confirmed that to, and when.
  std::string failsafe_leader;
  TimePoint failsafe_confirmed_at{};
};

}  // namespace baton

namespace baton {

// This node's member record as the instance state shows it (addresses are filled by the agent).
MemberInfo DescribeSelf(const Observation& observation);

}  // namespace baton
