#include "pg/postgres_instance.h"

#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/wall_time.h"
#include "pg/pg_files.h"
#include "pg/postmaster.h"
#include "pg/server_state_query.h"

namespace baton {

namespace fs = std::filesystem;

const char* PgRoleName(PgRole role) {
  return role == PgRole::kPrimary ? "primary" : "replica";
}

namespace {

constexpr auto kStartTimeout = std::chrono::seconds(60);
constexpr auto kStopTimeout = std::chrono::seconds(60);
// How long an immediate stop may take before the server is killed instead (a stopped or hung
// postmaster never acts on it).
constexpr auto kImmediateStopGrace = std::chrono::seconds(3);
// CHECKPOINT and role creation may legitimately take long; they still must not hang forever.
constexpr auto kCommandTimeout = std::chrono::seconds(60);
constexpr auto kInitdbTimeout = std::chrono::minutes(5);
constexpr auto kCloneTimeout = std::chrono::hours(6);

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Status WriteFile(const std::string& path, const std::string& text, mode_t mode = 0600) {
  const std::string tmp = path + ".baton-tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out.flush()) return Internal(fmt::format("cannot write {}", tmp));
  }
  chmod(tmp.c_str(), mode);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Internal(fmt::format("rename {}: {}", path, ec.message()));
  return Status::Ok();
}

Status CommandStatus(const Result<CommandResult>& result, const std::string& what) {
  if (!result.ok()) return result.status().WithContext(what);
  if (result->exit_code != 0) {
    std::string output = result->output;
    if (output.size() > 2000) output = "..." + output.substr(output.size() - 2000);
    return Internal(fmt::format("{} exited with {}: {}", what, result->exit_code, output));
  }
  return Status::Ok();
}

// Long enough for any probe of a healthy server, short enough that a few timed-out probes fit
// well within one lease deadline.
Duration ProbeTimeout(const Timing& timing) {
  return std::min<Duration>(std::chrono::seconds(2),
                            std::chrono::milliseconds(250) * timing.ttl_seconds);
}

}  // namespace

PostgresInstance::PostgresInstance(Config config)
    : config_(std::move(config)),
      probe_timeout_(ProbeTimeout(config_.timing)),
      // Kept as the last agent left it: a rewrite must never quietly drop the synchronous
      // standbys a stored SyncRecord relies on.
      synchronous_standby_names_(SynchronousStandbyNamesIn(ReadFile(Path("postgresql.conf")))) {}

PostgresInstance::~PostgresInstance() {
  std::unique_ptr<ExitWatch> watch;
  {
    std::lock_guard lock(callback_mu_);
    watch = std::move(exit_watch_);
  }
}

void PostgresInstance::SetExitCallback(std::function<void()> on_exit) {
  std::lock_guard lock(callback_mu_);
  on_exit_ = std::move(on_exit);
}

void PostgresInstance::WatchPostmaster(pid_t pid) {
  std::unique_ptr<ExitWatch> replaced;  // joined after the lock is released: its thread may be
                                        // waiting for that lock to run the callback
  std::lock_guard lock(callback_mu_);
  if (exit_watch_ && exit_watch_->pid() == pid) return;
  replaced = std::move(exit_watch_);
  exit_watch_ = std::make_unique<ExitWatch>(pid, [this] {
    std::function<void()> callback;
    {
      std::lock_guard inner(callback_mu_);
      callback = on_exit_;
    }
    if (callback) callback();
  });
}

std::string PostgresInstance::LocalConnInfo() const {
  return ConnInfo({{"host", config_.pg_connect.host},
                   {"port", std::to_string(config_.pg_connect.port)},
                   {"user", config_.superuser.username},
                   {"password", config_.superuser.password},
                   {"dbname", "postgres"},
                   {"connect_timeout", "2"},
                   {"application_name", "baton"}});
}

pid_t PostgresInstance::FindPostmaster() {
  std::error_code exists_error;
  if (!fs::exists(Path("postmaster.pid"), exists_error)) return 0;
  // After a reboot the pid in a stale file may belong to something else: it must be postgres.
  if (const pid_t pid = LivePostmaster(config_.data_dir); pid != 0) return pid;
  // A postmaster that died without cleaning up (kill -9, or a zombie nobody reaps) would make
  // the next start refuse with "lock file already exists".
  std::error_code ec;
  fs::remove(Path("postmaster.pid"), ec);
  return 0;
}

pid_t PostgresInstance::postmaster_pid() {
  return FindPostmaster();
}

