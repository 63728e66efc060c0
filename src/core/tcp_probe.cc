#include "core/tcp_probe.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

namespace baton {

namespace {

bool ConnectOne(const addrinfo& address, std::chrono::steady_clock::time_point deadline) {
  const int fd = socket(address.ai_family, address.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        address.ai_protocol);
  if (fd < 0) return false;
  int rc = connect(fd, address.ai_addr, address.ai_addrlen);
  if (rc != 0 && errno == EINPROGRESS) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd pfd{fd, POLLOUT, 0};
    rc = -1;
    if (left.count() > 0 && poll(&pfd, 1, static_cast<int>(left.count())) == 1) {
      int error = 0;
      socklen_t len = sizeof error;
      rc = getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 && error == 0 ? 0 : -1;
    }
  }
  close(fd);
  return rc == 0;
}

}  // namespace

bool TcpConnects(const std::string& host, int port, Duration timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return false;
  bool connected = false;
  for (addrinfo* a = found; a != nullptr && !connected; a = a->ai_next) {
    connected = ConnectOne(*a, deadline);
  }
  freeaddrinfo(found);
  return connected;
}

}  // namespace baton
