#include "router/router.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio.hpp>
#include <map>
#include <set>
#include <vector>

#include "core/tcp_endpoint.h"

namespace baton {

namespace {

using asio::ip::tcp;
using std::chrono::milliseconds;

constexpr size_t kBufferSize = 16 * 1024;
constexpr auto kRetryAfter = milliseconds(100);  // a backend that refused, tried again
constexpr auto kMinConnectTimeout = milliseconds(500);
constexpr auto kMaxConnectTimeout = milliseconds(2000);

enum class Port { kReadWrite, kReadOnly };

const char* PortName(Port port) {
  return port == Port::kReadWrite ? "read-write" : "read-only";
}

// Buffers lent for one read and its write; the Asio thread alone uses it.
class BufferPool {
 public:
  std::unique_ptr<char[]> Take() {
    if (free_.empty()) return std::make_unique<char[]>(kBufferSize);
    auto buffer = std::move(free_.back());
    free_.pop_back();
    return buffer;
  }
  void Give(std::unique_ptr<char[]> buffer) {
    if (free_.size() < kKeptFree) free_.push_back(std::move(buffer));
  }

 private:
  static constexpr size_t kKeptFree = 256;
  std::vector<std::unique_ptr<char[]>> free_;
};

}  // namespace

class Router::Impl : public std::enable_shared_from_this<Router::Impl> {
 public:
  explicit Impl(Options options) : options_(std::move(options)) {}

  Status Bind(Port port, const HostPort& address, int* bound_port) {
    auto endpoint = ResolveEndpoint(io_, address);
    if (!endpoint.ok()) return endpoint.status();
    auto acceptor = std::make_unique<tcp::acceptor>(io_);
    asio::error_code error;
    acceptor->open(endpoint->protocol(), error);
    if (!error) acceptor->set_option(tcp::acceptor::reuse_address(true), error);
    if (!error) acceptor->bind(*endpoint, error);
    if (!error) acceptor->listen(asio::socket_base::max_listen_connections, error);
    if (error) {
      return Unavailable(fmt::format("router: cannot listen on {} ({}): {}", address.ToString(),
                                     PortName(port), error.message()));
    }
    *bound_port = acceptor->local_endpoint().port();
    acceptors_.push_back({port, std::move(acceptor)});
    return Status::Ok();
  }

  // Binds the ports Options name and starts accepting on them (not yet serving: see Run).
  Status Listen(std::atomic<int>& read_write_port, std::atomic<int>& read_only_port) {
    int bound = 0;
    if (Status s = Bind(Port::kReadWrite, options_.read_write, &bound); !s.ok()) return s;
    read_write_port = bound;
    if (options_.read_only) {
      if (Status s = Bind(Port::kReadOnly, *options_.read_only, &bound); !s.ok()) return s;
      read_only_port = bound;
    }
    for (auto& [port, acceptor] : acceptors_) Accept(port, *acceptor);
    return Status::Ok();
  }

  void Run() { io_.run(); }

  // After Run returned: lets the handlers of the closed sockets finish, releasing what they hold.
  void Drain() {
    io_.restart();
    io_.poll();
  }

  void Stop() {
    asio::post(io_, [self = shared_from_this()] {
      for (auto& [port, acceptor] : self->acceptors_) acceptor->close();
      std::vector<std::shared_ptr<Session>> all(self->sessions_.begin(), self->sessions_.end());
      for (const auto& session : all) self->Close(session);
      self->io_.stop();
    });
  }

  void Update(Routes routes) {
    asio::post(io_, [self = shared_from_this(), routes = std::move(routes)]() mutable {
      self->Apply(std::move(routes));
    });
  }

  RouterStats Stats() const {
    RouterStats stats;
    stats.accepted = accepted_;
    stats.routed = routed_;
    stats.held = held_;
    stats.hold_expired = hold_expired_;
    stats.cut = cut_;
    stats.active = active_;
    stats.waiting = waiting_;
    return stats;
  }

