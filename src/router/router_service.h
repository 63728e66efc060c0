// RouterService: what `baton router` runs, and what an agent runs beside itself when its file
// has a router or PgBouncer section: the Router on its ports and/or a PgBouncerControl, both
// told by one RouteFollower. Start() binds (a port in use is an Unavailable naming it) and
// begins following (raising the descriptor limit to the hard one: two per client); Stop()
// ends both. Not copyable; Start and Stop from one thread.
#pragma once

#include <memory>

#include "core/clock.h"
#include "core/config.h"
#include "dcs/dcs.h"
#include "router/pgbouncer_control.h"
#include "router/route_follower.h"
#include "router/router.h"

namespace baton {

class RouterService {
 public:
  RouterService(Dcs& dcs, const Config& config, const Clock& clock);
  ~RouterService();
  RouterService(const RouterService&) = delete;
  RouterService& operator=(const RouterService&) = delete;

  Status Start();
  void Stop();

 private:
  const Config config_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<PgBouncerControl> pgbouncer_;
  RouteFollower follower_;
  bool stopped_ = false;
};

}  // namespace baton
