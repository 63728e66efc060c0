#include <signal.h>
#include <spdlog/spdlog.h>

#include "cli/cluster_connection.h"
#include "cli/commands.h"
#include "dcs/etcd_dcs.h"
#include "router/router_service.h"

namespace baton {

int RouterCommand(const std::string& config_path) {
  auto config = LoadConfigFile(config_path, ProcessEnvironment(), ConfigScope::kRouter);
  if (!config.ok()) {
    spdlog::error("{}", config.status().message());
    return kExitBadInput;
  }
  sigset_t signals = BlockTerminationSignals();
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ [router] %v");

  SteadyClock clock;
  EtcdDcs dcs(config->etcd_endpoints,
              std::chrono::duration_cast<Duration>(
                  std::chrono::duration<double>(config->timing.retry_timeout_seconds)));
  RouterService service(dcs, *config, clock);
  if (Status s = service.Start(); !s.ok()) {
    spdlog::error("{}", s.message());
    return kExitFailure;
  }
  spdlog::info("baton {} router; etcd {}", BATON_VERSION, config->etcd_endpoints.front());
  int received = 0;
  sigwait(&signals, &received);
  spdlog::info("received signal {}: stopping", received);
  service.Stop();
  dcs.StopWatches();
  return kExitOk;
}

}  // namespace baton
