#include "router/router_service.h"

#include <spdlog/spdlog.h>

#include "core/process.h"

namespace baton {

namespace {

Router::Options RouterOptions(const RouterSettings& settings) {
  Router::Options options;
  options.read_write = settings.read_write;
  if (settings.read_only.port != 0) options.read_only = settings.read_only;
  options.hold_timeout = std::chrono::duration_cast<Duration>(
      std::chrono::duration<double>(settings.hold_timeout_seconds));
  return options;
}

}  // namespace

RouterService::RouterService(Dcs& dcs, const Config& config, const Clock& clock)
    : config_(config),
      router_(config.router.Configured() ? std::make_unique<Router>(RouterOptions(config.router))
                                         : nullptr),
      pgbouncer_(config.pgbouncer.Configured()
                     ? std::make_unique<PgBouncerControl>(
                           config.pgbouncer,
                           PgBouncerControl::Console(config.pgbouncer, std::chrono::seconds(2)))
                     : nullptr),
      follower_(dcs, config, clock, [this](const Routes& routes, const ClusterView* view) {
        if (router_) router_->Update(routes);
        if (pgbouncer_) pgbouncer_->OnRoutes(routes, view);
      }) {}

RouterService::~RouterService() {
  Stop();
}

Status RouterService::Start() {
  if (router_) {
    // Every client connection costs two descriptors.
    if (!RaiseDescriptorLimit()) spdlog::warn("cannot raise the descriptor limit");
    if (Status s = router_->Start(); !s.ok()) return s;
    spdlog::info("router for cluster {}: read-write on {}:{}{}", config_.cluster_name,
                 config_.router.read_write.host, router_->read_write_port(),
                 router_->read_only_port() != 0
                     ? fmt::format(", read-only on {}:{}", config_.router.read_only.host,
                                   router_->read_only_port())
                     : std::string());
  }
  if (pgbouncer_) {
    spdlog::info("keeping PgBouncer at {} ([databases] {} in {}) pointed at the leader",
                 config_.pgbouncer.admin.ToString(), config_.pgbouncer.database,
                 config_.pgbouncer.databases_file);
  }
  follower_.Start();
  return Status::Ok();
}

void RouterService::Stop() {
  if (stopped_) return;
  stopped_ = true;
  follower_.Stop();
  if (!router_) return;
  router_->Stop();
  const RouterStats stats = router_->Stats();
  spdlog::info("router: {} connections accepted, {} routed, {} held, {} hold expired, {} cut",
               stats.accepted, stats.routed, stats.held, stats.hold_expired, stats.cut);
}

}  // namespace baton
