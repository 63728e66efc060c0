// PgConnection: a thin libpq wrapper that returns Status/Result instead of raw PGresult.
//
// Rows come back as text cells; a SQL NULL is std::nullopt. One connection per instance; not
// thread-safe (libpq connections are not).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

typedef struct pg_conn PGconn;  // NOLINT: libpq's own name

namespace baton {

using PgRow = std::vector<std::optional<std::string>>;

class PgConnection {
 public:
  // `conninfo` is a libpq connection string; connect_timeout inside it bounds the attempt.
  static Result<std::unique_ptr<PgConnection>> Connect(const std::string& conninfo);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  bool healthy() const;
  Result<std::vector<PgRow>> Query(const std::string& sql);
  Status Execute(const std::string& sql) { return Query(sql).status(); }
  // Quotes a value as an SQL literal / identifier (PQescapeLiteral / PQescapeIdentifier).
  std::string Literal(const std::string& value);
  std::string Identifier(const std::string& value);

 private:
  explicit PgConnection(PGconn* conn) : conn_(conn) {}
  PGconn* conn_;
};

// Builds "key='value' ..." with libpq's quoting rules.
std::string ConnInfo(const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace baton
