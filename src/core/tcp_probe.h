// TcpConnects: whether a TCP connection to host:port is established within a timeout, the
// cheapest question that tells a live listening server from a dead, refusing or silent one. It
// sends no data. Thread-safe.
#pragma once

#include <string>

#include "core/clock.h"

namespace baton {

// `host` is a name or an IPv4/IPv6 address; every address it resolves to is tried in turn, each
// within what is left of `timeout`.
bool TcpConnects(const std::string& host, int port, Duration timeout);

}  // namespace baton
