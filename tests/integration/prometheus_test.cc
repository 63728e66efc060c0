// Integration: Debian's real Prometheus scraping every agent's /metrics, with the shipped alert
// rules (docs/examples/prometheus/baton-alerts.yml) loaded, queried through its HTTP API: the
// leader, the lease, lag and node labels as Prometheus sees them; every query of the shipped
// Grafana dashboard valid; after a node death, the leader change counted and BatonFailover and
// BatonAgentDown firing.
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "harness.h"

namespace baton {
namespace {

using namespace baton::testing;  // NOLINT: the harness is this suite's vocabulary

class PrometheusTest : public ClusterSuite<PrometheusTest> {
 public:
  static LocalClusterOptions Options() { return ShortLeaseOptions(); }

 protected:
  static void SetUpTestSuite() {
    ClusterSuite::SetUpTestSuite();
    if (!cluster_) return;
    const std::string dir = cluster_->dir + "/prometheus";
    std::filesystem::create_directories(dir);
    std::string targets;
    for (const LocalNode& n : cluster_->nodes) {
      targets += (targets.empty() ? "'" : ", '") + n.host + ":" + std::to_string(n.api_port) + "'";
    }
    std::ofstream(dir + "/prometheus.yml")
        << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        << "rule_files: ['" << Example("prometheus/baton-alerts.yml") << "']\n"
        << "scrape_configs:\n  - job_name: baton\n    static_configs:\n      - targets: ["
        << targets << "]\n";
    auto port = FreePorts(1);
    ASSERT_TRUE(port.ok());
    port_ = port->front();
    auto pid = SpawnDetached({"/usr/bin/prometheus", "--config.file=" + dir + "/prometheus.yml",
                              "--storage.tsdb.path=" + dir + "/data",
                              "--web.listen-address=127.0.0.1:" + std::to_string(port_)},
                             dir + "/prometheus.log");
    ASSERT_TRUE(pid.ok()) << pid.status().ToString();
    pid_ = *pid;
    ASSERT_TRUE(PollUntil(seconds(60), [] {
      httplib::Client client("127.0.0.1", port_);
      auto res = client.Get("/-/ready");
      return res && res->status == 200;
    })) << ReadText(dir + "/prometheus.log");
  }

  static void TearDownTestSuite() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      if (!WaitForExit(pid_, seconds(10))) kill(pid_, SIGKILL);
      ReapIfChild(pid_);
    }
    ClusterSuite::TearDownTestSuite();
  }

  // GET /api/v1/PATH from Prometheus; its "data", or null when the call failed.
  static nlohmann::json Api(const std::string& path, const httplib::Params& params = {}) {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(10);
    auto res = client.Get("/api/v1/" + path, params, httplib::Headers{});
    if (!res || res->status != 200) return nullptr;
    auto body = nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object() || body.value("status", "") != "success") return nullptr;
    return body["data"];
  }

  // An instant query's result vector (empty when it failed or matched nothing).
  static nlohmann::json Query(const std::string& expr) {
    const nlohmann::json data = Api("query", {{"query", expr}});
    return data.is_object() ? data["result"] : nlohmann::json::array();
  }

  // The single value of a query that returns one series, or nullopt.
  static std::optional<double> Scalar(const std::string& expr) {
    const nlohmann::json result = Query(expr);
    if (result.size() != 1) return std::nullopt;
    return std::stod(result[0]["value"][1].get<std::string>());
  }

  static std::string Instance(size_t i) {
    return cluster_->nodes[i].host + ":" + std::to_string(cluster_->nodes[i].api_port);
  }

  // The alerts Prometheus holds now, as "NAME STATE INSTANCE" lines.
  static std::set<std::string> Alerts() {
    std::set<std::string> alerts;
    const nlohmann::json data = Api("alerts");
    if (!data.is_object()) return alerts;
    for (const auto& a : data["alerts"]) {
      alerts.insert(a["labels"].value("alertname", "") + " " + a.value("state", "") + " " +
                    a["labels"].value("instance", ""));
    }
    return alerts;
  }

  static inline pid_t pid_ = -1;
  static inline int port_ = 0;
};

