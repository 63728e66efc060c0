#include "ha/memory.h"

#include "ha/observation.h"
#include "ha/sync_standbys.h"

namespace baton {

namespace {

// `since` holds the moment `condition` first held, and nothing while it does not.
void Track(std::optional<TimePoint>& since, bool condition, TimePoint now) {
  if (!condition) {
    since.reset();
  } else if (!since) {
    since = now;
  }
}

void TrackStandbyNames(AgentMemory& memory, const InstanceState& instance) {
  const bool primary = instance.accepting && instance.role == PgRole::kPrimary;
  const std::string& names = instance.synchronous_standby_names;
  const bool in_effect = primary && WalSendersFollow(names, instance.replication);
  if (!in_effect || names != memory.standby_names) {
    // Not (yet) in effect as far as this probe shows: start over from the next probe.
    memory.standby_names = names;
    memory.standby_names_seen = in_effect;
    memory.standby_names_settled_at.reset();
    return;
  }
  // In effect since an earlier probe: this probe's position was taken after that.
  if (!memory.standby_names_seen) {
    memory.standby_names_seen = true;
  } else if (!memory.standby_names_settled_at) {
    memory.standby_names_settled_at = instance.lsn;
  }
}

}  // namespace

AgentMemory Remember(AgentMemory memory, const Observation& sensed) {
  const TimePoint now = sensed.now;
  const ClusterView& cluster = sensed.cluster;
  const InstanceState& instance = sensed.instance;
  const bool leader = sensed.HoldsKey();
  const bool writable_primary = instance.accepting && instance.role == PgRole::kPrimary;

  TrackStandbyNames(memory, instance);
  // The restart budget runs only while the agent may act on it (not in maintenance mode).
  Track(memory.primary_down_since, leader && !instance.running && !cluster.paused, now);
  // A crash: the server this node ran as leader stopped without a clean shutdown while it still
  // leads (a fenced former leader's did not crash). While etcd is unreachable the node counts as
  // the leader it last was.
  const bool paused = sensed.dcs_reachable && cluster.paused;
  const bool still_leader = !sensed.dcs_reachable || leader;
  const bool crashed =
      memory.primary_running && still_leader && !instance.running && !instance.clean_shutdown;
  if (crashed && !paused) {
    memory.primary_crashed_before = memory.primary_crashed_at;
    memory.primary_crashed_at = now;
  }
  memory.primary_running =
      instance.running && (sensed.dcs_reachable ? leader : memory.primary_running);
  Track(memory.unresponsive_since, leader && instance.unresponsive && !cluster.paused, now);
  // Unreachable etcd says nothing of the key: what only etcd can tell is kept as it was.
  if (sensed.dcs_reachable) {
    Track(memory.leaderless_since, !cluster.leader.has_value(), now);
    if (cluster.leader && cluster.leader->name != sensed.self) {
      memory.previous_leader = cluster.leader->name;
    }
    const auto& switchover = cluster.switchover;
    const bool handed_over =
        leader && switchover && switchover->handing_over && switchover->to == sensed.self;
    Track(memory.handover_since, handed_over, now);
    if (cluster.last_leader) memory.leader_last_seen_unix = cluster.last_leader->time_unix;
    Track(memory.leader_since, leader && writable_primary, now);
  }
  return memory;
}

}  // namespace baton
