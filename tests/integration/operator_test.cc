// Integration: the operator verbs on real etcd and PostgreSQL: switchover under write load,
// scheduled and cancelled switchovers, manual failover in maintenance mode, dynamic settings
// with reload and pending restarts, reinit, remove, hooks and the authenticated REST verbs.
// The agents run with hooks that append their environment to a file, and an admin token.
#include <nlohmann/json.hpp>
#include <set>

#include "drill/write_load.h"
#include "harness.h"

namespace baton {
namespace {

using namespace baton::testing;  // NOLINT: the harness is this suite's vocabulary

constexpr const char* kToken = "operator-test-token";

class OperatorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = SuiteCluster::Start(ShortLeaseOptions());
    if (!cluster_) return;
    // Restart every agent with hooks and an admin token; each adopts its running PostgreSQL.
    for (size_t i = 0; i < cluster_->nodes.size(); ++i) RestartAgent(i, {});
  }

  // Restarts node i's agent with the suite's hooks and admin token, plus `extra` settings.
  static void RestartAgent(size_t i, const std::map<std::string, std::string>& extra) {
    {
      LocalNode& node = cluster_->nodes[i];
      const std::string log = HookLog(i);
      const std::string hook =
          "env | grep -E '^BATON_(EVENT|CLUSTER|NODE|OLD_ROLE|NEW_ROLE|TIMELINE|REASON)=' | "
          "sort | tr '\\n' ' ' >> " +
          log + " && echo >> " + log;
      kill(node.agent_pid, SIGKILL);
      ASSERT_TRUE(WaitForExit(node.agent_pid, seconds(10)));
      std::map<std::string, std::string> env = {{"BATON_HOOKS_ON_START", hook},
                                                {"BATON_HOOKS_ON_ROLE_CHANGE", hook},
                                                {"BATON_HOOKS_ON_FAILOVER", hook},
                                                {"BATON_RESTAPI_AUTH_TOKEN", kToken}};
      env.insert(extra.begin(), extra.end());
      ASSERT_TRUE(cluster_->StartAgent(i, env).ok());
      const std::string base = extra.count("BATON_RESTAPI_CERTFILE") ? "https://" : "http://";
      ASSERT_TRUE(PollUntil(seconds(30), [&] { return AgentLive(i, base); }))
          << node.name << " did not come back";
    }
  }

  // /liveness answers 200 over `scheme` ("http://" or "https://", certificate not verified).
  static bool AgentLive(size_t i, const std::string& scheme) {
    httplib::Client client(scheme + "127.0.0.1:" + std::to_string(cluster_->nodes[i].api_port));
    client.enable_server_certificate_verification(false);
    client.set_connection_timeout(2);
    auto res = client.Get("/liveness");
    return res && res->status == 200;
  }

  static void TearDownTestSuite() { SuiteCluster::Stop(cluster_); }

  void SetUp() override {
    ASSERT_NE(cluster_, nullptr) << "the cluster did not start";
    Status healthy = cluster_->WaitHealthy(seconds(120));
    ASSERT_TRUE(healthy.ok()) << "precondition: " << healthy.ToString();
  }

  static std::string HookLog(size_t i) {
    return cluster_->dir + "/hooks-" + cluster_->nodes[i].name;
  }

  static size_t Leader() {
    auto leader = cluster_->LeaderIndex();
    EXPECT_TRUE(leader.has_value()) << "no leader";
    return leader.value_or(0);
  }

  static std::string Conn(size_t i) { return cluster_->ConnInfo(i); }

