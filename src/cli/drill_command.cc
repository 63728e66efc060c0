// `baton drill`: fault the primary of a live cluster under write load, round after round, and
// report RTO, write gap, errors, losses and dual-primary windows (table, JSON, SVG).
#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <iostream>

#include "cli/cluster_connection.h"
#include "cli/commands.h"
#include "core/json_text.h"
#include "drill/chaos_fault.h"
#include "drill/drill.h"
#include "drill/drill_report.h"
#include "drill/write_load.h"

namespace baton {

namespace {

// A baton cluster found through a node's config file: a DSN over its members, with the file's
// superuser credentials.
Result<std::string> ClusterDsn(const std::string& config_path) {
  auto config = LoadConfigFile(config_path, ProcessEnvironment());
  if (!config.ok()) return config.status();
  auto connected = Connect(ClusterTarget{config_path, "", ""});
  if (std::holds_alternative<int>(connected)) {
    return InvalidArgument("cannot reach the cluster it names");  // Connect said why
  }
  auto view = LoadView(std::get<Connected>(connected));
  if (!view.ok()) return view.status();
  std::vector<std::pair<std::string, int>> hosts;
  for (const auto& [name, m] : view->members) {
    auto address = HostPort::Parse(m.pg_address);
    if (address.ok()) hosts.emplace_back(address->host, address->port);
  }
  if (hosts.empty()) return FailedPrecondition("no member of the cluster reports an address");
  return MultiHostDsn(hosts, config->superuser.username, config->superuser.password);
}

// The primary cut off from etcd and its peers, both ways or one way (clients still reach it).
bool IsPartitionFault(const std::string& kind) {
  return kind == "partition-primary" || kind == "partition-primary-in" ||
         kind == "partition-primary-out";
}

}  // namespace

int DrillCommand(const DrillCommandOptions& o) {
  if (o.history) return DrillHistoryCommand(o);
  const int targets = !o.demo_dir.empty() + !o.config_path.empty() + !o.dsn.empty();
  if (targets != 1) {
    return ReportFailure(InvalidArgument(
        "say which cluster, once: --demo DIR (a local baton demo), -c FILE (a baton cluster) or "
        "--dsn DSN (any cluster)"));
  }
  if (o.fault.empty() == o.fault_command.empty()) {
    return ReportFailure(InvalidArgument("give --fault KIND or --fault-command CMD (one of them)"));
  }
  if (!o.fault.empty() && o.demo_dir.empty() &&
      !(o.fault == "switchover" && !o.config_path.empty())) {
    return ReportFailure(InvalidArgument(
        "--fault needs --demo DIR (the drill acts on its processes), except --fault switchover "
        "with -c FILE; otherwise use --fault-command"));
  }
  std::optional<LocalCluster> cluster;
  DrillTarget target;
  target.dsn = o.dsn;
  if (!o.config_path.empty()) {
    auto dsn = ClusterDsn(o.config_path);
    if (!dsn.ok()) return ReportFailure(dsn.status().WithContext("-c " + o.config_path));
    target.dsn = *dsn;
  }
  if (!o.demo_dir.empty()) {
    auto loaded = LocalCluster::Load(o.demo_dir);
    if (!loaded.ok()) return ReportFailure(loaded.status().WithContext("--demo"));
    cluster = std::move(loaded).value();
    std::vector<std::pair<std::string, int>> hosts;
    for (const auto& n : cluster->nodes) hosts.emplace_back(n.host, n.pg_port);
    target.dsn = MultiHostDsn(hosts, "postgres", LocalCluster::kSuperuserPassword);
    target.cluster = &*cluster;
  }
  double hold_seconds = o.hold_seconds;
  const bool partition = IsPartitionFault(o.fault);
  if ((o.fault == "pause-primary" || partition) && hold_seconds == 0) {
    // Longer than the lease, so the cluster must fail over while the old primary is frozen.
    auto config = LoadConfigFile(cluster->nodes.front().config_path, ProcessEnvironment());
    if (!config.ok()) return ReportFailure(config.status());
    hold_seconds = config->timing.ttl_seconds + 2;
  }
  const Duration pause = FromSeconds(hold_seconds);
  std::unique_ptr<Fault> fault;
  if (!o.config_path.empty() && o.fault == "switchover") {
    fault = MakeCommandFault(fmt::format("'{}' switchover -c '{}'", o.baton_binary, o.config_path),
                             "", pause);
  } else if (partition) {
    // The chaos campaign's partitions: the demo must run in network namespaces (root).
    auto made = ChaosFault::Make(o.fault, *cluster, pause, 0);
    if (!made.ok()) {
      return ReportFailure(made.status().WithContext(
          "--fault " + o.fault + " (a demo started with `baton demo start --network-namespaces`)"));
    }
    fault = std::move(made).value();
  } else if (!o.fault.empty()) {
    auto made = MakeLocalClusterFault(o.fault, *cluster, pause);
    if (!made.ok()) return ReportFailure(made.status());
    fault = std::move(made).value();
  } else {
    fault = MakeCommandFault(o.fault_command, o.heal_command, pause);
  }

  const bool tty = isatty(STDERR_FILENO) != 0;
  auto progress = [tty](const std::string& line) {
    if (tty) {
      std::cerr << "\r\033[K" << line << std::flush;
    } else {
      std::cerr << line << "\n";
    }
  };
  Drill drill(target, *fault, o.options, progress);
  if (Status s = drill.CheckHealthy(std::chrono::seconds(10)); !s.ok()) {
    return ReportFailure(s.WithContext("drill refused"));
  }
  const std::vector<DrillRound> rounds = drill.Run();
  if (tty) std::cerr << "\r\033[K" << std::flush;
  // Kept before the report is printed: with --json, the last thing on the output is the JSON.
  const std::string kept = RecordDrill(o, rounds);
  if (o.json) std::cerr << kept << "\n";
  if (o.json) {
    std::cout << JsonText(DrillJson(rounds), 2) << "\n";
  } else {
    std::cout << DrillTable(rounds);
  }
  if (!o.plot_path.empty()) {
    std::ofstream out(o.plot_path, std::ios::trunc);
    out << DrillSvg(rounds);
    if (!out.flush()) return ReportFailure(Internal("cannot write " + o.plot_path));
    if (!o.json) std::cout << "Timeline written to " << o.plot_path << "\n";
  }
  if (!o.json) std::cout << kept << "\n";
  for (const auto& r : rounds) {
    if (!r.failure.empty()) return kExitFailure;
  }
  return kExitOk;
}

}  // namespace baton
