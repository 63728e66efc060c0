// Integration: `baton drill` against a real cluster: its figures agree with a client the test
// runs itself (an external stopwatch), it works through any DSN with a fault command, and it
// refuses an unhealthy cluster.
#include <nlohmann/json.hpp>

#include "drill/write_load.h"
#include "harness.h"

namespace baton {
namespace {

using namespace baton::testing;  // NOLINT: the harness is this suite's vocabulary

class DrillTest : public ClusterSuite<DrillTest> {
 public:
  static LocalClusterOptions Options() { return ShortLeaseOptions(); }

 protected:
  static std::string Dsn() { return ClusterDsn(*cluster_); }

  static CommandResult Drill(std::vector<std::string> args) {
    std::vector<std::string> argv = {BatonBinary(), "drill"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto result = RunCommand(argv, {}, seconds(240));
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    // The drill restarts the agents it killed: their new pids are in the manifest only.
    auto reloaded = LocalCluster::Load(cluster_->dir);
    if (reloaded.ok()) *cluster_ = std::move(reloaded).value();
    return result.ok() ? *result : CommandResult{};
  }

  // The JSON document at the end of `output` (progress lines come before it).
  static nlohmann::json Report(const std::string& output) {
    const auto start = output.find("{\n");
    if (start == std::string::npos) return nlohmann::json();
    return nlohmann::json::parse(output.substr(start), nullptr, false);
  }
};

TEST_F(DrillTest, KillNodeFiguresAgreeWithAnExternalStopwatch) {
  WriteLoad stopwatch(Dsn(), "drill_stopwatch");
  ASSERT_TRUE(stopwatch.Prepare(seconds(30)).ok());
  stopwatch.Start();
  const std::string plot = cluster_->dir + "/drill.svg";
  const CommandResult result =
      Drill({"--demo", cluster_->dir, "--fault", "kill-node", "--json", "--plot", plot});
  stopwatch.Stop();
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const nlohmann::json report = Report(result.output);
  ASSERT_TRUE(report.is_object()) << result.output;
  const nlohmann::json& round = report["rounds"][0];
  ASSERT_FALSE(round.contains("failure")) << round.dump();
  EXPECT_NE(round["old_primary"], round["new_primary"]);
  EXPECT_GT(round["acked"].get<size_t>(), 100u);
  EXPECT_EQ(round["dual_primary_windows"], 0);
  const double gap = round["write_gap_seconds"].get<double>();
  const double rto = round["rto_seconds"].get<double>();
  EXPECT_GT(gap, 0.05) << "a node death must interrupt writes for a while";
  EXPECT_GE(rto + 1e-9, gap - 0.1);

  // The test's own client saw the same outage: its longest gap between acknowledgments.
  const auto acks = stopwatch.Acked();
  double external_gap = 0;
  for (size_t i = 1; i < acks.size(); ++i) {
    external_gap =
        std::max(external_gap, std::chrono::duration<double>(acks[i].at - acks[i - 1].at).count());
  }
  std::cout << "drill kill-node: RTO " << rto << " s, write gap " << gap
            << " s; external stopwatch gap " << external_gap << " s\n";
  EXPECT_NEAR(gap, external_gap, 0.5) << "the drill and an independent client disagree";
  std::ifstream svg(plot);
  const std::string text((std::istreambuf_iterator<char>(svg)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("<svg"), std::string::npos);
  EXPECT_NE(text.find("new primary"), std::string::npos) << "no promotion marker in the plot";
}

TEST_F(DrillTest, AnyClusterThroughADsnAndAFaultCommand) {
  // The drill knows nothing of baton here: a DSN, and a command that faults the primary.
  const std::string command = BatonBinary() + " switchover -c " + cluster_->nodes[0].config_path +
                              " && echo \"faulted $BATON_DRILL_PRIMARY\"";
  const CommandResult result = Drill(
      {"--dsn", Dsn(), "--fault-command", command, "--rounds", "2", "--clients", "2", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const nlohmann::json report = Report(result.output);
  ASSERT_TRUE(report.is_object()) << result.output;
  ASSERT_EQ(report["rounds"].size(), 2u);
  for (const auto& round : report["rounds"]) {
    ASSERT_FALSE(round.contains("failure")) << round.dump();
    EXPECT_NE(round["old_primary"], round["new_primary"]);
    EXPECT_EQ(round["lost_rows"], 0) << "a switchover lost acknowledged writes";
  }
  EXPECT_EQ(report["summary"]["rounds_measured"], 2);

  // A baton cluster through a node's config file: the DSN comes from its members.
  const CommandResult via_config =
      Drill({"-c", cluster_->nodes[1].config_path, "--fault", "switchover", "--json"});
  ASSERT_EQ(via_config.exit_code, 0) << via_config.output;
  const nlohmann::json one = Report(via_config.output)["rounds"][0];
  EXPECT_NE(one["old_primary"], one["new_primary"]) << one.dump();
  EXPECT_EQ(one["lost_rows"], 0);
}

TEST_F(DrillTest, RefusesAnUnhealthyClusterAndBadInput) {
  const size_t replica = (cluster_->LeaderIndex().value_or(0) + 1) % 3;
  cluster_->KillNode(replica);
  // Once the leader reports the replica gone (its next loop), the cluster is not healthy.
  ASSERT_TRUE(PollUntil(seconds(20),
                        [&] { return !cluster_->WaitHealthy(std::chrono::milliseconds(1)).ok(); }));
  CommandResult result = Drill({"--demo", cluster_->dir, "--fault", "kill-node"});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("not healthy"), std::string::npos) << result.output;
  ASSERT_TRUE(cluster_->StartAgent(replica).ok());
  EXPECT_EQ(Drill({"--demo", cluster_->dir, "--fault", "unplug-the-moon"}).exit_code, 2);
  EXPECT_EQ(Drill({"--dsn", Dsn(), "--fault", "kill-node"}).exit_code, 2);
  EXPECT_EQ(Drill({"--fault", "kill-node"}).exit_code, 2);
  EXPECT_EQ(Drill({"-c", cluster_->nodes[0].config_path, "--fault", "kill-node"}).exit_code, 2);
}

}  // namespace
}  // namespace baton
