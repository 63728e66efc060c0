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
#include "pg/instance.h"

namespace baton {

struct Observation {
  TimePoint now{};
  double wall_now_unix = 0;  // wall-clock seconds, for scheduled switchovers only
  std::string self;
  Tags tags;
  Timing timing;

  bool dcs_reachable = false;
  ClusterView cluster;  // meaningful only when dcs_reachable
  InstanceState instance;

  // The agent's memory across loops.
  TimePoint lease_deadline{};                   // local fencing deadline for the leader key
  std::optional<TimePoint> primary_down_since;  // while leader: when postgres was seen down
  std::optional<TimePoint> leaderless_since;    // when this agent first saw no leader
  std::optional<TimePoint> handover_since;  // when this node was first handed the key (switchover)
};

}  // namespace baton

namespace baton {

// This node's member record as the instance state shows it (addresses are filled by the agent).
MemberInfo DescribeSelf(const Observation& observation);

}  // namespace baton
