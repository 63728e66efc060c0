#include "router/pgbouncer_control.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <fstream>

#include "core/wall_time.h"
#include "pg/pg_connection.h"

namespace baton {

namespace {

// A switchover the leader will carry out now (not one scheduled for later).
bool SwitchoverDue(const ClusterView* view) {
  if (view == nullptr || !view->switchover || !view->leader) return false;
  const SwitchoverRequest& request = *view->switchover;
  const bool from_leader = request.from.empty() || request.from == view->leader->name;
  return from_leader && (request.at_unix == 0 || request.at_unix <= UnixNow());
}

}  // namespace

PgBouncerControl::PgBouncerControl(PgBouncerSettings settings, Admin admin)
    : settings_(std::move(settings)), admin_(std::move(admin)) {}

PgBouncerControl::Admin PgBouncerControl::Console(const PgBouncerSettings& settings,
                                                  Duration timeout) {
  const std::string conninfo = ConnInfo({{"host", settings.admin.host},
                                         {"port", std::to_string(settings.admin.port)},
                                         {"user", settings.admin_user.username},
                                         {"password", settings.admin_user.password},
                                         {"dbname", "pgbouncer"}});
  return [conninfo, timeout](const std::string& command) -> Status {
    auto conn = PgConnection::Connect(conninfo, timeout);
    // Not reached, whatever the reason: nothing was asked of it (a command timing out is not).
    if (!conn.ok()) return Unavailable("pgbouncer admin console: " + conn.status().message());
    return (*conn)->Execute(command).WithContext("pgbouncer: " + command);
  };
}

void PgBouncerControl::OnRoutes(const Routes& routes, const ClusterView* view) {
  const bool switchover_due = SwitchoverDue(view);
  if (!routes.writer) {
    if (paused_ != true) (void)Pause();
    return;
  }
  if (switchover_due && paused_ != true) {
    if (Pause().ok()) paused_writer_ = routes.writer;
    return;
  }
  // Paused for a switchover that has not moved the writer yet: wait for it (or its end).
  if (paused_ == true && switchover_due && paused_writer_ == routes.writer) return;
  if (target_ != routes.writer && !PointAt(*routes.writer).ok()) return;
  if (paused_ != false) (void)Resume();
}

Status PgBouncerControl::Pause() {
  Status s = admin_("PAUSE " + settings_.database);
  // PAUSE takes effect at once and then waits for transactions in flight; past the console's
  // timeout the entry is paused all the same.
  const bool paused_anyway =
      s.code() == StatusCode::kTimeout || s.message().find("already") != std::string::npos;
  if (!s.ok() && !paused_anyway) {
    spdlog::warn("pgbouncer: {}", s.ToString());
    return s;
  }
  paused_ = true;
  paused_writer_.reset();
  spdlog::info("pgbouncer: paused {}", settings_.database);
  return Status::Ok();
}

Status PgBouncerControl::PointAt(const Backend& writer) {
  const std::string temporary = settings_.databases_file + ".baton-new";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << "; written by baton: the cluster's leader\n[databases]\n"
        << fmt::format("{} = host={} port={} dbname={}\n", settings_.database, writer.address.host,
                       writer.address.port, settings_.dbname);
    if (!out.flush()) {
      Status s = Internal("pgbouncer: cannot write " + temporary);
      spdlog::warn("{}", s.ToString());
      return s;
    }
  }
  if (std::rename(temporary.c_str(), settings_.databases_file.c_str()) != 0) {
    Status s = Internal("pgbouncer: cannot replace " + settings_.databases_file);
    spdlog::warn("{}", s.ToString());
    return s;
  }
  if (Status s = admin_("RELOAD"); !s.ok()) {
    spdlog::warn("pgbouncer: {}", s.ToString());
    return s;
  }
  target_ = writer;
  spdlog::info("pgbouncer: {} points at {} ({})", settings_.database, writer.name,
               writer.address.ToString());
  return Status::Ok();
}

Status PgBouncerControl::Resume() {
  Status s = admin_("RESUME " + settings_.database);
  if (!s.ok() && s.message().find("not paused") == std::string::npos) {
    spdlog::warn("pgbouncer: {}", s.ToString());
    return s;
  }
  paused_ = false;
  paused_writer_.reset();
  spdlog::info("pgbouncer: resumed {}", settings_.database);
  return Status::Ok();
}

}  // namespace baton
