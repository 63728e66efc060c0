#include "ha/observation.h"

namespace baton {

MemberInfo DescribeSelf(const Observation& o) {
  const InstanceState& inst = o.instance;
  MemberInfo m;
  m.name = o.self;
  m.nofailover = o.tags.nofailover;
  m.priority = o.tags.priority;
  if (!inst.data_present) {
    m.role = "unknown";
    m.state = "empty";
  } else if (!inst.running) {
    m.role = "unknown";
    m.state = "stopped";
  } else if (!inst.accepting) {
    m.role = "unknown";
    m.state = inst.unresponsive ? "unresponsive" : "starting";
  } else {
    m.role = PgRoleName(inst.role);
    m.state = "running";
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
