// Peers: the port through which an agent reaches other members' nodes directly, not via etcd.
//
// Reachable() tells whether a member's node answers at all: its PostgreSQL accepts a
// connection, or its agent's REST API answers a request, within a short timeout. A node whose
// PostgreSQL and agent both refuse or time out is down, frozen or cut off. ConfirmFailsafe()
// asks a member's agent (POST /failsafe) whether it accepts `leader` keeping its primary while
// etcd is unreachable: true only for an explicit yes (docs/safety.md#failsafe-mode). PeerClient
// (src/api/peer_client.h) is the real implementation; unit tests fake it. Implementations are
// thread-safe.
#pragma once

#include <functional>
#include <string>

#include "dcs/member.h"

namespace baton {

class Peers {
 public:
  virtual ~Peers() = default;
  virtual bool Reachable(const MemberInfo& member) = 0;
  virtual bool ConfirmFailsafe(const MemberInfo& member, const std::string& leader) = 0;
  // Holds a connection to `member`'s PostgreSQL (nullptr: to nobody) from a thread of the
  // implementation's own, and calls `on_lost` each time an established one breaks: the moment a
  // leader's server dies, rather than at the next loop. Calling it again with the same member
  // keeps the connection.
  virtual void WatchNode(const MemberInfo* member, std::function<void()> on_lost) = 0;
};

}  // namespace baton
