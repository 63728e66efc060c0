// baton: high-availability manager for PostgreSQL. Parses flags and dispatches to a verb.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <csignal>
#include <iostream>
#include <tuple>

#include "cli/commands.h"

namespace {

// A crash must not be silent: name the signal on stderr (the agent's log), then die by it.
extern "C" void ReportFatalSignal(int signal_number) {
  char message[] = "baton: fatal signal NN\n";
  message[20] = static_cast<char>('0' + signal_number / 10);
  message[21] = static_cast<char>('0' + signal_number % 10);
  ssize_t ignored = write(STDERR_FILENO, message, sizeof message - 1);
  (void)ignored;
  signal(signal_number, SIG_DFL);
  raise(signal_number);
}

std::string SelfPath() {
  char buffer[4096];
  const ssize_t n = readlink("/proc/self/exe", buffer, sizeof buffer - 1);
  return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : "baton";
}

void AddClusterTarget(CLI::App* verb, baton::ClusterTarget& target) {
  verb->add_option("-c,--config", target.config_path,
                   "A node's config file (gives etcd and cluster)");
  verb->add_option("--etcd", target.etcd, "etcd endpoints, host:port[,host:port]");
  verb->add_option("--cluster", target.cluster, "Cluster name (with --etcd)");
}

// The verb path in argv names a verb that does not exist (CLI11 would only say "A subcommand is
// required"): the message naming it and listing the verbs there are, or "" when argv is fine.
std::string UnknownVerbError(const CLI::App& app, int argc, char** argv) {
  const CLI::App* level = &app;
  std::string path = "baton";
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word.empty() || word.front() == '-') return "";  // flags: CLI11 judges them
    const auto verbs = level->get_subcommands({});
    if (verbs.empty()) return "";
    const CLI::App* next = nullptr;
    std::string names;
    for (const CLI::App* verb : verbs) {
      if (verb->get_name() == word) next = verb;
      names += (names.empty() ? "" : ", ") + verb->get_name();
    }
    if (next == nullptr) {
      return fmt::format("{}: unknown verb '{}'; the verbs are: {}\nRun {} --help for more.", path,
                         word, names, path);
    }
    level = next;
    path += " " + word;
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  for (int fatal : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) signal(fatal, ReportFatalSignal);
  CLI::App app{"baton: keeps a replicated PostgreSQL cluster writable when its primary fails"};
  app.name("baton");
  app.require_subcommand(1);
  app.set_version_flag("--version", BATON_VERSION);

  std::string agent_config;
  auto* agent = app.add_subcommand("agent", "Run the agent that manages this node's PostgreSQL");
  agent->add_option("-c,--config", agent_config, "This node's YAML config file")->required();

  std::string router_config;
  auto* router = app.add_subcommand(
      "router", "Route client connections to the leader (read-write) and to replicas (read-only)");
  router->add_option("-c,--config", router_config, "A router or node config file")->required();

  std::string watchdog_data_dir;
  std::string watchdog_node;
  auto* watchdog = app.add_subcommand("watchdog", "The agent's fencing watchdog (started by it)");
  watchdog->group("");  // hidden: only the agent runs it
  watchdog->add_option("--data-dir", watchdog_data_dir, "The data directory it fences")->required();
  watchdog->add_option("--node", watchdog_node, "The node's name, for its log lines");

  baton::ClusterTarget status_target;
  bool status_json = false;
  double watch_seconds = 0;
  auto* status = app.add_subcommand("status", "Show every member: role, state, timeline, LSN, lag");
  AddClusterTarget(status, status_target);
  status->add_flag("--json", status_json, "Print JSON for scripts");
  status->add_option("--watch", watch_seconds, "Refresh every SECONDS until interrupted")
      ->expected(0, 1)
      ->default_str("2")
      ->check(CLI::PositiveNumber);

  baton::ClusterTarget history_target;
  bool history_json = false;
  auto* history = app.add_subcommand("history", "List the cluster's role changes");
  AddClusterTarget(history, history_target);
  history->add_flag("--json", history_json, "Print JSON for scripts");