  // Runs `baton ARGS -c <node1's config>`.
  static CommandResult Baton(std::vector<std::string> args,
                             const std::map<std::string, std::string>& env = {},
                             Duration timeout = seconds(90)) {
    std::vector<std::string> argv = {BatonBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("-c");
    argv.push_back(cluster_->nodes[0].config_path);
    auto result = RunCommand(argv, env, timeout);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return result.ok() ? *result : CommandResult{};
  }

  static httplib::Result Post(size_t i, const std::string& path, const std::string& body,
                              const std::string& authorization) {
    httplib::Client client("127.0.0.1", cluster_->nodes[i].api_port);
    client.set_connection_timeout(2);
    httplib::Headers headers;
    if (!authorization.empty()) headers.emplace("Authorization", authorization);
    return client.Post(path.c_str(), headers, body, "application/json");
  }

  static inline std::unique_ptr<LocalCluster> cluster_;
};

TEST_F(OperatorTest, SwitchoverUnderLoadLosesNoAcknowledgedWriteAndNeedsNoRewind) {
  const size_t old = Leader();
  const size_t target = (old + 1) % 3;
  const std::string old_name = cluster_->nodes[old].name;
  const std::string target_name = cluster_->nodes[target].name;
  std::vector<std::pair<std::string, int>> hosts;
  for (const auto& n : cluster_->nodes) hosts.emplace_back("127.0.0.1", n.pg_port);
  WriteLoad load(MultiHostDsn(hosts, "postgres", LocalCluster::kSuperuserPassword), "switchover");
  ASSERT_TRUE(load.Prepare(seconds(30)).ok());
  load.Start();
  ASSERT_TRUE(PollUntil(seconds(30), [&] { return load.acked_count() >= 200; }));

  const CommandResult result = Baton({"switchover", "--to", target_name});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("without a rewind"), std::string::npos) << result.output;
  EXPECT_EQ(Leader(), target);
  const size_t acked_before = load.acked_count();
  ASSERT_TRUE(PollUntil(seconds(30), [&] { return load.acked_count() >= acked_before + 200; }));
  load.Stop();

  // Every acknowledged row is on the new leader: a switchover loses nothing.
  auto rows = Query(Conn(target), "SELECT id FROM switchover");
  ASSERT_TRUE(rows.ok());
  std::set<int64_t> present;
  for (const auto& row : *rows) present.insert(std::stoll(*row[0]));
  size_t lost = 0;
  std::optional<TimePoint> last_on_old, first_on_new;
  for (const auto& ack : load.Acked()) {
    lost += present.count(ack.id) == 0;
    if (ack.node.ends_with("/" + old_name) && !first_on_new) last_on_old = ack.at;
    if (ack.node.ends_with("/" + target_name) && !first_on_new) first_on_new = ack.at;
  }
  EXPECT_EQ(lost, 0u) << "acknowledged rows lost in a switchover";
  ASSERT_TRUE(last_on_old && first_on_new);
  std::cout << "switchover: write gap "
            << std::chrono::duration<double>(*first_on_new - *last_on_old).count() << " s, acked "
            << load.acked_count() << ", lost " << lost << ", failed " << load.failed()
            << ", unknown " << load.unknown() << "\n";

  // The old leader follows the new one on its timeline, without pg_rewind or a re-clone.
  ASSERT_TRUE(cluster_->WaitHealthy(seconds(60)).ok());
  const ClusterView view = LoadView(*cluster_);
  EXPECT_EQ(view.Member(old_name)->rejoined, "");
  EXPECT_EQ(view.Member(old_name)->timeline, view.Member(target_name)->timeline);
  bool recorded = false;
  for (const auto& h : view.history) {
    recorded |=
        h["event"] == "switchover" && h["old_leader"] == old_name && h["new_leader"] == target_name;
    EXPECT_NE(h["event"], "rejoin");
  }
  EXPECT_TRUE(recorded) << "no switchover record in /history";

  // Hooks fired on both nodes with the event in their environment.
  EXPECT_TRUE(PollUntil(seconds(10), [&] {
    const std::string text = ReadText(HookLog(target));
    return text.find("BATON_EVENT=on_failover") != std::string::npos &&
           text.find("BATON_EVENT=on_role_change BATON_NEW_ROLE=primary") != std::string::npos;
  })) << ReadText(HookLog(target));
  const std::string target_hooks = ReadText(HookLog(target));
  EXPECT_NE(target_hooks.find("BATON_CLUSTER=demo"), std::string::npos) << target_hooks;
  EXPECT_NE(target_hooks.find("BATON_NODE=" + target_name), std::string::npos) << target_hooks;
  EXPECT_NE(target_hooks.find("BATON_OLD_ROLE=replica"), std::string::npos) << target_hooks;
  EXPECT_TRUE(PollUntil(seconds(10), [&] {
    return ReadText(HookLog(old)).find("BATON_NEW_ROLE=replica BATON_NODE=" + old_name) !=
           std::string::npos;
  })) << ReadText(HookLog(old));
  EXPECT_NE(ReadText(HookLog(old)).find("BATON_EVENT=on_start"), std::string::npos);
}