PgConnection* PostgresInstance::Connection() {
  if (connection_ && connection_->healthy()) return connection_.get();
  connection_.reset();
  auto connected = PgConnection::Connect(LocalConnInfo(), probe_timeout_);
  connect_error_ = connected.status();
  if (!connected.ok()) return nullptr;
  connection_ = std::move(connected).value();
  return connection_.get();
}

InstanceState PostgresInstance::Probe() {
  InstanceState state;
  std::error_code exists_error;
  state.data_present = fs::exists(Path("PG_VERSION"), exists_error);
  if (!state.data_present) {
    state.problem = "data directory is empty";
    return state;
  }
  state.configured_upstream = UpstreamInAutoConf(ReadFile(Path("postgresql.auto.conf")));
  const pid_t pid = FindPostmaster();
  state.running = pid != 0;
  if (!state.running) {
    connection_.reset();
    state.problem = "postgres is not running";
    ReadControlData(&state);
    state.timeline = std::max(state.timeline, known_timeline_);
    return state;
  }
  WatchPostmaster(pid);
  PgConnection* conn = Connection();
  if (conn == nullptr) {
    state.unresponsive = connect_error_.code() == StatusCode::kTimeout;
    state.problem = state.unresponsive ? "postgres does not answer: " + connect_error_.message()
                                       : "postgres does not accept connections";
    return state;
  }
  auto rows = conn->Query(std::string("SELECT ") + kServerStateColumns +
                          ", to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', "
                          "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')");
  if (!rows.ok() || rows->size() != 1) {
    state.unresponsive = !rows.ok() && rows.status().code() == StatusCode::kTimeout;
    state.problem = rows.ok() ? "probe returned no row" : rows.status().message();
    return state;
  }
  const PgRow& row = rows->front();
  state.accepting = true;
  state.role = row[0].value_or("t") == "t" ? PgRole::kReplica : PgRole::kPrimary;
  state.lsn = Lsn::Parse(row[1].value_or("")).value_or(Lsn{});
  state.replay_lsn = Lsn::Parse(row[2].value_or("")).value_or(state.lsn);
  state.timeline = static_cast<uint32_t>(std::strtoul(row[3].value_or("0").c_str(), nullptr, 10));
  state.streaming = row[4].value_or("") == "streaming";
  state.replay_timestamp = row[5].value_or("");
  known_timeline_ = std::max(known_timeline_, state.timeline);
  state.timeline = known_timeline_;
  auto standby_names = conn->Query("SHOW synchronous_standby_names");
  if (standby_names.ok() && standby_names->size() == 1) {
    state.synchronous_standby_names = standby_names->front()[0].value_or("");
  }
  auto pending = conn->Query("SELECT name FROM pg_settings WHERE pending_restart ORDER BY name");
  if (pending.ok()) {
    for (const PgRow& p : *pending) state.pending_restart.push_back(p[0].value_or(""));
  }
  if (state.role == PgRole::kPrimary) {
    state.replay_lsn = state.lsn;
    state.timeline_start = TimelineStart(state.timeline);
    auto peers = conn->Query(
        "SELECT application_name, state, replay_lsn,"
        " COALESCE(EXTRACT(epoch FROM replay_lag), 0), flush_lsn, sync_state"
        " FROM pg_stat_replication");
    if (peers.ok()) {
      for (const PgRow& p : *peers) {
        state.replication.push_back(
            {p[0].value_or(""), p[1].value_or(""), Lsn::Parse(p[2].value_or("")).value_or(Lsn{}),
             std::strtod(p[3].value_or("0").c_str(), nullptr),
             Lsn::Parse(p[4].value_or("")).value_or(Lsn{}), p[5].value_or("")});
      }
    }
  }
  return state;
}

