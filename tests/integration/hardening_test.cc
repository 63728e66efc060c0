// Integration: every door of a running node under abuse. Idle and slow clients held open on the
// REST port while the checks keep answering and the leader stays; every malformed request and
// admin body refused with a reason and nothing changed in etcd or PostgreSQL; bad config files
// and unknown verbs refused by the CLI; the agent's memory and descriptors flat under load.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/raw_connection.h"
#include "core/process.h"
#include "harness.h"

namespace baton {
namespace {

using namespace baton::testing;  // NOLINT: the harness is this suite's vocabulary
using std::chrono::milliseconds;

constexpr const char* kToken = "hardening-test-token";

class HardeningTest : public ClusterSuite<HardeningTest> {
 public:
  static LocalClusterOptions Options() {
    LocalClusterOptions options;
    options.agent_env = {{"BATON_RESTAPI_AUTH_TOKEN", kToken}};
    return options;
  }

 protected:
  static int ApiPort(size_t i) { return cluster_->nodes[i].api_port; }

  // What an abusive request could change: the cluster's keys (except the members' records,
  // which each loop rewrites) and a table's rows.
  static std::string Fingerprint() {
    const ClusterView view = LoadView(*cluster_);
    std::string text = view.leader ? view.leader->name : "(no leader)";
    text += "|paused=" + std::to_string(view.paused);
    text += "|config=" + view.config_text;
    text += "|switchover=" + view.switchover_text;
    text += "|failover=" + std::string(view.failover ? "yes" : "no");
    text += "|actions=" + std::to_string(view.actions.size());
    text += "|history=" + std::to_string(view.history.size());
    text += "|nodes=";
    for (const auto& [name, record] : view.nodes) text += name + ",";
    text += "|rows=" + QueryOne(Conn(Leader()),
                                "SELECT count(*) || ':' || coalesce(sum(id), 0) "
                                "FROM hardening")
                           .value_or("?");
    return text;
  }