TEST_F(OperatorTest, AScheduledSwitchoverIsListedAndCanBeCancelled) {
  const size_t leader = Leader();
  const std::string replica = cluster_->nodes[(leader + 1) % 3].name;
  CommandResult result = Baton({"switchover", "--to", replica, "--at", "+1h"});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("scheduled"), std::string::npos) << result.output;
  result = Baton({"switchover", "--list"});
  EXPECT_NE(result.output.find("to " + replica + " at "), std::string::npos) << result.output;
  EXPECT_NE(Baton({"status"}).output.find("Switchover pending"), std::string::npos);
  // A second request while one is pending is refused with the reason.
  result = Baton({"switchover"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("already pending"), std::string::npos) << result.output;
  result = Baton({"switchover", "--cancel"});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_FALSE(LoadView(*cluster_).switchover.has_value());
  EXPECT_EQ(Leader(), leader);

  result = Baton({"switchover", "--to", "nosuchnode"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("nosuchnode is not a running member"), std::string::npos)
      << result.output;
  result = Baton({"switchover", "--at", "yesterday"});
  EXPECT_EQ(result.exit_code, 2) << result.output;
  result = Baton({"switchover", "--to", cluster_->nodes[leader].name});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("already the leader"), std::string::npos) << result.output;
  EXPECT_FALSE(LoadView(*cluster_).switchover.has_value());
}

TEST_F(OperatorTest, ManualFailoverPromotesTheNamedNodeOfAPausedClusterAndOnlyThen) {
  const size_t old = Leader();
  const size_t chosen = (old + 2) % 3;
  CommandResult result = Baton({"failover", "--to", cluster_->nodes[chosen].name});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("use `baton switchover"), std::string::npos) << result.output;

  ASSERT_EQ(Baton({"pause"}).exit_code, 0);
  cluster_->KillNode(old);
  // Maintenance mode: nobody takes over on their own, for well past the lease.
  ASSERT_TRUE(PollUntil(seconds(20), [&] { return !LoadView(*cluster_).leader.has_value(); }));
  EXPECT_FALSE(PollUntil(seconds(6), [&] { return LoadView(*cluster_).leader.has_value(); }));

  result = Baton({"failover", "--to", cluster_->nodes[chosen].name});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(Leader(), chosen);
  EXPECT_EQ(QueryOne(Conn(chosen), "SELECT pg_is_in_recovery()"), "f");
  EXPECT_FALSE(LoadView(*cluster_).failover.has_value());
  EXPECT_EQ(LoadView(*cluster_).history.back()["event"], "manual-failover");

  ASSERT_EQ(Baton({"resume"}).exit_code, 0);
  ASSERT_TRUE(cluster_->StartAgent(old).ok());
  Status healthy = cluster_->WaitHealthy(seconds(120));
  EXPECT_TRUE(healthy.ok()) << healthy.ToString();
}