void PostgresInstance::ReadControlData(InstanceState* state) {
  auto result = RunCommand({Bin("pg_controldata"), "-D", config_.data_dir}, {{"LC_ALL", "C"}},
                           std::chrono::seconds(10));
  if (!result.ok() || result->exit_code != 0) return;
  std::istringstream lines(result->output);
  std::string line;
  while (std::getline(lines, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    if (key == "Database cluster state") {
      state->stopped_in_recovery = value.find("recovery") != std::string::npos;
      state->clean_shutdown = value == "shut down";
    } else if (key == "Latest checkpoint's TimeLineID") {
      state->timeline = static_cast<uint32_t>(std::strtoul(value.c_str(), nullptr, 10));
    } else if (key == "Latest checkpoint location") {
      state->lsn = Lsn::Parse(value).value_or(Lsn{});
    }
  }
}

Status PostgresInstance::WriteConfigFiles(PgRole role, const std::optional<Upstream>& upstream) {
  if (Status s = WriteFile(Path("postgresql.conf"),
                           RenderPostgresqlConf(config_, synchronous_standby_names_));
      !s.ok()) {
    return s;
  }
  if (Status s = WriteFile(Path("pg_hba.conf"), RenderPgHba(config_)); !s.ok()) return s;
  const std::string auto_conf = Path("postgresql.auto.conf");
  const auto follow = role == PgRole::kReplica ? upstream : std::nullopt;
  if (Status s = WriteFile(auto_conf, RewriteAutoConf(ReadFile(auto_conf), config_, follow));
      !s.ok()) {
    return s;
  }
  std::error_code ec;
  if (role == PgRole::kReplica) {
    return WriteFile(Path("standby.signal"), "");
  }
  fs::remove(Path("standby.signal"), ec);
  return Status::Ok();
}

std::string PostgresInstance::LogTail() const {
  std::string log = ReadFile(log_path());
  if (log.size() > 1500) log = "..." + log.substr(log.size() - 1500);
  return log;
}

Status PostgresInstance::WaitUntilAccepting(pid_t pid, Duration timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    ReapIfChild(pid);
    if (!ProcessAlive(pid)) {
      return Internal(
          fmt::format("postgres exited during start-up; log {}: {}", log_path(), LogTail()));
    }
    if (Connection() != nullptr) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // poll interval, not a wait
  }
  return Timeout(
      fmt::format("postgres did not accept connections within {:.0f} s", Seconds(timeout)));
}

Status PostgresInstance::Start(PgRole role, const std::optional<Upstream>& upstream) {
  if (FindPostmaster() != 0) return FailedPrecondition("postgres is already running");
  if (Status s = WriteConfigFiles(role, upstream); !s.ok()) return s;
  // postgres insists on 0700 (or 0750) for its data directory.
  chmod(config_.data_dir.c_str(), 0700);
  // A killed postmaster leaves its socket's lock file; postgres refuses to start while the pid
  // in it is alive, and after a kill -9 that pid may already belong to another process. The
  // file names its data directory (second line): ours, with no postmaster running, is stale.
  const std::string socket_lock =
      fmt::format("{}/.s.PGSQL.{}.lock", config_.socket_dir, config_.pg_listen.port);
  std::istringstream lock_lines(ReadFile(socket_lock));
  std::string lock_pid, lock_data_dir;
  std::getline(lock_lines, lock_pid);
  std::getline(lock_lines, lock_data_dir);
  std::error_code ec;
  if (lock_data_dir == config_.data_dir) fs::remove(socket_lock, ec);
  auto pid = SpawnDetached({Bin("postgres"), "-D", config_.data_dir}, log_path());
  if (!pid.ok()) return pid.status();
  spdlog::info("started postgres (pid {}) as {}{}", *pid, PgRoleName(role),
               upstream && role == PgRole::kReplica ? " following " + upstream->name : "");
  WatchPostmaster(*pid);
  return WaitUntilAccepting(*pid, kStartTimeout);
}

Status PostgresInstance::Stop(StopMode mode) {
  const pid_t pid = FindPostmaster();
  connection_.reset();
  if (pid == 0) return Status::Ok();
  if (mode == StopMode::kKill) {
    const int killed = KillServer(pid, kStopTimeout);
    if (ProcessAlive(pid)) {
      return Timeout(fmt::format("postgres (pid {}) survived SIGKILL for {:.0f} s", pid,
                                 Seconds(kStopTimeout)));
    }
    FindPostmaster();  // clears the stale postmaster.pid
    spdlog::warn("killed postgres (pid {}) and {} other process(es)", pid, std::max(killed - 1, 0));
    return Status::Ok();
  }
  kill(pid, mode == StopMode::kFast ? SIGINT : SIGQUIT);
  if (WaitForExit(pid, mode == StopMode::kFast ? kStopTimeout : kImmediateStopGrace)) {
    FindPostmaster();  // clears a stale postmaster.pid
    spdlog::info("stopped postgres (pid {}, {})", pid,
                 mode == StopMode::kFast ? "fast" : "immediate");
    return Status::Ok();
  }
  if (mode == StopMode::kImmediate) {
    spdlog::warn("postgres (pid {}) ignored an immediate stop for {:.0f} s: killing it", pid,
                 Seconds(kImmediateStopGrace));
    return Stop(StopMode::kKill);
  }
  return Timeout(
      fmt::format("postgres (pid {}) did not stop within {:.0f} s", pid, Seconds(kStopTimeout)));
}

