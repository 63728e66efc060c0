#include "drill/write_load.h"

#include <fmt/format.h>

#include <algorithm>

#include "pg/pg_connection.h"

namespace baton {

std::string MultiHostDsn(const std::vector<std::pair<std::string, int>>& hosts,
                         const std::string& user, const std::string& password) {
  std::string host_list;
  std::string port_list;
  for (const auto& [host, port] : hosts) {
    host_list += (host_list.empty() ? "" : ",") + host;
    port_list += (port_list.empty() ? "" : ",") + std::to_string(port);
  }
  return ConnInfo({{"host", host_list},
                   {"port", port_list},
                   {"user", user},
                   {"password", password},
                   {"dbname", "postgres"},
                   {"connect_timeout", "1"},
                   {"target_session_attrs", "read-write"},
                   {"application_name", "baton-load"}});
}

std::string PinnedDsn(const std::string& host, int port, const std::string& user,
                      const std::string& password) {
  return ConnInfo({{"host", host},
                   {"port", std::to_string(port)},
                   {"user", user},
                   {"password", password},
                   {"dbname", "postgres"},
                   {"connect_timeout", "1"},
                   {"application_name", "baton-pinned"}});
}

WriteLoad::WriteLoad(std::string dsn, std::string table, WriteLoadOptions options)
    : dsn_(std::move(dsn)), table_(std::move(table)), options_(std::move(options)) {}

WriteLoad::~WriteLoad() {
  Stop();
}

Status WriteLoad::Prepare(Duration timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Status last = Unavailable("no writable server");
  while (std::chrono::steady_clock::now() < deadline) {
    auto conn = PgConnection::Connect(options_.prepare_dsn.empty() ? dsn_ : options_.prepare_dsn);
    if (conn.ok()) {
      last = (*conn)->Execute(
          fmt::format("CREATE TABLE IF NOT EXISTS {} (id bigint PRIMARY KEY, node text NOT NULL,"
                      " timeline integer)",
                      table_));
      if (last.ok()) return last;
    } else {
      last = conn.status();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return last;
}

void WriteLoad::Start() {
  running_ = true;
  thread_ = std::thread([this] { Loop(); });
}

void WriteLoad::Stop() {
  running_ = false;
  if (thread_.joinable()) thread_.join();
}

void WriteLoad::Loop() {
  int64_t next_id = 1;
  std::unique_ptr<PgConnection> conn;
  // The timeline the server writes on: in the name of its current WAL file.
  const std::string insert_prefix =
      fmt::format("INSERT INTO {} (id, node, timeline) VALUES (", table_);
  const std::string insert_suffix =
      ", current_setting('cluster_name'),"
      " ('x' || substr(pg_walfile_name(pg_current_wal_insert_lsn()), 1, 8))::bit(32)::int)"
      " RETURNING node, timeline, host(inet_server_addr()) || ':' || inet_server_port(),"
      " pg_current_wal_insert_lsn()::text";
  const Duration retry_pace = std::max<Duration>(options_.pace, std::chrono::milliseconds(20));
  while (running_) {
    if (!conn) {
      auto connected = PgConnection::Connect(dsn_);
      if (!connected.ok()) {
        ++failed_;
        RecordError(false);
        std::this_thread::sleep_for(retry_pace);  // retry pace, not a wait
        continue;
      }
      conn = std::move(connected).value();
    }
    const int64_t id = next_id++;
    auto rows = conn->Query(insert_prefix + std::to_string(id) + insert_suffix);
    if (rows.ok() && rows->size() == 1) {
      const PgRow& row = rows->front();
      std::lock_guard lock(mu_);
      acked_.push_back({id, std::chrono::steady_clock::now(), row[0].value_or(""),
                        row[2].value_or(""), Lsn::Parse(row[3].value_or("")).value_or(Lsn{}),
                        static_cast<uint32_t>(std::stoul(row[1].value_or("0")))});
    } else if (conn->healthy()) {
      ++failed_;  // refused (e.g. read-only): certainly not committed
      RecordError(false);
      if (!options_.pinned) conn.reset();
    } else {
      ++unknown_;  // the connection broke: the commit may or may not have happened
      RecordError(true);
      conn.reset();
    }
    if (options_.pace > Duration::zero()) std::this_thread::sleep_for(options_.pace);
  }
}

void WriteLoad::RecordError(bool unknown) {
  std::lock_guard lock(mu_);
  errors_.push_back({std::chrono::steady_clock::now(), unknown});
}

std::vector<WriteLoad::Error> WriteLoad::Errors() const {
  std::lock_guard lock(mu_);
  return errors_;
}

std::vector<WriteLoad::Ack> WriteLoad::Acked() const {
  std::lock_guard lock(mu_);
  return acked_;
}

size_t WriteLoad::acked_count() const {
  std::lock_guard lock(mu_);
  return acked_.size();
}

std::optional<TimePoint> WriteLoad::FirstAckAfter(TimePoint t, const std::string& not_node) const {
  std::lock_guard lock(mu_);
  for (const Ack& a : acked_) {
    const bool other_node = not_node.empty() || a.node.substr(a.node.find('/') + 1) != not_node;
    if (a.at >= t && other_node) return a.at;
  }
  return std::nullopt;
}

}  // namespace baton
