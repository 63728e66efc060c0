// Integration: `baton doctor` on real etcd and PostgreSQL: a healthy cluster passes every check
// and its smoke row reaches every replica; maintenance mode warns; bad input (etcd that does not
// answer, a wrong password, an unknown cluster) and a stopped member are fail lines with the
// reason, within the probes' deadlines.
#include <nlohmann/json.hpp>

#include "harness.h"

namespace baton {
namespace {

using namespace baton::testing;  // NOLINT: the harness is this suite's vocabulary

class DoctorTest : public ClusterSuite<DoctorTest> {
 public:
  static LocalClusterOptions Options() { return ShortLeaseOptions(); }

 protected:
  static CommandResult Doctor(std::vector<std::string> args,
                              const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> argv = {BatonBinary(), "doctor"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto result = RunCommand(argv, env, seconds(30));
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return result.ok() ? *result : CommandResult{};
  }

  static std::string Config() { return cluster_->nodes[0].config_path; }

  static nlohmann::json Json(const CommandResult& result) {
    auto j = nlohmann::json::parse(result.output, nullptr, /*allow_exceptions=*/false);
    EXPECT_TRUE(j.is_object()) << result.output;
    return j.is_object() ? j : nlohmann::json::object();
  }

  // The checks named `check` in a JSON report, by member ("" for the cluster).
  static std::map<std::string, nlohmann::json> Checks(const nlohmann::json& report,
                                                      const std::string& check) {
    std::map<std::string, nlohmann::json> found;
    for (const auto& c : report.value("checks", nlohmann::json::array())) {
      if (c["check"] == check)
        found[c["member"].is_null() ? "" : c["member"].get<std::string>()] = c;
    }
    return found;
  }
};

TEST_F(DoctorTest, AHealthyClusterPassesEveryCheckAndItsSmokeRowReachesEveryReplica) {
  const std::string leader = cluster_->nodes[Leader()].name;
  CommandResult result = Doctor({"-c", Config(), "--json", "--smoke-write"});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const nlohmann::json report = Json(result);
  EXPECT_EQ(report["status"], "ok");
  for (const auto& c : report["checks"]) EXPECT_EQ(c["status"], "ok") << c.dump();
  ASSERT_EQ(Checks(report, "primary").count(leader), 1u) << result.output;
  EXPECT_EQ(Checks(report, "watchdog").count(leader), 1u);
  const auto replication = Checks(report, "replication");
  const auto smoke = Checks(report, "smoke-write");
  for (const LocalNode& node : cluster_->nodes) {
    if (node.name == leader) continue;
    ASSERT_EQ(replication.count(node.name), 1u) << node.name;
    EXPECT_EQ(replication.at(node.name)["figures"]["timeline"],
              Checks(report, "primary").at(leader)["figures"]["timeline"]);
    ASSERT_EQ(smoke.count(node.name), 1u) << node.name;
    EXPECT_GE(smoke.at(node.name)["figures"]["seen_after_ms"].get<double>(), 0.0);
  }
  // The smoke row is removed again; the table itself stays.
  EXPECT_EQ(QueryOne(Conn(Leader()), "SELECT count(*) FROM baton_doctor"), "0");

  result = Doctor({"-c", Config()});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("CHECK"), std::string::npos);
  EXPECT_NE(result.output.find("0 fail"), std::string::npos) << result.output;
}

TEST_F(DoctorTest, AClusterInMaintenanceModeWarnsAndExitsOne) {
  auto paused = RunCommand({BatonBinary(), "pause", "-c", Config()}, {}, seconds(30));
  ASSERT_TRUE(paused.ok() && paused->exit_code == 0);
  const CommandResult result = Doctor({"-c", Config(), "--json"});
  (void)RunCommand({BatonBinary(), "resume", "-c", Config()}, {}, seconds(30));
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_EQ(Checks(Json(result), "maintenance")[""]["status"], "warn");
}

TEST_F(DoctorTest, BadInputIsAFailLineWithTheReasonNeverAHang) {
  // etcd where nothing listens.
  auto port = FreePorts(1);
  ASSERT_TRUE(port.ok());
  const std::string nowhere = "127.0.0.1:" + std::to_string(port->front());
  CommandResult result = Doctor({"--etcd", nowhere, "--cluster", cluster_->cluster, "--json"});
  EXPECT_EQ(result.exit_code, 2) << result.output;
  nlohmann::json report = Json(result);
  ASSERT_EQ(report["checks"].size(), 1u) << result.output;
  EXPECT_EQ(report["checks"][0]["check"], "etcd");
  EXPECT_NE(report["checks"][0]["reason"].get<std::string>().find("cannot read the cluster"),
            std::string::npos);

  // No such cluster in that etcd.
  result = Doctor({"--etcd", cluster_->etcd_endpoint, "--cluster", "no-such-cluster"});
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("no cluster named 'no-such-cluster'"), std::string::npos)
      << result.output;

