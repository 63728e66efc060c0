#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <thread>

#include "api/admin_verbs.h"
#include "api/alert_sender.h"
#include "api/http_server.h"
#include "api/peer_client.h"
#include "api/rest_api.h"
#include "cli/cluster_connection.h"
#include "cli/commands.h"
#include "dcs/etcd_dcs.h"
#include "ha/agent.h"
#include "pg/postgres_instance.h"
#include "router/router_service.h"

namespace baton {

namespace {

constexpr auto kAlertDrainAtShutdown = std::chrono::seconds(10);

}  // namespace

int AgentCommand(const std::string& config_path) {
  auto config = LoadConfigFile(config_path, ProcessEnvironment());
  if (!config.ok()) {
    spdlog::error("{}", config.status().message());
    return kExitBadInput;
  }
  if (geteuid() == 0) {
    spdlog::error("PostgreSQL refuses to run as root: run `baton agent` as the postgres user");
    return kExitBadInput;
  }
  const std::string parent = std::filesystem::path(config->data_dir).parent_path().string();
  if (access(parent.c_str(), W_OK) != 0) {
    spdlog::error(
        "config {}: key 'postgresql.data_dir': parent directory {} is missing or not "
        "writable by this user",
        config_path, parent);
    return kExitBadInput;
  }
  if (access((config->bin_dir + "/postgres").c_str(), X_OK) != 0) {
    spdlog::error("config {}: key 'postgresql.bin_dir': no postgres executable in {}", config_path,
                  config->bin_dir);
    return kExitBadInput;
  }
  if (config->api_security.TlsConfigured()) {
    const Status tls = CheckTlsFiles(config->api_security.cert_file, config->api_security.key_file);
    if (!tls.ok()) {
      spdlog::error("config {}: {}", config_path, tls.message());
      return kExitBadInput;
    }
  }

  // SIGTERM/SIGINT are taken by one thread with sigwait; every other thread blocks them.
  sigset_t signals = BlockTerminationSignals();

  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ [" + config->node_name + "] %v");
  spdlog::info("baton {} agent for cluster {}; etcd {}", BATON_VERSION, config->cluster_name,
               config->etcd_endpoints.front());

  SteadyClock clock;
  EtcdDcs dcs(config->etcd_endpoints,
              std::chrono::duration_cast<Duration>(
                  std::chrono::duration<double>(config->timing.retry_timeout_seconds)));
  PostgresInstance instance(*config);
  // Peer checks run in the agent loop: a tenth of the lease, between 0.2 s and 1 s each.
  const auto peer_timeout =
      std::clamp<Duration>(std::chrono::milliseconds(config->timing.ttl_seconds * 100),
                           std::chrono::milliseconds(200), std::chrono::seconds(1));
  PeerClient peers(*config, peer_timeout);
  AlertSender alerts(*config);
  if (config->alerts.Configured()) {
    spdlog::info("alerts to {}", HttpUrl::Parse(config->alerts.webhook)->Origin());
  }
  Agent agent(*config, dcs, instance, clock, peers, alerts);
  RestApi api(agent, *config, clock);
  AddAdminVerbs(api, dcs, *config, clock);
  if (Status s = api.Start(); !s.ok()) {
    spdlog::error("{}", s.message());
    return kExitFailure;
  }
  spdlog::info("REST API on {}", config->ApiUrl());
  // A router section runs the router (and PgBouncer's controller) in this process too.
  std::unique_ptr<RouterService> router;
  if (config->router.Configured() || config->pgbouncer.Configured()) {
    router = std::make_unique<RouterService>(dcs, *config, clock);
    if (Status s = router->Start(); !s.ok()) {
      spdlog::error("{}", s.message());
      return kExitFailure;
    }
  }

  std::atomic<bool> stop{false};
  std::thread signal_thread([&] {
    int received = 0;
    sigwait(&signals, &received);
    spdlog::info("received signal {}", received);
    stop = true;
    agent.Wake();
  });
  agent.Run(stop);
  // Alerts of the last moments (a fencing at shutdown) get a bounded chance to go out.
  if (!alerts.Drain(kAlertDrainAtShutdown)) {
    spdlog::warn("alerts still undelivered at shutdown: dropping them");
  }
  if (router) router->Stop();
  api.Stop();
  // Nothing may call back into the agent once it is gone.
  dcs.StopWatches();
  instance.SetExitCallback({});
  if (!stop) pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  return kExitOk;
}

}  // namespace baton
