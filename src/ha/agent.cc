#include "ha/agent.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/json_text.h"
#include "core/wall_time.h"
#include "ha/decide.h"
#include "ha/sync_standbys.h"

namespace baton {

namespace {

Duration SecondsToDuration(double seconds) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
}

}  // namespace

Agent::Agent(Config config, Dcs& dcs, Instance& instance, const Clock& clock, Peers& peers)
    : local_config_(config),
      config_(std::move(config)),
      instance_(instance),
      clock_(clock),
      peers_(peers),
      store_(dcs, config_.cluster_name, config_.node_name, config_.timing.ttl_seconds, clock),
      hooks_(config_.hooks, config_.cluster_name, config_.node_name) {}

TimePoint Agent::LeaseDeadline() const {
  return DeadlineFrom(store_.last_renewal_sent());
}

TimePoint Agent::DeadlineFrom(TimePoint sent) const {
  // The TTL of the lease actually held: after a TTL change, the old lease still has the old one.
  return sent + std::chrono::seconds(store_.lease_ttl_seconds()) - LeaseMargin();
}

Duration Agent::LeaseMargin() const {
  // Room for clock-rate differences and the time the renewal took to arrive at etcd. (In
  // nanoseconds: whole seconds / 4 would round a 3 s TTL's margin down to nothing.)
  const Duration ttl = std::chrono::seconds(store_.lease_ttl_seconds());
  return std::min<Duration>(std::chrono::seconds(1), ttl / 4);
}