TEST_F(PrometheusTest, TheShippedRulesCheckAndLoadAndEveryAgentIsScraped) {
  auto checked =
      RunCommand({"/usr/bin/promtool", "check", "rules", Example("prometheus/baton-alerts.yml")},
                 {}, seconds(30));
  ASSERT_TRUE(checked.ok());
  EXPECT_EQ(checked->exit_code, 0) << checked->output;
  EXPECT_NE(checked->output.find("SUCCESS: 7 rules found"), std::string::npos) << checked->output;

  ASSERT_TRUE(PollUntil(seconds(30), [] { return Scalar("count(up{job=\"baton\"} == 1)") == 3; }));
  EXPECT_EQ(Scalar("sum(baton_is_leader)"), 1);
  const nlohmann::json lease = Query("baton_lease_remaining_seconds > 0");
  ASSERT_EQ(lease.size(), 1u) << lease.dump();
  EXPECT_EQ(lease[0]["metric"]["instance"], Instance(Leader()));
  EXPECT_LE(std::stod(lease[0]["value"][1].get<std::string>()), 3.0);  // at most the TTL
  const nlohmann::json lag = Query("baton_replication_lag_bytes < 1048576");
  EXPECT_EQ(lag.size(), 3u) << lag.dump();
  std::set<std::string> nodes;
  for (const auto& series : Query("baton_node_info")) {
    EXPECT_EQ(series["metric"]["cluster"], cluster_->cluster);
    nodes.insert(series["metric"]["node"].get<std::string>());
  }
  EXPECT_EQ(nodes, (std::set<std::string>{"node1", "node2", "node3"}));

  // Every rule loaded and evaluated without error.
  ASSERT_TRUE(PollUntil(seconds(30), [] {
    const nlohmann::json data = Api("rules");
    if (!data.is_object() || data["groups"].size() != 1) return false;
    const auto& rules = data["groups"][0]["rules"];
    if (rules.size() != 7) return false;
    for (const auto& r : rules) {
      if (r.value("health", "") != "ok") return false;
    }
    return true;
  })) << Api("rules").dump();
}

TEST_F(PrometheusTest, EveryQueryOfTheShippedDashboardIsValidOnTheMetricsAgentsServe) {
  const auto dashboard =
      nlohmann::json::parse(ReadText(Example("grafana/baton-dashboard.json")), nullptr, false);
  ASSERT_TRUE(dashboard.is_object());
  ASSERT_TRUE(PollUntil(seconds(30), [] { return Scalar("count(up{job=\"baton\"} == 1)") == 3; }));
  httplib::Client agent("127.0.0.1", cluster_->nodes[0].api_port);
  auto metrics = agent.Get("/metrics");
  ASSERT_TRUE(metrics && metrics->status == 200);
  const std::regex metric_name("baton_[a-z_]+");
  size_t queries = 0;
  for (const auto& panel : dashboard["panels"]) {
    for (const auto& target : panel["targets"]) {
      const std::string expr = target["expr"];
      ++queries;
      EXPECT_TRUE(Api("query", {{"query", expr}}).is_object()) << panel["title"] << ": " << expr;
      for (std::sregex_iterator m(expr.begin(), expr.end(), metric_name), end; m != end; ++m) {
        EXPECT_NE(metrics->body.find("# TYPE " + m->str() + " "), std::string::npos)
            << m->str() << " (in " << panel["title"] << ") is not a metric the agent serves";
        EXPECT_FALSE(Query(m->str()).empty()) << m->str() << " has no series in Prometheus";
      }
    }
  }
  EXPECT_EQ(queries, 12u);
}

TEST_F(PrometheusTest, ANodeDeathIsCountedAsALeaderChangeAndFiresItsAlerts) {
  // Each agent's counter scraped a few times before the fault, so increase() sees it move.
  ASSERT_TRUE(PollUntil(seconds(30), [] {
    return Scalar("count(count_over_time(baton_leader_changes_total[1m]) >= 3)") == 3;
  }));
  const size_t old = Leader();
  cluster_->KillNode(old);
  ASSERT_TRUE(WaitForNewLeader(*cluster_, old, seconds(30)).has_value());
  EXPECT_TRUE(PollUntil(seconds(30), [] {
    return Scalar("max(increase(baton_leader_changes_total[5m])) > 0").has_value();
  }));
  const std::string down = "BatonAgentDown firing " + Instance(old);
  EXPECT_TRUE(PollUntil(seconds(40),
                        [&] {
                          const auto alerts = Alerts();
                          return alerts.count("BatonFailover firing ") == 1 &&
                                 alerts.count(down) == 1;
                        }))
      << [] {
           std::string all;
           for (const auto& a : Alerts()) all += a + "\n";
           return all;
         }();
  ASSERT_TRUE(cluster_->StartAgent(old).ok());
  ASSERT_TRUE(cluster_->WaitHealthy(seconds(120)).ok());
}

}  // namespace
}  // namespace baton
