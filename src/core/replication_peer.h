// ReplicationPeer: one standby as its primary sees it (PostgreSQL's pg_stat_replication row).
// The instance reports them, the agent publishes them in its member record, and the decision
// core reads them back; a plain value kept in core so that neither the cluster store nor the
// decision core depends on an engine.
#pragma once

#include <string>

#include "core/lsn.h"

namespace baton {

struct ReplicationPeer {
  std::string name;   // application_name = the standby's node name
  std::string state;  // streaming, catchup, ...
  Lsn replay_lsn;
  double replay_lag_seconds = 0;
  Lsn flush_lsn{};           // confirmed on the standby's disk
  std::string sync_state{};  // async | sync | potential | quorum (pg_stat_replication)
};

}  // namespace baton
