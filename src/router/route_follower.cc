#include "router/route_follower.h"

#include <spdlog/spdlog.h>

namespace baton {

RouteFollower::RouteFollower(Dcs& dcs, const Config& config, const Clock& clock, Sink sink)
    : config_(config),
      clock_(clock),
      sink_(std::move(sink)),
      store_(dcs, config.cluster_name, "", config.timing.ttl_seconds, clock),
      last_read_(clock.Now()),
      ttl_seconds_(config.timing.ttl_seconds),
      failsafe_mode_(config.ha.failsafe_mode) {}

RouteFollower::~RouteFollower() {
  Stop();
}

void RouteFollower::Start(Duration refresh) {
  store_.Watch([this](const std::string& key, const std::string&) {
    if (key != "leader" && key != "config" && key != "switchover" &&
        !ClusterStore::IsMemberKey(key)) {
      return;
    }
    {
      std::lock_guard lock(mu_);
      changed_ = true;
    }
    wake_.notify_one();
  });
  thread_ = std::thread([this, refresh] { Loop(refresh); });
}

void RouteFollower::Stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void RouteFollower::Loop(Duration refresh) {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    changed_ = false;
    lock.unlock();
    Refresh();
    lock.lock();
    wake_.wait_for(lock, refresh, [this] { return stopping_ || changed_; });
  }
}

void RouteFollower::Refresh() {
  auto view = store_.Load();
  if (view.ok() != readable_) {
    readable_ = view.ok();
    if (*readable_) {
      spdlog::info("router: reading cluster {} from etcd", config_.cluster_name);
    } else {
      spdlog::warn("router: cannot read cluster {} from etcd: {}", config_.cluster_name,
                   view.status().message());
    }
  }
  if (view.ok()) {
    last_read_ = clock_.Now();
    if (auto effective = ApplyDynamicConfig(config_, view->Settings()); effective.ok()) {
      ttl_seconds_ = effective->timing.ttl_seconds;
      failsafe_mode_ = effective->ha.failsafe_mode;
    }
    last_ = RoutesFor(*view, config_.router.maximum_lag);
    sink_(*last_, &*view);
    return;
  }
  const bool lease_over = clock_.Now() - last_read_ > std::chrono::seconds(ttl_seconds_);
  if (!lease_over || failsafe_mode_) return;
  if (!last_ || last_->writer) {
    spdlog::warn(
        "router: the cluster has been unreadable for more than its {} s lease ({}): "
        "no writer until it is read again",
        ttl_seconds_, view.status().message());
  }
  Routes routes = last_.value_or(Routes{});
  if (routes.writer) std::erase(routes.readers, *routes.writer);
  routes.writer.reset();
  last_ = routes;
  sink_(routes, nullptr);  // every read past the lease: a sink retries what failed
}

}  // namespace baton
