// Agent::Run, the real loop, on a simulated clock: three agents on their own threads bootstrap
// a cluster and keep its leader for many lease TTLs while the test alone moves time. Time moves
// only while every loop waits in Clock::WaitUntil for a moment still ahead, so each loop ticks
// when its simulated deadline comes, as it would in real time.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "dcs/memory_dcs.h"
#include "fake_instance.h"
#include "sim_cluster.h"

namespace baton {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Every member answers; nothing is watched. Thread-safe (it keeps nothing).
class AnsweringPeers final : public Peers {
 public:
  NodeReach Reach(const MemberInfo&) override { return NodeReach::kAnswers; }
  void WatchNode(const MemberInfo*, std::function<void()>) override {}
  bool ConfirmFailsafe(const MemberInfo&, const std::string&) override { return false; }
};

class AgentLoopTest : public ::testing::Test {
 protected:
  AgentLoopTest() : dcs_(clock_) {
    for (int i = 1; i <= 3; ++i) {
      auto node = std::make_unique<SimNode>();
      node->config = NodeConfig(i);
      node->agent = std::make_unique<Agent>(node->config, dcs_, node->instance, clock_, peers_);
      nodes_.push_back(std::move(node));
    }
    for (auto& node : nodes_) {
      loops_.emplace_back([this, agent = node->agent.get()] { agent->Run(stop_); });
    }
  }
  ~AgentLoopTest() override {
    stop_ = true;
    for (auto& node : nodes_) node->agent->Wake();
    for (auto& loop : loops_) loop.join();
  }

  // Once every loop waits for a moment still ahead (none lags behind simulated time), moves
  // simulated time on by `by`. False when the loops did not all wait within 20 s of real time.
  bool Advance(std::chrono::nanoseconds by) {
    const auto give_up = std::chrono::steady_clock::now() + seconds(20);
    while (clock_.WaitsAhead() < nodes_.size()) {
      if (std::chrono::steady_clock::now() > give_up) return false;
      std::this_thread::sleep_for(milliseconds(1));  // a poll, bounded by give_up
    }
    clock_.Advance(by);
    return true;
  }

  // The name of the one agent that leads with a writable primary while the other two run
  // replicas that see it as leader; "" otherwise.
  std::string SteadyLeader() {
    std::string leader;
    int replicas = 0;
    for (auto& node : nodes_) {
      const AgentSnapshot s = node->agent->Snapshot();
      const bool primary = s.instance.accepting && s.instance.role == PgRole::kPrimary;
      if (s.is_leader && primary) leader = node->config.node_name;
      if (!s.is_leader && s.instance.running && s.instance.role == PgRole::kReplica &&
          s.cluster.leader) {
        ++replicas;
      }
    }
    return replicas == 2 ? leader : "";
  }

  SimulatedClock clock_;
  MemoryDcs dcs_;
  AnsweringPeers peers_;
  std::vector<std::unique_ptr<SimNode>> nodes_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> loops_;
};

TEST_F(AgentLoopTest, TheRealLoopBootstrapsAndKeepsItsLeaderInSimulatedTime) {
  std::string leader;
  for (int i = 0; i < 40 && leader.empty(); ++i) {
    ASSERT_TRUE(Advance(milliseconds(500))) << "a loop did not come back to its wait";
    leader = SteadyLeader();
  }
  ASSERT_FALSE(leader.empty()) << "no steady cluster after 20 simulated seconds";
  // Six lease TTLs (10 s each) later: the leader renewed its lease on every simulated loop_wait.
  for (int i = 0; i < 120; ++i) {
    ASSERT_TRUE(Advance(milliseconds(500)));
    ASSERT_EQ(SteadyLeader(), leader) << "after " << (i + 1) * 500 << " simulated ms";
  }
  const ClusterView view = *ClusterStore(dcs_, "sim", "", 10, clock_).Load();
  ASSERT_EQ(view.history.size(), 1u);
  EXPECT_EQ(view.history[0]["event"], "bootstrap");
  // The record carries simulated wall time: the clock's fixed day, not the machine's.
  EXPECT_EQ(view.history[0]["time"].get<std::string>().substr(0, 10), "2026-01-01");
}

}  // namespace
}  // namespace baton
