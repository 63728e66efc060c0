// PeerClient: the Peers port over the network: a TCP connection to a member's PostgreSQL port,
// HTTP(S) to its agent's REST API (with this node's restapi.auth credentials for /failsafe),
// each bounded by `timeout`. Server certificates are not verified: an answer from a member's
// address is all that is asked. Thread-safe (no shared state).
#pragma once

#include "core/clock.h"
#include "core/config.h"
#include "ha/peers.h"

namespace baton {

class PeerClient final : public Peers {
 public:
  // `config` supplies the credentials the REST API is asked with.
  PeerClient(const Config& config, Duration timeout);

  bool Reachable(const MemberInfo& member) override;
  bool ConfirmFailsafe(const MemberInfo& member, const std::string& leader) override;

 private:
  const ApiSecurity api_security_;  // this node's restapi.auth, presented to the others
  const Duration timeout_;
};

}  // namespace baton