Status PostgresInstance::ArmFence(TimePoint deadline) {
  EndLeftoverWatchdog();
  if (watchdog_) {
    Status armed = watchdog_->Arm(deadline);
    if (armed.ok()) return armed;
    spdlog::warn("{}; starting another", armed.ToString());
    kill(watchdog_->pid(), SIGKILL);  // if merely stuck, it must never wake with an old deadline
    watchdog_.reset();
  }
  auto started = FenceWatchdog::Start(config_.data_dir, config_.node_name);
  if (!started.ok()) return started.status();
  watchdog_ = std::move(started).value();
  return watchdog_->Arm(deadline);
}

Status PostgresInstance::DisarmFence() {
  EndLeftoverWatchdog();
  if (!watchdog_) return Status::Ok();
  if (Status s = watchdog_->Disarm(); !s.ok()) {
    // One that takes no commands is ended: a watchdog that is gone enforces nothing.
    spdlog::warn("{}; ending it", s.ToString());
    kill(watchdog_->pid(), SIGKILL);
    watchdog_.reset();
  }
  return Status::Ok();
}

void PostgresInstance::EndLeftoverWatchdog() {
  if (leftover_watchdog_checked_) return;
  leftover_watchdog_checked_ = true;
  const pid_t leftover = FenceWatchdog::Find(config_.data_dir);
  if (leftover == 0) return;
  kill(leftover, SIGKILL);
  WaitForExit(leftover, std::chrono::seconds(5));
  spdlog::info("ended the watchdog (pid {}) left by a previous agent: this agent's loop takes over",
               leftover);
}

Status PostgresInstance::Checkpoint() {
  PgConnection* conn = Connection();
  if (conn == nullptr) return Unavailable("cannot connect to run CHECKPOINT");
  return conn->Execute("CHECKPOINT", kCommandTimeout);
}

Status PostgresInstance::Bootstrap() {
  std::error_code ec;
  fs::create_directories(config_.data_dir, ec);
  if (ec) return Internal(fmt::format("create {}: {}", config_.data_dir, ec.message()));
  if (!fs::is_empty(config_.data_dir)) {
    return FailedPrecondition(fmt::format("data directory {} is not empty", config_.data_dir));
  }
  const std::string pwfile = config_.data_dir + ".pwfile";
  if (Status s = WriteFile(pwfile, config_.superuser.password + "\n"); !s.ok()) return s;
  auto result = RunCommand({Bin("initdb"), "-D", config_.data_dir, "-U", config_.superuser.username,
                            "--pwfile=" + pwfile, "--data-checksums", "--auth-local=peer",
                            "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C"},
                           {}, kInitdbTimeout);
  fs::remove(pwfile, ec);
  if (Status s = CommandStatus(result, "initdb"); !s.ok()) return s;
  if (Status s = Start(PgRole::kPrimary, std::nullopt); !s.ok()) return s;
  return CreateReplicationRole();
}

Status PostgresInstance::CreateReplicationRole() {
  PgConnection* conn = Connection();
  if (conn == nullptr) return Unavailable("cannot connect to create the replication role");
  const std::string& user = config_.replication.username;
  auto exists =
      conn->Query("SELECT 1 FROM pg_roles WHERE rolname = " + conn->Literal(user), kCommandTimeout);
  if (!exists.ok()) return exists.status();
  const std::string verb = exists->empty() ? "CREATE" : "ALTER";
  return conn->Execute(
      fmt::format("{} ROLE {} WITH REPLICATION LOGIN PASSWORD {}", verb, conn->Identifier(user),
                  conn->Literal(config_.replication.password)),
      kCommandTimeout);
}

