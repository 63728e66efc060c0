// RouteFollower: tells a sink (the Router, PgBouncer's controller) where clients go, from a
// watch on the cluster's keys in the Dcs.
//
// A change of the leader key, a member record, /config or /switchover wakes its thread for one
// read of the cluster (changes that arrive meanwhile fold into that read); a read every
// `refresh` also runs, to catch what a broken watch missed. When the cluster cannot be read for
// longer than its lease TTL, the leader has fenced itself by then (docs/safety.md), so the
// routes lose their writer (the replicas keep taking reads), unless failsafe mode is on. The
// sink runs on the follower's thread after every read and tells what changed itself.
// Refresh() does one read on the calling thread (tests, with a simulated clock).
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "core/clock.h"
#include "core/config.h"
#include "dcs/cluster_store.h"
#include "dcs/dcs.h"
#include "router/routes.h"

namespace baton {

class RouteFollower {
 public:
  using Sink = std::function<void(const Routes& routes, const ClusterView* view)>;
  // `config` gives the cluster's name, the router's lag limit and the timing that /config
  // does not override.
  RouteFollower(Dcs& dcs, const Config& config, const Clock& clock, Sink sink);
  ~RouteFollower();  // stops
  RouteFollower(const RouteFollower&) = delete;
  RouteFollower& operator=(const RouteFollower&) = delete;

  // Reads now, then watches and reads on every relevant change, from a thread of its own.
  void Start(Duration refresh = std::chrono::seconds(1));
  void Stop();
  // One read of the cluster; the sink hears of a change (view = nullptr when unreadable).
  void Refresh();

 private:
  void Loop(Duration refresh);

  const Config config_;
  const Clock& clock_;
  const Sink sink_;
  ClusterStore store_;
  std::optional<Routes> last_;
  TimePoint last_read_{};
  std::optional<bool> readable_;  // whether the last read succeeded (for the log)
  int ttl_seconds_;
  bool failsafe_mode_;

  std::mutex mu_;
  std::condition_variable wake_;
  bool changed_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace baton
