#include "ha/step_runner.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/json_text.h"
#include "core/wall_time.h"
#include "ha/decide.h"

namespace baton {

namespace {

// A transaction's outcome as a Status: lost (Aborted, saying `lost`) when it did not apply.
Status Won(const Result<bool>& result, const std::string& lost) {
  if (!result.ok()) return result.status();
  return *result ? Status::Ok() : Aborted(lost);
}

}  // namespace

StepRunner::StepRunner(const Config& config, ClusterStore& store, Instance& instance,
                       HookRunner& hooks, Alerts& alerts, const Clock& clock)
    : config_(config),
      store_(store),
      instance_(instance),
      hooks_(hooks),
      alerts_(alerts),
      clock_(clock) {}

TimePoint StepRunner::LeaseDeadline() const {
  return DeadlineFrom(store_.last_renewal_sent());
}

TimePoint StepRunner::DeadlineFrom(TimePoint sent) const {
  // The TTL of the lease actually held: after a TTL change, the old lease still has the old one.
  return sent + std::chrono::seconds(store_.lease_ttl_seconds()) - LeaseMargin();
}

Duration StepRunner::LeaseMargin() const {
  // Room for clock-rate differences and the time the renewal took to arrive at etcd. (In
  // nanoseconds: whole seconds / 4 would round a 3 s TTL's margin down to nothing.)
  const Duration ttl = std::chrono::seconds(store_.lease_ttl_seconds());
  return std::min<Duration>(std::chrono::seconds(1), ttl / 4);
}

TimePoint StepRunner::FencingDeadline() const {
  return failsafe_until_ ? std::max(lease_deadline_, *failsafe_until_) : lease_deadline_;
}

void StepRunner::FenceIfLeasePassedUnseen(bool was_writable) {
  if (!was_writable || lease_deadline_ == TimePoint{} || clock_.Now() < FencingDeadline()) return;
  // The agent was not looking (stalled, stopped, starved) while its lease ran out: another node
  // may lead by now. Stop writing before anything else, even a quick etcd round trip, during
  // which clients could commit writes the new primary never sees.
  spdlog::warn("the leader lease deadline passed while this agent was stalled: fencing first");
  const InstanceState before = instance_.Probe();
  if (!before.accepting || before.role != PgRole::kPrimary) return;
  if (Status s = instance_.Stop(StopMode::kImmediate); !s.ok()) {
    spdlog::error("fencing: {}", s.ToString());
    return;
  }
  Fenced(before.timeline, "the leader lease deadline passed while the agent was stalled");
  if (Status s = instance_.Start(PgRole::kReplica, std::nullopt); !s.ok()) {
    spdlog::error("restarting read-only after fencing: {}", s.ToString());
  }
}

Status StepRunner::ArmWatchdog() {
  if (Status s = instance_.ArmFence(FencingDeadline()); !s.ok()) {
    last_arm_failed_ = true;  // the old watchdog may be gone: never reported as armed
    return s.WithContext("arming the watchdog");
  }
  watchdog_armed_ = true;
  last_arm_failed_ = false;
  return Status::Ok();
}

void StepRunner::DisarmWatchdog() {
  if (!watchdog_armed_) return;
  if (Status s = instance_.DisarmFence(); !s.ok()) {
    spdlog::warn("disarming the watchdog: {}", s.ToString());
    return;
  }
  watchdog_armed_ = false;
}

Status StepRunner::Publish(MemberInfo self) {
  // The key lives on the lease; rewrite it only when something in it changed (or the lease
  // did), so an idle cluster does not churn etcd and members do not wake each other in turn.
  self.updated_unix = 0;
  const std::string content = JsonText(self.ToJson());
  if (content == last_published_ && store_.lease() == last_published_lease_) return Status::Ok();
  self.updated_unix = clock_.UnixNow();
  if (Status s = store_.PublishMember(self); !s.ok()) return s;
  last_published_ = content;
  last_published_lease_ = store_.lease();
  return Status::Ok();
}

Status StepRunner::ConfirmStillBest(const Observation& observed) {
  auto fresh = store_.Load();
  if (!fresh.ok()) return fresh.status();
  Observation again = observed;
  again.cluster = std::move(fresh).value();
  again.cluster.leader.reset();  // judge as before winning
  for (auto& [name, member] : again.cluster.members) {
    // Members that already saw this node as leader published after the loss: fresh.
    if (member.leader_seen == config_.node_name) member.leader_seen.clear();
  }
  const Decision second = Decide(again);
  const bool still_best = !second.steps.empty() && second.steps.front() == Step::kAcquireLeader;
  if (still_best) return Status::Ok();
  (void)store_.ReleaseLeader();
  return Aborted("won the key but is no longer the best candidate (" + second.reason +
                 "); gave it back");
}

Status StepRunner::LeaseValid() const {
  if (clock_.Now() < lease_deadline_) return Status::Ok();
  return FailedPrecondition("the leader lease may have ended; refusing to run as primary");
}

Status StepRunner::Run(Step step, const Decision& decision, const Observation& observed,
                       AgentMemory& memory) {
  const InstanceState& before = observed.instance;
  switch (step) {
    case Step::kClaimInitialize:
      return Won(store_.ClaimInitialize(), "another node is bootstrapping the cluster");
    case Step::kAcquireLeader: {
      if (Status s = Won(store_.AcquireLeader(SyncExpected(observed)),
                         "another node took the leader key (or /sync changed)");
          !s.ok()) {
        return s;
      }
      LeaseRenewed();  // the key now lives on the current lease
      if (Status s = ArmWatchdog(); !s.ok()) return s;
      // Bootstrap has no candidates to compare, and the operator's choice is not second-guessed.
      const bool takeover =
          observed.cluster.initialized_by.has_value() && !decision.operator_choice;
      return takeover ? ConfirmStillBest(observed) : Status::Ok();
    }
    case Step::kRenewLeader: {
      if (Status s = Won(store_.RenewLeader(), "the leader key no longer names this node");
          !s.ok()) {
        return s;
      }
      LeaseRenewed();  // the key is confirmed on the current lease
      return ArmWatchdog();
    }
    case Step::kReleaseLeader:
      return store_.ReleaseLeader();
    case Step::kTakeOverLeader: {
      // The standbys counted as detached must still read as counted: one that reattached
      // (and published so first) fails the transaction.
      const LeaderKey& old_leader_key = *observed.cluster.leader;
      const std::string& old_leader = old_leader_key.name;
      std::map<std::string, std::string> detached;
      for (const auto& [name, member] : observed.cluster.members) {
        if (name != config_.node_name && member.detached_from == old_leader) {
          detached[name] = observed.cluster.member_texts.at(name);
        }
      }
      if (Status s = Won(store_.TakeOverLeader(old_leader, old_leader_key.mod_revision,
                                               observed.cluster.sync_text, detached),
                         "the leader key, /sync or a detached standby changed meanwhile");
          !s.ok()) {
        return s;
      }
      LeaseRenewed();
      return ArmWatchdog();
    }
    case Step::kDetach: {
      if (Status s = instance_.Detach(); !s.ok()) return s;
      detached_from_ = observed.cluster.leader->name;
      // Published at once: the others count this node's final position to take over early.
      MemberInfo self = self_;
      self.detached_from = detached_from_;
      self.lsn = instance_.Probe().lsn;
      return Publish(self);
    }
    case Step::kWriteSyncRecord:
      return Won(store_.WriteSync(*decision.sync_record, observed.cluster.sync_text),
                 "/sync or the leader key changed meanwhile");
    case Step::kDeleteSyncRecord:
      return Won(store_.DeleteSync(observed.cluster.sync_text),
                 "/sync or the leader key changed meanwhile");
    case Step::kSetStandbyNames:
      return instance_.SetSynchronousStandbyNames(*decision.standby_names);
    case Step::kBootstrap: {
      Status s = LeaseValid();
      // Until this bootstrap is done no other node has data to serve, so no other primary can
      // exist: a slow initdb must not be killed for outliving the lease (that would leave a
      // half-made cluster behind). The next renewal arms the watchdog again.
      DisarmWatchdog();
      if (s.ok()) s = instance_.Bootstrap();
      if (!s.ok()) {
        (void)store_.ReleaseLeader();
        (void)store_.CancelInitialize();
        return s;
      }
      // Dynamic settings start empty: each node's file rules until `baton config set`.
      (void)store_.ReplaceConfig("", nlohmann::json::object());
      RecordRoleChange("bootstrap", decision.reason, memory);
      return Status::Ok();
    }
    case Step::kClone:
      return Clone(*decision.upstream, MemberState::kCloning);
    case Step::kStartPrimary:
      if (Status s = LeaseValid(); !s.ok()) return s;
      return StartAsPrimary();
    case Step::kStartReplica:
      if (decision.upstream) {
        if (Status s = EndDetachment(observed); !s.ok()) return s;
      }
      return instance_.Start(PgRole::kReplica, decision.upstream);
    case Step::kFollow:
      if (Status s = EndDetachment(observed); !s.ok()) return s;
      return instance_.Follow(*decision.upstream);
    case Step::kRewind:
      return Rejoin(*decision.upstream, memory);
    case Step::kPromote:
      return Promote(decision, observed, memory);
    case Step::kDemote: {
      if (Status s = EndDetachment(observed); !s.ok()) return s;
      if (Status s = instance_.Stop(StopMode::kFast); !s.ok()) return s;
      RecordRoleChange("demote", decision.reason, memory);
      return instance_.Start(PgRole::kReplica, decision.upstream);
    }
    case Step::kFence: {
      if (Status s = instance_.Stop(StopMode::kImmediate); !s.ok()) return s;
      if (before.role == PgRole::kPrimary) Fenced(before.timeline, decision.reason);
      return instance_.Start(PgRole::kReplica, std::nullopt);
    }
    case Step::kKill:
      return instance_.Stop(StopMode::kKill);
    case Step::kHandOver:
      return HandOver(decision, observed, memory);
    case Step::kEndSwitchover:
      return store_.EndSwitchover();
    case Step::kRefuseSwitchover: {
      RecordRoleChange("switchover-refused", decision.reason, memory);
      return store_.EndSwitchover();
    }
    case Step::kEndFailover:
      return store_.EndFailover();
    case Step::kRestart:
      return Restart(decision, observed);
    case Step::kReload:
      return instance_.Reconfigure(config_.pg_parameters);
    case Step::kReinit: {
      if (Status s = instance_.Stop(StopMode::kImmediate); !s.ok()) return s;
      if (Status s = instance_.RemoveData(); !s.ok()) return s;
      rejoined_.clear();
      if (Status s = Clone(*decision.upstream, MemberState::kReinit); !s.ok()) return s;
      RecordRoleChange("reinit", decision.reason, memory);
      return Status::Ok();
    }
    case Step::kEndAction:
      return EndAction(observed, true, decision.reason);
    case Step::kRefuseAction:
      return EndAction(observed, false, decision.reason);
  }
  return Internal("unknown step");
}

Status StepRunner::Promote(const Decision& decision, const Observation& observed,
                           AgentMemory& memory) {
  if (Status s = LeaseValid(); !s.ok()) return s;
  if (Status s = RunPromotionHooks(observed, memory); !s.ok()) {
    (void)store_.ReleaseLeader();
    promotion_refused_at_ = clock_.Now();
    RecordRoleChange("promotion-refused", s.ToString(), memory);
    return s.WithContext("promotion stopped; the leader key is given up");
  }
  if (Status s = LeaseValid(); !s.ok()) return s;
  if (auto sync_expected = SyncExpected(observed)) {
    // Until now the record stayed as the old leader left it (true: nothing was written
    // since). From here on it must also hold for what this node will acknowledge.
    const SyncRecord record =
        decision.sync_record.value_or(SyncRecord::LeaderOnly(config_.node_name));
    Status recorded =
        Won(store_.WriteSync(record, *sync_expected), "/sync changed after this node took the key");
    if (!recorded.ok()) {
      (void)store_.ReleaseLeader();
      return recorded.WithContext("promotion stopped; the leader key is given up");
    }
  }
  if (decision.standby_names) {
    if (Status s = instance_.SetSynchronousStandbyNames(*decision.standby_names); !s.ok()) {
      return s;
    }
  }
  if (Status s = ReclaimLeader(); !s.ok()) return s;
  if (Status s = instance_.Promote(); !s.ok()) return s;
  detached_from_.clear();
  RecordRoleChange(PromotionEvent(observed), decision.reason, memory);
  return Status::Ok();
}

Status StepRunner::Restart(const Decision& decision, const Observation& observed) {
  const bool leader = observed.cluster.leader && observed.cluster.leader->name == config_.node_name;
  if (!leader) {
    if (Status s = EndDetachment(observed); !s.ok()) return s;
    if (Status s = instance_.Stop(StopMode::kFast); !s.ok()) return s;
    return instance_.Start(PgRole::kReplica, decision.upstream);
  }
  // As for any start as primary: the lease must hold before, and still after (a slow stop
  // or crash recovery can outlast it while another node takes over).
  if (Status s = LeaseValid(); !s.ok()) return s;
  if (Status s = instance_.Stop(StopMode::kFast); !s.ok()) return s;
  if (Status s = LeaseValid(); !s.ok()) return s.WithContext("stopping took past the lease");
  return StartAsPrimary();
}

Status StepRunner::ReclaimLeader() {
  // A replica that saw this server down may be taking over early: one of the two fails.
  return Won(store_.ReclaimLeader(), "the leader key no longer names this node");
}

Status StepRunner::StartAsPrimary() {
  if (Status s = ReclaimLeader(); !s.ok()) return s;
  Status started = instance_.Start(PgRole::kPrimary, std::nullopt);
  // Crash recovery can outlast the lease; no renewal happened meanwhile.
  if (Status s = LeaseValid(); !s.ok()) {
    (void)instance_.Stop(StopMode::kImmediate);
    return s.WithContext("start as primary took past the lease deadline; stopped it");
  }
  return started;
}

std::string StepRunner::PromotionEvent(const Observation& observed) const {
  const auto& switchover = observed.cluster.switchover;
  if (switchover && switchover->handing_over && switchover->to == config_.node_name) {
    return "switchover";
  }
  if (observed.cluster.failover && observed.cluster.failover->to == config_.node_name) {
    return "manual-failover";
  }
  return observed.instance.role == PgRole::kReplica ? "failover" : "promote";
}

Status StepRunner::HandOver(const Decision& decision, const Observation& observed,
                            AgentMemory& memory) {
  const MemberInfo* target = observed.cluster.Member(decision.upstream->name);
  if (target == nullptr || !observed.cluster.switchover) {
    return Aborted("the switchover target or request vanished");
  }
  // Any failure from here on ends the request (recorded with its reason): retrying would cost
  // another outage each time.
  auto give_up = [&](Status why) {
    RecordRoleChange("switchover-refused",
                     "switchover to " + target->name + " failed: " + why.ToString(), memory);
    (void)store_.EndSwitchover();
    return why;
  };
  // A checkpoint first leaves the shutdown checkpoint little to write, so the stop is short.
  if (Status s = instance_.Checkpoint(); !s.ok()) return give_up(s);
  // A clean (fast) shutdown: every connected standby receives all WAL up to and including the
  // shutdown checkpoint before the server exits.
  if (Status s = instance_.Stop(StopMode::kFast); !s.ok()) return give_up(s);
  const InstanceState stopped = instance_.Probe();
  if (!stopped.clean_shutdown) {
    return give_up(Internal("postgres did not shut down cleanly; the switchover is not safe"));
  }
  if (clock_.Now() >= lease_deadline_) {
    return give_up(FailedPrecondition("the leader lease may have ended while stopping"));
  }
  SwitchoverRequest request = *observed.cluster.switchover;
  request.to = target->name;
  request.handing_over = true;
  request.checkpoint = stopped.lsn;
  auto moved = store_.HandOver(request, target->lease, observed.cluster.switchover_text,
                               SyncExpected(observed));
  if (!moved.ok()) return give_up(moved.status());
  if (!*moved) {
    return give_up(Aborted("the request was cancelled or the key changed hands meanwhile"));
  }
  spdlog::info("switchover: stopped at checkpoint {}, leader key handed to {}",
               stopped.lsn.ToString(), target->name);
  memory.previous_leader = target->name;
  DisarmWatchdog();  // the server is down and the key is the target's
  RecordRoleChange("demote",
                   fmt::format("switchover to {}: stopped cleanly at checkpoint {}", target->name,
                               stopped.lsn.ToString()),
                   memory);
  return Status::Ok();
}

Status StepRunner::EndDetachment(const Observation& observed) {
  const MemberInfo* stored = observed.cluster.Member(config_.node_name);
  if (detached_from_.empty() && (stored == nullptr || stored->detached_from.empty())) {
    return Status::Ok();
  }
  MemberInfo self = self_;
  self.detached_from.clear();
  if (Status s = Publish(self); !s.ok()) {
    return s.WithContext("publishing that this node no longer counts as detached");
  }
  detached_from_.clear();
  return Status::Ok();
}

Status StepRunner::EndAction(const Observation& observed, bool ok, const std::string& message) {
  auto action = observed.cluster.actions.find(config_.node_name);
  if (action == observed.cluster.actions.end()) return Status::Ok();
  last_action_ = ActionResult{action->second.id, NodeVerbName(action->second.verb), ok, message};
  if (ok) {
    spdlog::info("{} done: {}", NodeVerbName(action->second.verb), message);
  } else {
    spdlog::warn("{} refused: {}", NodeVerbName(action->second.verb), message);
  }
  // The outcome first, then the request: whoever waits on the request sees the result.
  MemberInfo self = self_;
  self.last_action = last_action_;
  const InstanceState now = instance_.Probe();
  self.pending_restart = now.pending_restart;
  if (Status s = Publish(self); !s.ok()) return s;
  return store_.EndAction(config_.node_name);
}

Status StepRunner::Clone(const Upstream& upstream, MemberState purpose) {
  TimePoint last_report = clock_.Now() - std::chrono::seconds(1);
  MemberInfo self = self_;
  self.role = MemberRole::kReplica;
  self.state = purpose;
  return instance_.CloneFrom(upstream, [&](const std::string& progress) {
    // At most once a second; this also keeps the session lease alive during a long clone.
    if (clock_.Now() - last_report < std::chrono::seconds(1)) return;
    last_report = clock_.Now();
    self.note = fmt::format("{} from {}: {}", MemberStateName(purpose), upstream.name, progress);
    if (store_.RefreshSession().ok()) (void)Publish(self);
  });
}

Status StepRunner::Rejoin(const Upstream& leader, const AgentMemory& memory) {
  Status rewound = instance_.Rewind(leader);
  if (rewound.ok()) {
    rejoined_ = "pg_rewind";
    RecordRoleChange("rejoin", "rewound with pg_rewind to follow " + leader.name, memory);
    return rewound;
  }
  // The leader unreachable is no reason to give up this data: try again next tick.
  if (rewound.code() == StatusCode::kUnavailable) return rewound;
  spdlog::warn("pg_rewind failed ({}); re-cloning from {}", rewound.message(), leader.name);
  auto aside = instance_.MoveAside();
  if (!aside.ok()) return aside.status().WithContext("pg_rewind failed and re-clone impossible");
  if (Status s = Clone(leader, MemberState::kReclone); !s.ok()) return s;
  rejoined_ = "re-clone";
  RecordRoleChange(
      "rejoin",
      fmt::format("pg_rewind failed; re-cloned from {}, old data kept in {}", leader.name, *aside),
      memory);
  return Status::Ok();
}

void StepRunner::Fenced(uint32_t timeline, const std::string& reason) {
  ++fences_;
  hooks_.Fire({"on_role_change", "primary", "replica", timeline, reason});
  Alert alert;
  alert.event = "fenced";
  alert.summary =
      fmt::format("{} stopped its own primary to fence it: {}", config_.node_name, reason);
  alert.details = {{"timeline", timeline}, {"reason", reason}, {"fences", fences_}};
  alert.time_unix = clock_.UnixNow();
  alerts_.Send(alert);
}

void StepRunner::RecordRoleChange(const std::string& event, const std::string& reason,
                                  const AgentMemory& memory) {
  const InstanceState after = instance_.Probe();
  const bool promoted = event == "bootstrap" || event == "promote" || event == "failover" ||
                        event == "manual-failover" || event == "switchover";
  nlohmann::json record = {
      {"time", UtcTimestamp(clock_.UnixNow())},
      {"event", event},
      {"node", config_.node_name},
      {"old_leader", event == "demote" ? config_.node_name : memory.previous_leader},
      {"new_leader", promoted ? config_.node_name : memory.previous_leader},
      {"timeline", after.timeline},
      {"lsn", after.lsn.ToString()},
      {"reason", reason}};
  if ((event == "failover" || event == "manual-failover" || event == "switchover") &&
      memory.leader_last_seen_unix > 0) {
    // From the old leader's last published status to now: how long no primary was known
    // to accept writes (an upper bound, within one loop_wait of the truth).
    record["unavailable_seconds"] = clock_.UnixNow() - memory.leader_last_seen_unix;
  } else if (memory.leaderless_since) {
    record["unavailable_seconds"] = Seconds(clock_.Now() - *memory.leaderless_since);
  }
  if (Status s = store_.AppendHistory(record); !s.ok()) {
    spdlog::warn("could not record {} in history: {}", event, s.ToString());
  }
  const bool demoted = event == "demote";
  if (promoted || demoted) {
    const std::string old_role = event == "bootstrap" ? "" : promoted ? "replica" : "primary";
    hooks_.Fire(
        {"on_role_change", old_role, promoted ? "primary" : "replica", after.timeline, reason});
  }
  if (event == "failover" || event == "manual-failover" || event == "switchover") {
    hooks_.Fire({"on_failover", "replica", "primary", after.timeline, reason});
    // A planned switchover is news; a failover, wanted or not, means the old primary failed.
    Alert alert;
    alert.event = event == "switchover" ? "switchover" : "failover";
    alert.severity = event == "switchover"        ? AlertSeverity::kInfo
                     : event == "manual-failover" ? AlertSeverity::kWarning
                                                  : AlertSeverity::kCritical;
    alert.details = record;
    for (const char* shown_above : {"time", "event", "node"}) alert.details.erase(shown_above);
    alert.details["kind"] = event;
    const std::string& old_leader = memory.previous_leader;
    alert.summary =
        fmt::format("{} is the new primary ({}) in place of {}, on timeline {}", config_.node_name,
                    event, old_leader.empty() ? "?" : old_leader, after.timeline);
    alert.time_unix = clock_.UnixNow();
    alerts_.Send(alert);
  }
}

std::optional<std::string> StepRunner::SyncExpected(const Observation& observed) const {
  if (config_.ha.synchronous_mode == SyncMode::kOff && !observed.cluster.sync) return std::nullopt;
  return observed.cluster.sync_text;
}

Status StepRunner::RunPromotionHooks(const Observation& observed, const AgentMemory& memory) {
  const Duration budget = lease_deadline_ - clock_.Now();
  const std::string event = PromotionEvent(observed);
  if (event == "failover" || event == "manual-failover") {
    const std::string& old_leader = memory.previous_leader;
    HookEvent fence{
        "fence_command",
        "",
        "",
        observed.instance.timeline,
        "fence the old leader " + old_leader + " before " + config_.node_name + " is promoted",
        {{"BATON_OLD_LEADER", old_leader}}};
    auto node = observed.cluster.nodes.find(old_leader);
    if (node != observed.cluster.nodes.end()) {
      fence.details["BATON_OLD_LEADER_PG"] = node->second.value("pg_address", "");
      fence.details["BATON_OLD_LEADER_API"] = node->second.value("api_url", "");
    }
    if (Status s = hooks_.RunNow(fence, budget); !s.ok()) return s;
  }
  return hooks_.RunNow({"pre_promote", "replica", "primary", observed.instance.timeline,
                        "about to promote (" + event + ")"},
                       lease_deadline_ - clock_.Now());
}

}  // namespace baton
