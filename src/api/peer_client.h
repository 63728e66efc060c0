// PeerClient: the Peers port over the network: a TCP connection to a member's PostgreSQL port
// and to its agent's port (a refusal on both proves both processes gone), HTTP(S) to its
// agent's REST API (with this node's restapi.auth credentials for /failsafe),
// each bounded by `timeout` (also the agent's state, for `baton doctor`), and a NodeWatch for
// WatchNode. Server certificates are not verified: an answer from a member's address is all that is
// asked. Thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include "api/node_watch.h"
#include "core/clock.h"
#include "core/config.h"
#include "ha/peers.h"

namespace baton {

class PeerClient final : public Peers {
 public:
  // `config` supplies the credentials PostgreSQL and the REST API are reached with.
  PeerClient(const Config& config, Duration timeout);

  NodeReach Reach(const MemberInfo& member) override;
  bool ConfirmFailsafe(const MemberInfo& member, const std::string& leader) override;
  void WatchNode(const MemberInfo* member, std::function<void()> on_lost) override;
  // The member's agent's own state (GET /health's body, whatever its status code).
  Result<nlohmann::json> NodeState(const MemberInfo& member);

 private:
  const Credentials superuser_;     // PostgreSQL is watched as this role
  const ApiSecurity api_security_;  // this node's restapi.auth, presented to the others
  const Duration timeout_;
  NodeWatch watch_;
};

}  // namespace baton
