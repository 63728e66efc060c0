#include "core/config.h"

#include <gtest/gtest.h>

namespace baton {
namespace {

const char* kValid = R"(
cluster:
  name: prod
node:
  name: db1
etcd:
  endpoints: [10.0.0.1:2379, "http://10.0.0.2:2379"]
postgresql:
  data_dir: /var/lib/postgresql/15/main
  listen: 0.0.0.0:5432
  connect_address: 10.0.0.11:5432
  superuser:
    password: secret
  replication:
    password: rsecret
  parameters:
    shared_buffers: 1GB
    work_mem: 16MB
restapi:
  listen: 0.0.0.0:8008
timing:
  ttl: 5
tags:
  priority: 3
)";

TEST(ConfigTest, ParsesAValidFileWithDefaults) {
  auto config = ParseConfig(kValid, "node.yaml", {});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->cluster_name, "prod");
  EXPECT_EQ(config->node_name, "db1");
  EXPECT_EQ(config->etcd_endpoints, (std::vector<std::string>{"10.0.0.1:2379", "10.0.0.2:2379"}));
  EXPECT_EQ(config->pg_listen.ToString(), "0.0.0.0:5432");
  EXPECT_EQ(config->pg_connect.ToString(), "10.0.0.11:5432");
  EXPECT_EQ(config->api_connect.ToString(), "0.0.0.0:8008");  // defaults to listen
  EXPECT_EQ(config->superuser.username, "postgres");
  EXPECT_EQ(config->replication.username, "replicator");
  EXPECT_EQ(config->bin_dir, "/usr/lib/postgresql/15/bin");
  EXPECT_EQ(config->timing.ttl_seconds, 5);
  EXPECT_DOUBLE_EQ(config->timing.loop_wait_seconds, 1.0);
  EXPECT_EQ(config->timing.maximum_lag_on_failover, 1048576u);
  EXPECT_EQ(config->tags.priority, 3);
  EXPECT_FALSE(config->tags.nofailover);
  EXPECT_EQ(config->pg_parameters.at("shared_buffers"), "1GB");
  EXPECT_EQ(config->pg_parameters.at("work_mem"), "16MB");
}

TEST(ConfigTest, EnvironmentOverridesEveryKindOfKey) {
  Environment env = {{"BATON_TIMING_TTL", "7"},
                     {"BATON_NODE_NAME", "db9"},
                     {"BATON_POSTGRESQL_SUPERUSER_PASSWORD", "fromenv"},
                     {"BATON_ETCD_ENDPOINTS", "127.0.0.1:1,127.0.0.1:2"},
                     {"BATON_TAGS_NOFAILOVER", "yes"},
                     {"BATON_POSTGRESQL_PARAMETERS_MAX_CONNECTIONS", "300"},
                     {"UNRELATED", "x"}};
  auto config = ParseConfig(kValid, "node.yaml", env);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->timing.ttl_seconds, 7);
  EXPECT_EQ(config->node_name, "db9");
  EXPECT_EQ(config->superuser.password, "fromenv");
  EXPECT_EQ(config->etcd_endpoints.size(), 2u);
  EXPECT_TRUE(config->tags.nofailover);
  EXPECT_EQ(config->pg_parameters.at("max_connections"), "300");
}

struct BadCase {
  const char* name;
  std::string yaml;
  Environment env;
  const char* expected_key;
  const char* expected_text;
};

