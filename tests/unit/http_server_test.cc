#include "api/http_server.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/raw_connection.h"
#include "core/process.h"
#include "temp_dir.h"
#include "tls_files.h"

namespace baton {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

HttpServerOptions Loopback() {
  HttpServerOptions options;
  options.listen = HostPort{"127.0.0.1", 0};
  return options;
}

// Answers every path with its own name; /slow blocks (on a worker) until Release().
class Handlers {
 public:
  HttpHandlers Get() {
    HttpHandlers handlers;
    handlers.handle = [this](const HttpRequest& request) {
      if (request.path == "/slow") {
        std::unique_lock lock(mu_);
        ++slow_started_;
        changed_.notify_all();
        changed_.wait(lock, [this] { return released_; });
      }
      if (request.path == "/throw") throw std::runtime_error("handler failed");
      HttpResponse response;
      response.body = request.path + (request.body.empty() ? "" : ":" + request.body);
      response.content_type = "text/plain";
      return response;
    };
    handlers.may_block = [](const HttpRequest& request) { return request.path == "/slow"; };
    return handlers;
  }
  bool WaitSlowStarted(int count) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, seconds(10), [&] { return slow_started_ >= count; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  int slow_started_ = 0;
  bool released_ = false;
};

std::unique_ptr<HttpServer> Started(HttpServerOptions options, HttpHandlers handlers) {
  auto made = HttpServer::Create(std::move(options), std::move(handlers));
  EXPECT_TRUE(made.ok()) << made.status().ToString();
  if (!made.ok()) return nullptr;
  auto server = std::move(made).value();
  const Status started = server->Start();
  EXPECT_TRUE(started.ok()) << started.ToString();
  return started.ok() ? std::move(server) : nullptr;
}

// Polls `condition` until it holds or 10 s pass.
template <class Condition>
bool Eventually(Condition condition) {
  const auto deadline = steady_clock::now() + seconds(10);
  while (steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return condition();
}

TEST(HttpServerTest, AnswersKeepsAliveAndAnswersHeadWithoutBody) {
  Handlers handlers;
  auto server = Started(Loopback(), handlers.Get());
  ASSERT_TRUE(server);
  RawConnection c(server->port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.Send("GET /one HTTP/1.1\r\n\r\n"));
  const std::string first = c.ReadResponse();
  EXPECT_EQ(first.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << first;
  EXPECT_NE(first.find("Connection: keep-alive"), std::string::npos);
  EXPECT_NE(first.find("\r\n\r\n/one"), std::string::npos);
  ASSERT_TRUE(c.Send("POST /two HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"));
  EXPECT_NE(c.ReadResponse().find("\r\n\r\n/two:hi"), std::string::npos);
  ASSERT_TRUE(c.Send("HEAD /three HTTP/1.1\r\nConnection: close\r\n\r\n"));
  const std::string head = c.ReadUntilClosed();
  EXPECT_NE(head.find("Content-Length: 6"), std::string::npos) << head;
  EXPECT_EQ(head.find("/three"), std::string::npos) << head;
  EXPECT_NE(head.find("Connection: close"), std::string::npos);
}

TEST(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  Handlers handlers;
  auto server = Started(Loopback(), handlers.Get());
  ASSERT_TRUE(server);
  RawConnection c(server->port());
  ASSERT_TRUE(c.Send("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nConnection: close\r\n\r\n"));
  const std::string both = c.ReadUntilClosed();
  const size_t a = both.find("\r\n\r\n/a");
  const size_t b = both.find("\r\n\r\n/b");
  ASSERT_NE(a, std::string::npos) << both;
  ASSERT_NE(b, std::string::npos) << both;
  EXPECT_LT(a, b);
}

TEST(HttpServerTest, MalformedRequestsGetTheirStatusAndTheConnectionCloses) {
  Handlers handlers;
  HttpServerOptions options = Loopback();
  options.limits.max_body_bytes = 8;
  auto server = Started(options, handlers.Get());
  ASSERT_TRUE(server);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {std::string("\x16\x03\x01\x00\x10", 5), "HTTP/1.1 400 "},
      {"GET /x HTTP/1.1\r\nContent-Length: 9\r\n\r\n", "HTTP/1.1 413 "},
      {"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.1 501 "},
      {"BREW /coffee HTCPCP/1.0\r\n\r\n", "HTTP/1.1 400 "},
  };
  for (const auto& [request, status_line] : cases) {
    RawConnection c(server->port());
    ASSERT_TRUE(c.Send(request));
    const std::string answer = c.ReadUntilClosed();
    EXPECT_EQ(answer.rfind(status_line, 0), 0u) << answer;
    EXPECT_NE(answer.find("\"error\""), std::string::npos) << answer;
  }
  // A handler's exception does not close the connection; a malformed request does.
  RawConnection c(server->port());
  ASSERT_TRUE(c.Send("GET /throw HTTP/1.1\r\n\r\n"));
  EXPECT_NE(c.ReadResponse().find("internal error"), std::string::npos);
  ASSERT_TRUE(c.Send("GET /still HTTP/1.1\r\n\r\n"));
  EXPECT_NE(c.ReadResponse().find("/still"), std::string::npos);
}

TEST(HttpServerTest, IdleAndSlowConnectionsDoNotDelayOthers) {
  ASSERT_TRUE(RaiseDescriptorLimit());
  Handlers handlers;
  auto server = Started(Loopback(), handlers.Get());
  ASSERT_TRUE(server);
  ASSERT_GE(server->max_connections(), 1200u) << "the descriptor limit is too low for this test";
  std::vector<RawConnection> held;
  for (int i = 0; i < 1000; ++i) {
    held.emplace_back(server->port());
    ASSERT_TRUE(held.back().ok());
  }
  for (int i = 0; i < 100; ++i) {  // a request head, and a body that never comes
    held.emplace_back(server->port());
    ASSERT_TRUE(held.back().Send("POST /slowbody HTTP/1.1\r\nContent-Length: 100\r\n\r\nab"));
  }
  ASSERT_TRUE(Eventually([&] { return server->Stats().open >= 1100; }));
  httplib::Client client("127.0.0.1", server->port());
  client.set_connection_timeout(seconds(2));
  client.set_read_timeout(seconds(2));
  std::vector<double> latencies_ms;
  for (int i = 0; i < 50; ++i) {
    const auto started = steady_clock::now();
    const auto reply = client.Get("/health");
    ASSERT_TRUE(reply) << httplib::to_string(reply.error());
    EXPECT_EQ(reply->status, 200);
    latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(steady_clock::now() - started).count());
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  std::printf("with 1,100 connections held: /health median %.2f ms, worst %.2f ms\n",
              latencies_ms[latencies_ms.size() / 2], latencies_ms.back());
  EXPECT_LT(latencies_ms[latencies_ms.size() / 2], 100.0);
  EXPECT_EQ(server->Stats().evicted, 0u);
}

TEST(HttpServerTest, BlockingHandlersRunAsideFromTheChecks) {
  Handlers handlers;
  HttpServerOptions options = Loopback();
  options.workers = 1;
  options.max_queued = 1;
  auto server = Started(options, handlers.Get());
  ASSERT_TRUE(server);
  RawConnection slow(server->port());
  ASSERT_TRUE(slow.Send("GET /slow HTTP/1.1\r\n\r\n"));
  ASSERT_TRUE(handlers.WaitSlowStarted(1));
  RawConnection queued(server->port());  // waits in the queue
  ASSERT_TRUE(queued.Send("GET /slow HTTP/1.1\r\n\r\n"));
  ASSERT_TRUE(Eventually([&] { return server->Stats().requests >= 2; }));
  RawConnection refused(server->port());  // the queue is full
  ASSERT_TRUE(refused.Send("GET /slow HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(refused.ReadResponse().rfind("HTTP/1.1 503 ", 0), 0u);
  RawConnection check(server->port());
  ASSERT_TRUE(check.Send("GET /health HTTP/1.1\r\n\r\n"));
  EXPECT_NE(check.ReadResponse().find("/health"), std::string::npos);
  handlers.Release();
  EXPECT_NE(slow.ReadResponse().find("/slow"), std::string::npos);
  EXPECT_NE(queued.ReadResponse().find("/slow"), std::string::npos);
}

TEST(HttpServerTest, PastTheCapTheConnectionIdleLongestIsClosedFirst) {
  Handlers handlers;
  HttpServerOptions options = Loopback();
  options.max_connections = 20;
  auto server = Started(options, handlers.Get());
  ASSERT_TRUE(server);
  std::vector<RawConnection> idle;
  for (int i = 0; i < 20; ++i) {
    idle.emplace_back(server->port());
    ASSERT_TRUE(Eventually([&] { return server->Stats().open == static_cast<uint64_t>(i + 1); }));
  }
  // The first one is busy with a started request: not idle, so not the first to go.
  ASSERT_TRUE(idle[0].Send("GET /started HTTP/1.1\r\n"));
  RawConnection newcomer(server->port());
  ASSERT_TRUE(newcomer.Send("GET /new HTTP/1.1\r\n\r\n"));
  EXPECT_NE(newcomer.ReadResponse().find("/new"), std::string::npos);
  EXPECT_EQ(server->Stats().evicted, 1u);
  EXPECT_TRUE(idle[1].PeerClosed(seconds(5)));
  EXPECT_FALSE(idle[0].PeerClosed(milliseconds(100)));
  ASSERT_TRUE(idle[0].Send("\r\n"));
  EXPECT_NE(idle[0].ReadResponse().find("/started"), std::string::npos);
}

TEST(HttpServerTest, DeadlinesCloseIdleAndSlowConnections) {
  Handlers handlers;
  HttpServerOptions options = Loopback();
  options.idle_timeout = milliseconds(300);
  options.request_timeout = milliseconds(300);
  auto server = Started(options, handlers.Get());
  ASSERT_TRUE(server);
  RawConnection idle(server->port());
  RawConnection slow(server->port());
  ASSERT_TRUE(slow.Send("POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\n12"));
  const std::string answer = slow.ReadUntilClosed();
  EXPECT_EQ(answer.rfind("HTTP/1.1 408 ", 0), 0u) << answer;
  EXPECT_TRUE(idle.PeerClosed(seconds(5)));
  EXPECT_TRUE(Eventually([&] { return server->Stats().open == 0; }));
  EXPECT_GE(server->Stats().timed_out, 2u);
}

TEST(HttpServerTest, StopClosesConnectionsAndCanRunBeforeStart) {
  Handlers handlers;
  auto made = HttpServer::Create(Loopback(), handlers.Get());
  ASSERT_TRUE(made.ok());
  (*made)->Stop();  // never started: nothing to do
  auto server = Started(Loopback(), handlers.Get());
  ASSERT_TRUE(server);
  RawConnection c(server->port());
  ASSERT_TRUE(Eventually([&] { return server->Stats().open == 1; }));
  server->Stop();
  EXPECT_TRUE(c.PeerClosed(seconds(5)));
}

TEST(HttpServerTest, AnAddressInUseIsUnavailable) {
  Handlers handlers;
  auto first = Started(Loopback(), handlers.Get());
  ASSERT_TRUE(first);
  HttpServerOptions options = Loopback();
  options.listen.port = first->port();
  auto second = HttpServer::Create(options, handlers.Get());
  ASSERT_TRUE(second.ok());
  const Status started = (*second)->Start();
  EXPECT_EQ(started.code(), StatusCode::kUnavailable);
  EXPECT_NE(started.message().find("cannot listen on 127.0.0.1:"), std::string::npos);
}

Result<std::unique_ptr<HttpServer>> MakeTls(const TempDir& dir, const std::string& cert,
                                            const std::string& key) {
  HttpServerOptions options = Loopback();
  options.cert_file = dir.File(cert);
  options.key_file = dir.File(key);
  Handlers unused;
  return HttpServer::Create(options, unused.Get());
}

TEST(HttpServerTlsTest, UnreadableCertOrKeyIsInvalidArgumentNamingTheFile) {
  TempDir dir("baton-tls");
  ASSERT_TRUE(dir.ok());
  { std::ofstream(dir.File("cert.pem")) << "not used\n"; }
  const auto no_cert = MakeTls(dir, "missing-cert.pem", "cert.pem");
  ASSERT_FALSE(no_cert.ok());
  EXPECT_EQ(no_cert.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_cert.status().message().find("restapi.certfile " + dir.File("missing-cert.pem")),
            std::string::npos)
      << no_cert.status().ToString();
  EXPECT_NE(no_cert.status().message().find("No such file"), std::string::npos);

  const auto no_key = MakeTls(dir, "cert.pem", "missing-key.pem");
  ASSERT_FALSE(no_key.ok());
  EXPECT_EQ(no_key.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_key.status().message().find("restapi.keyfile " + dir.File("missing-key.pem")),
            std::string::npos)
      << no_key.status().ToString();
}

TEST(HttpServerTlsTest, GarbageCertOrKeyIsInvalidArgument) {
  REQUIRE_OPENSSL_CLI();
  TempDir dir("baton-tls");
  ASSERT_TRUE(dir.ok());
  ASSERT_NO_FATAL_FAILURE(MakeSelfSignedCert(dir));
  { std::ofstream(dir.File("garbage.pem")) << "-----BEGIN CERTIFICATE-----\nnope\n"; }
  for (const auto& [cert, key] :
       {std::pair{"garbage.pem", "key.pem"}, std::pair{"cert.pem", "garbage.pem"},
        std::pair{"key.pem", "cert.pem"}}) {
    const auto server = MakeTls(dir, cert, key);
    ASSERT_FALSE(server.ok()) << cert << " " << key;
    EXPECT_EQ(server.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(server.status().message().find(dir.File(cert)), std::string::npos);
    EXPECT_NE(server.status().message().find(dir.File(key)), std::string::npos);
  }
}

TEST(HttpServerTlsTest, KeyThatDoesNotMatchTheCertIsRefused) {
  REQUIRE_OPENSSL_CLI();
  TempDir dir("baton-tls");
  ASSERT_TRUE(dir.ok());
  ASSERT_NO_FATAL_FAILURE(MakeSelfSignedCert(dir));
  ASSERT_NO_FATAL_FAILURE(Openssl({"genpkey", "-algorithm", "EC", "-pkeyopt",
                                   "ec_paramgen_curve:P-256", "-out", dir.File("other-key.pem")}));
  const auto server = MakeTls(dir, "cert.pem", "other-key.pem");
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), StatusCode::kInvalidArgument);
}

TEST(HttpServerTlsTest, ServesHttpsOnlyWithASelfSignedCert) {
  REQUIRE_OPENSSL_CLI();
  TempDir dir("baton-tls");
  ASSERT_TRUE(dir.ok());
  ASSERT_NO_FATAL_FAILURE(MakeSelfSignedCert(dir));
  HttpServerOptions options = Loopback();
  options.cert_file = dir.File("cert.pem");
  options.key_file = dir.File("key.pem");
  Handlers handlers;
  auto server = Started(options, handlers.Get());
  ASSERT_TRUE(server);

  httplib::SSLClient client("127.0.0.1", server->port());
  client.enable_server_certificate_verification(false);
  client.set_connection_timeout(seconds(10));
  client.set_read_timeout(seconds(10));
  const auto ping = client.Get("/ping");
  ASSERT_TRUE(ping) << httplib::to_string(ping.error());
  EXPECT_EQ(ping->status, 200);
  EXPECT_EQ(ping->body, "/ping");
  client.set_bearer_token_auth("t0ken");
  const auto posted = client.Post("/admin", R"({"a": 1})", "application/json");
  ASSERT_TRUE(posted);
  EXPECT_EQ(posted->body, R"(/admin:{"a": 1})");

  // Verifying against the certificate itself works too (it names 127.0.0.1).
  httplib::SSLClient verifying("127.0.0.1", server->port());
  verifying.set_ca_cert_path(dir.File("cert.pem").c_str());
  verifying.enable_server_certificate_verification(true);
  verifying.set_connection_timeout(seconds(10));
  verifying.set_read_timeout(seconds(10));
  const auto verified = verifying.Get("/ping");
  ASSERT_TRUE(verified) << httplib::to_string(verified.error());
  EXPECT_EQ(verified->status, 200);

  // No plain-HTTP fallback on the same port.
  RawConnection plain(server->port());
  ASSERT_TRUE(plain.Send("GET /ping HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(plain.ReadUntilClosed().find("/ping"), std::string::npos);
}

}  // namespace
}  // namespace baton
