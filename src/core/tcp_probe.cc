#include "core/tcp_probe.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

namespace baton {

namespace {

TcpAnswer ConnectOne(const addrinfo& address, std::chrono::steady_clock::time_point deadline) {
  const int fd = socket(address.ai_family, address.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        address.ai_protocol);
  if (fd < 0) return TcpAnswer::kSilent;
  int error = connect(fd, address.ai_addr, address.ai_addrlen) == 0 ? 0 : errno;
  if (error == EINPROGRESS) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd pfd{fd, POLLOUT, 0};
    socklen_t len = sizeof error;
    if (left.count() <= 0 || poll(&pfd, 1, static_cast<int>(left.count())) != 1 ||
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0) {
      error = ETIMEDOUT;
    }
  }
  close(fd);
  if (error == 0) return TcpAnswer::kConnected;
  return error == ECONNREFUSED ? TcpAnswer::kRefused : TcpAnswer::kSilent;
}

}  // namespace

TcpAnswer ProbeTcp(const std::string& host, int port, Duration timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) {
    return TcpAnswer::kSilent;
  }
  TcpAnswer answer = TcpAnswer::kRefused;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const TcpAnswer one = ConnectOne(*a, deadline);
    if (one == TcpAnswer::kConnected) {
      answer = one;
      break;
    }
    if (one == TcpAnswer::kSilent) answer = one;
  }
  freeaddrinfo(found);
  return answer;
}

bool TcpConnects(const std::string& host, int port, Duration timeout) {
  return ProbeTcp(host, port, timeout) == TcpAnswer::kConnected;
}

}  // namespace baton
