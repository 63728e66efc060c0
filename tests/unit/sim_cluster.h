// SimCluster: three agents with fake PostgreSQL instances on one in-memory DCS and a simulated
// clock, stepped by hand (Rounds) so every timing rule plays out deterministically. The base of
// the agent simulation suites. Not thread-safe (one test thread).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>

#include "dcs/memory_dcs.h"
#include "fake_alerts.h"
#include "fake_instance.h"
#include "fake_peers.h"
#include "ha/agent.h"

namespace baton {

inline Config NodeConfig(int index) {
  Config c;
  c.cluster_name = "sim";
  c.node_name = "node" + std::to_string(index);
  c.pg_listen = c.pg_connect = {"127.0.0.1", 5400 + index};
  c.api_listen = c.api_connect = {"127.0.0.1", 8000 + index};
  c.timing.ttl_seconds = 10;
  c.timing.primary_start_timeout_seconds = 30;
  return c;
}

struct SimNode {
  Config config;
  FakeInstance instance;
  RecordingAlerts alerts;
  std::unique_ptr<Agent> agent;
};

class SimCluster : public ::testing::Test {
 protected:
  // `adjust` changes every node's config before its agent is made.
  explicit SimCluster(const std::function<void(Config&)>& adjust = {}) : dcs_(clock_) {
    for (int i = 1; i <= 3; ++i) {
      auto node = std::make_unique<SimNode>();
      node->config = NodeConfig(i);
      if (adjust) adjust(node->config);
      node->agent =
          std::make_unique<Agent>(node->config, dcs_, node->instance, clock_, peers_, node->alerts);
      nodes_.push_back(std::move(node));
    }
  }

  // Ticks every live agent once, `rounds` times, advancing simulated time between rounds. Every
  // node's fencing watchdog looks after each step: it runs whether its agent ticks or not.
  void Rounds(int rounds, const std::vector<bool>& alive = {true, true, true}) {
    for (int r = 0; r < rounds; ++r) {
      for (size_t i = 0; i < nodes_.size(); ++i) {
        if (alive[i]) nodes_[i]->agent->RunOnce();
      }
      clock_.Advance(std::chrono::milliseconds(500));
      for (auto& node : nodes_) node->instance.RunWatchdog(clock_.Now());
    }
  }

  ClusterView View() {
    ClusterStore reader(dcs_, "sim", "", 10, clock_);
    return *reader.Load();
  }

  int Primaries() {
    int n = 0;
    for (auto& node : nodes_) {
      n += node->instance.state.running && node->instance.state.role == PgRole::kPrimary;
    }
    return n;
  }

  size_t LeaderIndex() {
    const auto view = View();
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (view.leader && view.leader->name == nodes_[i]->config.node_name) return i;
    }
    ADD_FAILURE() << "no leader";
    return 0;
  }

  // Rounds until some node runs as primary, or `limit` of simulated time went by; how long it
  // took.
  Duration RoundsUntilAPrimary(const std::vector<bool>& alive, Duration limit) {
    const TimePoint from = clock_.Now();
    while (Primaries() == 0 && clock_.Now() - from < limit) Rounds(1, alive);
    return clock_.Now() - from;
  }

  // Whether node `index`'s instance was asked to do `call` ("detach", "promote", ...).
  bool Called(size_t index, const std::string& call) {
    const auto& calls = nodes_[index]->instance.calls;
    return std::find(calls.begin(), calls.end(), call) != calls.end();
  }

  void Bootstrap() {
    Rounds(4);
    ASSERT_EQ(Primaries(), 1);
  }

  // A node dies whole: its agent stops ticking and its PostgreSQL is gone. Returns the liveness
  // vector for Rounds().
  std::vector<bool> Kill(size_t index, std::vector<bool> alive = {true, true, true}) {
    alive[index] = false;
    nodes_[index]->instance.state.running = nodes_[index]->instance.state.accepting = false;
    nodes_[index]->instance.watchdog_alive = false;
    return alive;
  }

  // The leader (`leader`) sees both replicas streaming, caught up to `replay_lsn` (and confirmed
  // on disk), with the sync_state its synchronous_standby_names gives them.
  void ReportStandbys(size_t leader, Lsn replay_lsn) {
    FakeInstance& instance = nodes_[leader]->instance;
    instance.state.replication.clear();
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (i == leader) continue;
      ReplicationPeer peer{nodes_[i]->config.node_name, "streaming", replay_lsn, 0};
      peer.flush_lsn = replay_lsn;
      instance.state.replication.push_back(peer);
    }
    instance.ShowSyncStates();
  }

  // With the replicas caught up, asks for a switchover from `from` (the leader) to `to`.
  SwitchoverRequest RequestCaughtUpSwitchover(size_t from, size_t to) {
    ReportStandbys(from, nodes_[from]->instance.state.lsn);
    Rounds(1);
    ClusterStore admin(dcs_, "sim", "", 10, clock_);
    SwitchoverRequest request;
    request.from = nodes_[from]->config.node_name;
    request.to = nodes_[to]->config.node_name;
    EXPECT_TRUE(*admin.RequestSwitchover(request));
    return request;
  }

  SimulatedClock clock_;
  MemoryDcs dcs_;
  FakePeers peers_;
  std::vector<std::unique_ptr<SimNode>> nodes_;
};

}  // namespace baton
