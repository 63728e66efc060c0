// The Router on loopback sockets, against small backends that greet each connection with their
// name and then echo: connections reach the writer or the least-loaded reader, wait for a
// writer within the hold, are closed when the hold ends or when new routes leave their
// backend out, and a backend that refuses is tried again until it answers.
#include "router/router.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>
#include <thread>
#include <vector>

namespace baton {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

int ListeningSocket(int port, bool listening = true) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  if (listening) {
    EXPECT_EQ(listen(fd, 64), 0);
  }
  return fd;
}

int PortOf(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

// A backend. kGreet: greets every connection with "<name>\n", then echoes what it receives.
// kClientFirst: answers the client's first line with "<name>:<line>\n" (as a server answers a
// startup message), then echoes. kCloseAtOnce: accepts and closes (a server dying).
// kNotNow: answers with PostgreSQL's "cannot connect now" error (57P03) and closes.
enum class Mode { kGreet, kClientFirst, kCloseAtOnce, kNotNow };

class FakeBackend {
 public:
  explicit FakeBackend(std::string name, int port = 0, Mode mode = Mode::kGreet)
      : name_(std::move(name)), mode_(mode), fd_(ListeningSocket(port)), port_(PortOf(fd_)) {
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeBackend() {
    stop_ = true;
    thread_.join();
    close(fd_);
    for (auto& t : connections_) t.join();
  }
  Backend backend() const { return {name_, {"127.0.0.1", port_}}; }
  int port() const { return port_; }

 private:
  void Serve() {
    while (!stop_) {
      pollfd pfd{fd_, POLLIN, 0};
      if (poll(&pfd, 1, 50) != 1) continue;
      const int client = accept(fd_, nullptr, nullptr);
      if (client < 0) continue;
      connections_.emplace_back([this, client] {
        if (mode_ == Mode::kCloseAtOnce) return (void)close(client);
        if (mode_ == Mode::kNotNow) {
          const std::string error("E\0\0\0\x20SFATAL\0C57P03\0Mshutting down\0\0", 33);
          (void)!write(client, error.data(), error.size());
          return (void)close(client);
        }
        if (mode_ == Mode::kGreet) {
          const std::string greeting = name_ + "\n";
          (void)!write(client, greeting.data(), greeting.size());
        }
        bool answered = mode_ == Mode::kGreet;
        std::string first_line;
        char buffer[4096];
        while (!stop_) {
          pollfd p{client, POLLIN, 0};
          if (poll(&p, 1, 50) != 1) continue;
          const ssize_t n = read(client, buffer, sizeof buffer);
          if (n <= 0) break;
          if (answered) {
            (void)!write(client, buffer, static_cast<size_t>(n));
            continue;
          }
          first_line.append(buffer, static_cast<size_t>(n));
          if (first_line.find('\n') == std::string::npos) continue;
          const std::string answer = name_ + ":" + first_line;
          (void)!write(client, answer.data(), answer.size());
          answered = true;
        }
        close(client);
      });
    }
  }

  const std::string name_;
  const Mode mode_;
  const int fd_;
  const int port_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<std::thread> connections_;
};

// A client connection through the router.
class Client {
 public:
  explicit Client(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    EXPECT_EQ(connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }
  ~Client() { close(fd_); }

  // The first line the backend sent ("" when the connection ended first), within `timeout`.
  std::string Greeting(Duration timeout = seconds(5)) { return ReadLine(timeout); }

  void Send(const std::string& line) {
    const std::string text = line + "\n";
    EXPECT_EQ(write(fd_, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }

  std::string Echo(const std::string& text, Duration timeout = seconds(5)) {
    const std::string line = text + "\n";
    if (write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return "";
    return ReadLine(timeout);
  }

  // True when the router closed the connection within `timeout`.
  bool ClosedWithin(Duration timeout) {
    pollfd pfd{fd_, POLLIN, 0};
    if (poll(&pfd, 1,
             static_cast<int>(std::chrono::duration_cast<milliseconds>(timeout).count())) != 1) {
      return false;
    }
    char c;
    return read(fd_, &c, 1) == 0;
  }

 private:
  std::string ReadLine(Duration timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string line;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd pfd{fd_, POLLIN, 0};
      if (poll(&pfd, 1, 20) != 1) continue;
      char c;
      if (read(fd_, &c, 1) != 1) return line;
      if (c == '\n') return line;
      line += c;
    }
    return line;
  }

  const int fd_;
};

template <typename Condition>
bool PollUntil(Duration timeout, Condition condition) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return condition();
}

class RouterTest : public ::testing::Test {
 protected:
  void StartRouter(Duration hold = seconds(5)) {
    Router::Options options;
    options.read_write = {"127.0.0.1", 0};
    options.read_only = HostPort{"127.0.0.1", 0};
    options.hold_timeout = hold;
    router_ = std::make_unique<Router>(options);
    Status s = router_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_NE(router_->read_write_port(), 0);
    ASSERT_NE(router_->read_only_port(), 0);
  }
  static Routes WriterOnly(const FakeBackend& writer) {
    return {writer.backend(), {writer.backend()}};
  }

  std::unique_ptr<Router> router_;
};

TEST_F(RouterTest, ReadWriteConnectionsReachTheWriterAndCarryBytesBothWays) {
  FakeBackend leader("node1");
  FakeBackend replica("node2");
  StartRouter();
  router_->Update({leader.backend(), {replica.backend()}});
  Client client(router_->read_write_port());
  EXPECT_EQ(client.Greeting(), "node1");
  EXPECT_EQ(client.Echo("SELECT 1"), "SELECT 1");
  Client reader(router_->read_only_port());
  EXPECT_EQ(reader.Greeting(), "node2");
  EXPECT_EQ(router_->Stats().routed, 2u);
}

TEST_F(RouterTest, WithoutAWriterANewConnectionWaitsAndGoesThroughOnceOneAppears) {
  FakeBackend leader("node1");
  StartRouter(seconds(10));
  Client client(router_->read_write_port());
  ASSERT_TRUE(PollUntil(seconds(5), [&] { return router_->Stats().waiting == 1; }));
  EXPECT_EQ(client.Greeting(milliseconds(100)), "") << "went through without a writer";
  router_->Update(WriterOnly(leader));
  EXPECT_EQ(client.Greeting(), "node1");
  EXPECT_EQ(router_->Stats().held, 1u);
  EXPECT_EQ(router_->Stats().waiting, 0u);
}

TEST_F(RouterTest, AConnectionThatWaitsPastTheHoldIsClosed) {
  StartRouter(milliseconds(200));
  Client client(router_->read_write_port());
  EXPECT_TRUE(client.ClosedWithin(seconds(5)));
  EXPECT_EQ(router_->Stats().hold_expired, 1u);
}

TEST_F(RouterTest, ConnectionsToALeaderThatIsNoLongerTheWriterAreClosedAtOnce) {
  FakeBackend old_leader("node1");
  FakeBackend new_leader("node2");
  StartRouter();
  router_->Update(WriterOnly(old_leader));
  Client before(router_->read_write_port());
  ASSERT_EQ(before.Greeting(), "node1");
  router_->Update({});  // demoted, nobody promoted yet
  EXPECT_TRUE(before.ClosedWithin(seconds(5)));
  EXPECT_EQ(router_->Stats().cut, 1u);
  Client after(router_->read_write_port());
  router_->Update(WriterOnly(new_leader));
  EXPECT_EQ(after.Greeting(), "node2");
}

TEST_F(RouterTest, ReadOnlyConnectionsGoToTheReaderWithFewestAndLeaveOneThatFellBehind) {
  FakeBackend leader("node1");
  FakeBackend a("node2");
  FakeBackend b("node3");
  StartRouter();
  router_->Update({leader.backend(), {a.backend(), b.backend()}});
  std::map<std::string, int> per_backend;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<Client>(router_->read_only_port()));
    ++per_backend[clients.back()->Greeting()];
  }
  EXPECT_EQ(per_backend, (std::map<std::string, int>{{"node2", 2}, {"node3", 2}}));
  router_->Update({leader.backend(), {b.backend()}});  // node2 lags now
  int closed = 0;
  for (auto& client : clients) closed += client->ClosedWithin(milliseconds(500));
  EXPECT_EQ(closed, 2);
  Client next(router_->read_only_port());
  EXPECT_EQ(next.Greeting(), "node3");
}

TEST_F(RouterTest, AWriterThatRefusesIsTriedAgainWithinTheHold) {
  const int reserved = ListeningSocket(0, /*listening=*/false);
  const int port = PortOf(reserved);
  StartRouter(seconds(10));
  router_->Update({Backend{"node1", {"127.0.0.1", port}}, {}});
  Client client(router_->read_write_port());
  ASSERT_EQ(client.Greeting(milliseconds(300)), "");  // refused, and retried
  close(reserved);
  FakeBackend late("node1", port);
  EXPECT_EQ(client.Greeting(), "node1");
}

TEST_F(RouterTest, AWriterThatKeepsRefusingIsGivenUpWhenTheHoldEnds) {
  const int reserved = ListeningSocket(0, /*listening=*/false);
  StartRouter(milliseconds(300));
  router_->Update({Backend{"node1", {"127.0.0.1", PortOf(reserved)}}, {}});
  Client client(router_->read_write_port());
  EXPECT_TRUE(client.ClosedWithin(seconds(5)));
  EXPECT_EQ(router_->Stats().hold_expired, 1u);
  close(reserved);
}

TEST_F(RouterTest, AConnectionWhoseServerDiesBeforeAnsweringGoesToTheNextWriterUnnoticed) {
  FakeBackend dying("node1", 0, Mode::kCloseAtOnce);
  FakeBackend next("node2", 0, Mode::kClientFirst);
  StartRouter(seconds(10));
  router_->Update({dying.backend(), {}});
  Client client(router_->read_write_port());
  client.Send("startup");
  EXPECT_EQ(client.Greeting(milliseconds(300)), "") << "the client saw the dying server";
  router_->Update({next.backend(), {}});
  EXPECT_EQ(client.Greeting(), "node2:startup");
  EXPECT_EQ(client.Echo("SELECT 1"), "SELECT 1");
}

TEST_F(RouterTest, AServerThatIsNotAcceptingConnectionsNowIsLeftForTheNextWriter) {
  FakeBackend stopping("node1", 0, Mode::kNotNow);
  FakeBackend next("node2", 0, Mode::kClientFirst);
  StartRouter(seconds(10));
  router_->Update({stopping.backend(), {}});
  Client client(router_->read_write_port());
  client.Send("startup");
  EXPECT_EQ(client.Greeting(milliseconds(300)), "") << "the client got the server's error";
  router_->Update({next.backend(), {}});
  EXPECT_EQ(client.Greeting(), "node2:startup");
}

TEST_F(RouterTest, AConnectionOnItsWayToASilentHostGoesToTheNewWriterAtOnce) {
  // A listener whose accept queue is full: further handshakes go unanswered, as with a host
  // that is powered off or cut off.
  const int silent = ListeningSocket(0, /*listening=*/false);
  ASSERT_EQ(listen(silent, 0), 0);
  std::vector<int> fillers;
  for (int i = 0; i < 3; ++i) {
    fillers.push_back(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(PortOf(silent)));
    (void)connect(fillers.back(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  }
  FakeBackend next("node2", 0, Mode::kClientFirst);
  StartRouter(seconds(10));
  router_->Update({Backend{"node1", {"127.0.0.1", PortOf(silent)}}, {}});
  Client client(router_->read_write_port());
  client.Send("startup");
  EXPECT_EQ(client.Greeting(milliseconds(200)), "");
  router_->Update({next.backend(), {}});
  // Well before the 2 s connect timeout would have given up on the silent host.
  EXPECT_EQ(client.Greeting(milliseconds(1000)), "node2:startup");
  for (int fd : fillers) close(fd);
  close(silent);
}

TEST_F(RouterTest, AZeroHoldStillRoutesWhenThereIsAWriter) {
  FakeBackend leader("node1");
  StartRouter(Duration::zero());
  router_->Update(WriterOnly(leader));
  Client client(router_->read_write_port());
  EXPECT_EQ(client.Greeting(), "node1");
}

}  // namespace
}  // namespace baton
