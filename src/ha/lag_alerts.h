// LagAlerts: the leader's watch over its replicas' lag, as alerts on crossings only.
//
// Each tick the leader's agent hands it the cluster it read; a member whose lag (ClusterView::
// LagOf, in bytes) goes past timing.maximum_lag_on_failover yields one replica_lagging alert,
// and one replica_caught_up once it is back within half of that (the margin keeps a replica
// that hovers at the limit from alerting at every tick). Nothing is sent in between, nor while
// a member's lag is unknown. A member that leaves the cluster, and every member when this node
// stops leading, is forgotten without an alert: the next leader's agent watches afresh. Not
// thread-safe: the agent loop owns it.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "dcs/cluster_store.h"
#include "ha/alert.h"

namespace baton {

class LagAlerts {
 public:
  // The alerts for what crossed since the last call. `leads`: this node, `self`, holds the
  // leader key; `limit` is the lag in bytes past which a replica counts as lagging; `now_unix`
  // stamps the alerts.
  std::vector<Alert> Update(const ClusterView& view, const std::string& self, bool leads,
                            uint64_t limit, double now_unix);

 private:
  std::set<std::string> lagging_;  // members last seen past the limit
};

}  // namespace baton