  static std::string Exchange(int port, const std::string& request) {
    RawConnection c(port);
    if (!c.ok() || !c.Send(request)) return "";
    return c.ReadResponse();
  }
};

TEST_F(HardeningTest, HeldIdleAndSlowConnectionsDoNotStallTheChecksOrMoveTheLeader) {
  ASSERT_TRUE(RaiseDescriptorLimit());
  const size_t leader = Leader();
  const std::string before = Fingerprint();
  std::vector<RawConnection> held;
  for (int i = 0; i < 1000; ++i) {
    held.emplace_back(ApiPort(leader));
    ASSERT_TRUE(held.back().ok()) << "connection " << i;
  }
  for (int i = 0; i < 100; ++i) {  // a request head whose body trickles, then stops
    held.emplace_back(ApiPort(leader));
    ASSERT_TRUE(held.back().Send("POST /pause HTTP/1.1\r\nContent-Length: 1000\r\n\r\n{"));
  }
  std::vector<double> latencies_ms;
  for (int round = 0; round < 40; ++round) {
    for (const char* path : {"/health", "/primary"}) {
      httplib::Client client("127.0.0.1", ApiPort(leader));
      client.set_connection_timeout(2);
      client.set_read_timeout(2);
      const auto started = std::chrono::steady_clock::now();
      const auto reply = client.Get(path);
      ASSERT_TRUE(reply) << path << ": " << httplib::to_string(reply.error());
      EXPECT_EQ(reply->status, 200) << path;
      latencies_ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
              .count());
    }
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  std::printf(
      "REST with 1,000 idle and 100 slow-body connections held: /health and /primary median "
      "%.2f ms, worst %.2f ms over %zu requests\n",
      latencies_ms[latencies_ms.size() / 2], latencies_ms.back(), latencies_ms.size());
  EXPECT_LT(latencies_ms[latencies_ms.size() / 2], 100.0);
  httplib::Client client("127.0.0.1", ApiPort(leader));
  const auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("baton_rest_connections 11"), std::string::npos)
      << "the held connections should all be open";
  held.clear();
  EXPECT_EQ(Fingerprint(), before) << "the leader or the cluster's keys changed";
}

struct BadRequest {
  const char* what;
  std::string request;
  int status;
  const char* error_part;
};

std::string Admin(const std::string& method, const std::string& path, const std::string& body,
                  const std::string& authorization = std::string("Bearer ") + kToken) {
  std::string request = method + " " + path + " HTTP/1.1\r\nHost: test\r\n";
  if (!authorization.empty()) request += "Authorization: " + authorization + "\r\n";
  request += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return request;
}

TEST_F(HardeningTest, EveryMalformedRequestIsRefusedWithAReasonAndChangesNothing) {
  const size_t leader = Leader();
  ASSERT_TRUE(Query(Conn(leader),
                    "CREATE TABLE IF NOT EXISTS hardening (id int); "
                    "INSERT INTO hardening VALUES (1), (2)")
                  .ok());
  const std::string before = Fingerprint();
  const std::vector<BadRequest> cases = {
      {"lag not a number", "GET /replica?lag=abc HTTP/1.1\r\n\r\n", 400,
       "lag must be a number of bytes"},
      {"unknown parameter", "GET /health?verbose=1 HTTP/1.1\r\n\r\n", 400,
       "unknown query parameter 'verbose'"},
      {"parameter on an admin verb", Admin("POST", "/pause?now=1", ""), 400,
       "unknown query parameter 'now'"},
      {"unknown path", "GET /doctor HTTP/1.1\r\n\r\n", 404, "no endpoint /doctor"},
      {"wrong method", "DELETE /health HTTP/1.1\r\n\r\n", 405, "takes GET, HEAD, OPTIONS"},
      {"no credentials", Admin("POST", "/pause", "", ""), 401, "authentication required"},
      {"wrong token", Admin("POST", "/pause", "", "Bearer wrong"), 401, ""},
      {"garbage basic auth", Admin("POST", "/pause", "", "Basic %%%"), 400, ""},
      {"malformed JSON", Admin("POST", "/switchover", "{\"to\": "), 400, "JSON"},
      {"JSON array", Admin("POST", "/switchover", "[1, 2]"), 400, "JSON object"},
      {"wrong type", Admin("POST", "/switchover", R"({"to": 5})"), 400,
       "field 'to' must be a string"},
      {"misspelt field", Admin("POST", "/switchover", R"({"too": "node2"})"), 400,
       "unknown field 'too'"},
      {"flag not a bool", Admin("POST", "/failover", R"({"to": "node2", "allow_data_loss": 1})"),
       400, "field 'allow_data_loss' must be true or false"},
      {"failover without target", Admin("POST", "/failover", "{}"), 400, "'to' names the node"},
      {"unknown setting", Admin("PATCH", "/config", R"({"timing.bogus": 1})"), 400, "bogus"},
      {"setting out of range", Admin("PATCH", "/config", R"({"timing.ttl": 0})"), 400,
       "timing.ttl"},
      {"remove with a number", Admin("POST", "/remove", R"({"node": 7})"), 400,
       "field 'node' must be a string"},
      {"restart with a string flag", Admin("POST", "/restart", R"({"pending": "yes"})"), 400,
       "field 'pending' must be true or false"},
      {"pause with a body", Admin("POST", "/pause", R"({"reason": "x"})"), 400, "takes no fields"},
      {"oversized body", "POST /switchover HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n", 413,
       "exceeds"},
      {"chunked body", "POST /pause HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501,
       "Content-Length"},
      {"TLS on the plain port", std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 11),
       400, "TLS handshake"},
      {"not HTTP", "SENTINEL get-master-addr-by-name mymaster\r\n\r\n", 400,
       "malformed request line"},
      {"HTTP/2", "GET /health HTTP/2.0\r\n\r\n", 505, "HTTP/2.0"},
      {"huge header", "GET /health HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n", 431,
       "exceed"},
  };
  for (const BadRequest& bad : cases) {
    const std::string answer = Exchange(ApiPort(leader), bad.request);
    const std::string status_line = "HTTP/1.1 " + std::to_string(bad.status) + " ";
    EXPECT_EQ(answer.rfind(status_line, 0), 0u) << bad.what << ":\n" << answer;
    EXPECT_NE(answer.find("\"error\""), std::string::npos) << bad.what << ":\n" << answer;
    EXPECT_NE(answer.find(bad.error_part), std::string::npos) << bad.what << ":\n" << answer;
    EXPECT_EQ(answer.find(kToken), std::string::npos) << bad.what;
  }
  EXPECT_EQ(Fingerprint(), before) << "a refused request changed the cluster";
  // HEAD and OPTIONS answer as GET does (HAProxy's default check is OPTIONS).
  EXPECT_EQ(Exchange(ApiPort(leader), "OPTIONS /primary HTTP/1.0\r\n\r\n").rfind("HTTP/1.1 200", 0),
            0u);
  RawConnection head(ApiPort(leader));
  ASSERT_TRUE(head.Send("HEAD /replica HTTP/1.1\r\nConnection: close\r\n\r\n"));
  const std::string head_answer = head.ReadUntilClosed();
  EXPECT_EQ(head_answer.rfind("HTTP/1.1 503", 0), 0u) << head_answer;
  EXPECT_EQ(head_answer.find("\r\n\r\n") + 4, head_answer.size()) << "HEAD sent a body";
}