TEST_F(OperatorTest, DynamicSettingsAreReloadedAndRestartPendingAppliesTheRest) {
  CommandResult result = Baton({"config", "set", "postgresql.parameters.work_mem=7MB",
                                "postgresql.parameters.max_connections=123"});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  for (size_t i = 0; i < cluster_->nodes.size(); ++i) {
    EXPECT_TRUE(PollUntil(seconds(20), [&] { return QueryOne(Conn(i), "SHOW work_mem") == "7MB"; }))
        << cluster_->nodes[i].name;
  }
  const std::string replica = cluster_->nodes[(Leader() + 1) % 3].name;
  ASSERT_TRUE(PollUntil(seconds(20), [&] {
    const ClusterView view = LoadView(*cluster_);
    const MemberInfo* m = view.Member(replica);
    return m != nullptr && m->pending_restart == std::vector<std::string>{"max_connections"};
  }));
  EXPECT_NE(Baton({"config", "show"}).output.find("pending restart for max_connections"),
            std::string::npos);
  result = Baton({"restart", replica, "--pending"});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  size_t index = 0;
  while (cluster_->nodes[index].name != replica) ++index;
  EXPECT_EQ(QueryOne(Conn(index), "SHOW max_connections"), "123");

  // Refused: not a dynamic key, an invalid value. Nothing is stored.
  const std::string before = Baton({"config", "show"}).output;
  EXPECT_EQ(Baton({"config", "set", "node.name=x"}).exit_code, 2);
  EXPECT_EQ(Baton({"config", "set", "timing.loop_wait=30"}).exit_code, 2);
  EXPECT_EQ(Baton({"config", "set", "postgresql.parameters.port=1"}).exit_code, 2);
  EXPECT_EQ(Baton({"config", "show"}).output, before);

  // `config edit` stores what the editor saved, only when it is valid.
  const std::string editor = cluster_->dir + "/editor.sh";
  std::ofstream(editor) << "#!/bin/sh\necho \"$BATON_TEST_LINE\" >> \"$1\"\n";
  std::filesystem::permissions(editor, std::filesystem::perms::owner_all);
  result = Baton({"config", "edit"}, {{"EDITOR", editor},
                                      {"VISUAL", editor},
                                      {"BATON_TEST_LINE", "postgresql.parameters.work_mem: 9MB"}});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(PollUntil(seconds(20), [&] { return QueryOne(Conn(0), "SHOW work_mem") == "9MB"; }));
  const std::string edited = Baton({"config", "show"}).output;
  result =
      Baton({"config", "edit"},
            {{"EDITOR", editor}, {"VISUAL", editor}, {"BATON_TEST_LINE", "timing.loop_wait: 99"}});
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("nothing stored"), std::string::npos) << result.output;
  EXPECT_EQ(Baton({"config", "show"}).output, edited);

  // Put things back so the other tests see default settings.
  ASSERT_EQ(Baton({"config", "set",
                   "postgresql.parameters.work_mem=", "postgresql.parameters.max_connections="})
                .exit_code,
            0);
  ASSERT_EQ(Baton({"restart", "--pending", cluster_->nodes[0].name, cluster_->nodes[1].name,
                   cluster_->nodes[2].name})
                .exit_code,
            0);
}

TEST_F(OperatorTest, ReinitReclonesAReplicaAndRefusesTheLeader) {
  const size_t leader = Leader();
  const size_t replica = (leader + 2) % 3;
  ASSERT_TRUE(Query(Conn(leader),
                    "CREATE TABLE IF NOT EXISTS reinit_marker (x int); "
                    "INSERT INTO reinit_marker VALUES (42)")
                  .ok());
  const std::string marker = cluster_->nodes[replica].data_dir + "/baton-test-marker";
  std::ofstream(marker) << "this file goes away with a re-clone\n";
  CommandResult result = Baton({"reinit", cluster_->nodes[replica].name});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("re-cloned from leader"), std::string::npos) << result.output;
  EXPECT_FALSE(std::filesystem::exists(marker));
  ASSERT_TRUE(cluster_->WaitHealthy(seconds(60)).ok());
  EXPECT_EQ(QueryOne(Conn(replica), "SELECT max(x) FROM reinit_marker"), "42");

  result = Baton({"reinit", cluster_->nodes[leader].name});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("is the leader"), std::string::npos) << result.output;
}

TEST_F(OperatorTest, RemoveForgetsADeadNodeButNotALiveOne) {
  const size_t victim = (Leader() + 1) % 3;
  const std::string name = cluster_->nodes[victim].name;
  CommandResult result = Baton({"remove", name});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("is alive"), std::string::npos) << result.output;

  cluster_->KillNode(victim);
  ASSERT_TRUE(PollUntil(seconds(20), [&] { return LoadView(*cluster_).Member(name) == nullptr; }));
  EXPECT_NE(Baton({"status"}).output.find("down"), std::string::npos);
  result = Baton({"remove", name});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(LoadView(*cluster_).nodes.count(name), 0u);
  EXPECT_EQ(Baton({"status"}).output.find(name), std::string::npos);

  // It comes back by itself when its agent starts again.
  ASSERT_TRUE(cluster_->StartAgent(victim).ok());
  ASSERT_TRUE(cluster_->WaitHealthy(seconds(120)).ok());
  EXPECT_EQ(LoadView(*cluster_).nodes.count(name), 1u);
}

