// Integration: alerts without Prometheus, on real etcd and PostgreSQL with a 3 s lease. Every
// agent's alerts.webhook points at a receiver in this test and its hooks.on_alert appends the
// event to a file of its node's. A killed primary's successor posts a `failover` event (and its
// hook writes the same JSON); `baton doctor --alert` posts a `doctor_check_failed` event for the
// dead node, and without --alert posts nothing.
#include <stdlib.h>

#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>

#include "api/http_server.h"
#include "harness.h"

namespace baton {
namespace {

using namespace baton::testing;  // NOLINT: the harness is this suite's vocabulary

// A webhook on 127.0.0.1 that answers 200 and keeps each JSON body it was sent.
class Receiver {
 public:
  Receiver() {
    HttpServerOptions options;
    options.listen = HostPort{"127.0.0.1", 0};
    HttpHandlers handlers;
    handlers.handle = [this](const HttpRequest& request) {
      std::lock_guard lock(mu_);
      events_.push_back(nlohmann::json::parse(request.body, nullptr, false));
      return HttpResponse{};
    };
    handlers.may_block = [](const HttpRequest&) { return false; };
    auto made = HttpServer::Create(options, handlers);
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    if (!made.ok()) return;
    server_ = std::move(made).value();
    EXPECT_TRUE(server_->Start().ok());
  }
  ~Receiver() {
    if (server_) server_->Stop();
  }
  std::string Url() const {
    return "http://127.0.0.1:" + std::to_string(server_ ? server_->port() : 0) + "/baton";
  }
  // The events received named `event`.
  std::vector<nlohmann::json> Named(const std::string& event) const {
    std::lock_guard lock(mu_);
    std::vector<nlohmann::json> named;
    for (const auto& e : events_) {
      if (e.is_object() && e.value("event", "") == event) named.push_back(e);
    }
    return named;
  }
  std::string All() const {
    std::lock_guard lock(mu_);
    std::string all;
    for (const auto& e : events_) all += e.dump() + "\n";
    return all;
  }

 private:
  mutable std::mutex mu_;
  std::vector<nlohmann::json> events_;
  std::unique_ptr<HttpServer> server_;
};

class AlertsTest : public ClusterSuite<AlertsTest> {
 public:
  static LocalClusterOptions Options() {
    LocalClusterOptions options = ShortLeaseOptions();
    options.agent_env = {{"BATON_ALERTS_WEBHOOK", receiver_->Url()},
                         {"BATON_HOOKS_ON_ALERT", "printf '%s\\n' \"$BATON_ALERT\" >> " +
                                                      hook_dir_ + "/\"$BATON_NODE\".jsonl"}};
    return options;
  }

 protected:
  static void SetUpTestSuite() {
    char pattern[] = "/tmp/baton-alert-hooks.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    hook_dir_ = pattern;
    receiver_ = std::make_unique<Receiver>();
    ClusterSuite::SetUpTestSuite();
  }
  static void TearDownTestSuite() {
    ClusterSuite::TearDownTestSuite();
    receiver_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(hook_dir_, ignored);
  }

  // The events node `name`'s on_alert hook wrote, named `event`.
  static std::vector<nlohmann::json> HookEvents(const std::string& name, const std::string& event) {
    std::vector<nlohmann::json> found;
    std::istringstream lines(ReadText(hook_dir_ + "/" + name + ".jsonl"));
    for (std::string line; std::getline(lines, line);) {
      auto e = nlohmann::json::parse(line, nullptr, false);
      if (e.is_object() && e.value("event", "") == event) found.push_back(e);
    }
    return found;
  }

  static CommandResult Doctor(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {BatonBinary(), "doctor"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto result = RunCommand(argv, {{"BATON_ALERTS_WEBHOOK", receiver_->Url()}}, seconds(60));
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return result.ok() ? *result : CommandResult{};
  }

  static inline std::unique_ptr<Receiver> receiver_;
  static inline std::string hook_dir_;
};

TEST_F(AlertsTest, AKilledPrimarysSuccessorPostsAFailoverAndItsHookGetsIt) {
  const size_t old = Leader();
  const std::string old_name = cluster_->nodes[old].name;
  ASSERT_TRUE(receiver_->Named("failover").empty()) << "a failover before any fault";
  cluster_->KillNode(old);
  const auto successor = WaitForNewLeader(*cluster_, old, seconds(30));
  ASSERT_TRUE(successor.has_value());
  const std::string name = cluster_->nodes[*successor].name;

  ASSERT_TRUE(PollUntil(seconds(30), [] { return !receiver_->Named("failover").empty(); }))
      << receiver_->All();
  const auto posted = receiver_->Named("failover");
  ASSERT_EQ(posted.size(), 1u) << receiver_->All();
  const nlohmann::json& event = posted.front();
  EXPECT_EQ(event["node"], name) << event.dump();
  EXPECT_EQ(event["cluster"], cluster_->cluster);
  EXPECT_EQ(event["severity"], "critical");
  EXPECT_EQ(event["details"]["old_leader"], old_name) << event.dump();
  EXPECT_EQ(event["details"]["new_leader"], name);
  EXPECT_GE(event["details"]["timeline"].get<int>(), 2);
  EXPECT_EQ(event["time"].get<std::string>().back(), 'Z');
  EXPECT_NE(event["summary"].get<std::string>().find(old_name), std::string::npos);

  ASSERT_TRUE(PollUntil(seconds(30), [&] { return !HookEvents(name, "failover").empty(); }))
      << ReadText(hook_dir_ + "/" + name + ".jsonl");
  EXPECT_EQ(HookEvents(name, "failover").front(), event);  // the same JSON both ways

  httplib::Client client("127.0.0.1", cluster_->nodes[*successor].api_port);
  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->body.find("baton_alerts_sent_total 0\n"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("baton_alerts_failed_total 0\n"), std::string::npos);

  // While the old primary's node is down, the doctor finds it unreachable. Without --alert that
  // pages nobody; with it, the failed check is posted.
  const std::string config = cluster_->nodes[*successor].config_path;
  CommandResult quiet = Doctor({"-c", config});
  EXPECT_EQ(quiet.exit_code, 2) << quiet.output;
  EXPECT_TRUE(receiver_->Named("doctor_check_failed").empty()) << receiver_->All();
  CommandResult loud = Doctor({"-c", config, "--alert"});
  EXPECT_EQ(loud.exit_code, 2) << loud.output;
  EXPECT_NE(loud.output.find("doctor_check_failed event(s) sent to http://127.0.0.1:"),
            std::string::npos)
      << loud.output;
  bool reachable_posted = false;
  for (const auto& failed : receiver_->Named("doctor_check_failed")) {
    EXPECT_EQ(failed["severity"], "critical");
    if (failed["details"]["check"] == "reachable" && failed["details"]["member"] == old_name) {
      reachable_posted = true;
    }
  }
  EXPECT_TRUE(reachable_posted) << receiver_->All();

  ASSERT_TRUE(cluster_->StartAgent(old).ok());
  ASSERT_TRUE(cluster_->WaitHealthy(seconds(120)).ok());
}

TEST_F(AlertsTest, DoctorAlertNeedsAConfigWithSomewhereToSendTo) {
  const auto result = RunCommand({BatonBinary(), "doctor", "--etcd", cluster_->etcd_endpoint,
                                  "--cluster", cluster_->cluster, "--alert"},
                                 {}, seconds(30));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->exit_code, 2) << result->output;
  EXPECT_NE(result->output.find("--alert: needs -c CONFIG"), std::string::npos) << result->output;
}

}  // namespace
}  // namespace baton
