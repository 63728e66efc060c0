#include "api/http_server.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <asio.hpp>
#include <asio/ssl.hpp>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/process.h"
#include "core/tcp_endpoint.h"

namespace baton {

namespace {

using asio::ip::tcp;
using SteadyTime = std::chrono::steady_clock::time_point;

constexpr auto kSweepEvery = std::chrono::milliseconds(200);
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);
// Descriptors kept for everything else the agent opens (etcd, PostgreSQL, hooks, logs).
constexpr size_t kDescriptorsKept = 256;
constexpr size_t kReadChunk = 4096;

SteadyTime Now() {
  return std::chrono::steady_clock::now();
}

// Empty when `path` can be opened for reading, else why not.
std::string Unreadable(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::strerror(errno);
  ::close(fd);
  return "";
}

Result<std::unique_ptr<asio::ssl::context>> LoadTls(const std::string& cert_file,
                                                    const std::string& key_file) {
  if (key_file.empty()) {
    return InvalidArgument("restapi.certfile is set but restapi.keyfile is not");
  }
  for (const auto& [key, path] :
       {std::pair{"restapi.certfile", cert_file}, std::pair{"restapi.keyfile", key_file}}) {
    const std::string why = Unreadable(path);
    if (!why.empty()) return InvalidArgument(fmt::format("{} {}: cannot read: {}", key, path, why));
  }
  auto context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  asio::error_code error;
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                           asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                           asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use,
                       error);
  if (!error) context->use_certificate_chain_file(cert_file, error);
  if (!error) context->use_private_key_file(key_file, asio::ssl::context::pem, error);
  if (!error && SSL_CTX_check_private_key(context->native_handle()) != 1) {
    error = asio::error::invalid_argument;
  }
  if (error) {
    return InvalidArgument(fmt::format(
        "restapi.certfile {} and restapi.keyfile {}: not a PEM certificate and its matching "
        "unencrypted PEM private key",
        cert_file, key_file));
  }
  return context;
}

// The connection cap that fits this process's descriptor limit (raised to its hard limit).
size_t FittingCap(size_t wanted) {
  RaiseDescriptorLimit();
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return wanted;
  const size_t usable = limit.rlim_cur > 2 * kDescriptorsKept ? limit.rlim_cur - kDescriptorsKept
                                                              : limit.rlim_cur / 2;
  return std::min(wanted, usable);
}

// Worker threads for the handlers that may block, with a bounded queue.
class WorkerPool {
 public:
  WorkerPool(int threads, size_t max_queued) : max_queued_(max_queued) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
  }
  ~WorkerPool() { Stop(); }

  // false when the queue is full (or the pool stopped): the job is not run.
  bool Offer(std::function<void()> job) {
    std::lock_guard lock(mu_);
    if (stopping_ || jobs_.size() >= max_queued_) return false;
    jobs_.push_back(std::move(job));
    wake_.notify_one();
    return true;
  }

  // Drops the jobs not started and joins the threads.
  void Stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      jobs_.clear();
      wake_.notify_all();
    }
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

 private:
  void Work() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(mu_);
        wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (stopping_) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace

class HttpServer::Impl : public std::enable_shared_from_this<HttpServer::Impl> {
 public:
  Impl(HttpServerOptions options, HttpHandlers handlers, std::unique_ptr<asio::ssl::context> tls)
      : options_(std::move(options)),
        handlers_(std::move(handlers)),
        tls_(std::move(tls)),
        acceptor_(io_),
        sweep_(io_),
        accept_retry_(io_) {}

  Status Start() {
    auto endpoint = ResolveEndpoint(io_, options_.listen);
    if (!endpoint.ok()) return endpoint.status().WithContext("REST API");
    asio::error_code error;
    acceptor_.open(endpoint->protocol(), error);
    if (!error) acceptor_.set_option(tcp::acceptor::reuse_address(true), error);
    if (!error) acceptor_.bind(*endpoint, error);
    if (!error) acceptor_.listen(asio::socket_base::max_listen_connections, error);
    if (error) {
      return Unavailable(fmt::format("REST API cannot listen on {}: {}", options_.listen.ToString(),
                                     error.message()));
    }
    port_ = acceptor_.local_endpoint().port();
    cap_ = FittingCap(options_.max_connections);
    if (cap_ < options_.max_connections) {
      spdlog::info("REST API: at most {} connections (the descriptor limit)", cap_);
    }
    workers_ = std::make_unique<WorkerPool>(options_.workers, options_.max_queued);
    Accept();
    Sweep();
    thread_ = std::thread([self = shared_from_this()] { self->io_.run(); });
    return Status::Ok();
  }

