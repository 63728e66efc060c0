// AlertSender against a webhook receiver on loopback (the project's own HttpServer): what is
// posted, how failures are retried, and that Send() never waits for the network.
#include "api/alert_sender.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "api/http_server.h"
#include "temp_dir.h"
#include "tls_files.h"

namespace baton {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

// A webhook on 127.0.0.1: answers the n-th request with statuses[n] (the last one repeats), or
// holds every request until Release() while hanging.
class Receiver {
 public:
  explicit Receiver(std::vector<int> statuses = {200}, bool hang = false,
                    const TempDir* tls_dir = nullptr)
      : statuses_(std::move(statuses)), hanging_(hang) {
    HttpServerOptions options;
    options.listen = HostPort{"127.0.0.1", 0};
    if (tls_dir != nullptr) {
      options.cert_file = tls_dir->File("cert.pem");
      options.key_file = tls_dir->File("key.pem");
    }
    HttpHandlers handlers;
    handlers.handle = [this](const HttpRequest& request) { return Answer(request); };
    handlers.may_block = [](const HttpRequest&) { return true; };
    auto made = HttpServer::Create(options, handlers);
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    if (!made.ok()) return;
    server_ = std::move(made).value();
    const Status started = server_->Start();
    EXPECT_TRUE(started.ok()) << started.ToString();
  }
  ~Receiver() {
    Release();
    if (server_) server_->Stop();
  }

  std::string Url(const std::string& target, const std::string& scheme = "http") const {
    return scheme + "://127.0.0.1:" + std::to_string(server_ ? server_->port() : 0) + target;
  }
  // Waits until `count` requests arrived (or 10 s passed); true when they did.
  bool WaitForRequests(size_t count) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, seconds(10), [&] { return requests_.size() >= count; });
  }
  std::vector<HttpRequest> Requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  void Release() {
    std::lock_guard lock(mu_);
    hanging_ = false;
    changed_.notify_all();
  }

 private:
  HttpResponse Answer(const HttpRequest& request) {
    std::unique_lock lock(mu_);
    requests_.push_back(request);
    const size_t n = requests_.size() - 1;
    changed_.notify_all();
    changed_.wait(lock, [this] { return !hanging_; });
    HttpResponse response;
    response.status = statuses_[std::min(n, statuses_.size() - 1)];
    response.body = response.status == 200 ? "{}" : "{\"error\": \"try later\"}";
    return response;
  }

  const std::vector<int> statuses_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<HttpRequest> requests_;
  bool hanging_;
  std::unique_ptr<HttpServer> server_;
};

Config AlertConfig(const std::string& webhook, int retries = 3, double timeout = 5) {
  Config config;
  config.cluster_name = "prod";
  config.node_name = "db2";
  config.alerts.webhook = webhook;
  config.alerts.retries = retries;
  config.alerts.timeout_seconds = timeout;
  return config;
}

AlertSenderOptions FastBackoff(size_t capacity = 128) {
  AlertSenderOptions options;
  options.capacity = capacity;
  options.first_backoff = milliseconds(10);
  options.max_backoff = milliseconds(40);
  return options;
}

Alert Failover(const std::string& summary = "db2 is the new primary") {
  Alert alert;
  alert.event = "failover";
  alert.severity = AlertSeverity::kCritical;
  alert.summary = summary;
  alert.details = {{"old_leader", "db1"}, {"new_leader", "db2"}, {"timeline", 3}};
  alert.time_unix = 1700000000.5;
  return alert;
}

nlohmann::json Body(const HttpRequest& request) {
  return nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
}

TEST(AlertSenderTest, PostsTheEventAsJsonToTheWebhook) {
  Receiver receiver;
  AlertSender sender(AlertConfig(receiver.Url("/hooks/baton?team=db")), FastBackoff());
  ASSERT_TRUE(sender.configured());
  sender.Send(Failover());
  ASSERT_TRUE(sender.Drain(seconds(10)));
  const auto requests = receiver.Requests();
  ASSERT_EQ(requests.size(), 1u);
  const HttpRequest& request = requests.front();
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.path, "/hooks/baton");
  ASSERT_NE(request.Query("team"), nullptr);
  EXPECT_EQ(*request.Query("team"), "db");
  EXPECT_EQ(request.Header("content-type"), "application/json");
  EXPECT_EQ(request.Header("user-agent").rfind("baton/", 0), 0u) << request.Header("user-agent");
  const nlohmann::json expected = {
      {"event", "failover"},
      {"severity", "critical"},
      {"cluster", "prod"},
      {"node", "db2"},
      {"time", "2023-11-14T22:13:20.500Z"},
      {"summary", "db2 is the new primary"},
      {"details", {{"old_leader", "db1"}, {"new_leader", "db2"}, {"timeline", 3}}}};
  EXPECT_EQ(Body(request), expected) << request.body;
  const AlertCounts counts = sender.counts();
  EXPECT_EQ(counts.sent, 1u);
  EXPECT_EQ(counts.failed, 0u);
  EXPECT_EQ(counts.retries, 0u);
  EXPECT_EQ(sender.last_error(), "");
}

