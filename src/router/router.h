// Router: a TCP router for PostgreSQL clients with a read-write port and a read-only port.
//
// Each accepted connection is spliced, byte for byte, to one backend: the read-write port to
// the writer, the read-only port to the reader with the fewest connections. While its port has
// no backend (no writable leader yet), a connection waits up to `hold_timeout` and goes through
// as soon as one appears; a backend that refuses is retried until then. When new routes leave
// a connection's backend out (a leader that is no longer the writer, a replica that fell
// behind or left), the connection is closed at once, so no client keeps writing to a demoted
// or fenced primary. The router keeps no state beyond its connections: several may run side
// by side.
//
// One Asio thread does all the work; Update() and Stats() may be called from any thread. An
// idle connection holds no buffer (they are lent from a pool for each read).
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <thread>

#include "core/clock.h"
#include "core/config.h"
#include "core/status.h"
#include "router/routes.h"

namespace baton {

struct RouterStats {
  uint64_t accepted = 0;      // client connections accepted, both ports
  uint64_t routed = 0;        // connected to a backend
  uint64_t held = 0;          // waited for a backend at first
  uint64_t hold_expired = 0;  // closed because none came within hold_timeout
  uint64_t cut = 0;           // closed because new routes left their backend out
  uint64_t active = 0;        // connected to a backend now
  uint64_t waiting = 0;       // waiting for a backend now
};

class Router {
 public:
  struct Options {
    HostPort read_write;
    std::optional<HostPort> read_only;
    Duration hold_timeout = std::chrono::seconds(10);
  };
  explicit Router(Options options);
  ~Router();  // stops
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Binds both ports and starts the thread. Unavailable naming the address when a bind fails.
  Status Start();
  // Closes every connection and stops the thread.
  void Stop();
  // The ports bound (a port 0 in Options is chosen by the kernel); 0 before Start.
  int read_write_port() const { return read_write_port_; }
  int read_only_port() const { return read_only_port_; }

  void Update(Routes routes);
  RouterStats Stats() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
  std::thread thread_;
  std::atomic<int> read_write_port_{0};
  std::atomic<int> read_only_port_{0};
};

}  // namespace baton
