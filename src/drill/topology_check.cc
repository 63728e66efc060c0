#include "drill/topology_check.h"

#include <fmt/format.h>

#include <thread>

#include "pg/pg_connection.h"

namespace baton {

namespace {

// What each server says of itself, against the leader etcd names. "" when it all agrees.
std::string ServersDisagree(const LocalCluster& cluster, size_t leader) {
  std::string problems;
  auto add = [&](const std::string& text) { problems += (problems.empty() ? "" : "; ") + text; };
  for (size_t i = 0; i < cluster.nodes.size(); ++i) {
    const LocalNode& n = cluster.nodes[i];
    auto conn = PgConnection::Connect(cluster.ConnInfo(i));
    if (!conn.ok()) {
      add(n.name + " does not answer: " + conn.status().message());
      continue;
    }
    auto rows = (*conn)->Query(
        "SELECT pg_is_in_recovery(), (SELECT status || ' ' || sender_host || ':' || sender_port"
        " FROM pg_stat_wal_receiver)");
    if (!rows.ok() || rows->size() != 1) {
      add(n.name + " does not say what it is");
      continue;
    }
    const bool in_recovery = rows->front()[0].value_or("") == "t";
    const std::string receiver = rows->front()[1].value_or("no WAL receiver");
    if (i == leader && in_recovery) add(n.name + " leads but is in recovery");
    if (i != leader && !in_recovery) add(n.name + " is a second primary");
    const std::string expected = "streaming " + cluster.nodes[leader].pg_address();
    if (i != leader && in_recovery && receiver != expected) {
      add(fmt::format("{}'s WAL receiver: {} (not {})", n.name, receiver, expected));
    }
  }
  return problems;
}

}  // namespace

Status CheckOnePrimaryAllStreaming(const LocalCluster& cluster, Duration timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last = "not checked";
  while (true) {
    const auto left = deadline - std::chrono::steady_clock::now();
    Status healthy = cluster.WaitHealthy(std::max<Duration>(left, std::chrono::milliseconds(1)));
    if (!healthy.ok()) return healthy;
    const std::optional<size_t> leader = cluster.LeaderIndex();
    last = leader ? ServersDisagree(cluster, *leader) : "no leader";
    if (last.empty()) return Status::Ok();
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // poll interval
  }
  return FailedPrecondition("etcd says the cluster is whole, the servers do not: " + last);
}

}  // namespace baton
