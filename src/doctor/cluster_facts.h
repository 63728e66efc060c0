// ClusterFacts: what `baton doctor` found when it looked at a cluster, gathered live (etcd, every
// member's PostgreSQL and agent) before any check judges it.
//
// Plain values. Gathering (doctor/gather.h) fills them with what answered and, for what did not,
// the reason; the checks (doctor/checks.h) read nothing else, so each check can be tried on facts
// made by hand.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/lsn.h"
#include "dcs/cluster_store.h"

namespace baton {

// One etcd endpoint, read on its own.
struct EtcdProbe {
  std::string endpoint;
  std::string error;  // "" = it answered a read
  double latency_ms = 0;
};

// A WAL sender on the primary (pg_stat_replication).
struct SenderRow {
  std::string application_name;
  std::string state;       // streaming, catchup, ...
  std::string sync_state;  // async, sync, quorum, potential
  Lsn replay_lsn;
  double replay_lag_seconds = 0;  // 0 when PostgreSQL reports none (caught up)
};

// A replication slot on the primary.
struct SlotRow {
  std::string name;
  bool active = false;
  uint64_t retained_bytes = 0;  // WAL kept for it, from restart_lsn to the current position
  bool lost = false;            // wal_status 'lost': the WAL it needs is gone
};

// A timeline switch in the primary's history file: timeline `timeline` ended at `switch_lsn`.
struct TimelineSwitch {
  uint32_t timeline = 0;
  Lsn switch_lsn;
};

// One member's PostgreSQL and agent, as they answered.
struct MemberProbe {
  std::string pg_error;  // "" = PostgreSQL answered
  bool in_recovery = false;
  uint32_t timeline = 0;
  Lsn lsn;         // primary: current WAL position; replica: furthest received or replayed
  Lsn replay_lsn;  // replica
  std::string receiver_status;  // replica: pg_stat_wal_receiver.status ("" = no receiver)
  std::string sender_address;   // replica: host:port its WAL receiver streams from
  // Primary only. details_read: every one of these was read; else details_error says why not.
  bool details_read = false;
  std::string details_error;
  std::vector<SenderRow> senders;
  std::vector<SlotRow> slots;
  std::vector<TimelineSwitch> history;  // its timeline history, oldest first
  std::string synchronous_standby_names;
  std::string archive_mode;  // "off", "on", "always"
  int64_t archived_count = 0;
  int64_t archive_failed_count = 0;
  bool archive_failing = false;  // the last attempt failed (after the last success)
  std::string last_failed_wal;

  std::string api_error;               // "" = the agent's REST API answered
  std::optional<bool> watchdog_armed;  // nullopt: the agent does not say
};

// A row written on the primary and read back on each replica (--smoke-write).
struct SmokeWrite {
  std::string error;  // "" = the row was written
  double write_ms = 0;
  std::map<std::string, std::optional<double>> seen_after_ms;  // replica -> nullopt: never seen
  std::map<std::string, std::string> read_error;               // replica -> its last error
};

struct ClusterFacts {
  std::string cluster;
  std::string view_error;  // "" = the cluster was read from etcd
  ClusterView view;
  double view_latency_ms = 0;
  std::vector<EtcdProbe> etcd;
  std::map<std::string, MemberProbe> members;  // every member with a record
  uint64_t maximum_lag_bytes = 0;              // maximum_lag_on_failover in effect
  std::string synchronous_mode;                // "off", "on", "quorum"
  std::optional<SmokeWrite> smoke;
};

}  // namespace baton