// gtest names a case by this in listings (instead of dumping the struct's bytes).
void PrintTo(const BadCase& c, std::ostream* os) {
  *os << c.name;
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(ConfigTest, ARouterFileNeedsOnlyTheClusterEtcdAndARouterOrPgBouncer) {
  const std::string router = R"(
cluster:
  name: prod
etcd:
  endpoints: [10.0.0.1:2379]
router:
  read_write: 0.0.0.0:5000
  read_only: 0.0.0.0:5001
  hold_timeout: 2.5
)";
  auto config = ParseConfig(router, "router.yaml", {}, ConfigScope::kRouter);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->router.read_write.port, 5000);
  EXPECT_EQ(config->router.read_only.port, 5001);
  EXPECT_EQ(config->router.hold_timeout_seconds, 2.5);
  EXPECT_EQ(config->router.maximum_lag, 1u << 20);
  // As a node's file it lacks the node's keys.
  EXPECT_FALSE(ParseConfig(router, "router.yaml", {}).ok());
  const std::string nothing = "cluster:\n  name: prod\netcd:\n  endpoints: [10.0.0.1:2379]\n";
  auto refused = ParseConfig(nothing, "router.yaml", {}, ConfigScope::kRouter);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("'router.read_write'"), std::string::npos);
  auto bouncer = ParseConfig(nothing +
                                 "pgbouncer:\n  listen: 127.0.0.1:6432\n  username: admin\n"
                                 "  password: x\n  database: app\n  databases_file: /etc/db.ini\n",
                             "router.yaml", {}, ConfigScope::kRouter);
  ASSERT_TRUE(bouncer.ok()) << bouncer.status().ToString();
  EXPECT_EQ(bouncer->pgbouncer.dbname, "app");  // defaults to the entry's name
}

// The valid file with an alerts: section of `lines`.
std::string WithAlerts(const std::string& lines) {
  return std::string(kValid) + "alerts:\n" + lines;
}