  baton::ClusterTarget doctor_target;
  baton::DoctorOptions doctor_options;
  auto* doctor = app.add_subcommand(
      "doctor", "Check the whole cluster: primary, replication, timelines, fencing, etcd");
  AddClusterTarget(doctor, doctor_target);
  doctor->add_flag("--json", doctor_options.json, "Print JSON for scripts");
  doctor->add_flag("--smoke-write", doctor_options.smoke_write,
                   "Write a row on the primary and time its arrival on every replica");
  doctor->add_flag("--alert", doctor_options.alert,
                   "Send a doctor_check_failed alert for each failed check to the alerts.webhook "
                   "and hooks.on_alert of the -c config (for cron; off so that a run at a "
                   "terminal pages nobody)");
  doctor
      ->add_option("--timeout", doctor_options.timeout_seconds,
                   "Seconds each probe may take (etcd, PostgreSQL, an agent)")
      ->default_val(2)
      ->check(CLI::PositiveNumber);

  baton::ClusterTarget pause_target;
  auto* pause = app.add_subcommand(
      "pause", "Maintenance mode: no automatic failover or PostgreSQL restarts until resume");
  AddClusterTarget(pause, pause_target);
  baton::ClusterTarget resume_target;
  auto* resume = app.add_subcommand("resume", "Leave maintenance mode");
  AddClusterTarget(resume, resume_target);

  baton::ClusterTarget switchover_target;
  baton::SwitchoverOptions switchover_options;
  auto* switchover =
      app.add_subcommand("switchover",
                         "Planned change of leader with no data lost: the leader stops cleanly, a "
                         "replica takes over, the old leader follows it without a rewind");
  AddClusterTarget(switchover, switchover_target);
  switchover->add_option("--to", switchover_options.to, "The replica to switch to (default: best)");
  switchover->add_option("--at", switchover_options.at,
                         "When: ISO 8601 UTC (2026-11-22T15:30:00Z) or +90s, +5m, +2h");
  switchover->add_flag("--force", switchover_options.force,
                       "Switch even to a lagging replica (it must still receive all WAL)");
  auto* cancel_flag =
      switchover->add_flag("--cancel", switchover_options.cancel, "Cancel a scheduled switchover");
  auto* list_flag =
      switchover->add_flag("--list", switchover_options.list, "Show the pending switchover");
  switchover
      ->add_option("--timeout", switchover_options.timeout_seconds,
                   "Seconds to follow it before giving up watching")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cancel_flag->excludes(list_flag);

