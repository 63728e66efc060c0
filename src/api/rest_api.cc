#include "api/rest_api.h"

#include <fmt/format.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "core/json_text.h"

namespace baton {

namespace {

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

RestApi::RestApi(const Agent& agent, const Config& config, const Clock& clock)
    : agent_(agent), config_(config), clock_(clock), server_(new httplib::Server) {
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
  for (const char* path : {"/primary", "/master", "/leader", "/read-write"}) {
    server_->Get(path, primary);
  }
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

Status RestApi::Start() {
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
