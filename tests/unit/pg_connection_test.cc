// PgConnection's bounds without a PostgreSQL server: a listener that accepts connections but
// never answers (as a SIGSTOPped postmaster does) makes a bounded connect return Timeout in
// time; a port nobody listens on is refused at once, which is no timeout.
#include "pg/pg_connection.h"

#include <gtest/gtest.h>

#include <string>

#include "loopback_socket.h"

namespace baton {
namespace {

using std::chrono::milliseconds;

std::string ConnInfoTo(const LoopbackSocket& socket) {
  return ConnInfo({{"host", "127.0.0.1"},
                   {"port", std::to_string(socket.port())},
                   {"user", "nobody"},
                   {"dbname", "nothing"}});
}

TEST(PgConnectionTest, AConnectionToAServerThatNeverAnswersTimesOutInTime) {
  LoopbackSocket silent(/*listening=*/true);
  const auto started = std::chrono::steady_clock::now();
  auto connection = PgConnection::Connect(ConnInfoTo(silent), milliseconds(200));
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(connection.status().code(), StatusCode::kTimeout) << connection.status().ToString();
  EXPECT_GE(took, milliseconds(200));
  EXPECT_LT(took, milliseconds(1500));
}

TEST(PgConnectionTest, ARefusedConnectionIsUnavailableNotATimeout) {
  LoopbackSocket closed(/*listening=*/false);
  auto connection = PgConnection::Connect(ConnInfoTo(closed), milliseconds(2000));
  EXPECT_EQ(connection.status().code(), StatusCode::kUnavailable) << connection.status().ToString();
}

}  // namespace
}  // namespace baton
