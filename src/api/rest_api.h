// RestApi: the agent's HTTP endpoints, with Patroni-compatible status codes so existing
// HAProxy and load-balancer checks work unchanged.
//
//   GET /primary    200 on the writable leader, else 503 (also /master, /leader, /read-write)
//   GET /replica    200 on a streaming replica; ?lag=BYTES also requires lag <= BYTES
//   GET /health     200 while PostgreSQL accepts queries
//   GET /liveness   200 while the agent loop is ticking
//   GET /readiness  200 when this node can serve its role (leader primary, or streaming replica)
//   GET /cluster    JSON of every member
//   GET /status     the cluster as `baton status --json` prints it (dcs/cluster_status.h)
//   GET /history    {"history": the newest role changes, "drills": the newest kept drills}
//   GET /ui         the status page (api/status_page.h), drawn from /status and /history
//   POST /failsafe  {"leader": NAME}: a primary in failsafe mode asks this member to confirm
//                   (200 {"accepted": true|false, "reason": ...}; AgentView::ConfirmFailsafe)
// Every answer carries this node's state as JSON. These are open to anyone, also as HEAD and
// OPTIONS (HAProxy's default check method). Admin verbs (AddAdminVerb) need the credentials of
// restapi.auth and are refused (403) when it is not set; see api/admin_auth.h. With
// restapi.certfile/keyfile the API serves HTTPS only. A path no endpoint has is 404, a method it
// does not take 405 (with Allow), a query parameter it does not take 400: each {"error": ...}.
// The server (api/http_server.h) answers the open endpoints on its network thread and the admin
// verbs on worker threads, so no admin work and no idle client delays a health check. It only
// reads AgentView::Snapshot() and the admin handlers; thread-safe once started (AddAdminVerb is
// not: call it before Start()).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/admin_auth.h"
#include "api/http_message.h"
#include "api/http_server.h"
#include "core/clock.h"
#include "core/config.h"
#include "ha/agent_view.h"

namespace baton {

class RestApi {
 public:
  RestApi(AgentView& agent, const Config& config, const Clock& clock);
  ~RestApi();
  RestApi(const RestApi&) = delete;
  RestApi& operator=(const RestApi&) = delete;

  // Registers an admin verb: `method` ("GET", "POST", "PUT", "PATCH" or "DELETE") on `path` (the
  // exact path, e.g. "/switchover"; it takes no query parameters). Each
  // request is checked by RunAdminVerb: credentials first (401/400/403 with {"error": ...} and
  // nothing else done), then the body must be empty or a JSON object (else 400), then `handler`
  // runs on a server thread and its reply is sent as JSON. Replies never go to a cache. Call
  // after construction and before Start(); calling it later, with another method, or for GET on
  // one of the open read-only paths is a programming error and aborts.
  // `fields` are the body's fields it takes (checked by CheckAdminFields before `handler` runs:
  // 400 for an unknown one or a wrong type); std::nullopt when the handler judges the fields
  // itself (PATCH /config takes any setting's key).
  void AddAdminVerb(const std::string& method, const std::string& path,
                    std::optional<std::vector<AdminField>> fields, AdminHandler handler);

  // Binds restapi.listen and starts serving (HTTPS when restapi.certfile is set). InvalidArgument
  // naming the file when the TLS certificate or key cannot be loaded; Unavailable when the port
  // cannot be bound.
  Status Start();
  void Stop();
  // The bound port (after Start; restapi.listen may name port 0).
  int port() const;

 private:
  struct Endpoint {
    std::string method;
    std::string path;
    bool admin = false;               // needs restapi.auth; runs on a worker thread
    std::vector<std::string> params;  // the query parameters it takes
    std::function<HttpResponse(const HttpRequest&)> answer;
  };
  void AddOpenEndpoints();
  void Add(Endpoint endpoint);
  // The endpoint `request` is for, or nullptr; `refusal` says why not (404, 405 or 400).
  const Endpoint* Find(const HttpRequest& request, HttpResponse* refusal) const;
  HttpResponse Answer(const HttpRequest& request) const;
  std::string Metrics() const;

  AgentView& agent_;
  const Config config_;
  const Clock& clock_;
  std::vector<Endpoint> endpoints_;
  Status server_error_;  // why there is no server_ (a bad certificate or key)
  std::unique_ptr<HttpServer> server_;
  bool started_ = false;
};

}  // namespace baton