Status PostgresInstance::CloneFrom(const Upstream& upstream,
                                   const std::function<void(const std::string&)>& on_progress) {
  std::error_code ec;
  fs::create_directories(config_.data_dir, ec);
  if (!fs::is_empty(config_.data_dir, ec)) {
    return FailedPrecondition(fmt::format("data directory {} is not empty", config_.data_dir));
  }
  chmod(config_.data_dir.c_str(), 0700);
  spdlog::info("cloning from {} ({}) with pg_basebackup", upstream.name,
               upstream.address.ToString());
  auto result =
      RunCommand({Bin("pg_basebackup"), "-D", config_.data_dir, "-h", upstream.address.host, "-p",
                  std::to_string(upstream.address.port), "-U", config_.replication.username, "-X",
                  "stream", "-c", "fast", "--no-password", "--progress"},
                 {{"PGPASSWORD", config_.replication.password}, {"PGCONNECT_TIMEOUT", "3"}},
                 kCloneTimeout, [&on_progress](const std::string& line) {
                   // "  1234/56789 kB (2%), 0/1 tablespace"
                   const auto open = line.find('(');
                   const auto close = line.find(')', open);
                   const auto kb = line.find(" kB");
                   if (!on_progress || open == std::string::npos || close == std::string::npos ||
                       kb == std::string::npos) {
                     return;
                   }
                   const auto first = line.find_first_not_of(' ');
                   on_progress(fmt::format("{} ({} kB)", line.substr(open + 1, close - open - 1),
                                           line.substr(first, kb - first)));
                 });
  Status status = CommandStatus(result, "pg_basebackup");
  if (!status.ok()) {
    // Leave the directory empty so the next attempt can start over.
    for (const auto& entry : fs::directory_iterator(config_.data_dir, ec)) {
      fs::remove_all(entry.path(), ec);
    }
  }
  return status;
}

Status PostgresInstance::Promote() {
  auto result = RunCommand({Bin("pg_ctl"), "promote", "-w", "-t", "60", "-D", config_.data_dir}, {},
                           std::chrono::seconds(70));
  if (Status s = CommandStatus(result, "pg_ctl promote"); !s.ok()) return s;
  const std::string auto_conf = Path("postgresql.auto.conf");
  return WriteFile(auto_conf, RewriteAutoConf(ReadFile(auto_conf), config_, std::nullopt));
}

Status PostgresInstance::Follow(const Upstream& upstream) {
  const std::string auto_conf = Path("postgresql.auto.conf");
  if (Status s = WriteFile(auto_conf, RewriteAutoConf(ReadFile(auto_conf), config_, upstream));
      !s.ok()) {
    return s;
  }
  const pid_t pid = FindPostmaster();
  if (pid == 0) return FailedPrecondition("postgres is not running");
  if (kill(pid, SIGHUP) != 0) return Internal("cannot signal postgres to reload");
  spdlog::info("now following {} ({}) after a reload", upstream.name, upstream.address.ToString());
  return Status::Ok();
}

Status PostgresInstance::Detach() {
  const std::string auto_conf = Path("postgresql.auto.conf");
  if (Status s = WriteFile(auto_conf, RewriteAutoConf(ReadFile(auto_conf), config_, std::nullopt));
      !s.ok()) {
    return s;
  }
  const pid_t pid = FindPostmaster();
  if (pid == 0) return FailedPrecondition("postgres is not running");
  if (kill(pid, SIGHUP) != 0) return Internal("cannot signal postgres to reload");
  // The startup process ends the WAL receiver once it has reread primary_conninfo. A receiver
  // that was being started (with the old conninfo) when the reload came shows up within a few
  // milliseconds, so none must be seen twice, 100 ms apart.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  bool none_seen = false;
  auto none_since = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() < deadline) {
    PgConnection* conn = Connection();
    if (conn == nullptr) return Unavailable("cannot connect to check the WAL receiver");
    auto receivers = conn->Query("SELECT count(*) FROM pg_stat_wal_receiver");
    if (!receivers.ok()) return receivers.status();
    const auto now = std::chrono::steady_clock::now();
    if (receivers->front()[0].value_or("1") != "0") {
      none_seen = false;
    } else if (!none_seen) {
      none_seen = true;
      none_since = now;
    } else if (now - none_since >= std::chrono::milliseconds(100)) {
      spdlog::info("detached: no WAL receiver, nothing more is confirmed upstream");
      return Status::Ok();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // poll interval, not a wait
  }
  return Timeout("the WAL receiver did not stop within 5 s after primary_conninfo was removed");
}

Status PostgresInstance::SetSynchronousStandbyNames(const std::string& value) {
  synchronous_standby_names_ = value;
  auto reloaded = RewritePostgresqlConf();
  if (!reloaded.ok()) return reloaded.status();
  spdlog::info("synchronous_standby_names = '{}'{}", value, *reloaded ? " (reloaded)" : "");
  return Status::Ok();
}