 private:
  struct Session {
    Session(asio::io_context& io, Port p) : port(p), client(io), server(io), timer(io) {}
    Port port;
    tcp::socket client;
    tcp::socket server;
    asio::steady_timer timer;
    std::chrono::steady_clock::time_point deadline;
    std::optional<Backend> backend;        // set while connected
    std::optional<Backend> connecting_to;  // set while a connection to it is being made
    uint64_t attempt = 0;                  // bumped by each server connection: older handlers stop
    bool waiting = false;
    bool routed = false;  // connected to a backend at least once
    bool closed = false;
    bool client_pump = false;  // the client is being read
    // Until the server accepts the session (its first answer other than an SSL "N" or a
    // "not accepting connections now" error), what the client sent is kept, so that the
    // connection can go to another backend without the client noticing: a server that dies or
    // shuts down as a connection is routed to it costs the client nothing.
    bool replayable = true;
    std::string preamble;       // the client's bytes so far, while replayable
    std::string server_prefix;  // the server's answers forwarded so far ("N"), while replayable
    std::string to_swallow;     // what the next server must answer first (already forwarded)
  };
  using SessionPtr = std::shared_ptr<Session>;

  void Accept(Port port, tcp::acceptor& acceptor) {
    auto session = std::make_shared<Session>(io_, port);
    acceptor.async_accept(session->client, [this, self = shared_from_this(), port, &acceptor,
                                            session](const asio::error_code& error) {
      if (error == asio::error::operation_aborted) return;
      if (!error) {
        ++accepted_;
        session->deadline = std::chrono::steady_clock::now() + options_.hold_timeout;
        asio::error_code ignored;
        session->client.set_option(tcp::no_delay(true), ignored);
        session->client.non_blocking(true, ignored);
        sessions_.insert(session);
        Route(session, true);
      }
      Accept(port, acceptor);
    });
  }

  // The backend a new connection on `port` goes to now, if any: for reads, the reader with
  // the fewest connections, ties taken in turn.
  std::optional<Backend> Pick(Port port) {
    if (port == Port::kReadWrite) return routes_.writer;
    const size_t count = routes_.readers.size();
    const Backend* best = nullptr;
    size_t best_load = SIZE_MAX;
    for (size_t i = 0; i < count; ++i) {
      const Backend& reader = routes_.readers[(next_reader_ + i) % count];
      auto load = reader_load_.find(reader.name);
      const size_t n = load == reader_load_.end() ? 0 : load->second;
      if (n < best_load) best = &reader, best_load = n;
    }
    ++next_reader_;
    return best != nullptr ? std::optional<Backend>(*best) : std::nullopt;
  }

  bool Current(Port port, const Backend& backend) const {
    if (port == Port::kReadWrite) return routes_.writer && *routes_.writer == backend;
    return std::find(routes_.readers.begin(), routes_.readers.end(), backend) !=
           routes_.readers.end();
  }

  void Route(const SessionPtr& session, bool first) {
    if (session->closed) return;
    if (auto backend = Pick(session->port)) return Connect(session, *backend);
    if (HoldExpired(session)) return;
    if (first) ++held_;
    Wait(session, session->deadline);
  }

  // Closes the session if its hold has ended; true when it did.
  bool HoldExpired(const SessionPtr& session) {
    if (std::chrono::steady_clock::now() < session->deadline) return false;
    ++hold_expired_;
    spdlog::warn("router: {} connection closed: no backend within the hold timeout",
                 PortName(session->port));
    Close(session);
    return true;
  }

  // Parks the session until new routes arrive or `until`, whichever is first.
  void Wait(const SessionPtr& session, std::chrono::steady_clock::time_point until) {
    if (!session->waiting) {
      session->waiting = true;
      ++waiting_;
    }
    session->timer.expires_at(until);
    session->timer.async_wait(
        [this, self = shared_from_this(), session](const asio::error_code& e) {
          if (e == asio::error::operation_aborted || session->closed) return;
          StopWaiting(session);
          Route(session, false);
        });
  }

