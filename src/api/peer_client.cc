#include "api/peer_client.h"

#include <httplib.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>

#include "pg/pg_connection.h"

namespace baton {

namespace {

std::unique_ptr<httplib::Client> ApiClient(const std::string& url, Duration timeout) {
  auto client = std::make_unique<httplib::Client>(url);
  client->enable_server_certificate_verification(false);
  const double seconds = Seconds(timeout);
  const auto whole = static_cast<time_t>(seconds);
  const auto micros = static_cast<time_t>((seconds - static_cast<double>(whole)) * 1e6);
  client->set_connection_timeout(whole, micros);
  client->set_read_timeout(whole, micros);
  client->set_write_timeout(whole, micros);
  return client;
}

}  // namespace

PeerClient::PeerClient(const Config& config, Duration timeout)
    : superuser_(config.superuser), timeout_(timeout) {}

bool PeerClient::Reachable(const MemberInfo& member) {
  const double seconds = Seconds(timeout_);
  if (auto address = HostPort::Parse(member.pg_address); address.ok()) {
    // Any answer from the server counts, a refusal while it starts or stops included: only a
    // refused or silent port says nothing is there.
    auto conn = PgConnection::Connect(ConnInfo(
        {{"host", address->host},
         {"port", std::to_string(address->port)},
         {"user", superuser_.username},
         {"password", superuser_.password},
         {"dbname", "postgres"},
         {"connect_timeout", std::to_string(std::max(1, static_cast<int>(std::ceil(seconds))))},
         {"application_name", "baton-peer-check"}}));
    if (conn.ok() || conn.status().message().find("FATAL") != std::string::npos) return true;
  }
  if (member.api_url.empty()) return false;
  return static_cast<bool>(ApiClient(member.api_url, timeout_)->Get("/liveness"));
}

bool PeerClient::ConfirmFailsafe(const MemberInfo& member, const std::string& leader) {
  if (member.api_url.empty()) return false;
  const nlohmann::json body = {{"leader", leader}};
  auto res =
      ApiClient(member.api_url, timeout_)->Post("/failsafe", body.dump(), "application/json");
  if (!res || res->status != 200) return false;
  auto answer = nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  return answer.is_object() && answer.value("accepted", false);
}

}  // namespace baton
