// Switchover target: which replica a planned switchover goes to, or why none may.
//
// A candidate must be a running replica, not tagged nofailover, streaming from the leader (as
// the leader's pg_stat_replication shows it) and, unless the request says force, within
// maximum_lag_on_failover of the leader. Without a named target the least-lagging candidate
// wins, then the highest priority, then the lowest name. The leader calls this before it stops;
// `baton switchover` calls it on the leader's published record to refuse early with the same
// reason. Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "dcs/cluster_store.h"

namespace baton {

struct SwitchoverChoice {
  std::string target;   // empty when refused
  std::string refusal;  // why no switchover may happen now
};

SwitchoverChoice ChooseSwitchoverTarget(const ClusterView& cluster, const std::string& leader,
                                        const std::vector<ReplicationPeer>& standbys,
                                        Lsn leader_lsn, const SwitchoverRequest& request,
                                        uint64_t maximum_lag_bytes);

}  // namespace baton