  // Another attempt shortly, within the hold (past it, the session is closed).
  void RetrySoon(const SessionPtr& session) {
    if (HoldExpired(session)) return;
    Wait(session, std::min(session->deadline, std::chrono::steady_clock::now() + kRetryAfter));
  }

  void StopWaiting(const SessionPtr& session) {
    if (!session->waiting) return;
    session->waiting = false;
    --waiting_;
  }

  void Connect(const SessionPtr& session, const Backend& backend) {
    StopWaiting(session);
    const tcp::endpoint* endpoint = EndpointOf(backend);
    if (endpoint == nullptr) return RetrySoon(session);
    const uint64_t attempt = ++session->attempt;
    // A silent host (powered off, cut off) is given up on soon and tried again, so that a
    // session does not spend its hold on one attempt.
    const auto timeout = std::clamp<Duration>(
        std::chrono::duration_cast<Duration>(session->deadline - std::chrono::steady_clock::now()),
        kMinConnectTimeout, kMaxConnectTimeout);
    session->connecting_to = backend;
    session->timer.expires_after(timeout);
    session->timer.async_wait([session, attempt](const asio::error_code& e) {
      asio::error_code ignored;
      if (!e && session->attempt == attempt && !session->backend) {
        session->server.close(ignored);  // the connect fails
      }
    });
    session->server.async_connect(*endpoint, [this, self = shared_from_this(), session, backend,
                                              attempt](const asio::error_code& e) {
      if (session->closed || session->attempt != attempt) return;
      session->timer.cancel();
      session->connecting_to.reset();
      if (e || !session->server.is_open() || !Current(session->port, backend)) {
        // Refused, timed out, or the routes moved on meanwhile: try again (routes may say
        // where) shortly, within the hold.
        asio::error_code ignored;
        session->server.close(ignored);
        return RetrySoon(session);
      }
      asio::error_code ignored;
      session->server.set_option(tcp::no_delay(true), ignored);
      session->server.non_blocking(true, ignored);
      session->backend = backend;
      if (!session->routed) ++routed_;
      session->routed = true;
      ++active_;
      if (session->port == Port::kReadOnly) ++reader_load_[backend.name];
      if (session->preamble.empty()) return Connected(session);
      // Another backend had the client's first bytes: this one gets them too.
      auto replay = std::make_shared<std::string>(session->preamble);
      asio::async_write(session->server, asio::buffer(*replay),
                        [this, self, session, attempt, replay](const asio::error_code& we, size_t) {
                          if (session->closed || session->attempt != attempt) return;
                          if (we) return ServerLost(session);
                          Connected(session);
                        });
    });
  }

  // The backend's address resolved, once per routes (a lookup that failed is tried again).
  const tcp::endpoint* EndpointOf(const Backend& backend) {
    const std::string key = backend.address.ToString();
    auto known = endpoints_.find(key);
    if (known != endpoints_.end()) return &known->second;
    auto resolved = ResolveEndpoint(io_, backend.address);
    if (!resolved.ok()) return nullptr;
    return &endpoints_.emplace(key, *resolved).first->second;
  }

  void Connected(const SessionPtr& session) {
    ServerPump(session, session->attempt);
    if (!session->client_pump) {
      session->client_pump = true;
      ClientPump(session);
    }
  }

  // The server went away. Before it accepted the session, another backend may still take it.
  void ServerLost(const SessionPtr& session) {
    if (session->closed) return;
    if (!session->replayable || std::chrono::steady_clock::now() >= session->deadline) {
      return Close(session);
    }
    Disconnect(session);
    session->to_swallow = session->server_prefix;
    RetrySoon(session);
  }

  // Leaves the current backend (the session stays).
  void Disconnect(const SessionPtr& session) {
    ++session->attempt;
    session->connecting_to.reset();
    if (session->backend) {
      --active_;
      if (session->port == Port::kReadOnly) --reader_load_[session->backend->name];
      session->backend.reset();
    }
    asio::error_code ignored;
    session->server.close(ignored);
  }