  void Stop() {
    if (!thread_.joinable()) return;
    asio::post(io_, [self = shared_from_this()] {
      asio::error_code ignored;
      self->acceptor_.close(ignored);
      self->sweep_.cancel();
      self->accept_retry_.cancel();
      std::vector<std::shared_ptr<Connection>> all(self->connections_.begin(),
                                                   self->connections_.end());
      for (const auto& connection : all) connection->Close();
      self->io_.stop();
    });
    thread_.join();
    workers_->Stop();
    // Lets the handlers of the closed sockets run, releasing what they hold.
    io_.restart();
    io_.poll();
  }

  int port() const { return port_; }
  size_t cap() const { return cap_; }

  HttpServerStats Stats() const {
    HttpServerStats stats;
    stats.accepted = accepted_;
    stats.open = open_;
    stats.evicted = evicted_;
    stats.refused = refused_;
    stats.timed_out = timed_out_;
    stats.requests = requests_;
    return stats;
  }

 private:
  class Connection : public std::enable_shared_from_this<Connection> {
   public:
    enum class Phase { kHandshake, kReading, kHandling, kWriting, kClosed };

    Connection(Impl& server, tcp::socket socket)
        : server_(server), socket_(std::move(socket)), parser_(server.options_.limits) {
      asio::error_code error;
      const tcp::endpoint peer = socket_.remote_endpoint(error);
      if (!error) remote_ = fmt::format("{}:{}", peer.address().to_string(), peer.port());
      if (server.tls_) tls_.emplace(socket_, *server.tls_);
    }

    void Begin() {
      last_active_ = Now();
      if (!tls_) {
        ReadMore();
        return;
      }
      phase_ = Phase::kHandshake;
      deadline_ = last_active_ + server_.options_.request_timeout;
      tls_->async_handshake(asio::ssl::stream_base::server,
                            [self = shared_from_this()](const asio::error_code& error) {
                              if (self->phase_ == Phase::kClosed) return;
                              if (error) {
                                spdlog::debug("REST API: TLS handshake from {} failed: {}",
                                              self->remote_, error.message());
                                self->Close();
                                return;
                              }
                              self->ReadMore();
                            });
    }

    // Whether it waits for a request and has none started: the first kind to close for room.
    bool Idle() const { return phase_ == Phase::kReading && !parser_.HasPartialRequest(); }
    bool Busy() const { return phase_ == Phase::kHandling || phase_ == Phase::kWriting; }
    SteadyTime last_active() const { return last_active_; }

    // Called by the sweep: acts on a passed deadline. true when the connection was closed.
    bool ExpireIfLate(SteadyTime now) {
      if (phase_ == Phase::kHandling || phase_ == Phase::kClosed || now < deadline_) return false;
      ++server_.timed_out_;
      if (phase_ == Phase::kReading && parser_.HasPartialRequest()) {
        // Tell a slow client why, once; the write has its own deadline.
        Send(ErrorResponse(408, fmt::format("the request did not arrive whole within {} ms",
                                            server_.options_.request_timeout.count())),
             /*close_after=*/true, /*head_only=*/false);
        return false;
      }
      Close();
      return true;
    }

    void Close() {
      if (phase_ == Phase::kClosed) return;
      const auto keep = shared_from_this();  // Forget drops the server's reference
      phase_ = Phase::kClosed;
      asio::error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_both, ignored);
      socket_.close(ignored);
      server_.Forget(this);
    }

    // Runs on the network thread with the answer a worker computed.
    void Answer(const HttpResponse& response, bool keep_alive, bool head_only) {
      if (phase_ != Phase::kHandling) return;
      Send(response, !keep_alive, head_only);
    }

