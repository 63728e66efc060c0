#include "doctor/checks.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

namespace baton {

namespace {

// One line: libpq's messages carry newlines and tabs.
std::string OneLine(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\n' || c == '\t' || c == '\r') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

CheckResult Judge(std::string check, std::string member, CheckStatus status,
                  const std::string& reason, nlohmann::json figures = nlohmann::json::object()) {
  return {std::move(check), std::move(member), status, OneLine(reason), std::move(figures)};
}

std::string Join(const std::vector<std::string>& items) {
  return fmt::format("{}", fmt::join(items, ", "));
}

// The member the leader key names, when its PostgreSQL answered.
const MemberProbe* LeaderProbe(const ClusterFacts& f) {
  if (!f.view.leader) return nullptr;
  auto it = f.members.find(f.view.leader->name);
  if (it == f.members.end() || !it->second.pg_error.empty()) return nullptr;
  return &it->second;
}

CheckResult CheckEtcd(const ClusterFacts& f) {
  size_t answering = 0;
  std::string first_error;
  for (const EtcdProbe& p : f.etcd) {
    if (p.error.empty()) {
      ++answering;
    } else if (first_error.empty()) {
      first_error = p.endpoint + ": " + p.error;
    }
  }
  nlohmann::json figures = {
      {"endpoints", f.etcd.size()}, {"answering", answering}, {"read_ms", f.view_latency_ms}};
  if (!f.view_error.empty()) {
    return Judge("etcd", "", CheckStatus::kFail, "cannot read the cluster: " + f.view_error,
                 figures);
  }
  if (answering == f.etcd.size()) {
    return Judge("etcd", "", CheckStatus::kOk,
                 fmt::format("{} of {} endpoints answer; reading the cluster took {:.1f} ms",
                             answering, f.etcd.size(), f.view_latency_ms),
                 figures);
  }
  if (answering > f.etcd.size() / 2) {
    return Judge("etcd", "", CheckStatus::kWarn,
                 fmt::format("{} of {} endpoints answer from here; {}", answering, f.etcd.size(),
                             first_error),
                 figures);
  }
  // The cluster was read (a quorum answered it), but most endpoints do not answer from here.
  return Judge("etcd", "", CheckStatus::kFail,
               fmt::format("only {} of {} endpoints answer from here; {}", answering, f.etcd.size(),
                           first_error),
               figures);
}

CheckResult CheckPrimary(const ClusterFacts& f) {
  std::vector<std::string> writable;
  std::vector<std::string> silent;
  for (const auto& [name, p] : f.members) {
    if (!p.pg_error.empty()) {
      silent.push_back(name);
    } else if (!p.in_recovery) {
      writable.push_back(name);
    }
  }
  const std::string leader = f.view.leader ? f.view.leader->name : "";
  nlohmann::json figures = {{"writable", writable},
                            {"not_answering", silent},
                            {"leader", leader.empty() ? nlohmann::json() : nlohmann::json(leader)}};
  const std::string unknown =
      silent.empty() ? "" : " (PostgreSQL did not answer on " + Join(silent) + ")";
  if (writable.empty()) {
    return Judge("primary", leader, CheckStatus::kFail,
                 (leader.empty() ? "no writable primary, and no member holds the leader key"
                                 : "no writable primary; the leader key names " + leader) +
                     unknown,
                 figures);
  }
  if (writable.size() > 1) {
    return Judge("primary", "", CheckStatus::kFail,
                 fmt::format("{} writable primaries: {}", writable.size(), Join(writable)),
                 figures);
  }
  if (leader.empty()) {
    return Judge("primary", writable[0], CheckStatus::kFail,
                 writable[0] + " is writable but no member holds the leader key", figures);
  }
  if (writable[0] != leader) {
    return Judge("primary", writable[0], CheckStatus::kFail,
                 writable[0] + " is writable but the leader key names " + leader, figures);
  }
  const MemberProbe& p = f.members.at(leader);
  figures["timeline"] = p.timeline;
  figures["lsn"] = p.lsn.ToString();
  if (!silent.empty()) {
    return Judge("primary", leader, CheckStatus::kWarn,
                 "holds the leader key and is writable, but whether it is the only writable "
                 "primary is unknown" +
                     unknown,
                 figures);
  }
  return Judge("primary", leader, CheckStatus::kOk,
               fmt::format("the only writable primary, and it holds the leader key (timeline {}, "
                           "at {})",
                           p.timeline, p.lsn.ToString()),
               figures);
}

CheckResult CheckMaintenance(const ClusterFacts& f) {
  if (f.view.paused) {
    return Judge("maintenance", "", CheckStatus::kWarn,
                 "the cluster is paused: no automatic failover until `baton resume`");
  }
  return Judge("maintenance", "", CheckStatus::kOk, "not paused: automatic failover is on");
}

CheckResult CheckWatchdog(const ClusterFacts& f, const MemberProbe& leader) {
  const std::string& name = f.view.leader->name;
  if (!leader.api_error.empty()) {
    return Judge(
        "watchdog", name, CheckStatus::kFail,
        "the leader's agent does not answer, so its watchdog is unknown: " + leader.api_error);
  }
  if (!leader.watchdog_armed) {
    return Judge("watchdog", name, CheckStatus::kWarn,
                 "the leader's agent does not report its watchdog (an older baton?)");
  }
  if (!*leader.watchdog_armed) {
    return Judge("watchdog", name, CheckStatus::kFail,
                 "not armed: a stalled agent would leave the primary writable past its lease");
  }
  return Judge("watchdog", name, CheckStatus::kOk,
               "armed: it kills PostgreSQL should the lease deadline pass unrenewed");
}

CheckResult CheckSynchronous(const ClusterFacts& f, const MemberProbe& leader) {
  const std::string& name = f.view.leader->name;
  nlohmann::json figures = {{"synchronous_mode", f.synchronous_mode},
                            {"synchronous_standby_names", leader.synchronous_standby_names}};
  if (f.synchronous_mode == "off") {
    if (!leader.synchronous_standby_names.empty()) {
      return Judge("synchronous", name, CheckStatus::kWarn,
                   "synchronous_mode is off but PostgreSQL still waits for '" +
                       leader.synchronous_standby_names + "'",
                   figures);
    }
    return Judge("synchronous", name, CheckStatus::kOk, "asynchronous (synchronous_mode: off)",
                 figures);
  }
  const auto& sync = f.view.sync;
  if (!sync || sync->leader != name) {
    return Judge("synchronous", name, CheckStatus::kFail,
                 fmt::format("synchronous_mode is {} but /sync {}", f.synchronous_mode,
                             sync ? "names " + sync->leader + " as its leader" : "is missing"),
                 figures);
  }
  figures["standbys"] = sync->standbys;
  figures["acks"] = sync->acks;
  std::vector<std::string> not_waited_for;
  for (const std::string& standby : sync->standbys) {
    auto sender = std::find_if(leader.senders.begin(), leader.senders.end(),
                               [&](const SenderRow& s) { return s.application_name == standby; });
    if (sender == leader.senders.end() || sender->state != "streaming" ||
        (sender->sync_state != "sync" && sender->sync_state != "quorum")) {
      not_waited_for.push_back(standby);
    }
  }
  if (!not_waited_for.empty()) {
    return Judge("synchronous", name, CheckStatus::kFail,
                 "/sync lists " + Join(not_waited_for) +
                     ", but PostgreSQL does not wait for them (see pg_stat_replication)",
                 figures);
  }
  if (sync->acks == 0) {
    return Judge("synchronous", name, CheckStatus::kWarn,
                 "synchronous_mode is " + f.synchronous_mode +
                     " but no standby confirms commits now (/sync: acks 0)",
                 figures);
  }
  return Judge("synchronous", name, CheckStatus::kOk,
               fmt::format("{} of {} listed standbys ({}) confirm every commit, as /sync records",
                           sync->acks, sync->standbys.size(), Join(sync->standbys)),
               figures);
}

CheckResult CheckSlots(const ClusterFacts& f, const MemberProbe& leader) {
  const std::string& name = f.view.leader->name;
  nlohmann::json figures = nlohmann::json::array();
  std::vector<std::string> hoarding;
  for (const SlotRow& s : leader.slots) {
    figures.push_back({{"slot", s.name},
                       {"active", s.active},
                       {"retained_bytes", s.retained_bytes},
                       {"lost", s.lost}});
    if (s.lost) {
      hoarding.push_back(s.name + " (lost: the WAL it needs is gone)");
    } else if (!s.active && s.retained_bytes > kSlotRetentionLimitBytes) {
      hoarding.push_back(fmt::format("{} ({} bytes)", s.name, s.retained_bytes));
    }
  }
  if (!hoarding.empty()) {
    return Judge("slots", name, CheckStatus::kWarn,
                 "slots lost, or inactive and holding more than " +
                     std::to_string(kSlotRetentionLimitBytes) + " bytes of WAL: " + Join(hoarding),
                 {{"slots", figures}});
  }
  if (leader.slots.empty()) {
    return Judge("slots", name, CheckStatus::kOk,
                 "no replication slots (baton's replicas stream within wal_keep_size)",
                 {{"slots", figures}});
  }
  return Judge("slots", name, CheckStatus::kOk,
               fmt::format("{} slot(s), none inactive and holding more than {} bytes",
                           leader.slots.size(), kSlotRetentionLimitBytes),
               {{"slots", figures}});
}

CheckResult CheckArchiving(const ClusterFacts& f, const MemberProbe& leader) {
  const std::string& name = f.view.leader->name;
  nlohmann::json figures = {{"archive_mode", leader.archive_mode},
                            {"archived_count", leader.archived_count},
                            {"failed_count", leader.archive_failed_count}};
  if (leader.archive_mode.empty() || leader.archive_mode == "off") {
    return Judge("archiving", name, CheckStatus::kOk, "archive_mode is off", figures);
  }
  if (leader.archive_failing) {
    return Judge("archiving", name, CheckStatus::kFail,
                 fmt::format("archiving fails: the last attempt, for {}, failed ({} failures)",
                             leader.last_failed_wal, leader.archive_failed_count),
                 figures);
  }
  return Judge(
      "archiving", name, CheckStatus::kOk,
      fmt::format("{} WAL files archived; the last attempt succeeded", leader.archived_count),
      figures);
}

CheckResult CheckReachable(const std::string& name, const MemberInfo* record,
                           const MemberProbe* p) {
  if (record == nullptr) {
    return Judge("reachable", name, CheckStatus::kFail,
                 "registered, but no member record: its agent is down or cannot reach etcd");
  }
  nlohmann::json figures = {{"state", MemberStateName(record->state)},
                            {"role", MemberRoleName(record->role)}};
  if (p == nullptr || !p->pg_error.empty()) {
    return Judge("reachable", name, CheckStatus::kFail,
                 "PostgreSQL does not answer: " + (p ? p->pg_error : std::string("not probed")),
                 figures);
  }
  if (!p->api_error.empty()) {
    return Judge("reachable", name, CheckStatus::kFail,
                 "the agent's REST API does not answer: " + p->api_error, figures);
  }
  return Judge("reachable", name, CheckStatus::kOk, "PostgreSQL and the agent answer", figures);
}

CheckResult CheckReplication(const ClusterFacts& f, const std::string& name, const MemberProbe& p,
                             const MemberProbe& leader) {
  const std::string& leader_name = f.view.leader->name;
  const MemberInfo* leader_record = f.view.Member(leader_name);
  const std::string leader_address = leader_record ? leader_record->pg_address : "";
  if (!p.in_recovery) {
    return Judge("replication", name, CheckStatus::kFail,
                 "runs as a writable primary, not as a replica of " + leader_name);
  }
  if (p.receiver_status.empty()) {
    return Judge("replication", name, CheckStatus::kFail,
                 "no WAL receiver: it does not stream from " + leader_name);
  }
  if (p.receiver_status != "streaming") {
    return Judge("replication", name, CheckStatus::kFail,
                 "its WAL receiver is " + p.receiver_status + ", not streaming");
  }
  if (p.sender_address != leader_address) {
    return Judge("replication", name, CheckStatus::kFail,
                 fmt::format("streams from {}, not from the leader {} at {}", p.sender_address,
                             leader_name, leader_address));
  }
  if (p.timeline != leader.timeline) {
    return Judge(
        "replication", name, CheckStatus::kFail,
        fmt::format("streams on timeline {}, the leader is on {}", p.timeline, leader.timeline));
  }
  // As failover ranks candidates: by the furthest WAL received (or replayed), not replay alone.
  const uint64_t lag_bytes = leader.lsn > p.lsn ? leader.lsn.value - p.lsn.value : uint64_t{0};
  const uint64_t replay_lag_bytes =
      leader.lsn > p.replay_lsn ? leader.lsn.value - p.replay_lsn.value : uint64_t{0};
  double lag_seconds = 0;
  for (const SenderRow& s : leader.senders) {
    if (s.application_name == name) lag_seconds = s.replay_lag_seconds;
  }
  nlohmann::json figures = {{"lag_bytes", lag_bytes},
                            {"replay_lag_bytes", replay_lag_bytes},
                            {"lag_seconds", lag_seconds},
                            {"maximum_lag_on_failover", f.maximum_lag_bytes},
                            {"timeline", p.timeline}};
  if (lag_bytes > f.maximum_lag_bytes) {
    // In synchronous mode the record, not the lag, decides who may be promoted.
    const std::string consequence =
        f.synchronous_mode == "off" ? ": not eligible for failover now" : "";
    return Judge("replication", name, CheckStatus::kWarn,
                 fmt::format("lags {} bytes ({:.2f} s), more than maximum_lag_on_failover ({}){}",
                             lag_bytes, lag_seconds, f.maximum_lag_bytes, consequence),
                 figures);
  }
  return Judge("replication", name, CheckStatus::kOk,
               fmt::format("streams from {} on timeline {}; lag {} bytes, {:.2f} s", leader_name,
                           p.timeline, lag_bytes, lag_seconds),
               figures);
}

// A member off the leader's timeline has diverged when it holds WAL past the point where the
// leader's history left its timeline: that WAL is not in the leader's history.
CheckResult CheckTimeline(const std::string& name, uint32_t timeline, Lsn position,
                          bool from_record, const MemberProbe& leader) {
  const std::string source = from_record ? " (from its record)" : "";
  nlohmann::json figures = {{"timeline", timeline},
                            {"position", position.ToString()},
                            {"leader_timeline", leader.timeline}};
  if (timeline == leader.timeline) {
    return Judge("timeline", name, CheckStatus::kOk,
                 fmt::format("on the leader's timeline {}{}", timeline, source), figures);
  }
  if (timeline > leader.timeline) {
    return Judge("timeline", name, CheckStatus::kFail,
                 fmt::format("on timeline {}, past the leader's {}: a history the leader does not "
                             "have{}",
                             timeline, leader.timeline, source),
                 figures);
  }
  auto fork = std::find_if(leader.history.begin(), leader.history.end(),
                           [&](const TimelineSwitch& s) { return s.timeline == timeline; });
  if (fork == leader.history.end() && !leader.details_read) {
    return Judge("timeline", name, CheckStatus::kWarn,
                 fmt::format("on timeline {}, the leader on {}; the leader's history could not be "
                             "read{}",
                             timeline, leader.timeline, source),
                 figures);
  }
  if (fork == leader.history.end()) {
    return Judge(
        "timeline", name, CheckStatus::kFail,
        fmt::format("on timeline {}, which is not in the leader's history{}", timeline, source),
        figures);
  }
  figures["fork_lsn"] = fork->switch_lsn.ToString();
  if (position > fork->switch_lsn) {
    return Judge("timeline", name, CheckStatus::kFail,
                 fmt::format("diverged: WAL up to {} on timeline {}, past the leader's fork at {} "
                             "(pg_rewind or reinit needed){}",
                             position.ToString(), timeline, fork->switch_lsn.ToString(), source),
                 figures);
  }
  return Judge("timeline", name, CheckStatus::kOk,
               fmt::format("on timeline {} at {}, before the leader's fork at {}: it can follow "
                           "to timeline {}{}",
                           timeline, position.ToString(), fork->switch_lsn.ToString(),
                           leader.timeline, source),
               figures);
}

CheckResult CheckPendingRestart(const std::string& name, const MemberInfo& record) {
  if (!record.pending_restart.empty()) {
    return Judge("config", name, CheckStatus::kWarn,
                 "settings wait for a restart (`baton restart " + name +
                     " --pending`): " + Join(record.pending_restart),
                 {{"pending_restart", record.pending_restart}});
  }
  return Judge("config", name, CheckStatus::kOk, "no setting waits for a restart",
               {{"pending_restart", nlohmann::json::array()}});
}

void CheckSmokeWrite(const ClusterFacts& f, std::vector<CheckResult>* out) {
  const SmokeWrite& smoke = *f.smoke;
  const std::string leader = f.view.leader ? f.view.leader->name : "";
  if (!smoke.error.empty()) {
    out->push_back(Judge("smoke-write", leader, CheckStatus::kFail,
                         "could not write the smoke row: " + smoke.error));
    return;
  }
  out->push_back(Judge("smoke-write", leader, CheckStatus::kOk,
                       fmt::format("wrote a row in {:.1f} ms", smoke.write_ms),
                       {{"write_ms", smoke.write_ms}}));
  for (const auto& [replica, seen] : smoke.seen_after_ms) {
    if (seen) {
      out->push_back(Judge("smoke-write", replica, CheckStatus::kOk,
                           fmt::format("read the row back {:.1f} ms after it was written", *seen),
                           {{"seen_after_ms", *seen}}));
    } else {
      auto error = smoke.read_error.find(replica);
      out->push_back(
          Judge("smoke-write", replica, CheckStatus::kFail,
                "never saw the row" +
                    (error != smoke.read_error.end() ? ": " + error->second : std::string())));
    }
  }
}

}  // namespace

const char* CheckStatusName(CheckStatus status) {
  switch (status) {
    case CheckStatus::kOk:
      return "ok";
    case CheckStatus::kWarn:
      return "warn";
    case CheckStatus::kFail:
      return "fail";
  }
  return "fail";
}

std::vector<CheckResult> RunChecks(const ClusterFacts& f) {
  std::vector<CheckResult> out;
  out.push_back(CheckEtcd(f));
  if (!f.view_error.empty()) return out;  // nothing else is known
  out.push_back(CheckPrimary(f));
  out.push_back(CheckMaintenance(f));
  const MemberProbe* leader = LeaderProbe(f);
  if (leader != nullptr && !leader->in_recovery) {
    out.push_back(CheckWatchdog(f, *leader));
    if (leader->details_read) {
      out.push_back(CheckSynchronous(f, *leader));
      out.push_back(CheckSlots(f, *leader));
      out.push_back(CheckArchiving(f, *leader));
    } else {
      out.push_back(Judge("details", f.view.leader->name, CheckStatus::kWarn,
                          "synchronous standbys, slots, archiving and the timeline history not "
                          "checked: " +
                              leader->details_error));
    }
  }
  std::set<std::string> names;
  for (const auto& [name, record] : f.view.members) names.insert(name);
  for (const auto& [name, node] : f.view.nodes) names.insert(name);
  for (const std::string& name : names) {
    const MemberInfo* record = f.view.Member(name);
    auto probe = f.members.find(name);
    const MemberProbe* p = probe == f.members.end() ? nullptr : &probe->second;
    out.push_back(CheckReachable(name, record, p));
    if (record == nullptr) continue;
    const bool is_leader = f.view.leader && f.view.leader->name == name;
    const bool answered = p != nullptr && p->pg_error.empty();
    if (!is_leader && leader != nullptr && !leader->in_recovery) {
      if (answered) out.push_back(CheckReplication(f, name, *p, *leader));
      out.push_back(answered ? CheckTimeline(name, p->timeline, p->lsn, false, *leader)
                             : CheckTimeline(name, record->timeline, record->lsn, true, *leader));
    }
    out.push_back(CheckPendingRestart(name, *record));
  }
  if (f.smoke) CheckSmokeWrite(f, &out);
  return out;
}

CheckStatus WorstStatus(const std::vector<CheckResult>& results) {
  CheckStatus worst = CheckStatus::kOk;
  for (const CheckResult& r : results) worst = std::max(worst, r.status);
  return worst;
}

}  // namespace baton