  // Reads what is ready on `socket` into a pooled buffer; nullopt = closed or failed.
  std::optional<size_t> ReadReady(tcp::socket& socket, std::unique_ptr<char[]>& buffer) {
    buffer = pool_.Take();
    asio::error_code error;
    const size_t n = socket.read_some(asio::buffer(buffer.get(), kBufferSize), error);
    if (error == asio::error::would_block) return 0;
    if (error) return std::nullopt;
    return n;
  }

  // Client to server, for the whole session (across backends).
  void ClientPump(const SessionPtr& session) {
    session->client.async_wait(tcp::socket::wait_read, [this, self = shared_from_this(),
                                                        session](const asio::error_code& e) {
      if (session->closed) return;
      if (e) return Close(session);
      std::unique_ptr<char[]> buffer;
      const auto n = ReadReady(session->client, buffer);
      if (!n || *n == 0) {
        pool_.Give(std::move(buffer));
        if (!n) return Close(session);
        return ClientPump(session);
      }
      if (session->replayable) {
        session->preamble.append(buffer.get(), *n);
        if (session->preamble.size() > kBufferSize) session->replayable = false;
      }
      if (!session->backend) {
        // Between backends: kept in the preamble for the next one, unless too much.
        pool_.Give(std::move(buffer));
        if (!session->replayable) return Close(session);
        return ClientPump(session);
      }
      const uint64_t attempt = session->attempt;
      const char* data = buffer.get();
      Forward(session->server, std::move(buffer), data, *n,
              [this, self, session, attempt](const asio::error_code& we) {
                if (session->closed) return;
                if (we && session->attempt == attempt) ServerLost(session);
                if (!session->closed) ClientPump(session);
              });
    });
  }

  // Server to client, for one backend connection (`attempt`).
  void ServerPump(const SessionPtr& session, uint64_t attempt) {
    session->server.async_wait(tcp::socket::wait_read, [this, self = shared_from_this(), session,
                                                        attempt](const asio::error_code& e) {
      if (session->closed || session->attempt != attempt) return;
      if (e) return ServerLost(session);
      std::unique_ptr<char[]> buffer;
      const auto n = ReadReady(session->server, buffer);
      if (!n || *n == 0) {
        pool_.Give(std::move(buffer));
        if (!n) return ServerLost(session);
        return ServerPump(session, attempt);
      }
      std::string_view data(buffer.get(), *n);
      if (session->replayable && !Screen(session, data)) {
        pool_.Give(std::move(buffer));
        if (!session->closed) RetrySoon(session);
        return;
      }
      if (data.empty()) {
        pool_.Give(std::move(buffer));
        return ServerPump(session, attempt);
      }
      Forward(session->client, std::move(buffer), data.data(), data.size(),
              [this, self, session, attempt](const asio::error_code& we) {
                if (session->closed) return;
                if (we) return Close(session);
                ServerPump(session, attempt);
              });
    });
  }

  // Writes data[0, n) to `socket`: at once when the kernel takes it all (the usual case), else
  // the rest asynchronously; then returns `buffer` to the pool and calls `done`.
  template <typename Done>
  void Forward(tcp::socket& socket, std::unique_ptr<char[]> buffer, const char* data, size_t n,
               Done done) {
    asio::error_code error;
    size_t written = socket.write_some(asio::buffer(data, n), error);
    if (error == asio::error::would_block) error = {}, written = 0;
    if (error || written == n) {
      pool_.Give(std::move(buffer));
      return done(error);
    }
    asio::async_write(socket, asio::buffer(data + written, n - written),
                      [this, buffer = std::move(buffer), done = std::move(done)](
                          const asio::error_code& e, size_t) mutable {
                        pool_.Give(std::move(buffer));
                        done(e);
                      });
  }

