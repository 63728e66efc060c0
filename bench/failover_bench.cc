// bench/failover: kill -9 the primary node of a local cluster under a steady write load (or,
// with --switchover, run `baton switchover`) and measure, per round, the seconds from the fault
// to the first write acknowledged by the new primary (RTO), the write gap a client sees (last
// acknowledgment by the old primary to first by the new), acknowledged rows lost, and client
// errors. A killed node rejoins before the next round. Prints one line per round and a summary.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <random>
#include <set>
#include <thread>

#include "core/process.h"
#include "core/wall_time.h"
#include "dcs/cluster_store.h"
#include "dcs/etcd_dcs.h"
#include "drill/write_load.h"
#include "lab/local_cluster.h"
#include "pg/pg_connection.h"

namespace baton {
namespace {

struct Round {
  double rto_seconds = -1;
  double gap_seconds = -1;
  size_t acked = 0;
  size_t lost = 0;
  size_t errors = 0;
  std::string old_leader;
  std::string new_leader;
  std::string killed_at;  // wall clock, to line up with the agents' logs
};

// A node can die at any point of the leader's loop; the start of a round is tied to that loop
// (the cluster just reported healthy), so the kill waits a random part of loop_wait first.
Result<Round> RunRound(LocalCluster& cluster, int number, Duration kill_delay, bool switchover) {
  if (Status s = cluster.WaitHealthy(std::chrono::seconds(120)); !s.ok()) return s;
  auto leader = cluster.LeaderIndex();
  if (!leader) return FailedPrecondition("no leader before the round");
  std::vector<std::pair<std::string, int>> hosts;
  for (const auto& n : cluster.nodes) hosts.emplace_back("127.0.0.1", n.pg_port);
  WriteLoad load(MultiHostDsn(hosts, "postgres", LocalCluster::kSuperuserPassword),
                 fmt::format("bench_round_{}", number));
  if (Status s = load.Prepare(std::chrono::seconds(30)); !s.ok()) return s;
  load.Start();
  const auto warmup_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (load.acked_count() < 500 && std::chrono::steady_clock::now() < warmup_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(kill_delay);
  Round round;
  round.old_leader = cluster.nodes[*leader].name;
  const auto killed_at = std::chrono::steady_clock::now();
  round.killed_at = UtcTimestamp();
  if (switchover) {
    auto result =
        RunCommand({cluster.baton_binary, "switchover", "-c", cluster.nodes[0].config_path}, {},
                   std::chrono::seconds(90));
    if (!result.ok()) return result.status();
    if (result->exit_code != 0) return Internal("baton switchover failed: " + result->output);
  } else {
    cluster.KillNode(*leader);
  }
  const auto deadline = killed_at + std::chrono::seconds(120);
  std::optional<TimePoint> first;
  while (!(first = load.FirstAckAfter(killed_at, round.old_leader)) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));  // a second of writes on the new primary
  load.Stop();
  if (!first) return Timeout("no write was acknowledged within 120 s of the kill");
  round.rto_seconds = std::chrono::duration<double>(*first - killed_at).count();
  std::optional<TimePoint> last_on_old;
  for (const auto& ack : load.Acked()) {
    if (ack.at < *first && ack.node.ends_with("/" + round.old_leader)) last_on_old = ack.at;
  }
  if (last_on_old) round.gap_seconds = std::chrono::duration<double>(*first - *last_on_old).count();
  round.acked = load.acked_count();
  round.errors = load.failed() + load.unknown();

  auto new_leader = cluster.LeaderIndex();
  if (!new_leader) return FailedPrecondition("no leader after the round");
  round.new_leader = cluster.nodes[*new_leader].name;
  auto conn = PgConnection::Connect(cluster.ConnInfo(*new_leader));
  if (!conn.ok()) return conn.status();
  auto rows = (*conn)->Query(fmt::format("SELECT id FROM bench_round_{}", number));
  if (!rows.ok()) return rows.status();
  std::set<int64_t> present;
  for (const auto& row : *rows) present.insert(std::stoll(row[0].value_or("0")));
  for (const auto& ack : load.Acked()) round.lost += present.count(ack.id) == 0;

  if (!switchover) {
    if (Status s = cluster.StartAgent(*leader); !s.ok()) return s;  // it rejoins for next round
  }
  return round;
}

int Main(int argc, char** argv) {
  CLI::App app{"Kill the primary node under write load and measure failover (RTO, rows lost)"};
  int rounds = 5;
  LocalClusterOptions options;
  options.ttl_seconds = 2;
  options.loop_wait_seconds = 1;
  options.retry_timeout_seconds = 1;
  options.dir = "/tmp/baton-bench-failover";
  app.add_option("--rounds", rounds, "Rounds to run")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--ttl", options.ttl_seconds, "Leader lease TTL in seconds")
      ->capture_default_str()
      ->check(CLI::Range(2, 60));
  app.add_option("--loop-wait", options.loop_wait_seconds, "Agent loop_wait in seconds")
      ->capture_default_str();
  app.add_option("--dir", options.dir, "Working directory (replaced)")->capture_default_str();
  unsigned seed = std::random_device{}();
  app.add_option("--seed", seed, "Seed for the kill moments within the leader's loop");
  app.add_option("--baton", options.baton_binary, "The baton binary")->required();
  bool switchover = false;
  app.add_flag("--switchover", switchover,
               "Fault = a planned `baton switchover` instead of kill -9 of the primary node");
  std::string synchronous_mode = "off";
  app.add_option("--synchronous-mode", synchronous_mode,
                 "ha.synchronous_mode of the cluster (off, on, quorum)")
      ->capture_default_str()
      ->check(CLI::IsMember({"off", "on", "quorum"}));
  CLI11_PARSE(app, argc, argv);
  options.agent_env["BATON_HA_SYNCHRONOUS_MODE"] = synchronous_mode;
  options.retry_timeout_seconds =
      std::min(options.retry_timeout_seconds, options.ttl_seconds / 2.0);

  std::cout << fmt::format(
                   "bench/failover: {} rounds of {}, ttl {} s, loop_wait {} s, synchronous mode "
                   "{}, 3 nodes, seed {}\n",
                   rounds, switchover ? "baton switchover" : "kill -9 of the primary node",
                   options.ttl_seconds, options.loop_wait_seconds, synchronous_mode, seed)
            << std::flush;
  auto cluster = LocalCluster::Start(options);
  if (!cluster.ok()) {
    std::cerr << cluster.status().ToString() << "\n";
    return 1;
  }
  std::vector<Round> done;
  int status = 0;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> phase(0.0, 1.0);
  for (int r = 1; r <= rounds; ++r) {
    const Duration kill_delay = std::chrono::duration_cast<Duration>(
        std::chrono::duration<double>(phase(rng) * options.loop_wait_seconds));
    auto round = RunRound(*cluster, r, kill_delay, switchover);
    if (!round.ok()) {
      std::cerr << fmt::format("round {}: {}\n", r, round.status().ToString());
      status = 1;
      break;
    }
    std::cout << fmt::format(
                     "round {:>3}: {} {} at {} -> {}  RTO {:.2f} s  gap {:.2f} s  acked {:>6}  "
                     "lost {}  errors {}\n",
                     r, switchover ? "switched over from" : "killed", round->old_leader,
                     round->killed_at, round->new_leader, round->rto_seconds, round->gap_seconds,
                     round->acked, round->lost, round->errors)
              << std::flush;
    done.push_back(*round);
  }
  (void)cluster->Stop();
  if (!done.empty()) {
    std::vector<double> rtos;
    std::vector<double> gaps;
    size_t lost = 0;
    size_t errors = 0;
    for (const auto& r : done) {
      rtos.push_back(r.rto_seconds);
      gaps.push_back(r.gap_seconds);
      lost += r.lost;
      errors += r.errors;
    }
    std::sort(rtos.begin(), rtos.end());
    std::sort(gaps.begin(), gaps.end());
    std::cout << fmt::format(
        "summary: {} rounds  RTO median {:.2f} s  worst {:.2f} s  best {:.2f} s  write gap median "
        "{:.2f} s  worst {:.2f} s  acked rows lost {}  client errors {}\n",
        done.size(), rtos[rtos.size() / 2], rtos.back(), rtos.front(), gaps[gaps.size() / 2],
        gaps.back(), lost, errors);
  }
  return status;
}

}  // namespace
}  // namespace baton

int main(int argc, char** argv) {
  return baton::Main(argc, argv);
}