Agent::Tick Agent::RunOnce() {
  Observation o;
  o.now = clock_.Now();
  o.wall_now_unix = UnixNow();
  o.self = config_.node_name;
  o.tags = config_.tags;
  o.timing = config_.timing;

  FenceIfLeasePassedUnseen();
  Status session = store_.RefreshSession();
  // Only renewing the lease that may hold the leader key extends the deadline; a new lease
  // holds no key until AcquireLeader wins one on it.
  if (session.ok()) {
    if (store_.last_refresh_renewed()) lease_deadline_ = LeaseDeadline();
    auto view = store_.Load();
    if (view.ok()) {
      o.cluster = std::move(view).value();
      o.dcs_reachable = true;
      if (o.cluster.config_text != adopted_config_text_) AdoptDynamicConfig(o.cluster);
      o.timing = config_.timing;
    } else {
      session = view.status();
    }
  }
  // Say so when etcd becomes unreachable, when the error changes, and when it is back.
  const std::string dcs_error = session.ok() ? "" : session.ToString();
  if (dcs_error != last_dcs_error_) {
    if (dcs_error.empty()) {
      spdlog::info("etcd reachable again");
    } else {
      spdlog::warn("etcd: {}", dcs_error);
    }
    last_dcs_error_ = dcs_error;
  }
  o.instance = instance_.Probe();
  o.lease_deadline = lease_deadline_;
  o.ha = config_.ha;
  failsafe_enabled_ = config_.ha.failsafe_mode;
  if (o.dcs_reachable) {
    // Every node that ever joined (nodes/), not only the members whose agent reports now: one
    // that is restarting could otherwise be elected by an etcd the others cannot reach.
    failsafe_members_.clear();
    for (const auto& [name, info] : o.cluster.nodes) {
      if (name == config_.node_name) continue;
      MemberInfo node;
      node.name = name;
      node.api_url = info.value("api_url", "");
      const MemberInfo* live = o.cluster.Member(name);
      failsafe_members_.push_back(live != nullptr ? *live : node);
    }
    for (const auto& [name, member] : o.cluster.members) {
      if (name != config_.node_name && o.cluster.nodes.count(name) == 0) {
        failsafe_members_.push_back(member);
      }
    }
    failsafe_until_.reset();
  } else {
    RunFailsafeRound(o.instance);
  }
  o.failsafe_until = failsafe_until_;
  {
    std::lock_guard lock(mu_);
    o.failsafe_leader = failsafe_leader_;
    o.failsafe_confirmed_at = failsafe_confirmed_at_;
  }
  TrackStandbyNames(o.instance);
  o.standby_names_settled_at = settled_at_;
  o.detached_from = detached_from_;
  o.promotion_refused_at = promotion_refused_at_;

  const bool leader =
      o.dcs_reachable && o.cluster.leader && o.cluster.leader->name == config_.node_name;
  // The restart budget runs only while the agent may act on it (not in maintenance mode).
  if (leader && !o.instance.running && !o.cluster.paused) {
    if (!primary_down_since_) primary_down_since_ = o.now;
  } else {
    primary_down_since_.reset();
  }
  o.primary_down_since = primary_down_since_;
  if (leader && o.instance.unresponsive && !o.cluster.paused) {
    if (!unresponsive_since_) unresponsive_since_ = o.now;
  } else {
    unresponsive_since_.reset();
  }
  o.unresponsive_since = unresponsive_since_;
  // Known not to hold the key, with a server that cannot take writes: nothing left to fence.
  const bool cannot_write =
      !o.instance.running || (o.instance.accepting && o.instance.role == PgRole::kReplica);
  if (o.dcs_reachable && !leader && cannot_write) DisarmWatchdog();
  if (o.dcs_reachable) {
    if (!o.cluster.leader) {
      if (!leaderless_since_) leaderless_since_ = o.now;
    } else {
      leaderless_since_.reset();
      if (o.cluster.leader->name != config_.node_name) previous_leader_ = o.cluster.leader->name;
    }
    const auto& switchover = o.cluster.switchover;
    const bool handed_over =
        leader && switchover && switchover->handing_over && switchover->to == config_.node_name;
    if (!handed_over) {
      handover_since_.reset();
    } else if (!handover_since_) {
      handover_since_ = o.now;
    }
    leaderless_ = !o.cluster.leader.has_value();
    if (o.cluster.last_leader) leader_last_seen_unix_ = o.cluster.last_leader->time_unix;
  }
  o.leaderless_since = leaderless_since_;
  o.handover_since = handover_since_;
  if (leader && o.instance.accepting && o.instance.role == PgRole::kPrimary) {
    if (!leader_since_) leader_since_ = o.now;
  } else if (o.dcs_reachable) {
    leader_since_.reset();
  }
  o.leader_since = leader_since_;
  o.leader_unreachable = LeaderUnreachable(o);
  if (o.dcs_reachable) WatchLeaderNode(o);

  MemberInfo self = DescribeSelf(o);
  self.api_url = config_.ApiUrl();
  self.pg_address = config_.pg_connect.ToString();
  if (self.role == "replica" && o.cluster.leader && !leader) self.upstream = o.cluster.leader->name;
  {
    std::lock_guard lock(mu_);
    if (!snapshot_.last_decision.empty()) self.note = snapshot_.last_decision;
  }
  self.rejoined = rejoined_;
  self.last_action = last_action_;
  self.pending_restart = o.instance.pending_restart;
  const double now_unix = o.wall_now_unix;
  self_ = self;
  if (o.dcs_reachable) {
    if (Status s = Publish(self); !s.ok()) {
      spdlog::warn("publishing member state: {}", s.ToString());
    }
    if (!registered_) {
      const nlohmann::json node = {{"api_url", self.api_url},
                                   {"pg_address", self.pg_address},
                                   {"registered_unix", now_unix}};
      registered_ = store_.RegisterNode(node).ok();
    }
    if (leader && o.instance.accepting && o.instance.role == PgRole::kPrimary) {
      const LeaderStatus status{config_.node_name, o.instance.lsn, o.instance.timeline, now_unix};
      if (Status s = store_.WriteLeaderStatus(status); !s.ok()) {
        spdlog::warn("publishing leader status: {}", s.ToString());
      }
    }
  }

  Tick tick;
  tick.decision = Decide(o);
  {
    std::lock_guard lock(mu_);
    if (tick.decision.reason != snapshot_.last_decision) {
      spdlog::info("{}", tick.decision.reason);
    }
  }
  for (Step step : tick.decision.steps) {
    Status s = Execute(step, tick.decision, o);
    if (!s.ok()) {
      tick.completed = false;
      tick.failure = fmt::format("{} failed: {}", StepName(step), s.ToString());
      spdlog::warn("{}", tick.failure);
      break;
    }
  }

  std::lock_guard lock(mu_);
  snapshot_.dcs_reachable = o.dcs_reachable;
  snapshot_.is_leader = leader && clock_.Now() < lease_deadline_;
  snapshot_.instance = o.instance;
  if (o.dcs_reachable) snapshot_.cluster = o.cluster;
  snapshot_.self = self;
  snapshot_.last_decision =
      tick.completed ? tick.decision.reason : tick.decision.reason + " (" + tick.failure + ")";
  snapshot_.last_tick = o.now;
  return tick;
}

