#include "core/tcp_endpoint.h"

#include <asio/ip/tcp.hpp>
#include <string>

namespace baton {

Result<asio::ip::tcp::endpoint> ResolveEndpoint(asio::io_context& io, const HostPort& address) {
  asio::error_code error;
  asio::ip::tcp::resolver resolver(io);
  auto results = resolver.resolve(address.host, std::to_string(address.port),
                                  asio::ip::tcp::resolver::numeric_service, error);
  if (error || results.empty()) {
    return Unavailable("cannot resolve " + address.ToString() + ": " + error.message());
  }
  return results.begin()->endpoint();
}

}  // namespace baton
