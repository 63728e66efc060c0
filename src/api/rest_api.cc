#include "api/rest_api.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>

#include "api/status_page.h"
#include "core/json_text.h"
#include "dcs/cluster_status.h"

namespace baton {

namespace {

// The endpoints that answer whether this node is the writable primary.
constexpr std::array<const char*, 4> kPrimaryPaths = {"/primary", "/master", "/leader",
                                                      "/read-write"};
// How many of the newest role changes and drills GET /history serves.
constexpr size_t kHistoryServed = 100;
constexpr size_t kDrillsServed = 50;

[[noreturn]] void ProgrammingError(const std::string& what) {
  spdlog::critical("RestApi: {}", what);
  std::abort();
}

nlohmann::json NodeJson(const AgentSnapshot& s) {
  nlohmann::json j = s.self.ToJson();
  j["dcs_reachable"] = s.dcs_reachable;
  j["is_leader"] = s.is_leader;
  j["watchdog_armed"] = s.watchdog_armed;
  j["decision"] = s.last_decision;
  if (s.cluster.leader) j["leader"] = s.cluster.leader->name;
  return j;
}

bool IsWritableLeader(const AgentSnapshot& s) {
  return s.is_leader && s.instance.accepting && s.instance.role == PgRole::kPrimary;
}

bool IsStreamingReplica(const AgentSnapshot& s) {
  return !s.is_leader && s.instance.accepting && s.instance.role == PgRole::kReplica &&
         s.instance.streaming;
}

HttpResponse Reply(bool ok, const nlohmann::json& body) {
  HttpResponse response;
  response.status = ok ? 200 : 503;
  response.body = JsonText(body);
  return response;
}

HttpServerOptions ServerOptions(const Config& config) {
  HttpServerOptions options;
  options.listen = config.api_listen;
  options.cert_file = config.api_security.cert_file;
  options.key_file = config.api_security.key_file;
  return options;
}

// HEAD and OPTIONS ask an open endpoint what GET would (OPTIONS is HAProxy's default check).
bool AsksLikeGet(const std::string& method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS";
}

}  // namespace

RestApi::RestApi(AgentView& agent, const Config& config, const Clock& clock)
    : agent_(agent), config_(config), clock_(clock) {
  HttpHandlers handlers;
  handlers.handle = [this](const HttpRequest& request) { return Answer(request); };
  handlers.may_block = [this](const HttpRequest& request) {
    const Endpoint* endpoint = Find(request, nullptr);
    return endpoint != nullptr && endpoint->admin;
  };
  auto server = HttpServer::Create(ServerOptions(config), std::move(handlers));
  if (server.ok()) {
    server_ = std::move(server).value();
  } else {
    server_error_ = server.status();
  }
  AddOpenEndpoints();
}

RestApi::~RestApi() {
  Stop();
}

void RestApi::Add(Endpoint endpoint) {
  endpoints_.push_back(std::move(endpoint));
}

const RestApi::Endpoint* RestApi::Find(const HttpRequest& request, HttpResponse* refusal) const {
  std::vector<std::string> allowed;
  const Endpoint* found = nullptr;
  for (const Endpoint& endpoint : endpoints_) {
    if (endpoint.path != request.path) continue;
    allowed.push_back(endpoint.method);
    if (!endpoint.admin && endpoint.method == "GET") {
      allowed.push_back("HEAD");
      allowed.push_back("OPTIONS");
    }
    const bool matches =
        endpoint.method == request.method ||
        (!endpoint.admin && endpoint.method == "GET" && AsksLikeGet(request.method));
    if (matches) found = &endpoint;
  }
  if (found == nullptr) {
    if (refusal == nullptr) return nullptr;
    if (allowed.empty()) {
      *refusal = ErrorResponse(404, fmt::format("no endpoint {}", request.path));
    } else {
      std::string list;
      for (const std::string& method : allowed) list += (list.empty() ? "" : ", ") + method;
      *refusal = ErrorResponse(
          405, fmt::format("{} does not take {}; it takes {}", request.path, request.method, list));
      refusal->headers.emplace_back("Allow", list);
    }
    return nullptr;
  }
  for (const auto& [name, value] : request.query) {
    if (std::find(found->params.begin(), found->params.end(), name) != found->params.end()) {
      continue;
    }
    if (refusal != nullptr) {
      std::string takes = "no query parameters";
      if (!found->params.empty()) {
        takes = "only ";
        for (const std::string& param : found->params) takes += param + " ";
        takes.pop_back();
      }
      *refusal = ErrorResponse(
          400, fmt::format("unknown query parameter '{}': {} takes {}", name, request.path, takes));
    }
    return nullptr;
  }
  return found;
}

HttpResponse RestApi::Answer(const HttpRequest& request) const {
  HttpResponse refusal;
  const Endpoint* endpoint = Find(request, &refusal);
  if (endpoint == nullptr) return refusal;
  return endpoint->answer(request);
}

void RestApi::AddOpenEndpoints() {
  auto open = [this](const char* path, std::vector<std::string> params,
                     std::function<HttpResponse(const HttpRequest&)> answer) {
    Add({"GET", path, false, std::move(params), std::move(answer)});
  };
  for (const char* path : kPrimaryPaths) {
    open(path, {}, [this](const HttpRequest&) {
      const AgentSnapshot s = agent_.Snapshot();
      return Reply(IsWritableLeader(s), NodeJson(s));
    });
  }
  open("/replica", {"lag"}, [this](const HttpRequest& request) {
    const AgentSnapshot s = agent_.Snapshot();
    bool ok = IsStreamingReplica(s);
    if (const std::string* lag_text = request.Query("lag")) {
      uint64_t limit = 0;
      const auto [end, error] =
          std::from_chars(lag_text->data(), lag_text->data() + lag_text->size(), limit);
      if (lag_text->empty() || error != std::errc() || end != lag_text->data() + lag_text->size()) {
        return ErrorResponse(400, "lag must be a number of bytes");
      }
      const auto lag = s.cluster.LagOf(s.self).bytes;
      ok = ok && lag && *lag <= limit;
    }
    return Reply(ok, NodeJson(s));
  });
  open("/health", {}, [this](const HttpRequest&) {
    const AgentSnapshot s = agent_.Snapshot();
    return Reply(s.instance.accepting, NodeJson(s));
  });
  open("/liveness", {}, [this](const HttpRequest&) {
    const AgentSnapshot s = agent_.Snapshot();
    const bool ticking =
        clock_.Now() - s.last_tick < std::chrono::seconds(config_.timing.ttl_seconds);
    return Reply(ticking, NodeJson(s));
  });
  open("/readiness", {}, [this](const HttpRequest&) {
    const AgentSnapshot s = agent_.Snapshot();
    return Reply(IsWritableLeader(s) || IsStreamingReplica(s), NodeJson(s));
  });
  open("/metrics", {}, [this](const HttpRequest&) {
    HttpResponse response;
    response.content_type = "text/plain; version=0.0.4";
    response.body = Metrics();
    return response;
  });
  open("/cluster", {}, [this](const HttpRequest&) {
    const AgentSnapshot s = agent_.Snapshot();
    nlohmann::json members = nlohmann::json::array();
    for (const auto& [name, m] : s.cluster.members) {
      nlohmann::json j = m.ToJson();
      const auto lag = s.cluster.LagOf(m);
      j["lag_bytes"] = lag.bytes ? nlohmann::json(*lag.bytes) : nlohmann::json();
      j["lag_seconds"] = lag.seconds ? nlohmann::json(*lag.seconds) : nlohmann::json();
      j["is_leader"] = s.cluster.leader && s.cluster.leader->name == name;
      members.push_back(j);
    }
    return Reply(
        s.dcs_reachable,
        {{"cluster", config_.cluster_name},
         {"leader", s.cluster.leader ? nlohmann::json(s.cluster.leader->name) : nlohmann::json()},
         {"members", members}});
  });
  open("/status", {}, [this](const HttpRequest&) {
    const AgentSnapshot s = agent_.Snapshot();
    return Reply(s.dcs_reachable, ClusterStatusJson(config_.cluster_name, s.cluster));
  });
  open("/history", {}, [this](const HttpRequest&) {
    const AgentSnapshot s = agent_.Snapshot();
    auto newest = [](const std::vector<nlohmann::json>& records, size_t count) {
      const size_t skip = records.size() > count ? records.size() - count : 0;
      return nlohmann::json(std::vector<nlohmann::json>(records.begin() + skip, records.end()));
    };
    return Reply(s.dcs_reachable, {{"cluster", config_.cluster_name},
                                   {"history", newest(s.cluster.history, kHistoryServed)},
                                   {"drills", newest(s.cluster.drills, kDrillsServed)}});
  });
  open("/ui", {}, [](const HttpRequest&) {
    HttpResponse response;
    response.content_type = "text/html; charset=utf-8";
    response.body = StatusPageHtml();
    return response;
  });
  // A primary in failsafe mode asks the others; quick (a lock and a few fields), so it is
  // answered on the network thread like the checks.
  Add({"POST", "/failsafe", false, {}, [this](const HttpRequest& request) {
         // With restapi.auth set, only a caller with the cluster's credentials (the other
         // agents) may ask; without it the endpoint is open, like the read-only ones.
         if (config_.api_security.AuthConfigured()) {
           const AuthVerdict verdict =
               CheckAdminAuth(config_.api_security, request.Header("authorization"));
           if (!verdict.allowed()) return ErrorResponse(verdict.http_status, verdict.error);
         }
         auto body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
         if (!body.is_object() || !body.contains("leader") || !body["leader"].is_string()) {
           return ErrorResponse(400, R"(expected {"leader": NAME})");
         }
         const FailsafeVote vote = agent_.ConfirmFailsafe(body["leader"].get<std::string>());
         HttpResponse response;
         response.body =
             JsonText(nlohmann::json{{"accepted", vote.accepted}, {"reason", vote.reason}});
         return response;
       }});
}

std::string RestApi::Metrics() const {
  const AgentSnapshot s = agent_.Snapshot();
  const HookRunner::Counts hooks = agent_.HookCounts();
  const AlertCounts alerts = agent_.AlertStats();
  std::string text;
  auto metric = [&text](const char* name, const char* type, const char* help, double value) {
    const std::string shown = std::isnan(value) ? "NaN" : fmt::format("{}", value);
    text += fmt::format("# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help, type, shown);
  };
  // Labels to join the per-node series on (Prometheus' `instance` is the scraped address).
  text += fmt::format(
      "# HELP baton_node_info This node's cluster and name\n# TYPE baton_node_info gauge\n"
      "baton_node_info{{cluster=\"{}\",node=\"{}\"}} 1\n",
      config_.cluster_name, config_.node_name);
  metric("baton_is_leader", "gauge", "1 while this node holds the leader key within its lease",
         s.is_leader ? 1 : 0);
  metric("baton_dcs_reachable", "gauge", "1 while etcd answers", s.dcs_reachable ? 1 : 0);
  metric("baton_watchdog_armed", "gauge",
         "1 while the fencing watchdog would kill PostgreSQL at the lease deadline",
         s.watchdog_armed ? 1 : 0);
  metric("baton_postgres_running", "gauge", "1 while a postmaster runs", s.instance.running);
  metric("baton_postgres_accepting", "gauge", "1 while PostgreSQL answers queries",
         s.instance.accepting);
  metric("baton_postgres_primary", "gauge", "1 while PostgreSQL runs as a primary",
         s.instance.accepting && s.instance.role == PgRole::kPrimary);
  metric("baton_timeline", "gauge", "PostgreSQL timeline", s.instance.timeline);
  const double lease_left = Seconds(s.lease_deadline - clock_.Now());
  metric("baton_lease_remaining_seconds", "gauge",
         "Leader: seconds until its lease may end unrenewed; 0 on other nodes",
         s.is_leader ? std::max(0.0, lease_left) : 0);
  const bool leads = s.cluster.leader && s.cluster.leader->name == s.self.name;
  const ClusterView::Lag lag = s.cluster.LagOf(s.self);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  metric("baton_replication_lag_bytes", "gauge",
         "Replica: bytes behind the leader as the leader last reported it (NaN: unknown); 0 on "
         "the leader",
         leads ? 0 : (lag.bytes ? static_cast<double>(*lag.bytes) : nan));
  metric("baton_replication_lag_seconds", "gauge",
         "Replica: replay lag in seconds as the leader last reported it (NaN: unknown); 0 on "
         "the leader",
         leads ? 0 : lag.seconds.value_or(nan));
  metric("baton_leader_changes_total", "counter",
         "Times this agent saw the leader key pass to another node",
         static_cast<double>(s.leader_changes));
  metric("baton_fenced_total", "counter",
         "Times this agent stopped its own writable primary to fence it",
         static_cast<double>(s.fences));
  metric("baton_wal_position_bytes", "gauge",
         "Primary: current WAL position; replica: furthest received or replayed",
         static_cast<double>(s.instance.lsn.value));
  metric("baton_paused", "gauge", "1 while the cluster is in maintenance mode", s.cluster.paused);
  metric("baton_hooks_started_total", "counter", "Hook commands started",
         static_cast<double>(hooks.started));
  metric("baton_hooks_failed_total", "counter",
         "Hook commands that exited non-zero, timed out or could not start",
         static_cast<double>(hooks.failed));
  metric("baton_hooks_timed_out_total", "counter", "Hook commands killed at hooks.timeout",
         static_cast<double>(hooks.timed_out));
  metric("baton_hooks_dropped_total", "counter", "Hook events dropped from a full queue",
         static_cast<double>(hooks.dropped));
  metric("baton_alerts_sent_total", "counter", "Alert events delivered to alerts.webhook",
         static_cast<double>(alerts.sent));
  metric("baton_alerts_failed_total", "counter",
         "Alert events given up on after alerts.retries, or refused by the webhook",
         static_cast<double>(alerts.failed));
  metric("baton_alerts_retries_total", "counter", "Webhook delivery attempts after a failed one",
         static_cast<double>(alerts.retries));
  metric("baton_alerts_dropped_total", "counter",
         "Alert events dropped undelivered: from a full queue, or queued at shutdown",
         static_cast<double>(alerts.dropped));
  if (server_) {
    const HttpServerStats http = server_->Stats();
    metric("baton_rest_connections", "gauge", "Open REST API connections",
           static_cast<double>(http.open));
    metric("baton_rest_connections_accepted_total", "counter", "REST API connections accepted",
           static_cast<double>(http.accepted));
    metric("baton_rest_connections_evicted_total", "counter",
           "Idle REST API connections closed to make room for new ones",
           static_cast<double>(http.evicted));
    metric("baton_rest_connections_refused_total", "counter",
           "REST API connections closed at once: at the cap with none idle",
           static_cast<double>(http.refused));
    metric("baton_rest_connections_timed_out_total", "counter",
           "REST API connections closed for a passed idle, request or write deadline",
           static_cast<double>(http.timed_out));
    metric("baton_rest_requests_total", "counter", "REST API requests read",
           static_cast<double>(http.requests));
  }
  return text;
}

void RestApi::AddAdminVerb(const std::string& method, const std::string& path,
                           std::optional<std::vector<AdminField>> fields, AdminHandler handler) {
  if (started_) ProgrammingError(fmt::format("AddAdminVerb({} {}) after Start()", method, path));
  const bool shadows_open = std::any_of(
      endpoints_.begin(), endpoints_.end(),
      [&](const Endpoint& e) { return !e.admin && e.path == path && e.method == method; });
  if (shadows_open) {
    ProgrammingError(fmt::format("admin verb {} {} would shadow an open endpoint", method, path));
  }
  if (method != "GET" && method != "POST" && method != "PUT" && method != "PATCH" &&
      method != "DELETE") {
    ProgrammingError(fmt::format("AddAdminVerb: unsupported method {} for {}", method, path));
  }
  if (fields) {
    handler = [fields = std::move(*fields),
               handler = std::move(handler)](const nlohmann::json& body) {
      if (const std::string wrong = CheckAdminFields(body, fields); !wrong.empty()) {
        return AdminReply{400, {{"error", wrong}}};
      }
      return handler(body);
    };
  }
  auto answer = [this, handler = std::move(handler)](const HttpRequest& request) {
    const ApiSecurity& security = config_.api_security;
    const AdminReply reply =
        RunAdminVerb(security, request.Header("authorization"), request.body, handler);
    HttpResponse response;
    response.status = reply.http_status;
    if (reply.http_status == 401) {
      response.headers.emplace_back("WWW-Authenticate", AuthChallenge(security));
    }
    response.headers.emplace_back("Cache-Control", "no-store");
    response.body = JsonText(reply.body);
    // Never the Authorization header, the body or the query: they may hold secrets.
    if (reply.http_status < 400) {
      spdlog::info("REST API: {} {} from {}: {}", request.method, request.path, request.remote,
                   reply.http_status);
    } else {
      const bool has_error =
          reply.body.is_object() && reply.body.contains("error") && reply.body["error"].is_string();
      spdlog::warn("REST API: {} {} from {}: {} {}", request.method, request.path, request.remote,
                   reply.http_status, has_error ? reply.body["error"].get<std::string>() : "");
    }
    return response;
  };
  Add({method, path, true, {}, std::move(answer)});
}

Status RestApi::Start() {
  if (!server_error_.ok()) return server_error_.WithContext("REST API");
  const ApiSecurity& security = config_.api_security;
  const bool has_admin_verbs =
      std::any_of(endpoints_.begin(), endpoints_.end(), [](const Endpoint& e) { return e.admin; });
  if (has_admin_verbs && !security.AuthConfigured()) {
    spdlog::info(
        "REST API: admin verbs are refused (403) until restapi.auth.token or "
        "restapi.auth.username/password is set");
  } else if (security.AuthConfigured() && !security.TlsConfigured()) {
    spdlog::warn(
        "REST API: restapi.auth is set but restapi.certfile is not: admin credentials travel "
        "over plain HTTP");
  }
  started_ = true;
  return server_->Start();
}

void RestApi::Stop() {
  if (server_) server_->Stop();
}

int RestApi::port() const {
  return server_ ? server_->port() : 0;
}

}  // namespace baton