    std::list<std::shared_ptr<Connection>>::iterator place;  // in server_.connections_

   private:
    template <class Buffer, class Handler>
    void ReadSome(const Buffer& buffer, Handler&& handler) {
      if (tls_) {
        tls_->async_read_some(buffer, std::forward<Handler>(handler));
      } else {
        socket_.async_read_some(buffer, std::forward<Handler>(handler));
      }
    }
    template <class Buffer, class Handler>
    void WriteAll(const Buffer& buffer, Handler&& handler) {
      if (tls_) {
        asio::async_write(*tls_, buffer, std::forward<Handler>(handler));
      } else {
        asio::async_write(socket_, buffer, std::forward<Handler>(handler));
      }
    }

    void ReadMore() {
      phase_ = Phase::kReading;
      deadline_ = parser_.HasPartialRequest() ? request_started_ + server_.options_.request_timeout
                                              : Now() + server_.options_.idle_timeout;
      ReadSome(asio::buffer(buffer_),
               [self = shared_from_this()](const asio::error_code& error, size_t n) {
                 if (self->phase_ != Phase::kReading) return;
                 if (error) {
                   self->Close();
                   return;
                 }
                 self->last_active_ = Now();
                 if (!self->parser_.HasPartialRequest())
                   self->request_started_ = self->last_active_;
                 self->parser_.Feed(std::string_view(self->buffer_.data(), n));
                 self->Process();
               });
    }

    // Answers the next buffered request, or reads more.
    void Process() {
      HttpRequestParser::Outcome outcome = parser_.Next();
      switch (outcome.state) {
        case HttpRequestParser::State::kNeedMore:
          ReadMore();
          return;
        case HttpRequestParser::State::kError:
          spdlog::debug("REST API: refused a request from {}: {}", remote_, outcome.error);
          Send(ErrorResponse(outcome.error_status, outcome.error), /*close_after=*/true,
               /*head_only=*/false);
          return;
        case HttpRequestParser::State::kRequest:
          break;
      }
      ++server_.requests_;
      request_started_ = Now();  // for a pipelined request behind this one
      HttpRequest request = std::move(outcome.request);
      request.remote = remote_;
      phase_ = Phase::kHandling;
      const bool keep_alive = request.keep_alive;
      const bool head_only = request.method == "HEAD";
      if (!server_.handlers_.may_block(request)) {
        Send(server_.Handle(request), !keep_alive, head_only);
        return;
      }
      auto job = [server = server_.shared_from_this(), self = shared_from_this(),
                  request = std::move(request), keep_alive, head_only] {
        HttpResponse response = server->Handle(request);
        asio::post(server->io_, [self, response = std::move(response), keep_alive, head_only] {
          self->Answer(response, keep_alive, head_only);
        });
      };
      if (!server_.workers_->Offer(std::move(job))) {
        Send(ErrorResponse(503, "too many admin requests in progress; try again"), !keep_alive,
             head_only);
      }
    }

    void Send(const HttpResponse& response, bool close_after, bool head_only) {
      phase_ = Phase::kWriting;
      deadline_ = Now() + server_.options_.write_timeout;
      out_ = ResponseText(response, !close_after, head_only);
      WriteAll(asio::buffer(out_),
               [self = shared_from_this(), close_after](const asio::error_code& error, size_t) {
                 if (self->phase_ != Phase::kWriting) return;
                 self->last_active_ = Now();
                 if (error || close_after) {
                   self->Close();
                   return;
                 }
                 self->Process();
               });
    }