TEST_F(OperatorTest, AdminRestCallsWithoutCredentialsChangeNothing) {
  const size_t node = Leader();
  auto res = Post(node, "/pause", "", "");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  res = Post(node, "/pause", "", "Bearer wrong-token");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  res = Post(node, "/pause", "", "Basic %%%not-base64");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  res = Post(node, "/switchover", "[1, 2]", std::string("Bearer ") + kToken);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  res = Post(node, "/switchover", R"({"to": 5})", std::string("Bearer ") + kToken);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_FALSE(LoadView(*cluster_).paused);
  EXPECT_FALSE(LoadView(*cluster_).switchover.has_value());
  EXPECT_EQ(res->body.find(kToken), std::string::npos);

  res = Post(node, "/pause", "", std::string("Bearer ") + kToken);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_TRUE(LoadView(*cluster_).paused);
  res = Post(node, "/switchover", "", std::string("Bearer ") + kToken);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 409) << res->body;  // refused: the cluster is paused
  EXPECT_NE(res->body.find("paused"), std::string::npos) << res->body;
  res = Post(node, "/resume", "", std::string("Bearer ") + kToken);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_FALSE(LoadView(*cluster_).paused);

  // Read-only endpoints stay open; the token appears nowhere.
  httplib::Client client("127.0.0.1", cluster_->nodes[node].api_port);
  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("baton_hooks_started_total"), std::string::npos);
  auto cluster = client.Get("/cluster");
  ASSERT_TRUE(cluster);
  EXPECT_EQ(cluster->body.find(kToken), std::string::npos);
  EXPECT_EQ(Baton({"status", "--json"}).output.find(kToken), std::string::npos);
}

TEST_F(OperatorTest, WithACertificateTheApiServesHttpsOnlyAndReloadWorks) {
  const size_t node = (Leader() + 1) % 3;
  const std::string cert = cluster_->dir + "/api-cert.pem";
  const std::string key = cluster_->dir + "/api-key.pem";
  auto made =
      RunCommand({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days",
                  "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"},
                 {}, seconds(60));
  ASSERT_TRUE(made.ok() && made->exit_code == 0) << (made.ok() ? made->output : "");
  RestartAgent(node, {{"BATON_RESTAPI_CERTFILE", cert}, {"BATON_RESTAPI_KEYFILE", key}});

  httplib::Client https("https://127.0.0.1:" + std::to_string(cluster_->nodes[node].api_port));
  https.set_ca_cert_path(cert.c_str());
  auto health = https.Get("/health");
  ASSERT_TRUE(health) << "no HTTPS answer";
  EXPECT_EQ(health->status, 200);
  EXPECT_NE(HttpStatus(cluster_->nodes[node], "/health"), 200) << "plain HTTP still answers";
  const std::string bearer = std::string("Bearer ") + kToken;
  auto reload =
      https.Post("/reload", httplib::Headers{{"Authorization", bearer}}, "", "application/json");
  ASSERT_TRUE(reload);
  EXPECT_EQ(reload->status, 202) << reload->body;
  const std::string id = nlohmann::json::parse(reload->body).value("id", "");
  EXPECT_TRUE(PollUntil(seconds(20), [&] {
    const ClusterView view = LoadView(*cluster_);
    const MemberInfo* m = view.Member(cluster_->nodes[node].name);
    return m != nullptr && m->last_action && m->last_action->id == id && m->last_action->ok;
  })) << "the reload requested over HTTPS was not reported done";

  // The CLI's reload of every member.
  const CommandResult all = Baton({"reload"});
  EXPECT_EQ(all.exit_code, 0) << all.output;
  for (const auto& n : cluster_->nodes) {
    EXPECT_NE(all.output.find("reload " + n.name + ": rewrote postgresql.conf"), std::string::npos)
        << all.output;
  }
  RestartAgent(node, {});  // back to plain HTTP for the other tests
}

}  // namespace
}  // namespace baton
