// PgBouncerControl: keeps one [databases] entry of a running PgBouncer pointed at the writer,
// so clients of the pooler see a pause, not an error, when the leader changes.
//
// Told every read of the cluster (RouteFollower), it:
//   - PAUSEs the entry as soon as a switchover is due (before the leader stops, so every
//     transaction in flight completes on it) or when there is no writer (clients wait);
//   - once a new writer runs as primary, rewrites `databases_file` (pgbouncer.ini %includes
//     it; written to a temporary file, then renamed), RELOADs, and RESUMEs;
//   - RESUMEs without a change when a pending switchover ends with the same writer (refused,
//     cancelled).
// Commands go to the admin console through `admin` (Console() opens a real one); a failed
// command is tried again at the next read. Not thread-safe: one follower thread calls it.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "core/config.h"
#include "core/status.h"
#include "dcs/cluster_store.h"
#include "router/routes.h"

namespace baton {

class PgBouncerControl {
 public:
  // Runs one admin console command ("PAUSE app", "RELOAD", ...).
  using Admin = std::function<Status(const std::string& command)>;
  PgBouncerControl(PgBouncerSettings settings, Admin admin);

  // PgBouncer's admin console at settings.admin, a new libpq connection per command, each
  // bounded by `timeout` (a PAUSE that waits longer for transactions still pauses).
  static Admin Console(const PgBouncerSettings& settings, Duration timeout);

  // `view` is nullptr when the cluster could not be read.
  void OnRoutes(const Routes& routes, const ClusterView* view);

  bool paused() const { return paused_ == true; }

 private:
  Status Pause();
  Status PointAt(const Backend& writer);
  Status Resume();

  const PgBouncerSettings settings_;
  const Admin admin_;
  std::optional<Backend> target_;
  // Unknown at first (a previous run may have left it either way): paused while there is no
  // writer, resumed once one is known.
  std::optional<bool> paused_;
  std::optional<Backend> paused_writer_;  // the writer when a switchover paused the entry
};

}  // namespace baton
