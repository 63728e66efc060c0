#include "api/rest_api.h"

#include <fmt/format.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <array>
#include <cstdlib>
#include <exception>
#include <nlohmann/json.hpp>

#include "core/json_text.h"

namespace baton {

namespace {

// The open, read-only endpoints (Route()). No admin verb may shadow one with GET.
constexpr std::array<const char*, 4> kPrimaryPaths = {"/primary", "/master", "/leader",
                                                      "/read-write"};
constexpr std::array<const char*, 6> kOtherOpenPaths = {"/replica",   "/health",  "/liveness",
                                                        "/readiness", "/cluster", "/metrics"};

bool IsOpenPath(const std::string& path) {
  for (const char* open : kPrimaryPaths) {
    if (path == open) return true;
  }
  for (const char* open : kOtherOpenPaths) {
    if (path == open) return true;
  }
  return false;
}

// Admin requests carry at most this much body; larger ones get 413 before any handler runs.
constexpr size_t kMaxRequestBody = 1 << 20;

[[noreturn]] void ProgrammingError(const std::string& what) {
  spdlog::critical("RestApi: {}", what);
  std::abort();
}

// The server, or a never-started placeholder when TLS is configured but cannot be loaded (the
// error is reported by Start(); a node must not fall back to plain HTTP).
std::unique_ptr<httplib::Server> ServerOrPlaceholder(Result<std::unique_ptr<httplib::Server>> made,
                                                     Status& error) {
  if (made.ok()) return std::move(made).value();
  error = made.status();
  return std::make_unique<httplib::Server>();
}

nlohmann::json NodeJson(const AgentSnapshot& s) {
  nlohmann::json j = s.self.ToJson();
  j["dcs_reachable"] = s.dcs_reachable;
  j["is_leader"] = s.is_leader;
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

void Reply(httplib::Response& res, bool ok, const nlohmann::json& body) {
  res.status = ok ? 200 : 503;
  res.set_content(JsonText(body), "application/json");
}

}  // namespace

RestApi::RestApi(Agent& agent, const Config& config, const Clock& clock)
    : agent_(agent),
      config_(config),
      clock_(clock),
      server_(ServerOrPlaceholder(MakeApiServer(config.api_security), server_error_)) {
  server_->set_payload_max_length(kMaxRequestBody);
  // httplib's default answer to an exception puts its text in a response header; log it instead.
  server_->set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr error) {
        std::string what = "unknown exception";
        try {
          if (error) std::rethrow_exception(error);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::warn("REST API: {} {}: {}", req.method, req.path, what);
        res.status = 500;
        res.set_content(R"({"error":"internal error"})", "application/json");
      });
  Route();
}

RestApi::~RestApi() {
  Stop();
}

void RestApi::Route() {
  auto primary = [this](const httplib::Request&, httplib::Response& res) {
    const AgentSnapshot s = agent_.Snapshot();
    Reply(res, IsWritableLeader(s), NodeJson(s));
  };
  for (const char* path : kPrimaryPaths) server_->Get(path, primary);
  server_->Get("/replica", [this](const httplib::Request& req, httplib::Response& res) {
    const AgentSnapshot s = agent_.Snapshot();
    bool ok = IsStreamingReplica(s);
    if (ok && req.has_param("lag")) {
      const auto lag = s.cluster.LagOf(s.self).bytes;
      try {
        ok = lag && *lag <= std::stoull(req.get_param_value("lag"));
      } catch (const std::exception&) {
        res.status = 400;
        res.set_content(R"({"error":"lag must be a number of bytes"})", "application/json");
        return;
      }
    }
    Reply(res, ok, NodeJson(s));
  });
  server_->Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    const AgentSnapshot s = agent_.Snapshot();
    Reply(res, s.instance.accepting, NodeJson(s));
  });
  server_->Post("/failsafe", [this](const httplib::Request& req, httplib::Response& res) {
    // With restapi.auth set, only a caller with the cluster's credentials (the other agents)
    // may ask; without it the endpoint is open, like the read-only ones.
    if (config_.api_security.AuthConfigured()) {
      const AuthVerdict verdict =
          CheckAdminAuth(config_.api_security, req.get_header_value("Authorization"));
      if (!verdict.allowed()) {
        res.status = verdict.http_status;
        res.set_content(nlohmann::json{{"error", verdict.error}}.dump(), "application/json");
        return;
      }
    }
    auto body = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object() || !body.contains("leader") || !body["leader"].is_string()) {
      res.status = 400;
      res.set_content(R"({"error":"expected {\"leader\": NAME}"})", "application/json");
      return;
    }
    const Agent::FailsafeVote vote = agent_.ConfirmFailsafe(body["leader"].get<std::string>());
    res.set_content(nlohmann::json{{"accepted", vote.accepted}, {"reason", vote.reason}}.dump(),
                    "application/json");
  });
  server_->Get("/liveness", [this](const httplib::Request&, httplib::Response& res) {
    const AgentSnapshot s = agent_.Snapshot();
    const bool ticking =
        clock_.Now() - s.last_tick < std::chrono::seconds(config_.timing.ttl_seconds);
    Reply(res, ticking, NodeJson(s));
  });
  server_->Get("/readiness", [this](const httplib::Request&, httplib::Response& res) {
    const AgentSnapshot s = agent_.Snapshot();
    Reply(res, IsWritableLeader(s) || IsStreamingReplica(s), NodeJson(s));
  });
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    const AgentSnapshot s = agent_.Snapshot();
    const HookRunner::Counts hooks = agent_.HookCounts();
    std::string text;
    auto metric = [&text](const char* name, const char* type, const char* help, double value) {
      text += fmt::format("# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help, type, value);
    };
    metric("baton_is_leader", "gauge", "1 while this node holds the leader key within its lease",
           s.is_leader ? 1 : 0);
    metric("baton_dcs_reachable", "gauge", "1 while etcd answers", s.dcs_reachable ? 1 : 0);
    metric("baton_postgres_running", "gauge", "1 while a postmaster runs", s.instance.running);
    metric("baton_postgres_accepting", "gauge", "1 while PostgreSQL answers queries",
           s.instance.accepting);
    metric("baton_postgres_primary", "gauge", "1 while PostgreSQL runs as a primary",
           s.instance.accepting && s.instance.role == PgRole::kPrimary);
    metric("baton_timeline", "gauge", "PostgreSQL timeline", s.instance.timeline);
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
    res.set_content(text, "text/plain; version=0.0.4");
  });
  server_->Get("/cluster", [this](const httplib::Request&, httplib::Response& res) {
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
    Reply(res, s.dcs_reachable,
          {{"cluster", config_.cluster_name},
           {"leader", s.cluster.leader ? nlohmann::json(s.cluster.leader->name) : nlohmann::json()},
           {"members", members}});
  });
}

