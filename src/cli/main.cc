// baton: high-availability manager for PostgreSQL. Parses flags and dispatches to a verb.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <csignal>
#include <iostream>

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

}  // namespace

int main(int argc, char** argv) {
  for (int fatal : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) signal(fatal, ReportFatalSignal);
  CLI::App app{"baton: keeps a replicated PostgreSQL cluster writable when its primary fails"};
  app.require_subcommand(1);
  app.set_version_flag("--version", BATON_VERSION);

  std::string agent_config;
  auto* agent = app.add_subcommand("agent", "Run the agent that manages this node's PostgreSQL");
  agent->add_option("-c,--config", agent_config, "This node's YAML config file")->required();

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

  baton::ClusterTarget pause_target;
  auto* pause = app.add_subcommand(
      "pause", "Maintenance mode: no automatic failover or PostgreSQL restarts until resume");
  AddClusterTarget(pause, pause_target);
  baton::ClusterTarget resume_target;
  auto* resume = app.add_subcommand("resume", "Leave maintenance mode");
  AddClusterTarget(resume, resume_target);

  std::string check_path;
  auto* config = app.add_subcommand("config", "Work with config files");
  config->require_subcommand(1);
  auto* check = config->add_subcommand("check", "Validate a config file (exit 2 when invalid)");
  check->add_option("FILE", check_path, "The YAML config file")->required();

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
  std::string stop_dir = demo_options.dir;
  auto* demo_stop = demo->add_subcommand("stop", "Stop the demo's agents, PostgreSQL and etcd");
  demo_stop->add_option("--dir", stop_dir, "The demo's directory")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : baton::kExitBadInput;
  }
  if (status->parsed() && status->count("--watch") && watch_seconds <= 0) watch_seconds = 2;

  if (agent->parsed()) return baton::AgentCommand(agent_config);
  if (status->parsed()) return baton::StatusCommand(status_target, status_json, watch_seconds);
  if (history->parsed()) return baton::HistoryCommand(history_target, history_json);
  if (pause->parsed()) return baton::PauseCommand(pause_target, true);
  if (resume->parsed()) return baton::PauseCommand(resume_target, false);
  if (check->parsed()) return baton::ConfigCheckCommand(check_path);
  if (demo_start->parsed()) {
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
