// HttpServer: the REST API's HTTP/1.1 server, event-driven so that idle or slow clients cannot
// stall it (see docs/rest-api.md#limits).
//
// One network thread (Asio) accepts, reads, parses and writes every connection; a connection
// that sends nothing costs a socket and no thread. Requests the handlers say may block (the
// admin verbs) run on a few worker threads, so that a switchover in progress never delays a
// /health probe: every other request is answered on the network thread as soon as it is read.
// Bounds, all enforced by the network thread:
//   - at most `max_connections` open (lowered to fit the descriptor limit); past it a new
//     connection closes the one idle the longest (between requests), or is refused when none is
//   - a connection that sends nothing for `idle_timeout` is closed
//   - a request (and a TLS handshake) must arrive whole within `request_timeout` of its first
//     byte, else 408; an answer must be taken by the client within `write_timeout`
//   - header and body sizes as in HttpLimits; at most `max_queued` admin requests waiting (503)
// With a certificate and key the server speaks HTTPS only. Start(), Stop() and Stats() may be
// called from any thread; the handlers are called on the network thread or a worker thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "api/http_message.h"
#include "api/http_request_parser.h"
#include "core/config.h"
#include "core/status.h"

namespace baton {

struct HttpServerOptions {
  HostPort listen;
  std::string cert_file;  // with key_file: HTTPS only
  std::string key_file;
  HttpLimits limits;
  size_t max_connections = 4096;
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
  std::chrono::milliseconds request_timeout = std::chrono::seconds(10);
  std::chrono::milliseconds write_timeout = std::chrono::seconds(10);
  int workers = 2;
  size_t max_queued = 64;
};

struct HttpHandlers {
  // Answers a request. An exception escaping it becomes 500 {"error": "internal error"}.
  std::function<HttpResponse(const HttpRequest&)> handle;
  // Whether `handle` may block for this request: it then runs on a worker thread.
  std::function<bool(const HttpRequest&)> may_block;
};

struct HttpServerStats {
  uint64_t accepted = 0;
  uint64_t open = 0;
  uint64_t evicted = 0;    // idle connections closed to make room (max_connections)
  uint64_t refused = 0;    // connections closed at once: full, and none idle
  uint64_t timed_out = 0;  // closed by idle_timeout, request_timeout or write_timeout
  uint64_t requests = 0;
};

// What Create() checks of a certificate and key (InvalidArgument naming the file), for
// `baton config check`.
Status CheckTlsFiles(const std::string& cert_file, const std::string& key_file);

class HttpServer {
 public:
  // InvalidArgument naming the file when the certificate or key cannot be read, or they are not
  // a PEM certificate and its matching unencrypted private key.
  static Result<std::unique_ptr<HttpServer>> Create(HttpServerOptions options,
                                                    HttpHandlers handlers);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds `listen` and starts the threads. Unavailable when the address cannot be bound.
  Status Start();
  // Closes every connection and joins the threads (waiting for a running admin handler).
  void Stop();
  // The bound port (after Start; useful with port 0).
  int port() const;
  // The connection cap in force (max_connections, lowered to fit the descriptor limit).
  size_t max_connections() const;
  HttpServerStats Stats() const;

 private:
  class Impl;
  explicit HttpServer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace baton
