// RestApi: the agent's HTTP endpoints, with Patroni-compatible status codes so existing
// HAProxy and load-balancer checks work unchanged.
//
//   GET /primary    200 on the writable leader, else 503 (also /master, /leader, /read-write)
//   GET /replica    200 on a streaming replica; ?lag=BYTES also requires lag <= BYTES
//   GET /health     200 while PostgreSQL accepts queries
//   GET /liveness   200 while the agent loop is ticking
//   GET /readiness  200 when this node can serve its role (leader primary, or streaming replica)
//   GET /cluster    JSON of every member
// Every answer carries this node's state as JSON. The server runs on its own threads and only
// reads Agent::Snapshot(); thread-safe.
#pragma once

#include <memory>
#include <thread>

#include "core/clock.h"
#include "core/config.h"
#include "ha/agent.h"

namespace httplib {
class Server;
}

namespace baton {

class RestApi {
 public:
  RestApi(const Agent& agent, const Config& config, const Clock& clock);
  ~RestApi();
  RestApi(const RestApi&) = delete;
  RestApi& operator=(const RestApi&) = delete;

  // Binds restapi.listen and starts serving. Unavailable when the port cannot be bound.
  Status Start();
  void Stop();

 private:
  void Route();

  const Agent& agent_;
  const Config config_;
  const Clock& clock_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace baton