    Impl& server_;
    tcp::socket socket_;
    std::optional<asio::ssl::stream<tcp::socket&>> tls_;
    std::string remote_;
    HttpRequestParser parser_;
    Phase phase_ = Phase::kReading;
    SteadyTime deadline_{};
    SteadyTime last_active_{};
    SteadyTime request_started_{};
    std::array<char, kReadChunk> buffer_{};
    std::string out_;
  };

  HttpResponse Handle(const HttpRequest& request) {
    try {
      return handlers_.handle(request);
    } catch (const std::exception& e) {
      spdlog::warn("REST API: {} {}: {}", request.method, request.path, e.what());
    } catch (...) {
      spdlog::warn("REST API: {} {}: unknown exception", request.method, request.path);
    }
    return ErrorResponse(500, "internal error");
  }

  void Accept() {
    acceptor_.async_accept(
        [self = shared_from_this()](const asio::error_code& error, tcp::socket socket) {
          if (error == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
          if (error) {
            // Out of descriptors, most often: try again shortly rather than spin.
            spdlog::warn("REST API: accept failed: {}", error.message());
            self->accept_retry_.expires_after(kAcceptRetry);
            self->accept_retry_.async_wait([self](const asio::error_code& waited) {
              if (!waited) self->Accept();
            });
            return;
          }
          self->Admit(std::move(socket));
          self->Accept();
        });
  }

  void Admit(tcp::socket socket) {
    ++accepted_;
    if (connections_.size() >= cap_ && !MakeRoom()) {
      ++refused_;
      asio::error_code ignored;
      socket.close(ignored);
      return;
    }
    asio::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto connection = std::make_shared<Connection>(*this, std::move(socket));
    connections_.push_front(connection);
    connection->place = connections_.begin();
    open_ = connections_.size();
    connection->Begin();
  }

  // Closes the connection idle the longest (or, with none idle, the oldest not being answered).
  bool MakeRoom() {
    Connection* oldest = nullptr;
    for (const bool idle_only : {true, false}) {
      for (const auto& connection : connections_) {
        if (connection->Busy() || (idle_only && !connection->Idle())) continue;
        if (oldest == nullptr || connection->last_active() < oldest->last_active()) {
          oldest = connection.get();
        }
      }
      if (oldest != nullptr) break;
    }
    if (oldest == nullptr) return false;
    ++evicted_;
    oldest->Close();
    return true;
  }

  void Forget(Connection* connection) {
    connections_.erase(connection->place);
    open_ = connections_.size();
  }

  void Sweep() {
    sweep_.expires_after(kSweepEvery);
    sweep_.async_wait([self = shared_from_this()](const asio::error_code& error) {
      if (error) return;
      const SteadyTime now = Now();
      for (auto it = self->connections_.begin(); it != self->connections_.end();) {
        auto connection = *it++;  // ExpireIfLate may erase it from the list
        connection->ExpireIfLate(now);
      }
      self->Sweep();
    });
  }

  const HttpServerOptions options_;
  const HttpHandlers handlers_;
  std::unique_ptr<asio::ssl::context> tls_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  asio::steady_timer sweep_;
  asio::steady_timer accept_retry_;
  std::list<std::shared_ptr<Connection>> connections_;  // network thread only
  std::unique_ptr<WorkerPool> workers_;
  std::thread thread_;
  int port_ = 0;
  size_t cap_ = 0;
  std::atomic<uint64_t> accepted_{0}, open_{0}, evicted_{0}, refused_{0}, timed_out_{0},
      requests_{0};
};

Status CheckTlsFiles(const std::string& cert_file, const std::string& key_file) {
  return LoadTls(cert_file, key_file).status();
}

Result<std::unique_ptr<HttpServer>> HttpServer::Create(HttpServerOptions options,
                                                       HttpHandlers handlers) {
  std::unique_ptr<asio::ssl::context> tls;
  if (!options.cert_file.empty()) {
    auto loaded = LoadTls(options.cert_file, options.key_file);
    if (!loaded.ok()) return loaded.status();
    tls = std::move(loaded).value();
  }
  return std::unique_ptr<HttpServer>(new HttpServer(
      std::make_shared<Impl>(std::move(options), std::move(handlers), std::move(tls))));
}

HttpServer::HttpServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  Stop();
}

Status HttpServer::Start() {
  return impl_->Start();
}

void HttpServer::Stop() {
  impl_->Stop();
}

int HttpServer::port() const {
  return impl_->port();
}

size_t HttpServer::max_connections() const {
  return impl_->cap();
}

HttpServerStats HttpServer::Stats() const {
  return impl_->Stats();
}

}  // namespace baton