void Agent::AdoptDynamicConfig(const ClusterView& view) {
  adopted_config_text_ = view.config_text;
  auto effective = ApplyDynamicConfig(local_config_, view.Settings());
  if (!effective.ok()) {
    spdlog::error("ignoring the cluster's dynamic config: {}", effective.status().message());
    return;
  }
  const bool parameters_changed = effective->pg_parameters != config_.pg_parameters;
  if (effective->timing.ttl_seconds != config_.timing.ttl_seconds) {
    store_.SetTtl(effective->timing.ttl_seconds);
  }
  config_ = std::move(effective).value();
  spdlog::info("adopted the cluster's dynamic config: ttl {} s, loop_wait {} s, {} parameter(s)",
               config_.timing.ttl_seconds, config_.timing.loop_wait_seconds,
               config_.pg_parameters.size());
  if (parameters_changed) {
    if (Status s = instance_.Reconfigure(config_.pg_parameters); !s.ok()) {
      spdlog::warn("applying PostgreSQL parameters: {}", s.ToString());
    }
  }
}

void Agent::TrackStandbyNames(const InstanceState& instance) {
  const bool primary = instance.accepting && instance.role == PgRole::kPrimary;
  const std::string& names = instance.synchronous_standby_names;
  const bool in_effect = primary && WalSendersFollow(names, instance.replication);
  if (!in_effect || names != settled_standby_names_) {
    // Not (yet) in effect as far as this probe shows: start over from the next probe.
    settled_standby_names_ = names;
    standby_names_seen_ = in_effect;
    settled_at_.reset();
    return;
  }
  // In effect since an earlier probe: this probe's position was taken after that.
  if (!standby_names_seen_) {
    standby_names_seen_ = true;
  } else if (!settled_at_) {
    settled_at_ = instance.lsn;
  }
}

void Agent::WatchLeaderNode(const Observation& o) {
  const bool listed = o.cluster.ListsAsStandby(config_.node_name);
  peers_.WatchNode(listed ? o.cluster.Member(o.cluster.leader->name) : nullptr, [this] { Wake(); });
}

bool Agent::LeaderUnreachable(const Observation& o) {
  if (!o.dcs_reachable || !o.cluster.leader || o.cluster.leader->name == config_.node_name) {
    return false;
  }
  const std::string& leader = o.cluster.leader->name;
  const bool listed = o.cluster.ListsAsStandby(config_.node_name);
  const bool replica = o.instance.accepting && o.instance.role == PgRole::kReplica;
  // Asked only when it matters: a listed standby that is not streaming, or already detached.
  if (!listed || !replica || (o.instance.streaming && detached_from_ != leader)) return false;
  const MemberInfo* member = o.cluster.Member(leader);
  return member != nullptr && !peers_.Reachable(*member);
}