void RestApi::AddAdminVerb(const std::string& method, const std::string& path,
                           AdminHandler handler) {
  if (thread_.joinable()) {
    ProgrammingError(fmt::format("AddAdminVerb({} {}) after Start()", method, path));
  }
  if (method == "GET" && IsOpenPath(path)) {
    ProgrammingError(fmt::format("admin verb GET {} would shadow an open endpoint", path));
  }
  auto route = [this, handler = std::move(handler)](const httplib::Request& req,
                                                    httplib::Response& res) {
    const ApiSecurity& security = config_.api_security;
    const AdminReply reply =
        RunAdminVerb(security, req.get_header_value("Authorization"), req.body, handler);
    res.status = reply.http_status;
    if (reply.http_status == 401) res.set_header("WWW-Authenticate", AuthChallenge(security));
    res.set_header("Cache-Control", "no-store");
    res.set_content(JsonText(reply.body), "application/json");
    // Never the Authorization header, the body or the query: they may hold secrets.
    if (reply.http_status < 400) {
      spdlog::info("REST API: {} {} from {}: {}", req.method, req.path, req.remote_addr,
                   reply.http_status);
    } else {
      const bool has_error =
          reply.body.is_object() && reply.body.contains("error") && reply.body["error"].is_string();
      spdlog::warn("REST API: {} {} from {}: {} {}", req.method, req.path, req.remote_addr,
                   reply.http_status, has_error ? reply.body["error"].get<std::string>() : "");
    }
  };
  if (method == "GET") {
    server_->Get(path, route);
  } else if (method == "POST") {
    server_->Post(path, route);
  } else if (method == "PUT") {
    server_->Put(path, route);
  } else if (method == "PATCH") {
    server_->Patch(path, route);
  } else if (method == "DELETE") {
    server_->Delete(path, route);
  } else {
    ProgrammingError(fmt::format("AddAdminVerb: unsupported method {} for {}", method, path));
  }
  ++admin_verbs_;
}

Status RestApi::Start() {
  if (!server_error_.ok()) return server_error_.WithContext("REST API");
  const ApiSecurity& security = config_.api_security;
  if (admin_verbs_ > 0 && !security.AuthConfigured()) {
    spdlog::info(
        "REST API: admin verbs are refused (403) until restapi.auth.token or "
        "restapi.auth.username/password is set");
  } else if (security.AuthConfigured() && !security.TlsConfigured()) {
    spdlog::warn(
        "REST API: restapi.auth is set but restapi.certfile is not: admin credentials travel "
        "over plain HTTP");
  }
  if (!server_->bind_to_port(config_.api_listen.host.c_str(), config_.api_listen.port)) {
    return Unavailable(fmt::format("REST API cannot listen on {}", config_.api_listen.ToString()));
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return Status::Ok();
}

void RestApi::Stop() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace baton
