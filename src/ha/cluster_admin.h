// ClusterAdmin: the operator verbs that change a cluster, checked against its current state
// and stored in etcd for the agents to carry out. `baton <verb>` and the REST admin endpoints
// both go through it, so they accept and refuse exactly the same things.
//
// Every verb reads the cluster first and refuses with the reason (FailedPrecondition) when it
// would be unsafe or pointless; bad input is InvalidArgument; an unreachable etcd is
// Unavailable. Nothing is written when a verb refuses. Not thread-safe: one per caller.
#pragma once

#include <string>

#include "core/clock.h"
#include "core/config.h"
#include "dcs/cluster_store.h"
#include "dcs/dcs.h"

namespace baton {

struct SwitchoverPlan {
  SwitchoverRequest request;
  std::string target;  // the replica it will go to as things stand now
};

struct FailoverPlan {
  FailoverRequest request;
  Lsn leader_lsn;       // the old leader's last published position
  Lsn candidate_lsn;    // the chosen node's
  uint64_t lost_bytes;  // WAL the old leader had that the chosen node lacks
};

class ClusterAdmin {
 public:
  ClusterAdmin(Dcs& dcs, const std::string& cluster, const Clock& clock);

  Result<ClusterView> Load();

  // A planned switchover to `to` ("" = best replica), at once (at_unix 0) or later.
  Result<SwitchoverPlan> Switchover(const std::string& to, double at_unix, bool force,
                                    const std::string& by);
  Status CancelSwitchover();
  // Manual failover while no leader serves. Refuses when it would lose WAL unless allowed.
  // Agents ignore the request once `timeout_seconds` have passed.
  Result<FailoverPlan> Failover(const std::string& to, bool allow_data_loss, double timeout_seconds,
                                const std::string& by);
  Status CancelFailover();
  // Restart, reload or reinit one node; returns the request (its id shows in the result).
  Result<NodeAction> RequestAction(const std::string& node, NodeVerb verb, bool pending_only,
                                   const std::string& by);
  // Maintenance mode on or off. Returns false when it already was.
  Result<bool> SetPaused(bool paused, const std::string& by);
  // Validates and stores dynamic settings (an empty value removes a key). Returns the result.
  Result<DynamicSettings> SetConfig(const DynamicSettings& changes);
  // Replaces the whole dynamic configuration, only if nobody changed it since `expected`.
  Result<DynamicSettings> ReplaceConfig(const DynamicSettings& expected,
                                        const DynamicSettings& settings);
  // Takes a node that is gone out of the cluster's records.
  Status Remove(const std::string& node);

 private:
  const Clock& clock_;
  ClusterStore store_;
};

}  // namespace baton