std::optional<std::string> Agent::SyncExpected(const Observation& observed) const {
  if (config_.ha.synchronous_mode == SyncMode::kOff && !observed.cluster.sync) return std::nullopt;
  return observed.cluster.sync_text;
}

Status Agent::RunPromotionHooks(const Observation& observed) {
  const Duration budget = lease_deadline_ - clock_.Now();
  const std::string event = PromotionEvent(observed);
  if (event == "failover" || event == "manual-failover") {
    const std::string& old_leader = previous_leader_;
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

TimePoint Agent::FencingDeadline() const {
  return failsafe_until_ ? std::max(lease_deadline_, *failsafe_until_) : lease_deadline_;
}

void Agent::RunFailsafeRound(const InstanceState& instance) {
  const bool writable = instance.accepting && instance.role == PgRole::kPrimary;
  if (!config_.ha.failsafe_mode || !writable || lease_deadline_ == TimePoint{}) {
    failsafe_until_.reset();
    return;
  }
  const TimePoint asked = clock_.Now();
  for (const MemberInfo& member : failsafe_members_) {
    if (!peers_.ConfirmFailsafe(member, config_.node_name)) {
      if (failsafe_until_) {
        spdlog::warn("failsafe mode: {} did not confirm; the primary fences at its deadline",
                     member.name);
      }
      failsafe_until_.reset();
      return;
    }
  }
  if (!failsafe_until_) {
    spdlog::warn(
        "failsafe mode: etcd unreachable, every member ({}) confirmed it cannot reach it "
        "either: the primary keeps running",
        failsafe_members_.size());
  }
  failsafe_until_ = DeadlineFrom(asked);
  if (Status s = ArmWatchdog(); !s.ok()) spdlog::warn("{}", s.ToString());
}

FailsafeVote Agent::ConfirmFailsafe(const std::string& leader) {
  std::lock_guard lock(mu_);
  if (!failsafe_enabled_) return {false, "failsafe mode is off on this member"};
  if (snapshot_.dcs_reachable) return {false, "this member can reach etcd"};
  if (snapshot_.instance.accepting && snapshot_.instance.role == PgRole::kPrimary) {
    return {false, "this member runs a writable primary itself"};
  }
  failsafe_leader_ = leader;
  failsafe_confirmed_at_ = clock_.Now();
  return {true, "etcd unreachable here too; staying out of any election"};
}

void Agent::FenceIfLeasePassedUnseen() {
  bool writable = false;
  {
    std::lock_guard lock(mu_);
    writable = snapshot_.instance.accepting && snapshot_.instance.role == PgRole::kPrimary;
  }
  if (!writable || lease_deadline_ == TimePoint{} || clock_.Now() < FencingDeadline()) return;
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
  hooks_.Fire({"on_role_change", "primary", "replica", before.timeline,
               "the leader lease deadline passed while the agent was stalled: fenced"});
  if (Status s = instance_.Start(PgRole::kReplica, std::nullopt); !s.ok()) {
    spdlog::error("restarting read-only after fencing: {}", s.ToString());
  }
}

Status Agent::ArmWatchdog() {
  if (Status s = instance_.ArmFence(FencingDeadline()); !s.ok()) {
    return s.WithContext("arming the watchdog");
  }
  watchdog_armed_ = true;
  return Status::Ok();
}

void Agent::DisarmWatchdog() {
  if (!watchdog_armed_) return;
  if (Status s = instance_.DisarmFence(); !s.ok()) {
    spdlog::warn("disarming the watchdog: {}", s.ToString());
    return;
  }
  watchdog_armed_ = false;
}

Status Agent::Publish(MemberInfo self) {
  // The key lives on the lease; rewrite it only when something in it changed (or the lease
  // did), so an idle cluster does not churn etcd and members do not wake each other in turn.
  self.updated_unix = 0;
  const std::string content = JsonText(self.ToJson());
  if (content == last_published_ && store_.lease() == last_published_lease_) return Status::Ok();
  self.updated_unix = UnixNow();
  if (Status s = store_.PublishMember(self); !s.ok()) return s;
  last_published_ = content;
  last_published_lease_ = store_.lease();
  return Status::Ok();
}

Status Agent::ConfirmStillBest(const Observation& observed) {
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

Status Agent::Execute(Step step, const Decision& decision, const Observation& observed) {
  auto won = [](const Result<bool>& result, const std::string& lost) -> Status {
    if (!result.ok()) return result.status();
    return *result ? Status::Ok() : Aborted(lost);
  };
  auto lease_valid = [this]() -> Status {
    if (clock_.Now() < lease_deadline_) return Status::Ok();
    return FailedPrecondition("the leader lease may have ended; refusing to run as primary");
  };
  const InstanceState& before = observed.instance;
  switch (step) {
    case Step::kClaimInitialize:
      return won(store_.ClaimInitialize(), "another node is bootstrapping the cluster");
    case Step::kAcquireLeader: {
      if (Status s = won(store_.AcquireLeader(SyncExpected(observed)),
                         "another node took the leader key (or /sync changed)");
          !s.ok()) {
        return s;
      }
      lease_deadline_ = LeaseDeadline();  // the key now lives on the current lease
      if (Status s = ArmWatchdog(); !s.ok()) return s;
      // Bootstrap has no candidates to compare, and the operator's choice is not second-guessed.
      const bool takeover =
          observed.cluster.initialized_by.has_value() && !decision.operator_choice;
      return takeover ? ConfirmStillBest(observed) : Status::Ok();
    }
    case Step::kRenewLeader: {
      if (Status s = won(store_.RenewLeader(), "the leader key no longer names this node");
          !s.ok()) {
        return s;
      }
      lease_deadline_ = LeaseDeadline();  // the key is confirmed on the current lease
      return ArmWatchdog();
    }
    case Step::kReleaseLeader:
      return store_.ReleaseLeader();
    case Step::kTakeOverLeader: {
      // The standbys counted as detached must still read as counted: one that reattached
      // (and published so first) fails the transaction.
      const std::string& old_leader = observed.cluster.leader->name;
      std::map<std::string, std::string> detached;
      for (const auto& [name, member] : observed.cluster.members) {
        if (name != config_.node_name && member.detached_from == old_leader) {
          detached[name] = observed.cluster.member_texts.at(name);
        }
      }
      if (Status s = won(store_.TakeOverLeader(old_leader, observed.cluster.sync_text, detached),
                         "the leader key, /sync or a detached standby changed meanwhile");
          !s.ok()) {
        return s;
      }
      lease_deadline_ = LeaseDeadline();
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
      return won(store_.WriteSync(*decision.sync_record, observed.cluster.sync_text),
                 "/sync or the leader key changed meanwhile");
    case Step::kDeleteSyncRecord:
      return won(store_.DeleteSync(observed.cluster.sync_text),
                 "/sync or the leader key changed meanwhile");
    case Step::kSetStandbyNames:
      return instance_.SetSynchronousStandbyNames(*decision.standby_names);
    case Step::kBootstrap: {
      Status s = lease_valid();
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
      RecordRoleChange("bootstrap", decision.reason);
      return Status::Ok();
    }
    case Step::kClone:
      return Clone(*decision.upstream, "cloning");
    case Step::kStartPrimary: {
      if (Status s = lease_valid(); !s.ok()) return s;
      Status started = instance_.Start(PgRole::kPrimary, std::nullopt);
      // Crash recovery can outlast the lease; no renewal happened meanwhile.
      if (Status s = lease_valid(); !s.ok()) {
        (void)instance_.Stop(StopMode::kImmediate);
        return s.WithContext("start as primary took past the lease deadline; stopped it");
      }
      return started;
    }
    case Step::kStartReplica:
      if (decision.upstream) {
        if (Status s = EndDetachment(observed); !s.ok()) return s;
      }
      return instance_.Start(PgRole::kReplica, decision.upstream);
    case Step::kFollow:
      if (Status s = EndDetachment(observed); !s.ok()) return s;
      return instance_.Follow(*decision.upstream);
    case Step::kRewind:
      return Rejoin(*decision.upstream);
    case Step::kPromote: {
      if (Status s = lease_valid(); !s.ok()) return s;
      if (Status s = RunPromotionHooks(observed); !s.ok()) {
        (void)store_.ReleaseLeader();
        promotion_refused_at_ = clock_.Now();
        RecordRoleChange("promotion-refused", s.ToString());
        return s.WithContext("promotion stopped; the leader key is given up");
      }
      if (Status s = lease_valid(); !s.ok()) return s;
      if (auto sync_expected = SyncExpected(observed)) {
        // Until now the record stayed as the old leader left it (true: nothing was written
        // since). From here on it must also hold for what this node will acknowledge.
        const SyncRecord record =
            decision.sync_record.value_or(SyncRecord::LeaderOnly(config_.node_name));
        Status recorded = won(store_.WriteSync(record, *sync_expected),
                              "/sync changed after this node took the key");
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
      if (Status s = instance_.Promote(); !s.ok()) return s;
      detached_from_.clear();
      RecordRoleChange(PromotionEvent(observed), decision.reason);
      return Status::Ok();
    }
    case Step::kDemote: {
      if (Status s = EndDetachment(observed); !s.ok()) return s;
      if (Status s = instance_.Stop(StopMode::kFast); !s.ok()) return s;
      RecordRoleChange("demote", decision.reason);
      return instance_.Start(PgRole::kReplica, decision.upstream);
    }
    case Step::kFence: {
      if (Status s = instance_.Stop(StopMode::kImmediate); !s.ok()) return s;
      if (before.role == PgRole::kPrimary) {
        hooks_.Fire({"on_role_change", "primary", "replica", before.timeline, decision.reason});
      }
      return instance_.Start(PgRole::kReplica, std::nullopt);
    }
    case Step::kKill:
      return instance_.Stop(StopMode::kKill);
    case Step::kHandOver:
      return HandOver(decision, observed);
    case Step::kEndSwitchover:
      return store_.EndSwitchover();
    case Step::kRefuseSwitchover: {
      RecordRoleChange("switchover-refused", decision.reason);
      return store_.EndSwitchover();
    }
    case Step::kEndFailover:
      return store_.EndFailover();
    case Step::kRestart: {
      const bool leader =
          observed.cluster.leader && observed.cluster.leader->name == config_.node_name;
      if (!leader) {
        if (Status s = EndDetachment(observed); !s.ok()) return s;
        if (Status s = instance_.Stop(StopMode::kFast); !s.ok()) return s;
        return instance_.Start(PgRole::kReplica, decision.upstream);
      }
      // As for any start as primary: the lease must hold before, and still after (a slow stop
      // or crash recovery can outlast it while another node takes over).
      if (Status s = lease_valid(); !s.ok()) return s;
      if (Status s = instance_.Stop(StopMode::kFast); !s.ok()) return s;
      if (Status s = lease_valid(); !s.ok()) return s.WithContext("stopping took past the lease");
      Status started = instance_.Start(PgRole::kPrimary, std::nullopt);
      if (Status s = lease_valid(); !s.ok()) {
        (void)instance_.Stop(StopMode::kImmediate);
        return s.WithContext("restart as primary took past the lease deadline; stopped it");
      }
      return started;
    }
    case Step::kReload:
      return instance_.Reconfigure(config_.pg_parameters);
    case Step::kReinit: {
      if (Status s = instance_.Stop(StopMode::kImmediate); !s.ok()) return s;
      if (Status s = instance_.RemoveData(); !s.ok()) return s;
      rejoined_.clear();
      if (Status s = Clone(*decision.upstream, "reinit"); !s.ok()) return s;
      RecordRoleChange("reinit", decision.reason);
      return Status::Ok();
    }
    case Step::kEndAction:
      return EndAction(observed, true, decision.reason);
    case Step::kRefuseAction:
      return EndAction(observed, false, decision.reason);
  }
  return Internal("unknown step");
}

std::string Agent::PromotionEvent(const Observation& observed) const {
  const auto& switchover = observed.cluster.switchover;
  if (switchover && switchover->handing_over && switchover->to == config_.node_name) {
    return "switchover";
  }
  if (observed.cluster.failover && observed.cluster.failover->to == config_.node_name) {
    return "manual-failover";
  }
  return observed.instance.role == PgRole::kReplica ? "failover" : "promote";
}

Status Agent::HandOver(const Decision& decision, const Observation& observed) {
  const MemberInfo* target = observed.cluster.Member(decision.upstream->name);
  if (target == nullptr || !observed.cluster.switchover) {
    return Aborted("the switchover target or request vanished");
  }
  // Any failure from here on ends the request (recorded with its reason): retrying would cost
  // another outage each time.
  auto give_up = [&](Status why) {
    RecordRoleChange("switchover-refused",
                     "switchover to " + target->name + " failed: " + why.ToString());
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
  previous_leader_ = target->name;
  DisarmWatchdog();  // the server is down and the key is the target's
  RecordRoleChange("demote", fmt::format("switchover to {}: stopped cleanly at checkpoint {}",
                                         target->name, stopped.lsn.ToString()));
  return Status::Ok();
}

Status Agent::EndDetachment(const Observation& observed) {
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

Status Agent::EndAction(const Observation& observed, bool ok, const std::string& message) {
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

Status Agent::Clone(const Upstream& upstream, const std::string& purpose) {
  auto last_report = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  MemberInfo self = self_;
  self.role = "replica";
  self.state = purpose;
  return instance_.CloneFrom(upstream, [&](const std::string& progress) {
    // At most once a second; this also keeps the session lease alive during a long clone.
    if (std::chrono::steady_clock::now() - last_report < std::chrono::seconds(1)) return;
    last_report = std::chrono::steady_clock::now();
    self.note = fmt::format("{} from {}: {}", purpose, upstream.name, progress);
    if (store_.RefreshSession().ok()) (void)Publish(self);
  });
}

Status Agent::Rejoin(const Upstream& leader) {
  Status rewound = instance_.Rewind(leader);
  if (rewound.ok()) {
    rejoined_ = "pg_rewind";
    RecordRoleChange("rejoin", "rewound with pg_rewind to follow " + leader.name);
    return rewound;
  }
  // The leader unreachable is no reason to give up this data: try again next tick.
  if (rewound.code() == StatusCode::kUnavailable) return rewound;
  spdlog::warn("pg_rewind failed ({}); re-cloning from {}", rewound.message(), leader.name);
  auto aside = instance_.MoveAside();
  if (!aside.ok()) return aside.status().WithContext("pg_rewind failed and re-clone impossible");
  if (Status s = Clone(leader, "re-clone"); !s.ok()) return s;
  rejoined_ = "re-clone";
  RecordRoleChange("rejoin", fmt::format("pg_rewind failed; re-cloned from {}, old data kept in {}",
                                         leader.name, *aside));
  return Status::Ok();
}

void Agent::RecordRoleChange(const std::string& event, const std::string& reason) {
  const InstanceState after = instance_.Probe();
  const bool promoted = event == "bootstrap" || event == "promote" || event == "failover" ||
                        event == "manual-failover" || event == "switchover";
  nlohmann::json record = {{"time", UtcTimestamp()},
                           {"event", event},
                           {"node", config_.node_name},
                           {"old_leader", event == "demote" ? config_.node_name : previous_leader_},
                           {"new_leader", promoted ? config_.node_name : previous_leader_},
                           {"timeline", after.timeline},
                           {"lsn", after.lsn.ToString()},
                           {"reason", reason}};
  if ((event == "failover" || event == "manual-failover" || event == "switchover") &&
      leader_last_seen_unix_ > 0) {
    // From the old leader's last published status to now: how long no primary was known
    // to accept writes (an upper bound, within one loop_wait of the truth).
    const double now_unix = UnixNow();
    record["unavailable_seconds"] = now_unix - leader_last_seen_unix_;
  } else if (leaderless_since_) {
    record["unavailable_seconds"] = Seconds(clock_.Now() - *leaderless_since_);
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
  }
}

void Agent::Wake() {
  {
    std::lock_guard lock(mu_);
    wake_ = true;
  }
  wake_cv_.notify_all();
}

void Agent::Run(const std::atomic<bool>& stop) {
  hooks_.Fire({"on_start", "", "", 0, "agent started"});
  // A watchdog a previous agent left armed is ended: this loop fences from its first tick.
  if (Status s = instance_.DisarmFence(); !s.ok()) spdlog::warn("{}", s.ToString());
  const std::string own_member_key = "members/" + config_.node_name;
  store_.Watch([this, own_member_key](const std::string& key, const std::string& value) {
    // While leaderless, another member's fresh position may decide who takes over; a standby
    // that detached from its leader may complete the count for an early takeover: look at once.
    const bool other_member = ClusterStore::IsMemberKey(key) && key != own_member_key;
    const auto detached = [&] {
      const auto member = MemberInfo::FromJson(value);
      return member && !member->detached_from.empty();
    };
    if (ClusterStore::IsUrgentKey(key) || (other_member && (leaderless_ || detached()))) Wake();
  });
  instance_.SetExitCallback([this] { Wake(); });
  while (!stop) {
    Tick tick;
    try {
      tick = RunOnce();
    } catch (const std::exception& e) {
      // Never let one bad value (from etcd, PostgreSQL or a command) end the agent: that would
      // leave PostgreSQL running unsupervised. Log it and look again next loop.
      spdlog::error("agent loop: unexpected error: {}", e.what());
    }
    if (tick.decision.ChangesState() && tick.completed) continue;  // look again at once
    // Wake no later than the lease deadline, so a primary that must fence does so on time.
    const Duration loop_wait = SecondsToDuration(config_.timing.loop_wait_seconds);
    auto wake_at = std::chrono::steady_clock::now() + loop_wait;
    const Duration to_deadline = lease_deadline_ - clock_.Now();
    if (to_deadline > Duration::zero()) {
      wake_at = std::min(wake_at, std::chrono::steady_clock::now() + to_deadline);
    }
    std::unique_lock lock(mu_);
    wake_cv_.wait_until(lock, wake_at, [&] { return wake_ || stop.load(); });
    wake_ = false;
  }
  Shutdown();
}

void Agent::Shutdown() {
  peers_.WatchNode(nullptr, {});  // nothing may call back into this agent any more
  spdlog::info("shutting down: stopping postgres and leaving the cluster");
  if (Status s = instance_.Stop(StopMode::kFast); !s.ok()) {
    spdlog::error("stopping postgres: {}", s.ToString());
  } else {
    DisarmWatchdog();  // nothing left to fence; an armed watchdog would outlive the agent
  }
  // Only now that the server is down may another node take over.
  if (Status s = store_.ReleaseLeader(); !s.ok()) {
    spdlog::warn("releasing the leader key: {}", s.ToString());
  }
  store_.CloseSession();
  hooks_.Fire({"on_stop", "", "", 0, "agent stopping"});
  const auto hook_budget = SecondsToDuration(config_.hooks.timeout_seconds + 1);
  if (!hooks_.Drain(hook_budget)) spdlog::warn("hooks still running at shutdown");
}

AgentSnapshot Agent::Snapshot() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

}  // namespace baton
