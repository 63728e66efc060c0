// WriteLoad: one libpq client writing unique ids as fast as it can, recording each write as
// acknowledged, failed (the server refused it) or unknown (the connection broke mid-commit).
//
// It connects through any libpq DSN, typically a multi-host one with
// target_session_attrs=read-write, and reconnects after every broken connection, so it follows
// a failover the way an application would. Start() runs it on its own thread; the accessors are
// thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/lsn.h"
#include "core/status.h"

namespace baton {

class WriteLoad {
 public:
  // Rows go to `table` (created if missing) as (id bigint primary key, node text).
  WriteLoad(std::string dsn, std::string table);
  ~WriteLoad();
  WriteLoad(const WriteLoad&) = delete;
  WriteLoad& operator=(const WriteLoad&) = delete;

  // Creates the table; fails if no writable server answers within `timeout`.
  Status Prepare(Duration timeout);
  void Start();
  void Stop();

  struct Ack {
    int64_t id;
    TimePoint at;        // steady clock, when the commit returned
    std::string node;    // the server's cluster_name, "<cluster>/<node>"
    std::string server;  // the server's address, "host:port" (any cluster manager's nodes)
    Lsn lsn;             // the server's WAL insert position at the write
  };
  // A write that was not acknowledged: refused (failed) or cut off mid-commit (unknown), or a
  // connection attempt that failed.
  struct Error {
    TimePoint at;
    bool unknown = false;
  };
  std::vector<Ack> Acked() const;
  std::vector<Error> Errors() const;
  const std::string& table() const { return table_; }
  size_t acked_count() const;
  size_t failed() const { return failed_; }
  size_t unknown() const { return unknown_; }
  // The first acknowledgment at or after `t` by a server other than `not_node` (a node name;
  // "" = any), if any.
  std::optional<TimePoint> FirstAckAfter(TimePoint t, const std::string& not_node = "") const;

 private:
  void Loop();
  void RecordError(bool unknown);

  const std::string dsn_;
  const std::string table_;
  std::atomic<bool> running_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<Ack> acked_;
  std::vector<Error> errors_;
  std::atomic<size_t> failed_{0};
  std::atomic<size_t> unknown_{0};
};

// A libpq DSN over several PostgreSQL servers that connects to whichever is writable.
std::string MultiHostDsn(const std::vector<std::pair<std::string, int>>& hosts,
                         const std::string& user, const std::string& password);

}  // namespace baton
