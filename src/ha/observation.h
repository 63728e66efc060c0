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

  // The agent's memory across loops.
  TimePoint lease_deadline{};  // local fencing deadline for the leader key
  AgentMemory memory;          // the moments remembered up to this tick (see Remember)
  // Synchronous mode, as a replica: the leader this node detached from (Instance::Detach), and
  // whether the leader's node answers at all (its PostgreSQL and its agent's API both refuse
  // or time out). Checked only while it matters (see Agent).
  std::string detached_from;
  bool leader_unreachable = false;
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