Result<bool> PostgresInstance::RewritePostgresqlConf() {
  std::error_code ec;
  if (!fs::exists(Path("PG_VERSION"), ec)) return false;  // written at the next start
  if (Status s = WriteFile(Path("postgresql.conf"),
                           RenderPostgresqlConf(config_, synchronous_standby_names_));
      !s.ok()) {
    return s;
  }
  const pid_t pid = FindPostmaster();
  if (pid != 0 && kill(pid, SIGHUP) != 0) return Internal("cannot signal postgres to reload");
  return pid != 0;
}

Lsn PostgresInstance::TimelineStart(uint32_t timeline) const {
  // Each line of a history file: "<parent timeline>\t<switch LSN>\t<reason>"; the last line
  // is the switch into `timeline`.
  std::ifstream in(Path(fmt::format("pg_wal/{:08X}.history", timeline)));
  std::string line;
  Lsn start;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string parent, lsn;
    if (fields >> parent >> lsn) start = Lsn::Parse(lsn).value_or(start);
  }
  return start;
}

Status PostgresInstance::Rewind(const Upstream& upstream) {
  if (Status s = Stop(StopMode::kFast); !s.ok()) return s;
  // pg_rewind first finishes crash recovery in single-user mode, which refuses standby mode.
  std::error_code ec;
  fs::remove(Path("standby.signal"), ec);
  fs::remove(Path("recovery.signal"), ec);
  known_timeline_ = 0;
  const std::string source = ConnInfo({{"host", upstream.address.host},
                                       {"port", std::to_string(upstream.address.port)},
                                       {"user", config_.superuser.username},
                                       {"dbname", "postgres"},
                                       {"connect_timeout", "3"}});
  // A freshly promoted source still has its old timeline in its control file until its first
  // checkpoint; pg_rewind would then see "the same timeline" and skip a needed rewind.
  auto source_conn = PgConnection::Connect(
      source + " " + ConnInfo({{"password", config_.superuser.password}}), std::chrono::seconds(3));
  if (!source_conn.ok()) return source_conn.status().WithContext("connecting to the rewind source");
  if (Status s = (*source_conn)->Execute("CHECKPOINT", kCommandTimeout); !s.ok()) {
    // Nothing was changed here: report it as the source being unavailable, so the caller
    // retries instead of falling back to a re-clone.
    return Unavailable("CHECKPOINT on the rewind source: " + s.message());
  }
  spdlog::info("pg_rewind from {} ({})", upstream.name, upstream.address.ToString());
  auto result = RunCommand(
      {Bin("pg_rewind"), "-D", config_.data_dir, "--source-server=" + source, "--progress"},
      {{"PGPASSWORD", config_.superuser.password}}, kCloneTimeout,
      [](const std::string& line) { spdlog::info("pg_rewind: {}", line); });
  return CommandStatus(result, "pg_rewind");
}

Status PostgresInstance::Reconfigure(const std::map<std::string, std::string>& parameters) {
  config_.pg_parameters = parameters;
  auto reloaded = RewritePostgresqlConf();
  if (!reloaded.ok()) return reloaded.status();
  spdlog::info("postgresql.conf rewritten{}", *reloaded ? " and reloaded" : "");
  return Status::Ok();
}

Status PostgresInstance::RemoveData() {
  if (FindPostmaster() != 0) return FailedPrecondition("postgres is running");
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(config_.data_dir, ec)) {
    fs::remove_all(entry.path(), ec);
    if (ec) return Internal(fmt::format("remove {}: {}", entry.path().string(), ec.message()));
  }
  known_timeline_ = 0;
  spdlog::warn("removed the contents of {}", config_.data_dir);
  return Status::Ok();
}

Result<std::string> PostgresInstance::MoveAside() {
  if (FindPostmaster() != 0) return FailedPrecondition("postgres is running");
  const std::string aside = config_.data_dir + ".diverged-" + UtcFileStamp();
  std::error_code ec;
  fs::rename(config_.data_dir, aside, ec);
  known_timeline_ = 0;
  if (ec) return Internal(fmt::format("move {} aside: {}", config_.data_dir, ec.message()));
  fs::create_directory(config_.data_dir, ec);
  if (ec) return Internal(fmt::format("create {}: {}", config_.data_dir, ec.message()));
  chmod(config_.data_dir.c_str(), 0700);
  spdlog::warn("moved the data directory aside to {}", aside);
  return aside;
}

}  // namespace baton
