#include "doctor/gather.h"

#include <fmt/format.h>
#include <unistd.h>

#include <future>
#include <sstream>
#include <thread>

#include "api/peer_client.h"
#include "dcs/etcd_dcs.h"
#include "pg/pg_connection.h"
#include "pg/server_state_query.h"

namespace baton {

namespace {

double MillisecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

std::string MemberConnInfo(const MemberInfo& member, const std::optional<Config>& config) {
  auto address = HostPort::Parse(member.pg_address);
  std::vector<std::pair<std::string, std::string>> params = {
      {"host", address.ok() ? address->host : member.pg_address},
      {"port", address.ok() ? std::to_string(address->port) : ""},
      {"dbname", "postgres"},
      {"application_name", "baton-doctor"}};
  if (config && !config->superuser.username.empty()) {
    params.emplace_back("user", config->superuser.username);
    params.emplace_back("password", config->superuser.password);
  }
  return ConnInfo(params);
}

std::string Cell(const PgRow& row, size_t i) {
  return i < row.size() ? row[i].value_or("") : "";
}

int64_t Integer(const std::string& text) {
  return std::strtoll(text.c_str(), nullptr, 10);
}

// The primary's timeline history file: "timeline<TAB>switch point<TAB>reason" per line.
std::vector<TimelineSwitch> ParseHistory(const std::string& text) {
  std::vector<TimelineSwitch> history;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string timeline, lsn;
    if (!(fields >> timeline >> lsn) || timeline.front() == '#') continue;
    auto parsed = Lsn::Parse(lsn);
    if (!parsed) continue;
    history.push_back({static_cast<uint32_t>(Integer(timeline)), *parsed});
  }
  return history;
}

Status ProbePrimary(PgConnection& conn, MemberProbe* p) {
  auto senders = conn.Query(
      "SELECT application_name, state, sync_state, replay_lsn,"
      " COALESCE(EXTRACT(EPOCH FROM replay_lag), 0) FROM pg_stat_replication");
  if (!senders.ok()) return senders.status();
  for (const PgRow& row : *senders) {
    p->senders.push_back({Cell(row, 0), Cell(row, 1), Cell(row, 2),
                          Lsn::Parse(Cell(row, 3)).value_or(Lsn{}),
                          std::strtod(Cell(row, 4).c_str(), nullptr)});
  }
  auto slots = conn.Query(
      "SELECT slot_name, active,"
      " COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::bigint,"
      " COALESCE(wal_status, '') FROM pg_replication_slots");
  if (!slots.ok()) return slots.status();
  for (const PgRow& row : *slots) {
    p->slots.push_back({Cell(row, 0), Cell(row, 1) == "t",
                        static_cast<uint64_t>(Integer(Cell(row, 2))), Cell(row, 3) == "lost"});
  }
  auto settings = conn.Query(
      "SELECT current_setting('synchronous_standby_names'), current_setting('archive_mode'),"
      " archived_count, failed_count,"
      " COALESCE(last_failed_time > COALESCE(last_archived_time, 'epoch'), false),"
      " COALESCE(last_failed_wal, '') FROM pg_stat_archiver");
  if (!settings.ok()) return settings.status();
  if (settings->size() == 1) {
    const PgRow& row = settings->front();
    p->synchronous_standby_names = Cell(row, 0);
    p->archive_mode = Cell(row, 1);
    p->archived_count = Integer(Cell(row, 2));
    p->archive_failed_count = Integer(Cell(row, 3));
    p->archive_failing = Cell(row, 4) == "t";
    p->last_failed_wal = Cell(row, 5);
  }
  if (p->timeline > 1) {
    auto history = conn.Query(fmt::format("SELECT pg_read_file('pg_wal/{:08X}.history')",
                                          static_cast<unsigned>(p->timeline)));
    if (!history.ok()) return history.status().WithContext("reading its timeline history");
    if (!history->empty()) p->history = ParseHistory(Cell(history->front(), 0));
  }
  p->details_read = true;
  return Status::Ok();
}

Status ProbePostgres(const std::string& conninfo, Duration timeout, MemberProbe* p) {
  auto conn = PgConnection::Connect(conninfo, timeout);
  if (!conn.ok()) return conn.status();
  auto rows =
      (*conn)->Query(std::string("SELECT ") + kServerStateColumns +
                     ", (SELECT sender_host || ':' || sender_port FROM pg_stat_wal_receiver)");
  if (!rows.ok()) return rows.status();
  if (rows->size() != 1) return Internal("the probe returned no row");
  const PgRow& row = rows->front();
  p->in_recovery = Cell(row, 0) == "t";
  p->lsn = Lsn::Parse(Cell(row, 1)).value_or(Lsn{});
  p->replay_lsn = Lsn::Parse(Cell(row, 2)).value_or(p->lsn);
  p->timeline = static_cast<uint32_t>(Integer(Cell(row, 3)));
  p->receiver_status = Cell(row, 4);
  p->sender_address = Cell(row, 5);
  if (p->in_recovery) return Status::Ok();
  // What the primary answered so far stands; a detail it refused (a role without the rights to
  // read pg_stat_archiver or the history file) is reported apart.
  if (Status details = ProbePrimary(**conn, p); !details.ok()) p->details_error = details.message();
  return Status::Ok();
}

MemberProbe ProbeMember(const MemberInfo& member, const GatherOptions& options, PeerClient& peers) {
  // Both at once: a frozen node costs one timeout, not two.
  auto agent = std::async(std::launch::async, [&] { return peers.NodeState(member); });
  MemberProbe p;
  if (Status s = ProbePostgres(MemberConnInfo(member, options.node_config), options.timeout, &p);
      !s.ok()) {
    p = MemberProbe{};
    p.pg_error = s.message();
  }
  auto state = agent.get();
  if (!state.ok()) {
    p.api_error = state.status().message();
  } else {
    if (auto armed = state->find("watchdog_armed"); armed != state->end() && armed->is_boolean()) {
      p.watchdog_armed = armed->get<bool>();
    }
  }
  return p;
}

EtcdProbe ProbeEtcd(const std::string& endpoint, const std::string& cluster, Duration timeout) {
  EtcdProbe probe{endpoint, "", 0};
  EtcdDcs dcs({endpoint}, timeout);
  const auto start = std::chrono::steady_clock::now();
  auto read = dcs.GetPrefix(ClusterStore::Prefix(cluster) + "leader");
  probe.latency_ms = MillisecondsSince(start);
  if (!read.ok()) probe.error = read.status().message();
  return probe;
}

// Writes a row on the leader and polls every replica for it until each has it or the deadline.
SmokeWrite WriteAndReadBack(const ClusterFacts& facts, const GatherOptions& options) {
  SmokeWrite smoke;
  const MemberInfo* leader = facts.view.LeaderMember();
  if (leader == nullptr) {
    smoke.error = "no leader to write on";
    return smoke;
  }
  const std::string token =
      fmt::format("{}-{}", getpid(), std::chrono::system_clock::now().time_since_epoch().count());
  auto conn = PgConnection::Connect(MemberConnInfo(*leader, options.node_config), options.timeout);
  if (!conn.ok()) {
    smoke.error = conn.status().message();
    return smoke;
  }
  const auto start = std::chrono::steady_clock::now();
  Status written = (*conn)->Execute(
      "CREATE TABLE IF NOT EXISTS baton_doctor (token text PRIMARY KEY,"
      " written_at timestamptz NOT NULL DEFAULT now())");
  if (written.ok()) {
    written = (*conn)->Execute("INSERT INTO baton_doctor (token) VALUES (" +
                               (*conn)->Literal(token) + ")");
  }
  if (!written.ok()) {
    smoke.error = written.message();
    // A commit that timed out may still have committed.
    if ((*conn)->healthy()) {
      (void)(*conn)->Execute("DELETE FROM baton_doctor WHERE token = " + (*conn)->Literal(token));
    }
    return smoke;
  }
  smoke.write_ms = MillisecondsSince(start);
  const auto written_at = std::chrono::steady_clock::now();
  const auto deadline = written_at + options.smoke_timeout;
  std::vector<std::future<std::pair<std::optional<double>, std::string>>> reads;
  std::vector<std::string> replicas;
  for (const auto& [name, m] : facts.view.members) {
    if (name == leader->name) continue;
    replicas.push_back(name);
    const std::string conninfo = MemberConnInfo(m, options.node_config);
    reads.push_back(std::async(std::launch::async, [conninfo, token, deadline, written_at,
                                                    timeout = options.timeout] {
      std::string last_error;
      std::unique_ptr<PgConnection> replica;
      while (std::chrono::steady_clock::now() < deadline) {
        if (!replica || !replica->healthy()) {
          auto connected = PgConnection::Connect(conninfo, timeout);
          if (connected.ok())
            replica = std::move(*connected);
          else
            last_error = connected.status().message();
        }
        if (replica) {
          auto rows =
              replica->Query("SELECT 1 FROM baton_doctor WHERE token = " + replica->Literal(token));
          if (rows.ok() && !rows->empty()) {
            return std::make_pair(std::optional<double>(MillisecondsSince(written_at)),
                                  std::string());
          }
          if (!rows.ok()) last_error = rows.status().message();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      return std::make_pair(std::optional<double>(), last_error);
    }));
  }
  for (size_t i = 0; i < reads.size(); ++i) {
    auto [seen, error] = reads[i].get();
    smoke.seen_after_ms[replicas[i]] = seen;
    if (!seen) smoke.read_error[replicas[i]] = error.empty() ? "not replicated in time" : error;
  }
  (void)(*conn)->Execute("DELETE FROM baton_doctor WHERE token = " + (*conn)->Literal(token));
  return smoke;
}

}  // namespace

ClusterFacts GatherFacts(const GatherOptions& options) {
  ClusterFacts facts;
  facts.cluster = options.cluster;
  std::vector<std::future<EtcdProbe>> etcd;
  for (const std::string& endpoint : options.etcd_endpoints) {
    etcd.push_back(
        std::async(std::launch::async, ProbeEtcd, endpoint, options.cluster, options.timeout));
  }
  {
    EtcdDcs dcs(options.etcd_endpoints, options.timeout);
    SteadyClock clock;
    ClusterStore store(dcs, options.cluster, "", 10, clock);
    const auto start = std::chrono::steady_clock::now();
    auto view = store.Load();
    facts.view_latency_ms = MillisecondsSince(start);
    if (view.ok()) {
      facts.view = std::move(*view);
    } else {
      facts.view_error = view.status().message();
    }
  }
  for (auto& probe : etcd) facts.etcd.push_back(probe.get());
  if (!facts.view_error.empty()) return facts;
  if (facts.view.members.empty() && facts.view.nodes.empty()) {
    facts.view_error = "no cluster named '" + options.cluster + "' in etcd";
    return facts;
  }

  const Config base = options.node_config.value_or(Config{});
  auto effective = ApplyDynamicConfig(base, facts.view.Settings());
  const Config& settings = effective.ok() ? *effective : base;
  facts.maximum_lag_bytes = settings.timing.maximum_lag_on_failover;
  facts.synchronous_mode = SyncModeName(settings.ha.synchronous_mode);

  PeerClient peers(base, options.timeout);
  std::map<std::string, std::future<MemberProbe>> probes;
  for (const auto& [name, m] : facts.view.members) {
    probes[name] = std::async(
        std::launch::async, [&m = m, &options, &peers] { return ProbeMember(m, options, peers); });
  }
  for (auto& [name, probe] : probes) facts.members[name] = probe.get();
  if (options.smoke_write) facts.smoke = WriteAndReadBack(facts, options);
  return facts;
}

}  // namespace baton
