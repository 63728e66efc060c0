#include "ha/agent.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "ha/decide.h"

namespace baton {

Agent::Agent(Config config, Dcs& dcs, Instance& instance, const Clock& clock, Peers& peers,
             Alerts& alerts)
    : local_config_(config),
      config_(std::move(config)),
      instance_(instance),
      clock_(clock),
      peers_(peers),
      alerts_(alerts),
      store_(dcs, config_.cluster_name, config_.node_name, config_.timing.ttl_seconds, clock),
      hooks_(config_.hooks, config_.cluster_name, config_.node_name),
      steps_(config_, store_, instance_, hooks_, alerts_, clock) {}

Agent::Tick Agent::RunOnce() {
  Observation o;
  o.now = clock_.Now();
  o.wall_now_unix = clock_.UnixNow();
  o.self = config_.node_name;
  o.tags = config_.tags;
  o.timing = config_.timing;

  bool was_writable = false;
  {
    std::lock_guard lock(mu_);
    was_writable = snapshot_.instance.accepting && snapshot_.instance.role == PgRole::kPrimary;
  }
  steps_.FenceIfLeasePassedUnseen(was_writable);
  Status session = store_.RefreshSession();
  // Only renewing the lease that may hold the leader key extends the deadline; a new lease
  // holds no key until AcquireLeader wins one on it.
  if (session.ok()) {
    if (store_.last_refresh_renewed()) steps_.LeaseRenewed();
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
  o.lease_deadline = steps_.lease_deadline();
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
    steps_.SetFailsafeUntil(std::nullopt);
  } else {
    RunFailsafeRound(o.instance);
  }
  o.failsafe_until = steps_.failsafe_until();
  {
    std::lock_guard lock(mu_);
    o.failsafe_leader = failsafe_leader_;
    o.failsafe_confirmed_at = failsafe_confirmed_at_;
  }
  o.detached_from = steps_.detached_from();
  o.promotion_refused_at = steps_.promotion_refused_at();

  memory_ = Remember(std::move(memory_), o);
  o.memory = memory_;
  const bool leader = o.HoldsKey();
  // Known not to hold the key, with a server that cannot take writes: nothing left to fence.
  const bool cannot_write =
      !o.instance.running || (o.instance.accepting && o.instance.role == PgRole::kReplica);
  if (o.dcs_reachable && !leader && cannot_write) steps_.DisarmWatchdog();
  if (o.dcs_reachable) {
    leaderless_ = !o.cluster.leader.has_value();
    const uint64_t limit = config_.timing.maximum_lag_on_failover;
    for (const Alert& alert :
         lag_alerts_.Update(o.cluster, config_.node_name, leader, limit, o.wall_now_unix)) {
      alerts_.Send(alert);
    }
  }
  o.leader_reach = ProbeLeader(o);
  if (o.dcs_reachable) WatchLeaderNode(o);

  MemberInfo self = DescribeSelf(o);
  self.api_url = config_.ApiUrl();
  self.pg_address = config_.pg_connect.ToString();
  if (self.role == MemberRole::kReplica && o.cluster.leader && !leader)
    self.upstream = o.cluster.leader->name;
  {
    std::lock_guard lock(mu_);
    if (!snapshot_.last_decision.empty()) self.note = snapshot_.last_decision;
  }
  self.rejoined = steps_.rejoined();
  self.last_action = steps_.last_action();
  self.pending_restart = o.instance.pending_restart;
  const double now_unix = o.wall_now_unix;
  steps_.SetSelf(self);
  if (o.dcs_reachable) {
    if (Status s = steps_.Publish(self); !s.ok()) {
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
    Status s = steps_.Run(step, tick.decision, o, memory_);
    if (!s.ok()) {
      tick.completed = false;
      tick.failure = fmt::format("{} failed: {}", StepName(step), s.ToString());
      spdlog::warn("{}", tick.failure);
      break;
    }
  }

  std::lock_guard lock(mu_);
  snapshot_.dcs_reachable = o.dcs_reachable;
  snapshot_.is_leader = leader && clock_.Now() < steps_.lease_deadline();
  snapshot_.watchdog_armed = steps_.watchdog_armed();
  snapshot_.lease_deadline = leader ? steps_.lease_deadline() : TimePoint{};
  snapshot_.fences = steps_.fences();
  if (o.dcs_reachable && o.cluster.leader) {
    const std::string& name = o.cluster.leader->name;
    if (!last_leader_seen_.empty() && name != last_leader_seen_) ++snapshot_.leader_changes;
    last_leader_seen_ = name;
  }
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

void Agent::WatchLeaderNode(const Observation& o) {
  peers_.WatchNode(o.WatchesLeader() ? o.cluster.Member(o.cluster.leader->name) : nullptr,
                   [this] { Wake(); });
}

NodeReach Agent::ProbeLeader(const Observation& o) {
  const bool replica = o.instance.accepting && o.instance.role == PgRole::kReplica;
  if (!o.WatchesLeader() || !replica) return NodeReach::kAnswers;
  const std::string& leader = o.cluster.leader->name;
  // Asked only when it matters: a replica that is not streaming, or already detached.
  if (o.instance.streaming && steps_.detached_from() != leader) return NodeReach::kAnswers;
  const MemberInfo* member = o.cluster.Member(leader);
  return member != nullptr ? peers_.Reach(*member) : NodeReach::kAnswers;
}

void Agent::RunFailsafeRound(const InstanceState& instance) {
  const bool writable = instance.accepting && instance.role == PgRole::kPrimary;
  if (!config_.ha.failsafe_mode || !writable || steps_.lease_deadline() == TimePoint{}) {
    steps_.SetFailsafeUntil(std::nullopt);
    return;
  }
  const TimePoint asked = clock_.Now();
  for (const MemberInfo& member : failsafe_members_) {
    if (!peers_.ConfirmFailsafe(member, config_.node_name)) {
      if (steps_.failsafe_until()) {
        spdlog::warn("failsafe mode: {} did not confirm; the primary fences at its deadline",
                     member.name);
      }
      steps_.SetFailsafeUntil(std::nullopt);
      return;
    }
  }
  if (!steps_.failsafe_until()) {
    spdlog::warn(
        "failsafe mode: etcd unreachable, every member ({}) confirmed it cannot reach it "
        "either: the primary keeps running",
        failsafe_members_.size());
  }
  steps_.SetFailsafeUntil(steps_.DeadlineFrom(asked));
  if (Status s = steps_.ArmWatchdog(); !s.ok()) spdlog::warn("{}", s.ToString());
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
    const TimePoint now = clock_.Now();
    TimePoint wake_at = now + FromSeconds(config_.timing.loop_wait_seconds);
    if (steps_.lease_deadline() > now) wake_at = std::min(wake_at, steps_.lease_deadline());
    std::unique_lock lock(mu_);
    clock_.WaitUntil(lock, wake_cv_, wake_at, [&] { return wake_ || stop.load(); });
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
    steps_.DisarmWatchdog();  // nothing left to fence; an armed watchdog would outlive the agent
  }
  // Only now that the server is down may another node take over.
  if (Status s = store_.ReleaseLeader(); !s.ok()) {
    spdlog::warn("releasing the leader key: {}", s.ToString());
  }
  store_.CloseSession();
  hooks_.Fire({"on_stop", "", "", 0, "agent stopping"});
  const auto hook_budget = FromSeconds(config_.hooks.timeout_seconds + 1);
  if (!hooks_.Drain(hook_budget)) spdlog::warn("hooks still running at shutdown");
}

HookRunner::Counts Agent::HookCounts() const {
  HookRunner::Counts counts = hooks_.counts();
  const HookRunner::Counts alert_hooks = alerts_.counts().hooks;
  counts.started += alert_hooks.started;
  counts.failed += alert_hooks.failed;
  counts.timed_out += alert_hooks.timed_out;
  counts.dropped += alert_hooks.dropped;
  return counts;
}

AgentSnapshot Agent::Snapshot() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

}  // namespace baton
