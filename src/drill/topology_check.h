// CheckOnePrimaryAllStreaming: the chaos checker's last question after a round, once the fault
// is healed: is the cluster whole again? Exactly one primary and every other node streaming
// from it, as etcd has it (LocalCluster::WaitHealthy: the leader runs as primary, every other
// member streams from it with zero lag as the leader reports) and as each PostgreSQL server says
// itself (only the leader is out of recovery; every other server's WAL receiver is streaming
// from the leader's address), so an agent that reports wrongly cannot hide a second primary.
// Polls until both hold or `timeout` passes. Thread-safe (reads only).
#pragma once

#include "core/clock.h"
#include "core/status.h"
#include "lab/local_cluster.h"

namespace baton {

Status CheckOnePrimaryAllStreaming(const LocalCluster& cluster, Duration timeout);

}  // namespace baton
