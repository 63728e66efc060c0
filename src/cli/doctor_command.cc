#include <iostream>

#include "cli/cluster_connection.h"
#include "cli/commands.h"
#include "core/json_text.h"
#include "doctor/checks.h"
#include "doctor/doctor_report.h"
#include "doctor/gather.h"

namespace baton {

int DoctorCommand(const ClusterTarget& target, const DoctorOptions& options) {
  auto resolved = Resolve(target);
  if (auto* code = std::get_if<int>(&resolved)) return *code;
  ResolvedTarget& r = std::get<ResolvedTarget>(resolved);
  GatherOptions gather;
  gather.etcd_endpoints = r.endpoints;
  gather.cluster = r.cluster;
  gather.node_config = r.config;
  gather.timeout = FromSeconds(options.timeout_seconds);
  gather.smoke_write = options.smoke_write;
  const auto start = std::chrono::steady_clock::now();
  const ClusterFacts facts = GatherFacts(gather);
  const std::vector<CheckResult> results = RunChecks(facts);
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (options.json) {
    std::cout << JsonText(DoctorJson(r.cluster, results, elapsed), 2) << std::endl;
  } else {
    std::cout << DoctorTable(r.cluster, results, elapsed) << std::flush;
  }
  return DoctorExitCode(results);
}

}  // namespace baton
