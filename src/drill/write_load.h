// WriteLoad: one libpq client writing unique ids as fast as it can, recording each write as
// acknowledged, failed (the server refused it) or unknown (the connection broke mid-commit).
//
// It connects through any libpq DSN, typically a multi-host one with
// target_session_attrs=read-write, and reconnects after every broken connection, so it follows
// a failover the way an application would. A pinned client (WriteLoadOptions::pinned) stays on
// the one server its DSN names, as an application with a stale address would: it is how a test
// sees a second server that still takes writes. Each acknowledged row carries the writer node
// and its timeline. Start() runs it on its own thread; the accessors are thread-safe.
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

struct WriteLoadOptions {
  // Where Prepare() creates the table; "" = the load's own DSN. A pinned client's server may be
  // a replica, so its table is created through the primary.
  std::string prepare_dsn;
  // Keep the connection after a refused write (a replica refuses every one; reconnecting each
  // time would storm it with backends) and wait `pace` between attempts.
  bool pinned = false;
  Duration pace = Duration::zero();
};

class WriteLoad {
 public:
  // Rows go to `table` (created if missing) as (id bigint primary key, node text, timeline int).
  WriteLoad(std::string dsn, std::string table, WriteLoadOptions options = {});
  ~WriteLoad();
  WriteLoad(const WriteLoad&) = delete;
  WriteLoad& operator=(const WriteLoad&) = delete;

  // Creates the table; fails if no writable server answers within `timeout`.
  Status Prepare(Duration timeout);
  void Start();
  void Stop();

  struct Ack {
    int64_t id;
    TimePoint at;           // steady clock, when the commit returned
    std::string node;       // the server's cluster_name, "<cluster>/<node>"
    std::string server;     // the server's address, "host:port" (any cluster manager's nodes)
    Lsn lsn;                // the server's WAL insert position at the write
    uint32_t timeline = 0;  // the server's timeline at the write
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
  const WriteLoadOptions options_;
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
// A libpq DSN for one server, whatever its role (a pinned client's).
std::string PinnedDsn(const std::string& host, int port, const std::string& user,
                      const std::string& password);

}  // namespace baton
