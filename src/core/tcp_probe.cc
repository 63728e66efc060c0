#include "core/tcp_probe.h"

#include <linux/errqueue.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace baton {

namespace {

// Whether the refusal of a connection on `fd` came as an ICMP error (a filter rejecting it, as
// iptables' REJECT does by default) rather than as a reset from the host's own TCP stack.
bool RefusedByIcmp(int fd) {
  char control[512];
  char data[64];
  iovec iov{data, sizeof data};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return false;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    const bool v4 = c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR;
    const bool v6 = c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR;
    if (!v4 && !v6) continue;
    sock_extended_err error{};
    std::memcpy(&error, CMSG_DATA(c), sizeof error);
    if (error.ee_origin == SO_EE_ORIGIN_ICMP || error.ee_origin == SO_EE_ORIGIN_ICMP6) return true;
  }
  return false;
}

TcpAnswer ConnectOne(const addrinfo& address, std::chrono::steady_clock::time_point deadline) {
  const int fd = socket(address.ai_family, address.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        address.ai_protocol);
  if (fd < 0) return TcpAnswer::kSilent;
  // ICMP errors are queued, so that a rejecting filter can be told from a closed port.
  const int on = 1;
  if (address.ai_family == AF_INET6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on);
  } else {
    setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on);
  }
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
  const bool filtered = error == ECONNREFUSED && RefusedByIcmp(fd);
  close(fd);
  if (error == 0) return TcpAnswer::kConnected;
  return error == ECONNREFUSED && !filtered ? TcpAnswer::kRefused : TcpAnswer::kSilent;
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
