// chaos_campaign: the chaos tests of split-brain safety. Starts a 3-node baton cluster with
// every node, and a 3-member etcd, in network namespaces of their own, then runs rounds of
// randomly chosen faults under write load and checks each (chaos/chaos_campaign.h). Prints one
// line per round and a summary; exit 0 when every check passed, 1 when one failed (or the
// cluster could not be started), 2 for bad flags, 77 (skipped) when not root: it needs root
// (namespaces, iptables); PostgreSQL and etcd still run as an unprivileged user. `./run chaos`
// and the ctest entry `chaos` run it.
#include <fmt/format.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "chaos/chaos_campaign.h"
#include "chaos/chaos_report.h"
#include "core/json_text.h"
#include "core/process.h"
#include "drill/chaos_fault.h"
#include "lab/local_cluster.h"

namespace baton {
namespace {

namespace fs = std::filesystem;

// The exit code for "not run here" (not root): ctest's SKIP_RETURN_CODE for the chaos entries.
constexpr int kSkipped = 77;

struct Flags {
  int rounds = 9;
  uint64_t seed = 0;
  bool seed_given = false;
  int ttl = 3;
  double loop_wait = 0.5;
  double retry_timeout = 1;
  double hold = -1;  // -1: TTL + 2
  std::string faults;
  std::string synchronous_mode = "off";
  bool failsafe_mode = false;
  int clients = 4;
  int nodes = 3;
  bool json = false;
  std::string dir;
  bool keep = false;
  std::string baton = BATON_BINARY;
  std::string user = "postgres";
};

// Interrupted (Ctrl-C, a timeout's SIGTERM): stop the cluster as its manifest has it, so no
// namespace, bridge or process outlives the run.
void StopOnSignal(sigset_t signals, std::string cluster_dir) {
  std::thread([signals, cluster_dir] {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) return;
    std::cerr << "\nchaos: interrupted (signal " << sig << "); stopping the cluster" << std::endl;
    if (auto cluster = LocalCluster::Load(cluster_dir); cluster.ok()) (void)cluster->Stop();
    _exit(130);
  }).detach();
}

Status StageBinary(const std::string& from, const std::string& dir, std::string* staged) {
  // The agents run as the unprivileged user, who may not enter the build tree (e.g. under /root).
  std::error_code ec;
  fs::create_directories(dir + "/bin", ec);
  *staged = dir + "/bin/baton";
  fs::copy_file(from, *staged, fs::copy_options::overwrite_existing, ec);
  if (ec) return Internal(fmt::format("cannot copy {}: {}", from, ec.message()));
  chmod(dir.c_str(), 0755);
  chmod((dir + "/bin").c_str(), 0755);
  chmod(staged->c_str(), 0755);
  return Status::Ok();
}

// The live progress line: rewritten in place on a terminal; elsewhere (CI logs) each stage's
// line, and the periodic ones at most every 2 s.
std::function<void(const std::string&)> ProgressPrinter() {
  const bool tty = isatty(STDERR_FILENO) != 0;
  auto last = std::make_shared<TimePoint>();
  return [tty, last](const std::string& line) {
    if (tty) {
      std::cerr << "\r\033[K" << line.substr(0, 160) << std::flush;
      return;
    }
    const bool periodic = line.find(" s after the fault") != std::string::npos;
    const auto now = std::chrono::steady_clock::now();
    if (periodic && now - *last < std::chrono::seconds(2)) return;
    if (periodic) *last = now;
    std::cerr << line << "\n";
  };
}

// How an agent's memory and descriptors moved over the campaign: "chaos: node1 agent: RSS A KiB
// -> B KiB, descriptors C -> D", or the new agent's figures when a round restarted it.
std::string AgentUsageLine(const LocalNode& node, pid_t pid_before,
                           const std::optional<ProcessUsage>& before) {
  const std::optional<ProcessUsage> after = UsageOf(node.agent_pid);
  auto rss = [](const std::optional<ProcessUsage>& u) {
    return u ? std::to_string(u->rss_kib) : std::string("?");
  };
  auto fds = [](const std::optional<ProcessUsage>& u) {
    return u ? std::to_string(u->descriptors) : std::string("?");
  };
  if (node.agent_pid != pid_before) {
    return fmt::format(
        "chaos: {} agent: restarted during the campaign (pid {} -> {}): now RSS {} KiB, "
        "descriptors {}\n",
        node.name, pid_before, node.agent_pid, rss(after), fds(after));
  }
  return fmt::format("chaos: {} agent: RSS {} KiB -> {} KiB, descriptors {} -> {}\n", node.name,
                     rss(before), rss(after), fds(before), fds(after));
}

int Main(int argc, char** argv) {
  Flags f;
  CLI::App app{
      "chaos_campaign: randomized fault rounds against a baton cluster in network "
      "namespaces, with a split-brain checker"};
  app.add_option("--rounds", f.rounds, "rounds to run (the first ones cover every kind once)")
      ->check(CLI::Range(1, 100000));
  app.add_option("--seed", f.seed, "random seed (printed; the same seed replays the schedule)")
      ->each([&](const std::string&) { f.seed_given = true; });
  app.add_option("--ttl", f.ttl, "leader lease TTL in seconds")->check(CLI::Range(2, 600));
  app.add_option("--loop-wait", f.loop_wait, "agent loop period in seconds");
  app.add_option("--retry-timeout", f.retry_timeout, "etcd call timeout in seconds");
  app.add_option("--hold", f.hold, "seconds a stop, partition or etcd outage lasts (TTL + 2)");
  app.add_option("--faults", f.faults, "fault kinds to draw from, space-separated (all)");
  app.add_option("--synchronous-mode", f.synchronous_mode,
                 "ha.synchronous_mode of the agents (BATON_HA_SYNCHRONOUS_MODE)")
      ->check(CLI::IsMember({"off", "on", "quorum"}));
  app.add_flag("--failsafe-mode", f.failsafe_mode,
               "ha.failsafe_mode on for the agents (BATON_HA_FAILSAFE_MODE)");
  app.add_option("--clients", f.clients, "clients following the primary")->check(CLI::Range(1, 32));
  app.add_option("--nodes", f.nodes, "nodes")->check(CLI::Range(2, 9));
  app.add_flag("--json", f.json, "print the rounds and the summary as JSON on stdout");
  app.add_option("--dir", f.dir, "working directory (default: a new /tmp/baton-chaos.XXXXXX)");
  app.add_flag("--keep", f.keep, "keep the directory even when every check passed");
  app.add_option("--baton", f.baton, "the baton binary the agents run");
  app.add_option("--user", f.user, "unprivileged user for PostgreSQL and etcd");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  std::vector<std::string> kinds;
  std::istringstream fault_words(f.faults);
  for (std::string k; fault_words >> k;) {
    if (std::find(std::begin(kChaosFaultKinds), std::end(kChaosFaultKinds), k) ==
        std::end(kChaosFaultKinds)) {
      std::cerr << "chaos: --faults: unknown kind '" << k << "'; the kinds:";
      for (const char* known : kChaosFaultKinds) std::cerr << " " << known;
      std::cerr << "\n";
      return 2;
    }
    kinds.push_back(k);
  }
  if (geteuid() != 0) {
    std::cerr << "chaos: must run as root: it creates network namespaces, veth pairs, a bridge "
                 "and iptables rules (PostgreSQL and etcd still run as '"
              << f.user << "'). Run: sudo ./run chaos, or ./run test as root.\n";
    return kSkipped;
  }
  if (!f.seed_given) f.seed = std::random_device{}();
  const Duration hold = std::chrono::duration_cast<Duration>(
      std::chrono::duration<double>(f.hold >= 0 ? f.hold : f.ttl + 2.0));

  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts

  if (f.dir.empty()) {
    char pattern[] = "/tmp/baton-chaos.XXXXXX";
    if (mkdtemp(pattern) == nullptr) {
      std::cerr << "chaos: cannot create a directory in /tmp\n";
      return 1;
    }
    f.dir = pattern;
  }
  std::string baton;
  if (Status s = StageBinary(f.baton, f.dir, &baton); !s.ok()) {
    std::cerr << "chaos: " << s.message() << "\n";
    return 1;
  }
  LocalClusterOptions options;
  options.dir = f.dir + "/cluster";
  options.nodes = f.nodes;
  options.cluster = "chaos";
  options.baton_binary = baton;
  options.run_as_user = f.user;
  options.ttl_seconds = f.ttl;
  options.loop_wait_seconds = f.loop_wait;
  options.retry_timeout_seconds = f.retry_timeout;
  options.etcd_members = 3;
  options.network_namespaces = true;
  options.agent_env = {{"BATON_HA_SYNCHRONOUS_MODE", f.synchronous_mode},
                       {"BATON_HA_FAILSAFE_MODE", f.failsafe_mode ? "true" : "false"}};
  StopOnSignal(signals, options.dir);

  std::cerr << fmt::format(
                   "chaos: seed {}, {} rounds, TTL {} s, loop_wait {} s, hold {:.1f} s, "
                   "synchronous_mode {}, failsafe_mode {}, in {}",
                   f.seed, f.rounds, f.ttl, f.loop_wait, Seconds(hold), f.synchronous_mode,
                   f.failsafe_mode ? "on" : "off", f.dir)
            << std::endl;
  auto started = LocalCluster::Start(options);
  if (!started.ok()) {
    std::cerr << "chaos: the cluster did not start: " << started.status().message() << "\n";
    return 1;
  }
  LocalCluster cluster = std::move(started).value();
  std::string layout;
  for (const auto& n : cluster.nodes) layout += fmt::format(" {} {}", n.name, n.host);
  for (const auto& m : cluster.etcd) layout += fmt::format(" {} {}", m.name, m.endpoint);
  std::cerr << "chaos: network " << cluster.network->bridge << " (host "
            << cluster.network->host_address << "):" << layout << std::endl;
  int exit_code = 1;
  if (Status healthy = cluster.WaitHealthy(std::chrono::seconds(180)); !healthy.ok()) {
    std::cerr << "chaos: the cluster did not become healthy: " << healthy.message() << "\n";
  } else {
    ChaosOptions co;
    co.rounds = f.rounds;
    co.seed = f.seed;
    co.faults = kinds;
    co.clients = f.clients;
    co.hold = hold;
    co.asynchronous = f.synchronous_mode == "off";
    // The lease path cannot replace a silent primary sooner unless it had failed to renew for
    // half its TTL before the fault; an early takeover (a bug for a silent one) takes < 1 s.
    co.lease_floor_seconds = f.ttl / 2.0;
    const bool tty = isatty(STDERR_FILENO) != 0;
    std::ostream& lines = f.json ? std::cerr : std::cout;
    ChaosCampaign campaign(cluster, co, ProgressPrinter(), [&](const ChaosRound& round) {
      if (tty) std::cerr << "\r\033[K" << std::flush;
      lines << ChaosRoundText(round, f.rounds) << std::flush;
    });
    std::vector<std::pair<pid_t, std::optional<ProcessUsage>>> agents_before;
    for (const auto& node : cluster.nodes) {
      agents_before.emplace_back(node.agent_pid, UsageOf(node.agent_pid));
    }
    auto rounds = campaign.Run();
    if (tty) std::cerr << "\r\033[K" << std::flush;
    for (size_t i = 0; i < cluster.nodes.size(); ++i) {
      lines << AgentUsageLine(cluster.nodes[i], agents_before[i].first, agents_before[i].second)
            << std::flush;
    }
    if (!rounds.ok()) {
      std::cerr << "chaos: " << rounds.status().message() << "\n";
      exit_code = 2;
    } else {
      const ChaosSummary summary = SummarizeChaos(*rounds);
      if (f.json) {
        std::cout << JsonText(ChaosJson(*rounds, f.seed), 2) << "\n";
      } else {
        std::cout << ChaosSummaryText(summary, f.seed);
      }
      const bool all_ran = static_cast<int>(rounds->size()) == f.rounds;
      exit_code = summary.all.failed_rounds == 0 && all_ran ? 0 : 1;
      if (!all_ran) std::cerr << "chaos: stopped early: the cluster did not become whole again\n";
    }
  }
  if (Status s = cluster.Stop(); !s.ok()) {
    std::cerr << "chaos: stopping the cluster: " << s.message() << "\n";
    exit_code = 1;
  }
  if (exit_code == 0 && !f.keep) {
    std::error_code ec;
    fs::remove_all(f.dir, ec);
  } else {
    std::cerr << "chaos: kept " << f.dir << " (agent logs in cluster/node*/agent.log, PostgreSQL's "
              << "in cluster/node*/data.log)\n";
  }
  return exit_code;
}

}  // namespace
}  // namespace baton

int main(int argc, char** argv) {
  return baton::Main(argc, argv);
}