TEST_F(HardeningTest, TheAgentsMemoryAndDescriptorsStayFlatUnderLoad) {
  ASSERT_TRUE(RaiseDescriptorLimit());
  const size_t leader = Leader();
  const pid_t agent = cluster_->nodes[leader].agent_pid;
  const int port = ApiPort(leader);
  // One round: keep-alive checks from 4 clients, new connections, malformed requests, and 500
  // connections opened and dropped.
  auto load_round = [&] {
    std::vector<std::thread> clients;
    std::atomic<int> failed{0};
    for (int t = 0; t < 4; ++t) {
      clients.emplace_back([&] {
        httplib::Client client("127.0.0.1", port);
        client.set_keep_alive(true);
        for (int i = 0; i < 1000; ++i) {
          const auto reply = client.Get(i % 2 ? "/health" : "/cluster");
          if (!reply || reply->status != 200) ++failed;
        }
      });
    }
    for (int i = 0; i < 500; ++i) {
      (void)Exchange(
          port, i % 2 ? "GET /primary HTTP/1.1\r\nConnection: close\r\n\r\n" : "BROKEN\r\n\r\n");
    }
    {
      std::vector<RawConnection> dropped;
      for (int i = 0; i < 500; ++i) dropped.emplace_back(port);
    }
    for (auto& client : clients) client.join();
    EXPECT_EQ(failed, 0);
  };
  // Open REST connections, this one included (peers may hold some too).
  auto open_connections = [&] {
    httplib::Client client("127.0.0.1", port);
    const auto metrics = client.Get("/metrics");
    if (!metrics) return -1;
    const std::string name = "\nbaton_rest_connections ";
    const size_t at = metrics->body.find(name);
    return at == std::string::npos ? -1 : std::stoi(metrics->body.substr(at + name.size()));
  };
  const int idle_connections = open_connections();
  ASSERT_GT(idle_connections, 0);
  auto settled = [&] { return open_connections() <= idle_connections; };
  load_round();  // warms the allocator and the connection list up
  ASSERT_TRUE(PollUntil(seconds(20), settled));
  const std::optional<ProcessUsage> warm = UsageOf(agent);
  ASSERT_TRUE(warm.has_value()) << "cannot read the agent's /proc entry";
  for (int round = 0; round < 3; ++round) load_round();
  ASSERT_TRUE(PollUntil(seconds(20), settled));
  const std::optional<ProcessUsage> after = UsageOf(agent);
  ASSERT_TRUE(after.has_value());
  std::printf(
      "agent under 12,000 keep-alive requests, 1,500 short connections and 1,500 dropped: RSS "
      "%ld KiB -> %ld KiB, descriptors %d -> %d\n",
      warm->rss_kib, after->rss_kib, warm->descriptors, after->descriptors);
  ASSERT_GT(warm->rss_kib, 0);
  ASSERT_GT(warm->descriptors, 0);
  EXPECT_LE(after->descriptors, warm->descriptors + 2);  // a PostgreSQL connection may come and go
  EXPECT_LT(after->rss_kib - warm->rss_kib, 8 * 1024) << "the agent's memory grew with the load";
}

