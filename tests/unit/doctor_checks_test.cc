// The doctor's checks on hand-made facts: each way a cluster can be wrong, and the report's
// exit codes and JSON.
#include <gtest/gtest.h>

#include <algorithm>

#include "doctor/checks.h"
#include "doctor/doctor_report.h"

namespace baton {
namespace {

MemberInfo Record(const std::string& name, int port, MemberRole role) {
  MemberInfo m;
  m.name = name;
  m.pg_address = "127.0.0.1:" + std::to_string(port);
  m.api_url = "http://127.0.0.1:" + std::to_string(port + 1000);
  m.role = role;
  m.state = MemberState::kRunning;
  m.timeline = 2;
  return m;
}

MemberProbe Primary(uint32_t timeline, uint64_t lsn) {
  MemberProbe p;
  p.timeline = timeline;
  p.lsn = Lsn{lsn};
  p.archive_mode = "off";
  p.watchdog_armed = true;
  p.details_read = true;
  return p;
}

MemberProbe Replica(uint32_t timeline, uint64_t lsn, const std::string& sender) {
  MemberProbe p;
  p.in_recovery = true;
  p.timeline = timeline;
  p.lsn = p.replay_lsn = Lsn{lsn};
  p.receiver_status = "streaming";
  p.sender_address = sender;
  return p;
}

// node1 leads on timeline 2 at 0x5000; node2 and node3 stream from it, caught up.
ClusterFacts Healthy() {
  ClusterFacts f;
  f.cluster = "c";
  f.etcd = {{"127.0.0.1:2379", "", 1.0}};
  f.maximum_lag_bytes = 1 << 20;
  f.synchronous_mode = "off";
  f.view.leader = LeaderKey{"node1", 7, 1};
  f.view.members["node1"] = Record("node1", 5001, MemberRole::kPrimary);
  f.view.members["node2"] = Record("node2", 5002, MemberRole::kReplica);
  f.view.members["node3"] = Record("node3", 5003, MemberRole::kReplica);
  for (const char* n : {"node1", "node2", "node3"}) f.view.nodes[n] = nlohmann::json::object();
  f.members["node1"] = Primary(2, 0x5000);
  f.members["node1"].history = {{1, Lsn{0x3000}}};
  f.members["node2"] = Replica(2, 0x5000, "127.0.0.1:5001");
  f.members["node3"] = Replica(2, 0x5000, "127.0.0.1:5001");
  return f;
}

const CheckResult* Find(const std::vector<CheckResult>& results, const std::string& check,
                        const std::string& member) {
  auto it = std::find_if(results.begin(), results.end(), [&](const CheckResult& r) {
    return r.check == check && r.member == member;
  });
  return it == results.end() ? nullptr : &*it;
}

// The result of `check` on `member`, which must exist.
CheckResult Only(const ClusterFacts& f, const std::string& check, const std::string& member) {
  const auto results = RunChecks(f);
  const CheckResult* r = Find(results, check, member);
  EXPECT_NE(r, nullptr) << check << " " << member;
  return r ? *r : CheckResult{};
}

TEST(DoctorChecksTest, AHealthyClusterIsAllOkAndExitsZero) {
  const auto results = RunChecks(Healthy());
  for (const CheckResult& r : results) {
    EXPECT_EQ(r.status, CheckStatus::kOk) << r.check << " " << r.member << ": " << r.reason;
  }
  EXPECT_NE(Find(results, "primary", "node1"), nullptr);
  EXPECT_NE(Find(results, "replication", "node2"), nullptr);
  EXPECT_NE(Find(results, "timeline", "node3"), nullptr);
  EXPECT_NE(Find(results, "watchdog", "node1"), nullptr);
  EXPECT_EQ(Find(results, "replication", "node1"), nullptr);  // the leader streams from nobody
  EXPECT_EQ(DoctorExitCode(results), 0);
}

TEST(DoctorChecksTest, TwoWritablePrimariesFail) {
  ClusterFacts f = Healthy();
  f.members["node3"] = Primary(3, 0x6000);
  const CheckResult r = Only(f, "primary", "");
  EXPECT_EQ(r.status, CheckStatus::kFail);
  EXPECT_NE(r.reason.find("2 writable primaries: node1, node3"), std::string::npos) << r.reason;
  EXPECT_EQ(Only(f, "replication", "node3").status, CheckStatus::kFail);
  EXPECT_EQ(DoctorExitCode(RunChecks(f)), 2);
}

TEST(DoctorChecksTest, AWritableServerTheLeaderKeyDoesNotNameFails) {
  ClusterFacts f = Healthy();
  f.members["node1"] = Replica(2, 0x5000, "");
  f.members["node2"] = Primary(2, 0x5000);
  const CheckResult r = Only(f, "primary", "node2");
  EXPECT_EQ(r.status, CheckStatus::kFail);
  EXPECT_NE(r.reason.find("the leader key names node1"), std::string::npos) << r.reason;
}

TEST(DoctorChecksTest, ALeaderThatDoesNotAnswerMakesThePrimaryUnknown) {
  ClusterFacts f = Healthy();
  f.members["node1"].pg_error = "connection refused";
  const auto results = RunChecks(f);
  EXPECT_EQ(Find(results, "primary", "node1")->status, CheckStatus::kFail);
  EXPECT_NE(Find(results, "primary", "node1")->reason.find("did not answer on node1"),
            std::string::npos);
  EXPECT_EQ(Find(results, "reachable", "node1")->status, CheckStatus::kFail);
  EXPECT_EQ(Find(results, "watchdog", "node1"), nullptr);  // nothing to judge it on
}

TEST(DoctorChecksTest, AReplicaThatDoesNotAnswerLeavesThePrimaryAWarning) {
  ClusterFacts f = Healthy();
  f.members["node3"].pg_error = "connection refused";
  EXPECT_EQ(Only(f, "primary", "node1").status, CheckStatus::kWarn);
  EXPECT_EQ(Only(f, "reachable", "node3").status, CheckStatus::kFail);
  // Its timeline is judged from its record.
  EXPECT_NE(Only(f, "timeline", "node3").reason.find("from its record"), std::string::npos);
}

TEST(DoctorChecksTest, AReplicaBeyondTheLagLimitWarnsAndExitsOne) {
  ClusterFacts f = Healthy();
  f.members["node1"].lsn = Lsn{0x5000 + (2 << 20)};
  f.members["node1"].senders = {{"node2", "streaming", "async", Lsn{0x5000}, 1.5}};
  f.members["node3"].replay_lsn = f.members["node3"].lsn = f.members["node1"].lsn;
  const CheckResult r = Only(f, "replication", "node2");
  EXPECT_EQ(r.status, CheckStatus::kWarn);
  EXPECT_EQ(r.figures["lag_bytes"], 2u << 20);
  EXPECT_EQ(r.figures["lag_seconds"], 1.5);
  EXPECT_NE(r.reason.find("more than maximum_lag_on_failover"), std::string::npos) << r.reason;
  EXPECT_EQ(Only(f, "replication", "node3").status, CheckStatus::kOk);
  EXPECT_EQ(DoctorExitCode(RunChecks(f)), 1);
  // Received but not yet replayed is no bar to failover: as the candidate ranking reads it.
  f.members["node2"].lsn = f.members["node1"].lsn;
  EXPECT_EQ(Only(f, "replication", "node2").status, CheckStatus::kOk);
  EXPECT_EQ(Only(f, "replication", "node2").figures["replay_lag_bytes"], 2u << 20);
  // In synchronous mode the lag warns without claiming the replica is ineligible.
  f.members["node2"].lsn = Lsn{0x5000};
  f.synchronous_mode = "quorum";
  EXPECT_EQ(Only(f, "replication", "node2").reason.find("not eligible"), std::string::npos);
}

TEST(DoctorChecksTest, AReplicaStreamingFromElsewhereOrNotAtAllFails) {
  ClusterFacts f = Healthy();
  f.members["node2"].sender_address = "127.0.0.1:5003";
  EXPECT_NE(Only(f, "replication", "node2").reason.find("streams from 127.0.0.1:5003, not from"),
            std::string::npos);
  f.members["node2"].receiver_status = "";
  EXPECT_NE(Only(f, "replication", "node2").reason.find("no WAL receiver"), std::string::npos);
  f.members["node2"].receiver_status = "waiting";
  EXPECT_EQ(Only(f, "replication", "node2").status, CheckStatus::kFail);
}

TEST(DoctorChecksTest, AMemberPastTheLeadersForkHasDivergedOneBeforeItCanFollow) {
  ClusterFacts f = Healthy();
  // node2 stayed on timeline 1 and wrote past 0x3000, where the leader's history left it.
  f.members["node2"] = Replica(1, 0x3100, "127.0.0.1:5001");
  CheckResult r = Only(f, "timeline", "node2");
  EXPECT_EQ(r.status, CheckStatus::kFail);
  EXPECT_NE(r.reason.find("diverged"), std::string::npos) << r.reason;
  EXPECT_EQ(r.figures["fork_lsn"], Lsn{0x3000}.ToString());
  // At or before the fork it can still follow the leader onto timeline 2.
  f.members["node2"] = Replica(1, 0x3000, "127.0.0.1:5001");
  r = Only(f, "timeline", "node2");
  EXPECT_EQ(r.status, CheckStatus::kOk) << r.reason;
  // A timeline the leader's history does not have, or one past the leader's, is foreign.
  f.members["node2"] = Replica(4, 0x3000, "127.0.0.1:5001");
  EXPECT_EQ(Only(f, "timeline", "node2").status, CheckStatus::kFail);
  f.members["node1"].timeline = 3;
  f.members["node1"].history = {{1, Lsn{0x3000}}, {2, Lsn{0x4000}}};
  f.members["node2"] = Replica(5, 0x3000, "127.0.0.1:5001");
  EXPECT_NE(Only(f, "timeline", "node2").reason.find("past the leader's"), std::string::npos);
}

TEST(DoctorChecksTest, AnUnarmedOrUnknownWatchdogIsReported) {
  ClusterFacts f = Healthy();
  f.members["node1"].watchdog_armed = false;
  EXPECT_EQ(Only(f, "watchdog", "node1").status, CheckStatus::kFail);
  f.members["node1"].watchdog_armed.reset();
  EXPECT_EQ(Only(f, "watchdog", "node1").status, CheckStatus::kWarn);
  f.members["node1"].api_error = "connection refused";
  EXPECT_EQ(Only(f, "watchdog", "node1").status, CheckStatus::kFail);
  EXPECT_EQ(Only(f, "reachable", "node1").status, CheckStatus::kFail);
}

TEST(DoctorChecksTest, EtcdWarnsWithAQuorumAndFailsWithoutOne) {
  ClusterFacts f = Healthy();
  f.etcd = {{"a:1", "", 1}, {"b:1", "refused", 0}, {"c:1", "", 1}};
  CheckResult r = Only(f, "etcd", "");
  EXPECT_EQ(r.status, CheckStatus::kWarn);
  EXPECT_NE(r.reason.find("b:1: refused"), std::string::npos) << r.reason;
  f.etcd[2].error = "timed out";
  EXPECT_EQ(Only(f, "etcd", "").status, CheckStatus::kFail);
  // Without a cluster read, nothing else is judged.
  f.view_error = "etcd range: deadline exceeded";
  const auto results = RunChecks(f);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_NE(results[0].reason.find("deadline exceeded"), std::string::npos);
}

TEST(DoctorChecksTest, SynchronousModeChecksThatPostgresWaitsForTheRecordedStandbys) {
  ClusterFacts f = Healthy();
  f.synchronous_mode = "quorum";
  f.view.sync = SyncRecord::Make("node1", {"node2", "node3"}, 1);
  f.members["node1"].synchronous_standby_names = "ANY 1 (node2, node3)";
  f.members["node1"].senders = {{"node2", "streaming", "quorum", Lsn{0x5000}, 0},
                                {"node3", "streaming", "quorum", Lsn{0x5000}, 0}};
  EXPECT_EQ(Only(f, "synchronous", "node1").status, CheckStatus::kOk);
  f.members["node1"].senders[1].sync_state = "async";
  CheckResult r = Only(f, "synchronous", "node1");
  EXPECT_EQ(r.status, CheckStatus::kFail);
  EXPECT_NE(r.reason.find("/sync lists node3"), std::string::npos) << r.reason;
  f.view.sync.reset();
  EXPECT_NE(Only(f, "synchronous", "node1").reason.find("/sync is missing"), std::string::npos);
  // Asynchronous, but PostgreSQL still waits for someone: a warning.
  f = Healthy();
  f.members["node1"].synchronous_standby_names = "node2";
  EXPECT_EQ(Only(f, "synchronous", "node1").status, CheckStatus::kWarn);
}

TEST(DoctorChecksTest, SlotsArchivingPendingRestartsAndMaintenanceEachHaveTheirSay) {
  ClusterFacts f = Healthy();
  f.members["node1"].slots = {{"old", false, kSlotRetentionLimitBytes + 1}, {"live", true, 9}};
  EXPECT_EQ(Only(f, "slots", "node1").status, CheckStatus::kWarn);
  f.members["node1"].archive_mode = "on";
  f.members["node1"].archive_failing = true;
  f.members["node1"].archive_failed_count = 3;
  f.members["node1"].last_failed_wal = "000000020000000000000005";
  CheckResult r = Only(f, "archiving", "node1");
  EXPECT_EQ(r.status, CheckStatus::kFail);
  EXPECT_NE(r.reason.find("000000020000000000000005"), std::string::npos) << r.reason;
  f.view.members["node2"].pending_restart = {"shared_buffers"};
  EXPECT_EQ(Only(f, "config", "node2").status, CheckStatus::kWarn);
  f.view.paused = true;
  EXPECT_EQ(Only(f, "maintenance", "").status, CheckStatus::kWarn);
}

TEST(DoctorChecksTest, APrimaryWhoseDetailsCannotBeReadIsAWarningNotADeadServer) {
  ClusterFacts f = Healthy();
  f.members["node1"].details_read = false;
  f.members["node1"].details_error = "permission denied for function pg_read_file";
  f.members["node1"].history.clear();
  f.members["node2"] = Replica(1, 0x2000, "127.0.0.1:5001");
  const auto results = RunChecks(f);
  EXPECT_EQ(Find(results, "primary", "node1")->status, CheckStatus::kOk);
  EXPECT_EQ(Find(results, "reachable", "node1")->status, CheckStatus::kOk);
  const CheckResult* details = Find(results, "details", "node1");
  ASSERT_NE(details, nullptr);
  EXPECT_EQ(details->status, CheckStatus::kWarn);
  EXPECT_NE(details->reason.find("permission denied"), std::string::npos);
  EXPECT_EQ(Find(results, "synchronous", "node1"), nullptr);
  // Without the leader's history, an older timeline is unknown, not diverged.
  EXPECT_EQ(Find(results, "timeline", "node2")->status, CheckStatus::kWarn);
}

TEST(DoctorChecksTest, ALostSlotWarns) {
  ClusterFacts f = Healthy();
  f.members["node1"].slots = {{"gone", true, 0, true}};
  const CheckResult r = Only(f, "slots", "node1");
  EXPECT_EQ(r.status, CheckStatus::kWarn);
  EXPECT_NE(r.reason.find("gone (lost"), std::string::npos) << r.reason;
}

TEST(DoctorChecksTest, ARegisteredNodeWithoutARecordFails) {
  ClusterFacts f = Healthy();
  f.view.members.erase("node3");
  f.members.erase("node3");
  const CheckResult r = Only(f, "reachable", "node3");
  EXPECT_EQ(r.status, CheckStatus::kFail);
  EXPECT_NE(r.reason.find("no member record"), std::string::npos);
}

TEST(DoctorChecksTest, TheSmokeWriteReportsEachReplicaAndFailsOneThatNeverSawTheRow) {
  ClusterFacts f = Healthy();
  f.smoke = SmokeWrite{"", 2.5, {{"node2", 4.0}, {"node3", std::nullopt}}, {{"node3", "late"}}};
  const auto results = RunChecks(f);
  EXPECT_EQ(Find(results, "smoke-write", "node1")->status, CheckStatus::kOk);
  EXPECT_EQ(Find(results, "smoke-write", "node2")->figures["seen_after_ms"], 4.0);
  EXPECT_EQ(Find(results, "smoke-write", "node3")->status, CheckStatus::kFail);
  EXPECT_NE(Find(results, "smoke-write", "node3")->reason.find("late"), std::string::npos);
}

TEST(DoctorChecksTest, ReasonsAreOneLineAndTheReportCarriesEveryResult) {
  ClusterFacts f = Healthy();
  f.members["node2"].pg_error = "could not connect\n\tIs the server running?\n";
  const auto results = RunChecks(f);
  const CheckResult* r = Find(results, "reachable", "node2");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->reason, "PostgreSQL does not answer: could not connect Is the server running?");
  const nlohmann::json j = DoctorJson("c", results, 0.25);
  EXPECT_EQ(j["status"], "fail");
  EXPECT_EQ(j["exit_code"], 2);
  EXPECT_EQ(j["checks"].size(), results.size());
  EXPECT_EQ(j["checks"][0]["check"], "etcd");
  EXPECT_TRUE(j["checks"][0]["member"].is_null());
  EXPECT_EQ(j["counts"]["fail"], 1);
  const std::string table = DoctorTable("c", results, 0.25);
  EXPECT_EQ(table.rfind("Cluster c: ", 0), 0u);
  EXPECT_NE(table.find("CHECK"), std::string::npos);
  EXPECT_EQ(static_cast<size_t>(std::count(table.begin(), table.end(), '\n')), results.size() + 2);
}

}  // namespace
}  // namespace baton
