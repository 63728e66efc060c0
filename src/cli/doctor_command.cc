#include <algorithm>
#include <iostream>

#include "api/alert_sender.h"
#include "cli/cluster_connection.h"
#include "cli/commands.h"
#include "core/json_text.h"
#include "core/wall_time.h"
#include "doctor/checks.h"
#include "doctor/doctor_report.h"
#include "doctor/gather.h"

namespace baton {

namespace {

// Sends `alerts` through the config's alerts and waits, at most as long as one alert's whole
// delivery may take (or one hook run), for them to go out; says on stderr what became of them.
void SendDoctorAlerts(const Config& config, const std::vector<Alert>& alerts) {
  if (alerts.empty()) return;
  AlertSender sender(config);
  for (const Alert& alert : alerts) sender.Send(alert);
  const Duration bound =
      std::max(sender.DeliveryBudget(), FromSeconds(config.hooks.timeout_seconds)) +
      std::chrono::seconds(1);
  const bool drained = sender.Drain(bound);
  const AlertCounts counts = sender.counts();
  const size_t total = alerts.size();
  if (config.alerts.Configured()) {
    const std::string origin = HttpUrl::Parse(config.alerts.webhook)->Origin();
    const size_t undelivered = total - std::min<size_t>(total, counts.sent);
    if (undelivered == 0) {
      std::cerr << "alerts: " << total << " doctor_check_failed event(s) sent to " << origin
                << "\n";
    } else {
      const std::string why = sender.last_error();
      std::cerr << "alerts: " << undelivered << " of " << total
                << " doctor_check_failed event(s) NOT delivered to " << origin << ": "
                << (why.empty() ? "still trying when the doctor's wait ended" : why) << "\n";
    }
  }
  if (!config.hooks.on_alert.empty()) {
    if (!drained) {
      std::cerr << "alerts: hooks.on_alert had not run for every event when the doctor's wait "
                   "ended\n";
    } else if (counts.hooks.failed > 0) {
      std::cerr << "alerts: hooks.on_alert failed for " << counts.hooks.failed << " of " << total
                << " event(s) (its output is logged above)\n";
    } else {
      std::cerr << "alerts: hooks.on_alert ran for " << total << " event(s)\n";
    }
  }
}

}  // namespace

int DoctorCommand(const ClusterTarget& target, const DoctorOptions& options) {
  auto resolved = Resolve(target);
  if (auto* code = std::get_if<int>(&resolved)) return *code;
  ResolvedTarget& r = std::get<ResolvedTarget>(resolved);
  if (options.alert &&
      (!r.config || (!r.config->alerts.Configured() && r.config->hooks.on_alert.empty()))) {
    std::cerr << "--alert: needs -c CONFIG with alerts.webhook or hooks.on_alert set\n";
    return kExitBadInput;
  }
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
  if (options.alert) SendDoctorAlerts(*r.config, DoctorAlerts(r.cluster, results, UnixNow()));
  return DoctorExitCode(results);
}

}  // namespace baton
