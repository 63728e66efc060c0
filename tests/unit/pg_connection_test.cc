// PgConnection's bounds without a PostgreSQL server: a listener that accepts connections but
// never answers (as a SIGSTOPped postmaster does) makes a bounded connect return Timeout in
// time; a port nobody listens on is refused at once, which is no timeout.
#include "pg/pg_connection.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace baton {
namespace {

using std::chrono::milliseconds;

// A loopback socket on a free port; listening (with a backlog the kernel completes handshakes
// into) or merely bound.
class LoopbackSocket {
 public:
  explicit LoopbackSocket(bool listening) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
    if (listening) {
      EXPECT_EQ(listen(fd_, 8), 0);
    }
  }
  ~LoopbackSocket() { close(fd_); }
  std::string ConnInfoForIt() const {
    return ConnInfo({{"host", "127.0.0.1"},
                     {"port", std::to_string(port_)},
                     {"user", "nobody"},
                     {"dbname", "nothing"}});
  }

 private:
  int fd_;
  int port_ = 0;
};

TEST(PgConnectionTest, AConnectionToAServerThatNeverAnswersTimesOutInTime) {
  LoopbackSocket silent(/*listening=*/true);
  const auto started = std::chrono::steady_clock::now();
  auto connection = PgConnection::Connect(silent.ConnInfoForIt(), milliseconds(200));
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(connection.status().code(), StatusCode::kTimeout) << connection.status().ToString();
  EXPECT_GE(took, milliseconds(200));
  EXPECT_LT(took, milliseconds(1500));
}

TEST(PgConnectionTest, ARefusedConnectionIsUnavailableNotATimeout) {
  LoopbackSocket closed(/*listening=*/false);
  auto connection = PgConnection::Connect(closed.ConnInfoForIt(), milliseconds(2000));
  EXPECT_EQ(connection.status().code(), StatusCode::kUnavailable) << connection.status().ToString();
}

}  // namespace
}  // namespace baton