TEST(AlertSenderTest, ServerErrorsAreRetriedAndTheEventDeliveredOnce) {
  Receiver receiver({500, 503, 200});
  AlertSender sender(AlertConfig(receiver.Url("/")), FastBackoff());
  sender.Send(Failover());
  ASSERT_TRUE(sender.Drain(seconds(10)));
  const auto requests = receiver.Requests();
  ASSERT_EQ(requests.size(), 3u);
  for (const HttpRequest& request : requests) EXPECT_EQ(Body(request)["event"], "failover");
  const AlertCounts counts = sender.counts();
  EXPECT_EQ(counts.sent, 1u);
  EXPECT_EQ(counts.retries, 2u);
  EXPECT_EQ(counts.failed, 0u);
}

TEST(AlertSenderTest, RetriesAreBoundedAndARefusalIsNotRetried) {
  {
    Receiver receiver({503});
    AlertSender sender(AlertConfig(receiver.Url("/"), /*retries=*/2), FastBackoff());
    sender.Send(Failover());
    ASSERT_TRUE(sender.Drain(seconds(10)));
    EXPECT_EQ(receiver.Requests().size(), 3u);  // the first attempt and two retries
    EXPECT_EQ(sender.counts().failed, 1u);
    EXPECT_EQ(sender.counts().sent, 0u);
    EXPECT_NE(sender.last_error().find("answered 503"), std::string::npos) << sender.last_error();
  }
  {
    Receiver receiver({404, 200});
    AlertSender sender(AlertConfig(receiver.Url("/")), FastBackoff());
    sender.Send(Failover());
    ASSERT_TRUE(sender.Drain(seconds(10)));
    EXPECT_EQ(receiver.Requests().size(), 1u);
    EXPECT_EQ(sender.counts().failed, 1u);
    EXPECT_EQ(sender.counts().retries, 0u);
  }
}

TEST(AlertSenderTest, AReceiverThatIsDownIsRetriedThenGivenUp) {
  int port = 0;
  {
    Receiver gone;  // a port that was just free: nothing listens there any more
    port = std::stoi(gone.Url("").substr(std::string("http://127.0.0.1:").size()));
  }
  AlertSender sender(AlertConfig("http://127.0.0.1:" + std::to_string(port) + "/", 2),
                     FastBackoff());
  const auto before = steady_clock::now();
  sender.Send(Failover());
  EXPECT_LT(steady_clock::now() - before, milliseconds(500));
  ASSERT_TRUE(sender.Drain(seconds(10)));
  EXPECT_EQ(sender.counts().failed, 1u);
  EXPECT_EQ(sender.counts().retries, 2u);
  EXPECT_FALSE(sender.last_error().empty());
}

TEST(AlertSenderTest, AHangingReceiverNeverBlocksSend) {
  Receiver receiver({200}, /*hang=*/true);
  AlertSender sender(AlertConfig(receiver.Url("/"), 3, /*timeout=*/5), FastBackoff());
  // Each attempt may take 5 s against this receiver: ten Send() calls that waited on it even
  // once would take that long.
  const auto before = steady_clock::now();
  for (int i = 0; i < 10; ++i) sender.Send(Failover(std::to_string(i)));
  EXPECT_LT(steady_clock::now() - before, seconds(1));
  ASSERT_TRUE(receiver.WaitForRequests(1));
  EXPECT_FALSE(sender.Drain(milliseconds(100)));  // bounded: it returns though nothing went out
  receiver.Release();
  ASSERT_TRUE(sender.Drain(seconds(20)));
  EXPECT_EQ(sender.counts().sent, 10u);
}

