// Instance: the port through which the agent observes and controls its one PostgreSQL server.
//
// PostgresInstance is the real implementation (initdb, postgres, pg_basebackup, pg_ctl, libpq);
// FakeInstance (tests/unit) models the same state machine in memory for the decision tests.
// Every call blocks until done or its timeout. Not thread-safe: the agent loop owns it, apart
// from the exit callback, which fires on another thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "core/lsn.h"
#include "core/replication_peer.h"
#include "core/status.h"

namespace baton {

enum class PgRole { kPrimary, kReplica };
const char* PgRoleName(PgRole role);

// kFast: a clean shutdown. kImmediate: no shutdown checkpoint (crash recovery at the next
// start), escalating to kKill when the server does not react. kKill: SIGKILL to the postmaster
// and every backend; works on a server that does not answer, or is stopped (SIGSTOP).
enum class StopMode { kFast, kImmediate, kKill };

// The server a replica streams from.
struct Upstream {
  std::string name;  // node name of the leader
  HostPort address;  // where its PostgreSQL listens
};

// What one probe sees. Fields past `running` are meaningful only when `accepting`, except
// `timeline` and `lsn`, which for a stopped server come from pg_controldata (last checkpoint).
struct InstanceState {
  bool data_present = false;  // the data directory holds a cluster (PG_VERSION exists)
  bool running = false;       // a postmaster for this data directory is alive
  bool accepting = false;     // it answers queries
  bool unresponsive = false;  // it runs but answered no connection or query within the probe's
                              // timeout (stopped, hung), unlike a server that refuses
                              // connections while it starts
  PgRole role = PgRole::kReplica;
  uint32_t timeline = 0;
  Lsn lsn;         // primary: current WAL insert position; replica: furthest received or replayed
  Lsn replay_lsn;  // replica: last replayed
  bool streaming = false;
  std::string replay_timestamp;  // replica: commit time of the last replayed transaction (UTC)
  Lsn timeline_start;            // primary: where its current timeline began (0/0 on timeline 1)
  bool stopped_in_recovery = false;  // stopped server: its data was a replica's (pg_controldata)
  bool clean_shutdown = false;  // stopped server: a primary shut down cleanly; `lsn` is then its
                                // shutdown checkpoint, the last WAL record it wrote
  std::string configured_upstream;           // host:port in primary_conninfo, "" when none
  std::vector<ReplicationPeer> replication;  // primary: its standbys
  std::string synchronous_standby_names;     // the setting in effect (SHOW), when accepting
  std::vector<std::string> pending_restart;  // settings changed that wait for a restart
  std::string problem;                       // why it is not accepting, when it is not
};

class Instance {
 public:
  virtual ~Instance() = default;

  virtual InstanceState Probe() = 0;
  // initdb (with data checksums) into an empty data directory, start as primary, create the
  // replication role. Leaves the server running.
  virtual Status Bootstrap() = 0;
  // pg_basebackup from `upstream` into an empty data directory; does not start the server.
  // `on_progress` (optional) is called with a short progress text ("45% (1200/2700 kB)").
  virtual Status CloneFrom(const Upstream& upstream,
                           const std::function<void(const std::string&)>& on_progress) = 0;
  // Uses `parameters` for postgresql.conf from now on; a running server rewrites it and
  // reloads (settings that need a restart then show in InstanceState::pending_restart).
  virtual Status Reconfigure(const std::map<std::string, std::string>& parameters) = 0;
  // Writes baton's configuration and starts the server in `role` (a replica follows `upstream`,
  // when given). Returns once it accepts connections.
  virtual Status Start(PgRole role, const std::optional<Upstream>& upstream) = 0;
  virtual Status Stop(StopMode mode) = 0;
  // CHECKPOINT on the running server (so that a shutdown right after has little left to write).
  virtual Status Checkpoint() = 0;
  // Ends recovery; returns once the server is writable.
  virtual Status Promote() = 0;
  // Points a running replica at a new upstream with a reload, not a restart.
  virtual Status Follow(const Upstream& upstream) = 0;
  // A running replica stops replicating (primary_conninfo removed, reload). Returns once its
  // WAL receiver is gone, so it confirms nothing more to its old upstream.
  virtual Status Detach() = 0;
  // Sets synchronous_standby_names in postgresql.conf (kept across restarts) and reloads a
  // running server. Commits wait for the new set once every WAL sender has reloaded, which
  // Probe shows (synchronous_standby_names and each peer's sync_state).
  virtual Status SetSynchronousStandbyNames(const std::string& value) = 0;
  // Stops the server if it runs, then pg_rewind from `upstream` (crash recovery first if the
  // server did not stop cleanly). OK also when pg_rewind finds nothing to rewind. Unavailable
  // when `upstream` cannot be reached (nothing was changed); Internal when pg_rewind failed.
  virtual Status Rewind(const Upstream& upstream) = 0;
  // Renames the data directory to <data_dir>.diverged-<UTC time> (never deletes it) and leaves
  // an empty data directory. Returns the new name of the old directory.
  virtual Result<std::string> MoveAside() = 0;
  // Empties the data directory of a stopped server (for `baton reinit`).
  virtual Status RemoveData() = 0;
  // `on_exit` runs (on another thread) whenever the postmaster exits.
  virtual void SetExitCallback(std::function<void()> on_exit) = 0;

  // Fencing that does not depend on the caller staying alive or awake: if not re-armed before
  // `deadline` (monotonic clock), the server is killed at once (StopMode::kKill), even if the
  // caller is stopped, blocked or dead by then. Re-arming moves the deadline. The first call
  // of either also ends what a previous agent for this data directory left armed.
  virtual Status ArmFence(TimePoint deadline) = 0;
  virtual Status DisarmFence() = 0;
};

}  // namespace baton