  baton::ClusterTarget failover_target;
  std::string failover_to;
  bool allow_data_loss = false;
  double failover_timeout = 60;
  auto* failover = app.add_subcommand(
      "failover", "Promote NODE while no leader serves (paused cluster, or nobody eligible)");
  AddClusterTarget(failover, failover_target);
  failover->add_option("--to", failover_to, "The node to promote")->required();
  failover->add_flag("--allow-data-loss", allow_data_loss,
                     "Promote even if NODE lacks WAL the cluster had (says how much first)");
  failover->add_option("--timeout", failover_timeout, "Seconds to wait for the promotion")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);

  struct NodeVerbFlags {
    baton::ClusterTarget target;
    std::vector<std::string> nodes;
    bool pending = false;
    double timeout = 600;
  };
  NodeVerbFlags restart_flags, reload_flags, reinit_flags;
  auto* restart = app.add_subcommand("restart", "Restart PostgreSQL on NODE in its current role");
  AddClusterTarget(restart, restart_flags.target);
  restart->add_option("NODE", restart_flags.nodes, "The node(s) to restart")->required();
  restart->add_flag("--pending", restart_flags.pending,
                    "Only if a changed setting waits for a restart");
  restart->add_option("--timeout", restart_flags.timeout, "Seconds to wait")->capture_default_str();
  auto* reload = app.add_subcommand(
      "reload", "Rewrite postgresql.conf and reload PostgreSQL on NODE (default: every member)");
  AddClusterTarget(reload, reload_flags.target);
  reload->add_option("NODE", reload_flags.nodes, "The node(s) to reload");
  reload->add_option("--timeout", reload_flags.timeout, "Seconds to wait")->capture_default_str();
  auto* reinit =
      app.add_subcommand("reinit", "Throw away a replica's data and clone it from the leader");
  AddClusterTarget(reinit, reinit_flags.target);
  reinit->add_option("NODE", reinit_flags.nodes, "The replica to re-clone")->required();
  reinit->add_option("--timeout", reinit_flags.timeout, "Seconds to wait")->capture_default_str();

  baton::ClusterTarget remove_target;
  std::string remove_node;
  auto* remove = app.add_subcommand("remove", "Take a node that is gone out of the records");
  AddClusterTarget(remove, remove_target);
  remove->add_option("NODE", remove_node, "The node to forget")->required();

  baton::DrillCommandOptions drill_options;
  auto* drill = app.add_subcommand(
      "drill", "Fault the primary under write load and measure RTO, write gap, lost writes");
  drill_options.baton_binary = SelfPath();
  drill->add_option("--demo", drill_options.demo_dir, "A local demo's directory (every fault)");
  drill->add_option("-c,--config", drill_options.config_path,
                    "A baton node's config file: its cluster (--fault switchover)");
  drill->add_option("--dsn", drill_options.dsn,
                    "libpq DSN of any cluster (multi-host, target_session_attrs=read-write)");
  drill->add_option("--fault", drill_options.fault,
                    "kill-node, kill-postgres, stop-agent, pause-primary, switchover, or (a demo "
                    "in network namespaces, as root) partition-primary[-in|-out]");
  drill->add_option("--fault-command", drill_options.fault_command,
                    "Shell command that faults the primary ($BATON_DRILL_PRIMARY = host:port)");
  drill->add_option("--heal-command", drill_options.heal_command,
                    "Shell command run after each round to undo the fault");
  drill
      ->add_option("--hold", drill_options.hold_seconds,
                   "Seconds the fault lasts before it is healed (pause-primary: default TTL + 2)")
      ->check(CLI::NonNegativeNumber);
  drill->add_option("--rounds", drill_options.options.rounds, "Rounds")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  drill->add_option("--clients", drill_options.options.clients, "Concurrent writing clients")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  drill
      ->add_option("--duration", drill_options.options.duration_seconds,
                   "Least seconds of writes per round")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  drill
      ->add_option("--timeout", drill_options.options.timeout_seconds,
                   "Seconds writes may take to come back")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  drill->add_flag("--force", drill_options.options.force, "Run against an unhealthy cluster");
  drill->add_flag("--json", drill_options.json, "Print JSON for scripts");
  drill->add_option("--plot", drill_options.plot_path, "Write an SVG timeline to FILE");
  drill->add_flag("--history", drill_options.history,
                  "List the drills kept in the cluster's etcd (with -c FILE or --demo DIR)");

  std::string check_path;
  auto* config = app.add_subcommand("config", "Config files, and the cluster's dynamic settings");
  config->require_subcommand(1);
  auto* check = config->add_subcommand("check", "Validate a config file (exit 2 when invalid)");
  check->add_option("FILE", check_path, "The YAML config file")->required();
  baton::ClusterTarget config_target;
  bool config_json = false;
  std::vector<std::string> assignments;
  auto* config_show = config->add_subcommand(
      "show", "Show the dynamic settings stored in etcd and settings pending a restart");
  AddClusterTarget(config_show, config_target);
  config_show->add_flag("--json", config_json, "Print JSON for scripts");
  auto* config_set = config->add_subcommand(
      "set", "Validate and store dynamic settings: KEY=VALUE ... (empty VALUE removes KEY)");
  AddClusterTarget(config_set, config_target);
  config_set->add_option("KEY=VALUE", assignments, "Settings to store")->required();
  auto* config_edit =
      config->add_subcommand("edit", "Edit the dynamic settings in $EDITOR, validated on save");
  AddClusterTarget(config_edit, config_target);

  baton::LocalClusterOptions demo_options;
  demo_options.baton_binary = SelfPath();
  auto* demo = app.add_subcommand("demo", "A local cluster with its own etcd, for trying baton");
  demo->require_subcommand(1);
  auto* demo_start =
      demo->add_subcommand("start", "Start etcd and N agents on free loopback ports");
  demo_start->add_option("--nodes", demo_options.nodes, "Number of nodes")
      ->capture_default_str()
      ->check(CLI::Range(1, 9));
  demo_start->add_option("--dir", demo_options.dir, "Directory for data, configs and logs")
      ->capture_default_str();
  demo_start->add_option("--ttl", demo_options.ttl_seconds, "Leader lease TTL in seconds")
      ->capture_default_str()
      ->check(CLI::Range(2, 3600));
  demo_start
      ->add_option("--user", demo_options.run_as_user,
                   "Unprivileged user to run PostgreSQL as when started by root")
      ->capture_default_str();
  std::string demo_sync_mode = "off";
  demo_start
      ->add_option("--synchronous-mode", demo_sync_mode,
                   "ha.synchronous_mode of every agent: off, on or quorum")
      ->capture_default_str()
      ->check(CLI::IsMember({"off", "on", "quorum"}));
  demo_start->add_flag("--network-namespaces", demo_options.network_namespaces,
                       "Each node and etcd in a network namespace of its own (root): lets "
                       "`baton drill --fault partition-primary` cut the primary off");
  bool demo_failsafe = false;
  demo_start->add_flag("--failsafe-mode", demo_failsafe,
                       "ha.failsafe_mode on: an etcd outage leaves the primary running");
  std::string stop_dir = demo_options.dir;
  auto* demo_stop = demo->add_subcommand("stop", "Stop the demo's agents, PostgreSQL and etcd");
  demo_stop->add_option("--dir", stop_dir, "The demo's directory")->capture_default_str();

  if (argc == 1) {
    std::cerr << app.help();
    return baton::kExitBadInput;
  }
  if (const std::string error = UnknownVerbError(app, argc, argv); !error.empty()) {
    std::cerr << error << "\n";
    return baton::kExitBadInput;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : baton::kExitBadInput;
  }
  if (status->parsed() && status->count("--watch") && watch_seconds <= 0) watch_seconds = 2;

  if (agent->parsed()) return baton::AgentCommand(agent_config);
  if (router->parsed()) return baton::RouterCommand(router_config);
  if (watchdog->parsed()) return baton::WatchdogCommand(watchdog_data_dir, watchdog_node);
  if (status->parsed()) return baton::StatusCommand(status_target, status_json, watch_seconds);
  if (history->parsed()) return baton::HistoryCommand(history_target, history_json);
  if (doctor->parsed()) return baton::DoctorCommand(doctor_target, doctor_options);
  if (pause->parsed()) return baton::PauseCommand(pause_target, true);
  if (resume->parsed()) return baton::PauseCommand(resume_target, false);
  if (check->parsed()) return baton::ConfigCheckCommand(check_path);
  if (switchover->parsed()) return baton::SwitchoverCommand(switchover_target, switchover_options);
  if (failover->parsed()) {
    return baton::FailoverCommand(failover_target, failover_to, allow_data_loss, failover_timeout);
  }
  for (auto [verb_app, verb, flags] :
       {std::tuple{restart, baton::NodeVerb::kRestart, &restart_flags},
        std::tuple{reload, baton::NodeVerb::kReload, &reload_flags},
        std::tuple{reinit, baton::NodeVerb::kReinit, &reinit_flags}}) {
    if (verb_app->parsed()) {
      return baton::NodeVerbCommand(flags->target, verb, flags->nodes, flags->pending,
                                    flags->timeout);
    }
  }
  if (remove->parsed()) return baton::RemoveCommand(remove_target, remove_node);
  if (drill->parsed()) return baton::DrillCommand(drill_options);
  if (config_show->parsed()) return baton::ConfigShowCommand(config_target, config_json);
  if (config_set->parsed()) return baton::ConfigSetCommand(config_target, assignments);
  if (config_edit->parsed()) return baton::ConfigEditCommand(config_target);
  if (demo_start->parsed()) {
    demo_options.agent_env["BATON_HA_SYNCHRONOUS_MODE"] = demo_sync_mode;
    demo_options.agent_env["BATON_HA_FAILSAFE_MODE"] = demo_failsafe ? "true" : "false";
    // Keep the derived timings valid for short leases (both must stay below the TTL).
    demo_options.retry_timeout_seconds =
        std::min(demo_options.retry_timeout_seconds, demo_options.ttl_seconds / 2.0);
    demo_options.loop_wait_seconds =
        std::min(demo_options.loop_wait_seconds, demo_options.ttl_seconds / 2.0);
    return baton::DemoStartCommand(demo_options);
  }
  if (demo_stop->parsed()) return baton::DemoStopCommand(stop_dir);
  return baton::kExitBadInput;
}
