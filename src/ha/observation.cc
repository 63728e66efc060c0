#include "ha/observation.h"

namespace baton {

MemberInfo DescribeSelf(const Observation& o) {
  const InstanceState& inst = o.instance;
  MemberInfo m;
  m.name = o.self;
  m.nofailover = o.tags.nofailover;
  m.priority = o.tags.priority;
  if (!inst.data_present) {
    m.state = MemberState::kEmpty;
  } else if (!inst.running) {
    m.state = MemberState::kStopped;
  } else if (!inst.accepting) {
    m.state = inst.unresponsive ? MemberState::kUnresponsive : MemberState::kStarting;
  } else {
    m.role = inst.role == PgRole::kPrimary ? MemberRole::kPrimary : MemberRole::kReplica;
    m.state = MemberState::kRunning;
    m.timeline = inst.timeline;
    m.lsn = inst.lsn;
    m.replay_lsn = inst.replay_lsn;
    m.timeline_start = inst.timeline_start;
    m.streaming = inst.streaming;
    m.replay_timestamp = inst.replay_timestamp;
    m.replication = inst.replication;
  }
  m.note = inst.problem;
  if (o.dcs_reachable && o.cluster.leader) m.leader_seen = o.cluster.leader->name;
  m.detached_from = o.detached_from;
  return m;
}

}  // namespace baton
