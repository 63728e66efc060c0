// ProbeTcp: how host:port answers a TCP connection within a timeout, the cheapest question
// that tells a live listening server (connected) from a port nothing listens on (refused: a
// TCP reset, as the node's kernel sends when no process holds the port) and from silence (no
// answer in time: a frozen or unreachable host, or a full backlog). A refusal that came as an
// ICMP error (a filter's REJECT, not the host's TCP stack) counts as silence: it proves nothing
// about the processes. A filter that rejects with a forged TCP reset cannot be told apart. It
// sends no data. TcpConnects asks only whether it connected. Thread-safe.
#pragma once

#include <string>

#include "core/clock.h"

namespace baton {

enum class TcpAnswer { kConnected, kRefused, kSilent };

// `host` is a name or an IPv4/IPv6 address; every address it resolves to is tried in turn, each
// within what is left of `timeout`: connected if one connects, refused if every one refused,
// silent otherwise (a name that does not resolve included).
TcpAnswer ProbeTcp(const std::string& host, int port, Duration timeout);
bool TcpConnects(const std::string& host, int port, Duration timeout);

}  // namespace baton
