// AgentMemory: what the agent remembers from one tick to the next, and the pure rule that
// updates it from what a tick sensed.
//
// The decision core is handed moments, not histories: "the primary has been down since", "no
// leader since", "synchronous_standby_names in effect since this WAL position". Remember() keeps
// those from the observation of each tick alone (the time comes in it, as Observation::now), so
// every timer can be tested with durations and no clock; the agent hands them to the next
// decision as Observation::memory. Plain values, no I/O.
#pragma once

#include <optional>
#include <string>

#include "core/clock.h"
#include "core/lsn.h"

namespace baton {

struct Observation;

struct AgentMemory {
  // While leader and not paused: since when PostgreSQL is down, and since when it does not answer.
  std::optional<TimePoint> primary_down_since;
  std::optional<TimePoint> unresponsive_since;
  // As leader: whether its PostgreSQL ran at the last tick, when it last crashed (stopped
  // running without a clean shutdown, outside maintenance mode), and when it crashed before
  // that (a crash loop when the two are close: see decide.cc). Kept in memory only: a new
  // agent starts with none.
  bool primary_running = false;
  std::optional<TimePoint> primary_crashed_at;
  std::optional<TimePoint> primary_crashed_before;
  std::optional<TimePoint> leaderless_since;  // etcd showed no leader from then on
  std::optional<TimePoint> handover_since;    // this node was handed the key by a switchover
  std::optional<TimePoint> leader_since;      // leader and running as a writable primary
  // synchronous_standby_names as last probed, whether an earlier probe already saw it in effect,
  // and the WAL position of the first probe after that one: commits past it waited for the
  // standbys it lists.
  std::string standby_names;
  bool standby_names_seen = false;
  std::optional<Lsn> standby_names_settled_at;
  std::string previous_leader;       // the last other member seen holding the key
  double leader_last_seen_unix = 0;  // wall time of that leader's last published status
};

// The memory after a tick that sensed `sensed` (its now, etcd view and probe; sensed.self is
// this node). Fields etcd alone can tell are kept as they were while etcd is unreachable.
AgentMemory Remember(AgentMemory memory, const Observation& sensed);

}  // namespace baton
