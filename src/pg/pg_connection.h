// PgConnection: a thin libpq wrapper that returns Status/Result instead of raw PGresult.
//
// Rows come back as text cells; a SQL NULL is std::nullopt. A connection opened with a timeout
// bounds every round trip: connecting, and each query (unless given its own timeout); past it
// the call returns Timeout and the connection is dropped (healthy() turns false), so a server
// that stopped answering (SIGSTOP, a hang) never blocks the caller. One connection per caller;
// not thread-safe (libpq connections are not).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

typedef struct pg_conn PGconn;  // NOLINT: libpq's own name

namespace baton {

using PgRow = std::vector<std::optional<std::string>>;

class PgConnection {
 public:
  // `conninfo` is a libpq connection string; connect_timeout inside it bounds the attempt.
  // Queries on it wait as long as the server takes.
  static Result<std::unique_ptr<PgConnection>> Connect(const std::string& conninfo);
  // Connects within `timeout` (connect_timeout in `conninfo` is then ignored); each query on
  // it then waits at most `timeout` too.
  static Result<std::unique_ptr<PgConnection>> Connect(const std::string& conninfo,
                                                       Duration timeout);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  bool healthy() const;
  // For a connection held idle to learn when the server goes away: the socket to poll for
  // input, and, once it is readable, whether the connection survived what arrived.
  int socket() const;
  bool ConsumeInput();
  Result<std::vector<PgRow>> Query(const std::string& sql);
  // The same, waiting at most `timeout` for this statement.
  Result<std::vector<PgRow>> Query(const std::string& sql, Duration timeout);
  Status Execute(const std::string& sql) { return Query(sql).status(); }
  Status Execute(const std::string& sql, Duration timeout) { return Query(sql, timeout).status(); }
  // Quotes a value as an SQL literal / identifier (PQescapeLiteral / PQescapeIdentifier).
  std::string Literal(const std::string& value);
  std::string Identifier(const std::string& value);

 private:
  PgConnection(PGconn* conn, std::optional<Duration> query_timeout)
      : conn_(conn), query_timeout_(query_timeout) {}
  Result<std::vector<PgRow>> Run(const std::string& sql, std::optional<TimePoint> deadline);

  PGconn* conn_;
  const std::optional<Duration> query_timeout_;
  bool dropped_ = false;  // a query timed out: the connection's state is unknown
};

// Builds "key='value' ..." with libpq's quoting rules.
std::string ConnInfo(const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace baton
