#include "pg/pg_connection.h"

#include <fmt/format.h>
#include <libpq-fe.h>

namespace baton {

std::string ConnInfo(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [key, value] : params) {
    std::string quoted;
    for (char c : value) {
      if (c == '\'' || c == '\\') quoted += '\\';
      quoted += c;
    }
    out += fmt::format("{}{}='{}'", out.empty() ? "" : " ", key, quoted);
  }
  return out;
}

Result<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& conninfo) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (conn == nullptr) return Internal("libpq: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
      message.pop_back();
    }
    PQfinish(conn);
    return Unavailable(message);
  }
  // Server notices (and the FATAL that ends a killed server's connections) are reported
  // through Status by the calls that see them; libpq must not print them to stderr.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<PgConnection>(new PgConnection(conn));
}

PgConnection::~PgConnection() {
  PQfinish(conn_);
}

bool PgConnection::healthy() const {
  return PQstatus(conn_) == CONNECTION_OK;
}

Result<std::vector<PgRow>> PgConnection::Query(const std::string& sql) {
  PGresult* result = PQexec(conn_, sql.c_str());
  const ExecStatusType status = PQresultStatus(result);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    std::string message = PQresultErrorMessage(result);
    if (message.empty()) message = PQerrorMessage(conn_);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    PQclear(result);
    return healthy() ? Internal(message) : Unavailable(message);
  }
  std::vector<PgRow> rows;
  const int nrows = PQntuples(result);
  const int ncols = PQnfields(result);
  for (int r = 0; r < nrows; ++r) {
    PgRow row;
    for (int c = 0; c < ncols; ++c) {
      if (PQgetisnull(result, r, c)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(PQgetvalue(result, r, c)));
      }
    }
    rows.push_back(std::move(row));
  }
  PQclear(result);
  return rows;
}

std::string PgConnection::Literal(const std::string& value) {
  char* escaped = PQescapeLiteral(conn_, value.data(), value.size());
  std::string out = escaped ? escaped : "''";
  PQfreemem(escaped);
  return out;
}

std::string PgConnection::Identifier(const std::string& value) {
  char* escaped = PQescapeIdentifier(conn_, value.data(), value.size());
  std::string out = escaped ? escaped : "\"\"";
  PQfreemem(escaped);
  return out;
}

}  // namespace baton