  // PostgreSQL refuses the password: every member's PostgreSQL is a fail line saying so.
  result = Doctor({"--etcd", cluster_->etcd_endpoint, "--cluster", cluster_->cluster, "--json"},
                  {{"PGUSER", "postgres"}, {"PGPASSWORD", "wrong"}});
  EXPECT_EQ(result.exit_code, 2) << result.output;
  report = Json(result);
  const auto reachable = Checks(report, "reachable");
  ASSERT_EQ(reachable.size(), cluster_->nodes.size()) << result.output;
  for (const auto& [name, check] : reachable) {
    EXPECT_EQ(check["status"], "fail");
    EXPECT_NE(check["reason"].get<std::string>().find("password authentication failed"),
              std::string::npos)
        << check.dump();
  }

  // A flag it does not know.
  result = Doctor({"-c", Config(), "--verbose"});
  EXPECT_EQ(result.exit_code, 2) << result.output;
}

TEST_F(DoctorTest, AFrozenOrStoppedReplicaIsAFailLineAndTheOthersStillPass) {
  const size_t victim = (Leader() + 1) % cluster_->nodes.size();
  const std::string name = cluster_->nodes[victim].name;
  // Frozen (agent and every PostgreSQL process stopped): its probes end at the timeout.
  std::vector<pid_t> frozen = ProcessTree(cluster_->PostmasterPid(victim));
  frozen.push_back(cluster_->nodes[victim].agent_pid);
  for (pid_t pid : frozen) kill(pid, SIGSTOP);
  const auto started = std::chrono::steady_clock::now();
  CommandResult result = Doctor({"-c", Config(), "--json", "--timeout", "1"});
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  for (pid_t pid : frozen) kill(pid, SIGCONT);
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(
      Checks(Json(result), "reachable")[name]["reason"].get<std::string>().find("no answer within"),
      std::string::npos)
      << result.output;
  EXPECT_LT(took, 10.0) << "every probe has a deadline";

  cluster_->KillNode(victim);
  result = Doctor({"-c", cluster_->nodes[Leader()].config_path, "--json"});
  EXPECT_EQ(result.exit_code, 2) << result.output;
  nlohmann::json report = Json(result);
  ASSERT_EQ(Checks(report, "reachable").count(name), 1u) << result.output;
  EXPECT_EQ(Checks(report, "reachable")[name]["status"], "fail");
  for (const auto& [member, check] : Checks(report, "reachable")) {
    if (member != name) {
      EXPECT_EQ(check["status"], "ok") << check.dump();
    }
  }
  EXPECT_EQ(Checks(report, "etcd")[""]["status"], "ok");
  // Once its lease ends its record is gone, and the node is still named, as registered.
  ASSERT_TRUE(PollUntil(seconds(20), [&] { return LoadView(*cluster_).Member(name) == nullptr; }));
  report = Json(Doctor({"-c", cluster_->nodes[Leader()].config_path, "--json"}));
  EXPECT_NE(Checks(report, "reachable")[name]["reason"].get<std::string>().find("no member record"),
            std::string::npos)
      << report.dump();
  ASSERT_TRUE(cluster_->StartAgent(victim).ok());
  ASSERT_TRUE(cluster_->WaitHealthy(seconds(120)).ok());
  EXPECT_EQ(Doctor({"-c", Config()}).exit_code, 0);
}

}  // namespace
}  // namespace baton
