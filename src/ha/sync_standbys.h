// Synchronous standbys: which standbys the leader makes synchronous, how that reads in
// synchronous_standby_names, and whether PostgreSQL already works by it.
//
// `quorum` waits for any `synchronous_node_count` of every eligible streaming standby
// (ANY k (...)); `on` for `synchronous_node_count` chosen ones (FIRST k (...)), keeping the ones
// already chosen. Eligible: a member of the cluster, streaming from the leader, not tagged
// nofailover (it could hold commits no promotable node has). With too few, a strict policy still
// demands `synchronous_node_count` confirmations (writes wait), otherwise it asks for what there
// is, down to none (asynchronous). A standby in `keep` stays in the set while it reconnects. The
// plan's record is what the leader may claim once PostgreSQL follows the plan (see
// dcs/sync_record.h). Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "core/config.h"
#include "dcs/cluster_store.h"
#include "dcs/member.h"

namespace baton {

struct SyncPlan {
  SyncRecord record;          // true once `standby_names` is in effect and has caught up
  std::string standby_names;  // synchronous_standby_names; "" = asynchronous
  // `standby_names` demands more confirmations than it lists standbys (strict, too few): no
  // commit can be acknowledged while it holds.
  bool confirms_nothing = false;
};

SyncPlan PlanSyncStandbys(const HaPolicy& policy, const std::string& leader,
                          const ClusterView& cluster, const std::vector<ReplicationPeer>& peers,
                          const std::vector<std::string>& keep);

// The standbys synchronous_standby_names lists, as baton writes it ("" = none).
std::vector<std::string> ListedStandbys(const std::string& standby_names);

// True when every WAL sender shows the sync_state `standby_names` gives it: listed standbys are
// not "async", the others are. Until then the new setting may not hold for every commit.
bool WalSendersFollow(const std::string& standby_names, const std::vector<ReplicationPeer>& peers);

}  // namespace baton
