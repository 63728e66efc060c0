// Peers: the port through which an agent reaches other members' nodes directly, not via etcd.
//
// Reach() tells how a member's node answers: its PostgreSQL accepts a connection, or its
// agent's REST API answers a request, within a short timeout (answers); both ports refused by
// the node's kernel, so the node is up and neither process runs on it (processes gone); or
// neither answers and at least one stays silent (down, frozen or cut off). ConfirmFailsafe()
// asks a member's agent (POST /failsafe) whether it accepts `leader` keeping its primary while
// etcd is unreachable: true only for an explicit yes (docs/safety.md#failsafe-mode). PeerClient
// (src/api/peer_client.h) is the real implementation; unit tests fake it. Implementations are
// thread-safe.
#pragma once

#include <functional>
#include <string>

#include "dcs/member.h"

namespace baton {

enum class NodeReach {
  kAnswers,
  kProcessesGone,  // PostgreSQL's port and the agent's both refused: provably no process
  kSilent,         // no answer, and no proof that nothing runs (a timeout on one port)
};

class Peers {
 public:
  virtual ~Peers() = default;
  virtual NodeReach Reach(const MemberInfo& member) = 0;
  virtual bool ConfirmFailsafe(const MemberInfo& member, const std::string& leader) = 0;
  // Holds a connection to `member`'s PostgreSQL (nullptr: to nobody) from a thread of the
  // implementation's own, and calls `on_lost` each time an established one breaks: the moment a
  // leader's server dies, rather than at the next loop. Calling it again with the same member
  // keeps the connection.
  virtual void WatchNode(const MemberInfo* member, std::function<void()> on_lost) = 0;
};

}  // namespace baton