TEST(AlertSenderTest, AFullQueueDropsTheOldestAndCountsIt) {
  Receiver receiver({200}, /*hang=*/true);
  AlertSender sender(AlertConfig(receiver.Url("/")), FastBackoff(/*capacity=*/3));
  sender.Send(Failover("0"));
  ASSERT_TRUE(receiver.WaitForRequests(1));  // "0" is on the wire, out of the queue
  for (int i = 1; i <= 5; ++i) sender.Send(Failover(std::to_string(i)));
  EXPECT_EQ(sender.counts().dropped, 2u);  // "1" and "2" made room for "4" and "5"
  receiver.Release();
  ASSERT_TRUE(sender.Drain(seconds(10)));
  std::vector<std::string> delivered;
  for (const HttpRequest& request : receiver.Requests()) {
    delivered.push_back(Body(request)["summary"]);
  }
  EXPECT_EQ(delivered, (std::vector<std::string>{"0", "3", "4", "5"}));
  EXPECT_EQ(sender.counts().sent, 4u);
}

TEST(AlertSenderTest, TheHookGetsTheEventJsonInBatonAlert) {
  TempDir dir("baton-alert-hook");
  ASSERT_TRUE(dir.ok());
  Config config = AlertConfig("");
  config.hooks.on_alert = "printf '%s' \"$BATON_ALERT\" > " + dir.File("alert.json") +
                          "; printf '%s %s %s' \"$BATON_ALERT_EVENT\" \"$BATON_ALERT_SEVERITY\" "
                          "\"$BATON_EVENT\" > " +
                          dir.File("env.txt");
  AlertSender sender(config, FastBackoff());
  ASSERT_TRUE(sender.configured());
  sender.Send(Failover());
  ASSERT_TRUE(sender.Drain(seconds(10)));
  std::ifstream in(dir.File("alert.json"));
  std::stringstream text;
  text << in.rdbuf();
  const auto alert = nlohmann::json::parse(text.str(), nullptr, false);
  ASSERT_TRUE(alert.is_object()) << text.str();
  EXPECT_EQ(alert["event"], "failover");
  EXPECT_EQ(alert["cluster"], "prod");
  EXPECT_EQ(alert["details"]["old_leader"], "db1");
  std::ifstream env(dir.File("env.txt"));
  std::string line;
  std::getline(env, line);
  EXPECT_EQ(line, "failover critical on_alert");
  const AlertCounts counts = sender.counts();
  EXPECT_EQ(counts.hooks.started, 1u);
  EXPECT_EQ(counts.hooks.failed, 0u);
  EXPECT_EQ(counts.sent, 0u);  // no webhook
}

TEST(AlertSenderTest, NothingConfiguredSendsNothing) {
  AlertSender sender(AlertConfig(""), FastBackoff());
  EXPECT_FALSE(sender.configured());
  sender.Send(Failover());
  EXPECT_TRUE(sender.Drain(seconds(1)));
  const AlertCounts counts = sender.counts();
  EXPECT_EQ(counts.sent + counts.failed + counts.dropped + counts.hooks.started, 0u);
}

TEST(AlertSenderTest, AnHttpsWebhookIsVerifiedAgainstTheConfiguredCa) {
  REQUIRE_OPENSSL_CLI();
  TempDir dir("baton-alert-tls");
  ASSERT_TRUE(dir.ok());
  ASSERT_NO_FATAL_FAILURE(MakeSelfSignedCert(dir));
  Receiver receiver({200}, false, &dir);
  {
    Config config = AlertConfig(receiver.Url("/tls", "https"), /*retries=*/0);
    config.alerts.ca_file = dir.File("cert.pem");
    AlertSender sender(config, FastBackoff());
    sender.Send(Failover());
    ASSERT_TRUE(sender.Drain(seconds(10)));
    EXPECT_EQ(sender.counts().sent, 1u) << sender.last_error();
  }
  ASSERT_EQ(receiver.Requests().size(), 1u);
  EXPECT_EQ(Body(receiver.Requests().front())["event"], "failover");
  {
    // Without the CA, the self-signed certificate is not trusted: nothing is sent.
    AlertSender sender(AlertConfig(receiver.Url("/tls", "https"), 0), FastBackoff());
    sender.Send(Failover());
    ASSERT_TRUE(sender.Drain(seconds(10)));
    EXPECT_EQ(sender.counts().sent, 0u);
    EXPECT_EQ(sender.counts().failed, 1u);
  }
  EXPECT_EQ(receiver.Requests().size(), 1u);
}

}  // namespace
}  // namespace baton
