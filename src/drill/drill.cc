#include "drill/drill.h"

#include <fmt/format.h>

#include <memory>
#include <set>
#include <thread>

#include "drill/write_load.h"
#include "pg/pg_connection.h"

namespace baton {

namespace {

// Writes are back after the fault once they flow again: acknowledged in the last half second,
// with no error in that time, and past the fault's settling second. (A commit or two that a
// dying server still acknowledges amid the first errors is not "back".)
bool WritesBack(const std::vector<std::unique_ptr<WriteLoad>>& loads, TimePoint fault_at) {
  const auto now = std::chrono::steady_clock::now();
  const auto window = now - std::chrono::milliseconds(500);
  if (now - fault_at < std::chrono::seconds(1)) return false;
  bool acked_recently = false;
  for (const auto& load : loads) {
    for (const auto& e : load->Errors()) {
      if (e.at >= window) return false;
    }
    acked_recently = acked_recently || load->FirstAckAfter(window).has_value();
  }
  return acked_recently;
}

}  // namespace

Result<ServerIdentity> WritableServer(const std::string& dsn) {
  auto conn = PgConnection::Connect(dsn);
  if (!conn.ok()) return conn.status();
  auto rows = (*conn)->Query(
      "SELECT host(inet_server_addr()) || ':' || inet_server_port(),"
      " ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int");
  if (!rows.ok()) return rows.status();
  if (rows->size() != 1) return Unavailable("no answer from the primary");
  return ServerIdentity{rows->front()[0].value_or(""),
                        static_cast<uint32_t>(std::stoul(rows->front()[1].value_or("0")))};
}

Drill::Drill(DrillTarget target, Fault& fault, DrillOptions options,
             std::function<void(const std::string&)> progress)
    : target_(std::move(target)),
      fault_(fault),
      options_(options),
      progress_(std::move(progress)) {}

Status Drill::CheckHealthy(Duration wait) {
  if (options_.force) return Status::Ok();
  if (target_.cluster != nullptr) {
    Status healthy = target_.cluster->WaitHealthy(wait);
    if (!healthy.ok()) {
      return FailedPrecondition("the cluster is not healthy (" + healthy.message() +
                                "); --force runs the drill anyway");
    }
    return healthy;
  }
  const auto deadline = std::chrono::steady_clock::now() + wait;
  Result<ServerIdentity> primary = Unavailable("not tried");
  while (!(primary = WritableServer(target_.dsn)).ok() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // poll interval
  }
  if (!primary.ok()) {
    return FailedPrecondition("no writable primary answers (" + primary.status().message() +
                              "); --force runs the drill anyway");
  }
  return Status::Ok();
}

std::vector<DrillRound> Drill::Run() {
  std::vector<DrillRound> rounds;
  for (int n = 1; n <= options_.rounds; ++n) {
    rounds.push_back(RunRound(n));
    if (!rounds.back().failure.empty()) break;
  }
  return rounds;
}

DrillRound Drill::RunRound(int number) {
  DrillRound round;
  round.number = number;
  round.fault = fault_.name();
  auto say = [&](const std::string& text) {
    if (progress_) progress_(fmt::format("round {}/{}: {}", number, options_.rounds, text));
  };
  if (number > 1) {
    say("waiting for the cluster to be healthy again");
    if (Status s = CheckHealthy(std::chrono::seconds(120)); !s.ok()) {
      round.failure = s.message();
      return round;
    }
  }
  auto primary = WritableServer(target_.dsn);
  if (!primary.ok()) {
    round.failure = "no writable primary: " + primary.status().message();
    return round;
  }
  std::vector<std::unique_ptr<WriteLoad>> loads;
  std::vector<std::unique_ptr<WriteLoad>> pinned;
  for (int c = 1; c <= options_.clients; ++c) {
    loads.push_back(std::make_unique<WriteLoad>(
        target_.dsn, fmt::format("baton_drill_{}_{}_{}", getpid(), number, c)));
  }
  for (size_t p = 0; p < options_.pinned_dsns.size(); ++p) {
    WriteLoadOptions o;
    o.prepare_dsn = target_.dsn;
    o.pinned = true;
    o.pace = std::chrono::milliseconds(10);
    pinned.push_back(std::make_unique<WriteLoad>(
        options_.pinned_dsns[p], fmt::format("baton_drill_{}_{}_p{}", getpid(), number, p + 1), o));
  }
  for (auto* group : {&loads, &pinned}) {
    for (auto& load : *group) {
      if (Status s = load->Prepare(std::chrono::seconds(30)); !s.ok()) {
        round.failure = "creating the clients' tables: " + s.message();
        return round;
      }
    }
  }
  const TimePoint started = std::chrono::steady_clock::now();
  for (auto* group : {&loads, &pinned}) {
    for (auto& load : *group) load->Start();
  }
  auto acked = [&] {
    size_t n = 0;
    for (const auto& load : loads) n += load->acked_count();
    return n;
  };
  auto errors = [&] {
    size_t n = 0;
    for (const auto& load : loads) n += load->Errors().size();
    return n;
  };
  const double warmup = std::min(1.0, options_.duration_seconds / 3);
  while (SecondsSince(started) < warmup) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // pacing the warm-up
  }
  say(fmt::format("{} on {} ({} writes so far)", fault_.name(), primary->server, acked()));
  const TimePoint fault_at = std::chrono::steady_clock::now();
  Status injected = fault_.Inject(primary->server);
  bool healed = false;
  bool back = false;
  const bool back_after_heal = options_.back_after_heal && fault_.hold() > Duration::zero();
  TimePoint healed_at = fault_at;
  auto last_report = fault_at;
  while (injected.ok() && SecondsSince(fault_at) < options_.timeout_seconds) {
    const bool held = std::chrono::steady_clock::now() - fault_at >= fault_.hold();
    // A fault with a hold (a stopped node) ends at its time; any other only once writes are back
    // (restarting a killed node earlier would undo the fault before the cluster reacted).
    if (held && !healed && (back || fault_.hold() > Duration::zero())) {
      healed = true;
      healed_at = std::chrono::steady_clock::now();
      if (Status s = fault_.Heal(); !s.ok()) round.failure = "healing: " + s.message();
    }
    if (!back_after_heal || healed) {
      back = back || WritesBack(loads, back_after_heal ? healed_at : fault_at);
    }
    if (back && held && SecondsSince(started) >= options_.duration_seconds) break;
    if (std::chrono::steady_clock::now() - last_report >= std::chrono::milliseconds(250)) {
      last_report = std::chrono::steady_clock::now();
      say(fmt::format("{:.1f} s after the fault: {} writes acknowledged, {} errors, {}",
                      SecondsSince(fault_at), acked(), errors(),
                      back ? "writes are back" : "waiting for writes to come back"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // poll interval
  }
  // One more second of writes after they came back shows they stay back.
  const TimePoint settle = std::chrono::steady_clock::now();
  while (back && SecondsSince(settle) < 1) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // The round ends when the writers are told to stop: stopping them one by one takes a while,
  // and that while is no outage.
  const TimePoint ended = std::chrono::steady_clock::now();
  for (auto* group : {&loads, &pinned}) {
    for (auto& load : *group) load->Stop();
  }
  if (!healed) {
    if (Status s = fault_.Heal(); !s.ok() && round.failure.empty()) {
      round.failure = "healing: " + s.message();
    }
  }
  if (options_.after_heal) options_.after_heal();
  if (!injected.ok()) {
    round.failure = "injecting the fault: " + injected.message();
    return round;
  }
  if (!back) {
    round.failure =
        fmt::format("writes did not come back within {:.0f} s", options_.timeout_seconds);
  }

  // What survived, as the final primary has it.
  say("checking every acknowledged write on the final primary");
  std::unique_ptr<PgConnection> conn;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!conn && std::chrono::steady_clock::now() < deadline) {
    auto connected = PgConnection::Connect(target_.dsn);
    if (connected.ok()) {
      conn = std::move(connected).value();
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));  // poll interval
    }
  }
  if (!conn) {
    round.failure = "no writable primary after the round to check the writes on";
    return round;
  }
  if (auto final_primary = WritableServer(target_.dsn); final_primary.ok()) {
    round.timeline = final_primary->timeline;
  }
  std::vector<ClientRecord> records;
  for (const auto* group : {&loads, &pinned}) {
    for (const auto& load : *group) {
      ClientRecord record;
      record.pinned = group == &pinned;
      record.acks = load->Acked();
      record.errors = load->Errors();
      auto rows = conn->Query("SELECT id FROM " + load->table());
      std::set<int64_t> present;
      if (rows.ok()) {
        for (const auto& row : *rows) present.insert(std::stoll(row[0].value_or("0")));
      }
      for (const auto& ack : record.acks) record.present.push_back(present.count(ack.id) > 0);
      records.push_back(std::move(record));
      (void)conn->Execute("DROP TABLE IF EXISTS " + load->table());
    }
  }
  round.analysis = AnalyzeRound(records, started, fault_at, ended);
  return round;
}

}  // namespace baton
