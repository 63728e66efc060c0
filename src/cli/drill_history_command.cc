// `baton drill --history`, and keeping each finished drill's record in the cluster's etcd.
#include <iostream>

#include "cli/cluster_connection.h"
#include "cli/commands.h"
#include "core/json_text.h"
#include "core/wall_time.h"
#include "drill/drill_history.h"

namespace baton {

namespace {

// The baton cluster a drill's options name: through -c FILE, or a demo's first node's config.
// Empty when the drill names none (--dsn).
std::string ClusterConfigOf(const DrillCommandOptions& o) {
  if (!o.config_path.empty()) return o.config_path;
  if (o.demo_dir.empty()) return "";
  auto demo = LocalCluster::Load(o.demo_dir);
  if (!demo.ok() || demo->nodes.empty()) return "";
  return demo->nodes.front().config_path;
}

}  // namespace

std::string RecordDrill(const DrillCommandOptions& o, const std::vector<DrillRound>& rounds) {
  const std::string config_path = ClusterConfigOf(o);
  if (config_path.empty()) return "drill not recorded: --dsn names no baton cluster to keep it in";
  auto connected = Connect(ClusterTarget{config_path, "", ""});
  if (std::holds_alternative<int>(connected)) {
    return "drill not recorded: the cluster's etcd cannot be reached";
  }
  Connected& c = std::get<Connected>(connected);
  SteadyClock clock;
  ClusterStore store(*c.dcs, c.cluster, "drill", 10, clock);
  const std::string fault = o.fault.empty() ? o.fault_command : o.fault;
  const Status kept = store.AppendDrill(DrillRecord(rounds, fault, UnixNow(), OperatorName()));
  if (!kept.ok()) return "drill not recorded: " + kept.message();
  return "Recorded in cluster " + c.cluster + "'s history: `baton drill --history` shows the trend";
}

int DrillHistoryCommand(const DrillCommandOptions& o) {
  if (!o.fault.empty() || !o.fault_command.empty() || !o.dsn.empty()) {
    return ReportFailure(InvalidArgument(
        "--history reads the drills kept in etcd: give -c FILE or --demo DIR alone (with "
        "--json, if wanted)"));
  }
  if (o.config_path.empty() == o.demo_dir.empty()) {
    return ReportFailure(InvalidArgument("--history: say which cluster: -c FILE or --demo DIR"));
  }
  const std::string config_path = ClusterConfigOf(o);
  if (config_path.empty()) {
    return ReportFailure(InvalidArgument("--demo " + o.demo_dir + ": no baton demo there"));
  }
  auto connected = Connect(ClusterTarget{config_path, "", ""});
  if (auto* code = std::get_if<int>(&connected)) return *code;
  auto view = LoadView(std::get<Connected>(connected));
  if (!view.ok()) return ReportFailure(view.status());
  if (o.json) {
    std::cout << JsonText(nlohmann::json(view->drills), 2) << std::endl;
  } else {
    std::cout << DrillHistoryTable(view->drills);
  }
  return kExitOk;
}

}  // namespace baton
