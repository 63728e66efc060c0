#include "cli/cluster_connection.h"

#include <unistd.h>

#include <iostream>

namespace baton {

std::variant<ResolvedTarget, int> Resolve(const ClusterTarget& target) {
  ResolvedTarget resolved;
  resolved.cluster = target.cluster;
  if (!target.config_path.empty()) {
    auto config = LoadConfigFile(target.config_path, ProcessEnvironment());
    if (!config.ok()) {
      std::cerr << config.status().message() << "\n";
      return kExitBadInput;
    }
    resolved.endpoints = config->etcd_endpoints;
    if (resolved.cluster.empty()) resolved.cluster = config->cluster_name;
    resolved.config = std::move(*config);
  }
  if (!target.etcd.empty()) {
    if (Status s = ParseEtcdEndpoints(target.etcd, &resolved.endpoints); !s.ok()) {
      std::cerr << "--etcd: " << s.message() << "\n";
      return kExitBadInput;
    }
  }
  if (resolved.endpoints.empty() || resolved.cluster.empty()) {
    std::cerr << "say which cluster: -c CONFIG, or --etcd HOST:PORT with --cluster NAME\n";
    return kExitBadInput;
  }
  return resolved;
}

std::variant<Connected, int> Connect(const ClusterTarget& target) {
  auto resolved = Resolve(target);
  if (auto* code = std::get_if<int>(&resolved)) return *code;
  ResolvedTarget& r = std::get<ResolvedTarget>(resolved);
  return Connected{std::make_unique<EtcdDcs>(r.endpoints, std::chrono::seconds(3)), r.cluster};
}

Result<ClusterView> LoadView(Connected& c) {
  SteadyClock clock;
  ClusterStore store(*c.dcs, c.cluster, "", 10, clock);
  auto view = store.Load();
  if (!view.ok()) return view.status().WithContext("cannot read the cluster from etcd");
  return view;
}

std::string OperatorName() {
  char host[256] = "unknown";
  gethostname(host, sizeof host - 1);
  const char* user = getenv("USER");
  return std::string(user != nullptr ? user : "baton") + "@" + host;
}

int ReportFailure(const Status& status) {
  std::cerr << "baton: " << status.message() << "\n";
  return status.code() == StatusCode::kInvalidArgument ? kExitBadInput : kExitFailure;
}

sigset_t BlockTerminationSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

}  // namespace baton
