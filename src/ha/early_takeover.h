// Early takeover: replacing a leader whose node provably cannot take a write, before its lease
// ends.
//
// While the leader's lease runs but its node cannot take a write, a replica that watches it
// (Observation::WatchesLeader) stops replicating from it (detaches) and publishes its final
// position; once enough have, the best takes the key without waiting for the lease, by a
// transaction that fails if the key was written since it was read (ClusterStore::
// TakeOverLeader; the old node rewrites it before its server becomes writable). Two rules:
// DecideSyncTakeover and DecideAsyncTakeover. nullopt: the usual follower rules apply.
//
// Part of the pure decision core: no I/O, no clock.
#pragma once

#include <optional>

#include "ha/decision.h"
#include "ha/observation.h"

namespace baton {

std::optional<Decision> DecideEarlyTakeover(const Observation& o, const LeaderKey& leader);

}  // namespace baton
