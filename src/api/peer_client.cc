#include "api/peer_client.h"

#include <fmt/format.h>
#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "api/http_client.h"
#include "core/tcp_probe.h"
#include "pg/pg_connection.h"

namespace baton {

namespace {

// An answer from a member's address is all that is asked: its certificate is not verified.
std::unique_ptr<httplib::Client> ApiClient(const std::string& url, Duration timeout) {
  auto client = MakeHttpClient(url, timeout);
  client->enable_server_certificate_verification(false);
  return client;
}

}  // namespace

PeerClient::PeerClient(const Config& config, Duration timeout)
    : superuser_(config.superuser), api_security_(config.api_security), timeout_(timeout) {}

void PeerClient::WatchNode(const MemberInfo* member, std::function<void()> on_lost) {
  if (member == nullptr) return watch_.Watch("", {});
  auto address = HostPort::Parse(member->pg_address);
  if (!address.ok()) return watch_.Watch("", {});  // no address to reach it at
  watch_.Watch(ConnInfo({{"host", address->host},
                         {"port", std::to_string(address->port)},
                         {"user", superuser_.username},
                         {"password", superuser_.password},
                         {"dbname", "postgres"},
                         {"application_name", "baton-watch"}}),
               std::move(on_lost));
}

NodeReach PeerClient::Reach(const MemberInfo& member) {
  // A listening PostgreSQL port is enough (a frozen server's kernel still accepts, which errs on
  // the side of "reachable"); a refused one may mean only PostgreSQL is down, so the agent is
  // asked too. Each check is short: the agent loop waits for it.
  TcpAnswer pg = TcpAnswer::kSilent;
  if (auto address = HostPort::Parse(member.pg_address); address.ok()) {
    pg = ProbeTcp(address->host, address->port, timeout_);
    if (pg == TcpAnswer::kConnected) return NodeReach::kAnswers;
  }
  auto api = HostPort::ParseUrl(member.api_url);
  if (!api.ok()) return NodeReach::kSilent;
  const TcpAnswer agent = ProbeTcp(api->host, api->port, timeout_);
  if (agent == TcpAnswer::kRefused) {
    return pg == TcpAnswer::kRefused ? NodeReach::kProcessesGone : NodeReach::kSilent;
  }
  if (agent == TcpAnswer::kConnected && ApiClient(member.api_url, timeout_)->Get("/liveness")) {
    return NodeReach::kAnswers;
  }
  return NodeReach::kSilent;
}

Result<nlohmann::json> PeerClient::NodeState(const MemberInfo& member) {
  if (member.api_url.empty()) return NotFound("no REST API address in its record");
  auto res = ApiClient(member.api_url, timeout_)->Get("/health");
  if (!res) return Unavailable(member.api_url + ": " + httplib::to_string(res.error()));
  auto state = nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (!state.is_object()) {
    return Internal(
        fmt::format("{}/health answered {} without a JSON object", member.api_url, res->status));
  }
  return state;
}

bool PeerClient::ConfirmFailsafe(const MemberInfo& member, const std::string& leader) {
  if (member.api_url.empty()) return false;
  const nlohmann::json body = {{"leader", leader}};
  auto client = ApiClient(member.api_url, timeout_);
  if (!api_security_.token.empty()) {
    client->set_bearer_token_auth(api_security_.token);
  } else if (!api_security_.basic.username.empty()) {
    client->set_basic_auth(api_security_.basic.username, api_security_.basic.password);
  }
  auto res = client->Post("/failsafe", body.dump(), "application/json");
  if (!res || res->status != 200) return false;
  auto answer = nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  return answer.is_object() && answer.value("accepted", false);
}

}  // namespace baton