// gtest's name for a case: its description with '_' for every other character.
std::string CaseName(const ::testing::TestParamInfo<BadCase>& param_info) {
  std::string name = param_info.param.name;
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

class BadConfigTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadConfigTest, IsRefusedNamingTheFileAndTheKey) {
  const BadCase& c = GetParam();
  auto config = ParseConfig(c.yaml, "node.yaml", c.env);
  ASSERT_FALSE(config.ok()) << c.name;
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  const std::string& message = config.status().message();
  EXPECT_NE(message.find("node.yaml"), std::string::npos) << message;
  EXPECT_NE(message.find(c.expected_key), std::string::npos) << message;
  EXPECT_NE(message.find(c.expected_text), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadConfigTest,
    ::testing::Values(BadCase{"ttl not a number",
                              Replace(kValid, "ttl: 5", "ttl: soon"),
                              {},
                              "'timing.ttl'",
                              "integer"},
                      BadCase{"ttl below etcd minimum",
                              Replace(kValid, "ttl: 5", "ttl: 1"),
                              {},
                              "'timing.ttl'",
                              "from 2"},
                      BadCase{"negative priority",
                              Replace(kValid, "  priority: 3", "  priority: -1"),
                              {},
                              "'tags.priority'",
                              "from 0 to 1000000"},
                      BadCase{"lag beyond the bound",
                              Replace(kValid, "  ttl: 5",
                                      "  ttl: 5\n  maximum_lag_on_failover: 99999999999999999999"),
                              {},
                              "'timing.maximum_lag_on_failover'",
                              "integer"},
                      BadCase{"missing cluster name",
                              Replace(kValid, "  name: prod\n", ""),
                              {},
                              "'cluster.name'",
                              "required"},
                      BadCase{"unknown key",
                              Replace(kValid, "  ttl: 5", "  ttl: 5\n  tll: 3"),
                              {},
                              "'timing.tll'",
                              "unknown key"},
                      BadCase{"bad port",
                              Replace(kValid, "0.0.0.0:5432", "0.0.0.0:99999"),
                              {},
                              "'postgresql.listen'",
                              "port"},
                      BadCase{"relative data dir",
                              Replace(kValid, "/var/lib/postgresql/15/main", "pgdata"),
                              {},
                              "'postgresql.data_dir'",
                              "absolute"},
                      BadCase{
                          "bad bool",
                          Replace(kValid, "  priority: 3", "  priority: 3\n  nofailover: maybe"),
                          {},
                          "'tags.nofailover'",
                          "true or false"},
                      BadCase{"loop_wait not below ttl",
                              Replace(kValid, "  ttl: 5", "  ttl: 5\n  loop_wait: 6"),
                              {},
                              "'timing.loop_wait'",
                              "below timing.ttl"},
                      BadCase{"reserved parameter",
                              Replace(kValid, "work_mem: 16MB", "port: 5433"),
                              {},
                              "'postgresql.parameters.port'",
                              "set by baton"},
                      BadCase{"not yaml", "cluster: [unclosed", {}, "node.yaml", "not valid YAML"},
                      BadCase{"incomplete pgbouncer section",
                              std::string(kValid) + "pgbouncer:\n  listen: 127.0.0.1:6432\n",
                              {},
                              "'pgbouncer.username'",
                              "go together"},
                      BadCase{"read-only port alone",
                              std::string(kValid) + "router:\n  read_only: 127.0.0.1:5001\n",
                              {},
                              "'router.read_only'",
                              "needs router.read_write"},
                      BadCase{"bad value from environment",
                              kValid,
                              {{"BATON_TIMING_TTL", "-3"}},
                              "'timing.ttl'",
                              "BATON_TIMING_TTL"}),
    CaseName);

INSTANTIATE_TEST_SUITE_P(
    AlertCases, BadConfigTest,
    ::testing::Values(
        BadCase{"webhook not a URL",
                WithAlerts("  webhook: alerts.example.com\n"),
                {},
                "'alerts.webhook'",
                "http:// or https:// URL"},
        BadCase{"webhook with another scheme",
                WithAlerts("  webhook: ftp://h:21/x\n"),
                {},
                "'alerts.webhook'",
                "scheme 'ftp' is not supported"},
        BadCase{"webhook with a bad port",
                WithAlerts("  webhook: http://h:0/x\n"),
                {},
                "'alerts.webhook'",
                "port 1-65535"},
        BadCase{"webhook with credentials",
                WithAlerts("  webhook: http://u:p@h/x\n"),
                {},
                "'alerts.webhook'",
                "user:password@"},
        BadCase{"negative alert retries",
                WithAlerts("  retries: -1\n"),
                {},
                "'alerts.retries'",
                "from 0 to 20"},
        BadCase{
            "zero alert timeout", WithAlerts("  timeout: 0\n"), {}, "'alerts.timeout'", "from 0.1"},
        BadCase{"alert CA file without https",
                WithAlerts("  webhook: http://h/x\n  ca_file: /ca.pem\n"),
                {},
                "'alerts.ca_file'",
                "needs an https://"},
        BadCase{"empty alert hook",
                std::string(kValid) + "hooks:\n  on_alert: ''\n",
                {},
                "'hooks.on_alert'",
                "must not be empty"},
        BadCase{"bad webhook from environment",
                kValid,
                {{"BATON_ALERTS_WEBHOOK", "mailto:ops@example.com"}},
                "'alerts.webhook'",
                "BATON_ALERTS_WEBHOOK"}),
    CaseName);

TEST(ConfigTest, AlertsAreOffByDefaultAndParsedWhenGiven) {
  auto plain = ParseConfig(kValid, "node.yaml", {});
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_FALSE(plain->alerts.Configured());
  EXPECT_TRUE(plain->hooks.on_alert.empty());
  EXPECT_DOUBLE_EQ(plain->alerts.timeout_seconds, 5);
  EXPECT_EQ(plain->alerts.retries, 3);

  auto config = ParseConfig(WithAlerts("  webhook: https://hooks.example.com/T0/B1?x=1\n"
                                       "  timeout: 2.5\n  retries: 0\n  ca_file: /etc/ssl/ca.pem\n"
                                       "hooks:\n  on_alert: /usr/local/bin/page\n"),
                            "node.yaml", {{"BATON_ALERTS_RETRIES", "7"}});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_TRUE(config->alerts.Configured());
  EXPECT_EQ(config->alerts.webhook, "https://hooks.example.com/T0/B1?x=1");
  EXPECT_DOUBLE_EQ(config->alerts.timeout_seconds, 2.5);
  EXPECT_EQ(config->alerts.retries, 7);  // the environment wins
  EXPECT_EQ(config->alerts.ca_file, "/etc/ssl/ca.pem");
  EXPECT_EQ(config->hooks.on_alert, "/usr/local/bin/page");
}

TEST(ConfigTest, MissingFileIsRefusedWithItsName) {
  auto config = LoadConfigFile("/nonexistent/baton.yaml", {});
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find("/nonexistent/baton.yaml"), std::string::npos);
}

TEST(ConfigTest, EveryKeyHasAnEnvironmentName) {
  for (const auto& key : ConfigKeys()) {
    EXPECT_EQ(key.env.rfind("BATON_", 0), 0u) << key.path;
    EXPECT_FALSE(key.help.empty()) << key.path;
  }
}

}  // namespace
}  // namespace baton
