#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/status_view.h"
#include "dcs/cluster_store.h"
#include "dcs/etcd_dcs.h"

namespace baton {

int DemoStartCommand(const LocalClusterOptions& options) {
  std::cout << fmt::format("Starting etcd and {} baton agents in {} ...", options.nodes,
                           options.dir)
            << std::endl;
  const auto started = std::chrono::steady_clock::now();
  auto cluster = LocalCluster::Start(options);
  if (!cluster.ok()) {
    std::cerr << "demo: " << cluster.status().message() << "\n";
    return cluster.status().code() == StatusCode::kInvalidArgument ? kExitBadInput : kExitFailure;
  }
  std::cout << "Waiting for one leader and " << options.nodes - 1
            << " streaming replicas (bootstrap, clone, catch-up) ..." << std::endl;
  Status healthy = cluster->WaitHealthy(std::chrono::seconds(120));
  if (auto view = cluster->View(); view.ok()) {
    std::cout << "\n" << ClusterStatusTable(cluster->cluster, *view) << "\n";
  }
  if (!healthy.ok()) {
    std::cerr << "demo: " << healthy.message() << "; agent logs are in " << cluster->dir
              << "/node*/agent.log\n";
    return kExitFailure;
  }
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << fmt::format("Healthy in {:.1f} s. Manifest: {}/demo.json\n", took, cluster->dir);
  std::cout << fmt::format("  status:  baton status -c {}\n", cluster->nodes[0].config_path);
  std::cout << fmt::format("  psql:    psql 'host=127.0.0.1 port={} user=postgres password={}'\n",
                           cluster->nodes[0].pg_port, LocalCluster::kSuperuserPassword);
  std::cout << fmt::format("  stop:    baton demo stop --dir {}\n", cluster->dir);
  return kExitOk;
}

int DemoStopCommand(const std::string& dir) {
  auto cluster = LocalCluster::Load(dir);
  if (!cluster.ok()) {
    std::cerr << "demo: " << cluster.status().message() << "\n";
    return kExitBadInput;
  }
  std::cout << "Stopping the demo in " << dir << " ..." << std::endl;
  if (Status s = cluster->Stop(); !s.ok()) {
    std::cerr << "demo: " << s.message() << "\n";
    return kExitFailure;
  }
  std::cout << "Stopped. Data and logs are kept in " << dir << "\n";
  return kExitOk;
}

}  // namespace baton
