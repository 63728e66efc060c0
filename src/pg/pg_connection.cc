#include "pg/pg_connection.h"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <climits>
#include <cstring>

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

namespace {

std::string Trimmed(std::string message) {
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.pop_back();
  }
  return message;
}

// OK when `conn` is open; otherwise frees it and says why.
Status Opened(PGconn* conn) {
  if (conn == nullptr) return Internal("libpq: out of memory");
  if (PQstatus(conn) == CONNECTION_OK) {
    // Server notices (and the FATAL that ends a killed server's connections) are reported
    // through Status by the calls that see them; libpq must not print them to stderr.
    PQsetNoticeProcessor(
        conn, [](void*, const char*) {}, nullptr);
    return Status::Ok();
  }
  const std::string message = Trimmed(PQerrorMessage(conn));
  PQfinish(conn);
  return Unavailable(message);
}

// Waits until the connection's socket is ready for `events`; Timeout once `deadline` passed.
Status WaitForSocket(PGconn* conn, short events, std::optional<TimePoint> deadline) {
  const int fd = PQsocket(conn);
  if (fd < 0) return Unavailable("no connection to the server");
  while (true) {
    int timeout_ms = -1;
    if (deadline) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now())
              .count();
      if (left <= 0) return Timeout("deadline passed");
      timeout_ms = static_cast<int>(std::min<long long>(left, INT_MAX));
    }
    pollfd pfd{fd, events, 0};
    const int ready = poll(&pfd, 1, timeout_ms);
    if (ready > 0) return Status::Ok();
    if (ready < 0 && errno != EINTR) return Internal(fmt::format("poll: {}", std::strerror(errno)));
  }
}

std::string NoAnswer(Duration timeout) {
  return fmt::format("no answer within {:.2f} s", Seconds(timeout));
}

}  // namespace

Result<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& conninfo) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (Status s = Opened(conn); !s.ok()) return s;
  return std::unique_ptr<PgConnection>(new PgConnection(conn, std::nullopt));
}

Result<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& conninfo,
                                                            Duration timeout) {
  const TimePoint deadline = std::chrono::steady_clock::now() + timeout;
  PGconn* conn = PQconnectStart(conninfo.c_str());
  if (conn == nullptr) return Internal("libpq: out of memory");
  // libpq's asynchronous connection loop: wait for whatever the last step asked for.
  PostgresPollingStatusType polling =
      PQstatus(conn) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING;
  while (polling == PGRES_POLLING_READING || polling == PGRES_POLLING_WRITING) {
    Status ready =
        WaitForSocket(conn, polling == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
    if (!ready.ok()) {
      PQfinish(conn);
      if (ready.code() == StatusCode::kTimeout) return Timeout(NoAnswer(timeout));
      return ready;
    }
    polling = PQconnectPoll(conn);
  }
  if (Status s = Opened(conn); !s.ok()) return s;
  // Sending never blocks either: a query that the socket cannot take yet waits in poll().
  PQsetnonblocking(conn, 1);
  return std::unique_ptr<PgConnection>(new PgConnection(conn, timeout));
}

PgConnection::~PgConnection() {
  PQfinish(conn_);
}

bool PgConnection::healthy() const {
  return !dropped_ && PQstatus(conn_) == CONNECTION_OK;
}

int PgConnection::socket() const {
  return PQsocket(conn_);
}

bool PgConnection::ConsumeInput() {
  return PQconsumeInput(conn_) == 1 && PQstatus(conn_) == CONNECTION_OK;
}

Result<std::vector<PgRow>> PgConnection::Query(const std::string& sql) {
  if (!query_timeout_) return Run(sql, std::nullopt);
  return Query(sql, *query_timeout_);
}

Result<std::vector<PgRow>> PgConnection::Query(const std::string& sql, Duration timeout) {
  Result<std::vector<PgRow>> rows = Run(sql, std::chrono::steady_clock::now() + timeout);
  if (rows.status().code() == StatusCode::kTimeout) {
    // The answer may still come; the connection cannot be reused in between.
    dropped_ = true;
    return Timeout(NoAnswer(timeout));
  }
  return rows;
}

Result<std::vector<PgRow>> PgConnection::Run(const std::string& sql,
                                             std::optional<TimePoint> deadline) {
  auto failure = [this](PGresult* result) -> Status {
    std::string message = result != nullptr ? PQresultErrorMessage(result) : "";
    if (message.empty()) message = PQerrorMessage(conn_);
    message = Trimmed(message);
    PQclear(result);
    return healthy() ? Internal(message) : Unavailable(message);
  };
  if (PQsendQuery(conn_, sql.c_str()) == 0) return failure(nullptr);
  int flushed;
  while ((flushed = PQflush(conn_)) > 0) {
    if (Status s = WaitForSocket(conn_, POLLIN | POLLOUT, deadline); !s.ok()) return s;
    if (PQconsumeInput(conn_) == 0) return failure(nullptr);
  }
  if (flushed < 0) return failure(nullptr);
  // As PQexec: the last result of the statement(s), or the first error.
  PGresult* result = nullptr;
  while (true) {
    while (PQisBusy(conn_) != 0) {
      if (Status s = WaitForSocket(conn_, POLLIN, deadline); !s.ok()) {
        PQclear(result);
        return s;
      }
      if (PQconsumeInput(conn_) == 0) break;  // connection lost: PQgetResult says so
    }
    PGresult* next = PQgetResult(conn_);
    if (next == nullptr) break;
    const ExecStatusType kept = result != nullptr ? PQresultStatus(result) : PGRES_COMMAND_OK;
    if (kept == PGRES_FATAL_ERROR || kept == PGRES_BAD_RESPONSE) {
      PQclear(next);
    } else {
      PQclear(result);
      result = next;
    }
  }
  const ExecStatusType status = PQresultStatus(result);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) return failure(result);
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