  // A replayable session's server answered `data`: drops what the client already has from an
  // earlier backend, and tells whether to go on with this backend (false: it is not accepting
  // connections now, the session has left it). Once the server accepts, no more replays.
  bool Screen(const SessionPtr& session, std::string_view& data) {
    if (!session->to_swallow.empty()) {
      const size_t k = std::min(session->to_swallow.size(), data.size());
      if (data.substr(0, k) != std::string_view(session->to_swallow).substr(0, k)) {
        Close(session);  // this backend answers the client's first bytes differently
        return false;
      }
      session->to_swallow.erase(0, k);
      data.remove_prefix(k);
      if (data.empty()) return true;
    }
    if (data == "N") {  // no SSL (or GSS): the client goes on in the clear
      session->server_prefix += "N";
      return true;
    }
    // ErrorResponse with SQLSTATE 57P03 (cannot_connect_now): starting up, shutting down.
    if (data[0] == 'E' && data.find("C57P03") != std::string_view::npos) {
      Disconnect(session);
      session->to_swallow = session->server_prefix;
      return false;
    }
    session->replayable = false;
    session->preamble.clear();
    session->preamble.shrink_to_fit();
    return true;
  }

  void Close(const SessionPtr& session) {
    if (session->closed) return;
    session->closed = true;
    StopWaiting(session);
    Disconnect(session);
    asio::error_code ignored;
    session->timer.cancel();
    session->client.close(ignored);
    sessions_.erase(session);
  }

  void Apply(Routes routes) {
    if (routes == routes_) return;
    spdlog::info("router: {}", routes.Describe());
    routes_ = std::move(routes);
    endpoints_.clear();
    std::vector<SessionPtr> left_out;
    std::vector<SessionPtr> redirected;  // still connecting to a backend the routes left out
    std::vector<SessionPtr> waiting;     // for a backend (or a retry)
    for (const auto& session : sessions_) {
      if (session->backend && !Current(session->port, *session->backend)) {
        left_out.push_back(session);
      } else if (session->connecting_to && !Current(session->port, *session->connecting_to)) {
        redirected.push_back(session);
      } else if (session->waiting) {
        waiting.push_back(session);
      }
    }
    for (const auto& session : left_out) {
      if (session->replayable) {
        ServerLost(session);  // still in its startup: it goes to the new backend instead
      } else {
        ++cut_;
        Close(session);
      }
    }
    if (!left_out.empty()) {
      spdlog::info("router: {} connection(s) to backends no longer routed to: closed or moved",
                   left_out.size());
    }
    for (const auto& session : redirected) {
      Disconnect(session);
      session->timer.cancel();
      Route(session, false);
    }
    for (const auto& session : left_out) {
      if (session->waiting) waiting.push_back(session);  // moved: waits for its retry
    }
    for (const auto& session : waiting) {
      session->timer.cancel();
      StopWaiting(session);
      Route(session, false);
    }
  }

  const Options options_;
  asio::io_context io_{1};  // one thread runs it: no locking between threads
  std::vector<std::pair<Port, std::unique_ptr<tcp::acceptor>>> acceptors_;
  Routes routes_;
  std::set<SessionPtr> sessions_;
  std::map<std::string, size_t> reader_load_;
  std::map<std::string, tcp::endpoint> endpoints_;  // host:port -> resolved, for these routes
  size_t next_reader_ = 0;
  BufferPool pool_;
  std::atomic<uint64_t> accepted_{0}, routed_{0}, held_{0}, hold_expired_{0}, cut_{0}, active_{0},
      waiting_{0};
};

Router::Router(Options options) : impl_(std::make_shared<Impl>(std::move(options))) {}

Router::~Router() {
  Stop();
}

Status Router::Start() {
  if (Status s = impl_->Listen(read_write_port_, read_only_port_); !s.ok()) return s;
  thread_ = std::thread([impl = impl_] { impl->Run(); });
  return Status::Ok();
}

void Router::Stop() {
  if (!thread_.joinable()) return;
  impl_->Stop();
  thread_.join();
  impl_->Drain();
}

void Router::Update(Routes routes) {
  impl_->Update(std::move(routes));
}

RouterStats Router::Stats() const {
  return impl_->Stats();
}

}  // namespace baton
