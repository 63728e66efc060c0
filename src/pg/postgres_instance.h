// PostgresInstance: the Instance port on a real PostgreSQL 15 server.
//
// The agent starts `postgres` as its own child (so it learns of its death at once through a
// pidfd) with stderr appended to <data_dir>.log. An agent restarted while its server runs
// adopts the postmaster from postmaster.pid instead of restarting it. Probes use one libpq
// connection, re-opened when it breaks; every connection attempt and probe query is bounded
// (min(2 s, ttl/4)), so a stopped or hung server shows as `unresponsive` instead of freezing the
// agent loop. Fencing deadlines go to a FenceWatchdog process, started at the first ArmFence.
// Not thread-safe (owned by the agent loop).
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>

#include "core/config.h"
#include "core/process.h"
#include "pg/fence_watchdog.h"
#include "pg/instance.h"
#include "pg/pg_connection.h"

namespace baton {

class PostgresInstance final : public Instance {
 public:
  explicit PostgresInstance(Config config);
  ~PostgresInstance() override;

  InstanceState Probe() override;
  Status Bootstrap() override;
  Status CloneFrom(const Upstream& upstream,
                   const std::function<void(const std::string&)>& on_progress) override;
  Status Reconfigure(const std::map<std::string, std::string>& parameters) override;
  Status Start(PgRole role, const std::optional<Upstream>& upstream) override;
  Status Stop(StopMode mode) override;
  Status Checkpoint() override;
  Status Promote() override;
  Status Follow(const Upstream& upstream) override;
  Status Detach() override;
  Status SetSynchronousStandbyNames(const std::string& value) override;
  Status Rewind(const Upstream& upstream) override;
  Result<std::string> MoveAside() override;
  Status RemoveData() override;
  void SetExitCallback(std::function<void()> on_exit) override;
  Status ArmFence(TimePoint deadline) override;
  Status DisarmFence() override;

  // The postmaster's pid, 0 when none runs.
  pid_t postmaster_pid();
  std::string log_path() const { return config_.data_dir + ".log"; }

 private:
  std::string Bin(const std::string& tool) const { return config_.bin_dir + "/" + tool; }
  std::string Path(const std::string& file) const { return config_.data_dir + "/" + file; }
  std::string LocalConnInfo() const;
  // Reads postmaster.pid; when the pid there is dead, removes the stale file and returns 0.
  pid_t FindPostmaster();
  void WatchPostmaster(pid_t pid);
  Status WriteConfigFiles(PgRole role, const std::optional<Upstream>& upstream);
  // Rewrites postgresql.conf (parameters and synchronous standbys) and reloads a running server.
  // True when a server was reloaded; false when none runs or there is no data yet.
  Result<bool> RewritePostgresqlConf();
  Status WaitUntilAccepting(pid_t pid, Duration timeout);
  // Once per agent: kills a fencing watchdog that a previous agent left for this data directory.
  void EndLeftoverWatchdog();
  Status CreateReplicationRole();
  // Timeline and checkpoint location of a stopped server, from pg_controldata.
  void ReadControlData(InstanceState* state);
  // The probe connection, opened within the probe timeout; nullptr when that failed, and
  // connect_error_ says why (Timeout: the server did not answer in time).
  PgConnection* Connection();
  std::string LogTail() const;

  // Where timeline `timeline` began, from pg_wal/<timeline>.history (0/0 for timeline 1).
  Lsn TimelineStart(uint32_t timeline) const;

  Config config_;  // pg_parameters change with Reconfigure
  const Duration probe_timeout_;
  std::string synchronous_standby_names_;  // written into postgresql.conf with the parameters
  std::unique_ptr<PgConnection> connection_;
  Status connect_error_;  // of the last connection attempt
  // The newest timeline this data directory is known to have streamed on. A replica's own view
  // (pg_control_checkpoint) only moves at restartpoints, and received_tli vanishes with the WAL
  // receiver, so without this a caught-up replica would look stale once its leader is gone.
  uint32_t known_timeline_ = 0;
  std::mutex callback_mu_;
  std::function<void()> on_exit_;
  std::unique_ptr<ExitWatch> exit_watch_;
  std::unique_ptr<FenceWatchdog> watchdog_;
  bool leftover_watchdog_checked_ = false;
};

}  // namespace baton
