// RestApi: the agent's HTTP endpoints, with Patroni-compatible status codes so existing
// HAProxy and load-balancer checks work unchanged.
//
//   GET /primary    200 on the writable leader, else 503 (also /master, /leader, /read-write)
//   GET /replica    200 on a streaming replica; ?lag=BYTES also requires lag <= BYTES
//   GET /health     200 while PostgreSQL accepts queries
//   GET /liveness   200 while the agent loop is ticking
//   GET /readiness  200 when this node can serve its role (leader primary, or streaming replica)
//   GET /cluster    JSON of every member
//   POST /failsafe  {"leader": NAME}: a primary in failsafe mode asks this member to confirm
//                   (200 {"accepted": true|false, "reason": ...}; Agent::ConfirmFailsafe)
// Every answer carries this node's state as JSON. These are open to anyone. Admin verbs
// (AddAdminVerb) need the credentials of restapi.auth and are refused (403) when it is not set;
// see api/admin_auth.h. With restapi.certfile/keyfile the API serves HTTPS only. The server runs
// on its own threads and only reads Agent::Snapshot() and the admin handlers; thread-safe once
// started (AddAdminVerb is not: call it before Start()).
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "api/admin_auth.h"
#include "core/clock.h"
#include "core/config.h"
#include "ha/agent.h"

namespace httplib {
class Server;
}

namespace baton {

class RestApi {
 public:
  RestApi(Agent& agent, const Config& config, const Clock& clock);
  ~RestApi();
  RestApi(const RestApi&) = delete;
  RestApi& operator=(const RestApi&) = delete;

  // Registers an admin verb: `method` ("GET", "POST", "PUT", "PATCH" or "DELETE") on `path` (an
  // httplib pattern, i.e. a regex matched against the whole path, e.g. "/switchover"). Each
  // request is checked by RunAdminVerb: credentials first (401/400/403 with {"error": ...} and
  // nothing else done), then the body must be empty or a JSON object (else 400), then `handler`
  // runs on a server thread and its reply is sent as JSON. Replies never go to a cache. Call
  // after construction and before Start(); calling it later, with another method, or for GET on
  // one of the open read-only paths is a programming error and aborts.
  void AddAdminVerb(const std::string& method, const std::string& path, AdminHandler handler);

  // Binds restapi.listen and starts serving (HTTPS when restapi.certfile is set). InvalidArgument
  // naming the file when the TLS certificate or key cannot be loaded; Unavailable when the port
  // cannot be bound.
  Status Start();
  void Stop();

 private:
  void Route();

  Agent& agent_;
  const Config config_;
  const Clock& clock_;
  Status server_error_;  // why server_ is a placeholder that must not serve (bad cert or key)
  std::unique_ptr<httplib::Server> server_;  // httplib::SSLServer with TLS; after server_error_
  int admin_verbs_ = 0;
  std::thread thread_;
};

}  // namespace baton