// Bad input to the CLI: each refused with exit code 2 and a message naming the problem, and no
// data directory made.
TEST(HardeningCliTest, BadConfigsAndUnknownVerbsAreRefusedNamingTheProblem) {
  char pattern[] = "/tmp/baton-hardening.XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::string dir = pattern;
  const std::string data_dir = dir + "/data";
  const std::string good =
      "cluster: {name: c}\nnode: {name: n}\netcd: {endpoints: ['127.0.0.1:1']}\n"
      "postgresql: {data_dir: " +
      data_dir +
      ", listen: '127.0.0.1:5432',\n  superuser: {password: a}, replication: {password: b}}\n";
  struct BadConfig {
    const char* what;
    std::string yaml;  // "" = no file at all
    std::string error_part;
  };
  const std::vector<BadConfig> cases = {
      {"unknown key", good + "restapi: {listen: '127.0.0.1:8008', lsten: x}\n",
       "key 'restapi.lsten': unknown key"},
      {"wrong type", good + "restapi: {listen: '127.0.0.1:8008'}\ntiming: {ttl: soon}\n",
       "key 'timing.ttl'"},
      {"timing out of range", good + "restapi: {listen: '127.0.0.1:8008'}\ntiming: {ttl: 0}\n",
       "from 2 to 3600"},
      {"loop slower than the lease",
       good + "restapi: {listen: '127.0.0.1:8008'}\ntiming: {ttl: 3, loop_wait: 5}\n",
       "must be below timing.ttl"},
      {"bad address", good + "restapi: {listen: 'nowhere'}\n", "key 'restapi.listen'"},
      {"invalid YAML", good + "restapi: {listen: [\n", "not valid YAML"},
      {"unreadable certificate",
       good + "restapi: {listen: '127.0.0.1:8008', certfile: " + dir +
           "/none.pem, keyfile: " + dir + "/none.pem}\n",
       "restapi.certfile " + std::string(pattern) + "/none.pem: cannot read"},
      {"missing file", "", "cannot read the file"},
  };
  for (const BadConfig& bad : cases) {
    const std::string path = dir + "/baton.yaml";
    std::filesystem::remove(path);
    if (!bad.yaml.empty()) std::ofstream(path) << bad.yaml;
    for (const char* verb : {"config", "agent"}) {
      std::vector<std::string> argv = {BatonBinary(), verb};
      if (std::string(verb) == "config") {
        argv.insert(argv.end(), {"check", path});
      } else {
        argv.insert(argv.end(), {"-c", path});
      }
      const auto result = RunCommand(argv, {}, seconds(20));
      ASSERT_TRUE(result.ok());
      EXPECT_EQ(result->exit_code, 2) << bad.what << " (" << verb << "): " << result->output;
      EXPECT_NE(result->output.find(bad.error_part), std::string::npos)
          << bad.what << " (" << verb << "): " << result->output;
      EXPECT_FALSE(std::filesystem::exists(data_dir)) << bad.what << ": a data directory appeared";
    }
  }
  const auto directory = RunCommand({BatonBinary(), "config", "check", dir}, {}, seconds(10));
  ASSERT_TRUE(directory.ok());
  EXPECT_EQ(directory->exit_code, 2);
  EXPECT_NE(directory->output.find("is a directory"), std::string::npos) << directory->output;

  for (const std::vector<std::string>& words :
       {std::vector<std::string>{"diagnose"}, {"config", "validate"}, {"demo", "begin"}}) {
    std::vector<std::string> argv = {BatonBinary()};
    argv.insert(argv.end(), words.begin(), words.end());
    const auto result = RunCommand(argv, {}, seconds(10));
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result->exit_code, 2) << words.back();
    EXPECT_NE(result->output.find("unknown verb '" + words.back() + "'"), std::string::npos)
        << result->output;
    EXPECT_NE(result->output.find("the verbs are:"), std::string::npos) << result->output;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace baton
