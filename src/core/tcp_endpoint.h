// ResolveEndpoint: a host:port from the config as the TCP endpoint Asio binds or connects to.
// Used by the servers that run on Asio (the router, the REST API). Thread-safe; it blocks while
// a host name is looked up.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include "core/config.h"
#include "core/status.h"

namespace baton {

// The first address `address` resolves to. Unavailable naming it when it resolves to none.
Result<asio::ip::tcp::endpoint> ResolveEndpoint(asio::io_context& io, const HostPort& address);

}  // namespace baton
