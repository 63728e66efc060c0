#include "ha/decide.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "ha/candidate.h"
#include "ha/decision_rules.h"
#include "ha/early_takeover.h"
#include "ha/switchover.h"
#include "ha/sync_standbys.h"

namespace baton {

using rules::Do;
using rules::PrepareSyncPromotion;
using rules::PromotionBackoff;
using rules::PromotionRules;
using rules::SyncModeOn;
using rules::Wait;

namespace {

// How long a leaderless member waits for the others to publish their positions.
Duration PositionWait(const Observation& o) {
  return FromSeconds(o.timing.loop_wait_seconds);
}
// How long each better-ranked candidate gets to take the key before the next one goes.
Duration TakeoverWait(const Observation& o) {
  return 2 * PositionWait(o);
}
std::optional<Upstream> UpstreamOf(const MemberInfo& leader) {
  auto address = HostPort::Parse(leader.pg_address);
  if (!address.ok()) return std::nullopt;
  return Upstream{leader.name, *address};
}

// How long a new leader keeps the standbys it started with in its synchronous set while they
// connect to it, before a non-strict policy lets them go.
Duration ReconnectGrace(const Observation& o) {
  return std::chrono::seconds(o.timing.ttl_seconds) / 2;
}

// The leader keeps its SyncRecord true while it changes synchronous_standby_names: first a
// record true for both the old and the new setting, then the setting, then, once every WAL
// sender follows it and enough of the new standbys have confirmed every commit up to that
// moment, the new setting's own record. One step per tick; nothing while the plan holds.
void AddSyncSteps(const Observation& o, Decision* d) {
  const InstanceState& inst = o.instance;
  const auto& stored = o.cluster.sync;
  const bool stored_is_mine = stored && stored->leader == o.self;
  if (!SyncModeOn(o)) {
    if (!stored && inst.synchronous_standby_names.empty()) return;
    if (stored_is_mine && stored->acks > 0) {
      d->steps.push_back(Step::kWriteSyncRecord);
      d->sync_record = SyncRecord::LeaderOnly(o.self);
      d->reason += "; synchronous mode turned off: no standby promotable until asynchronous";
    } else if (!inst.synchronous_standby_names.empty()) {
      if (stored && !stored_is_mine) {
        d->steps.push_back(Step::kWriteSyncRecord);
        d->sync_record = SyncRecord::LeaderOnly(o.self);
      } else {
        d->steps.push_back(Step::kSetStandbyNames);
        d->standby_names = "";
      }
      d->reason += "; synchronous mode turned off: replicating asynchronously";
    } else {
      d->steps.push_back(Step::kDeleteSyncRecord);
      d->reason += "; synchronous mode off: the synchronous record is dropped";
    }
    return;
  }
  std::vector<std::string> keep;
  if (o.memory.leader_since && o.now - *o.memory.leader_since < ReconnectGrace(o)) {
    keep = ListedStandbys(inst.synchronous_standby_names);
  }
  const SyncPlan plan = PlanSyncStandbys(o.ha, o.self, o.cluster, inst.replication, keep);
  const SyncRecord current = stored_is_mine ? *stored : SyncRecord::LeaderOnly(o.self);
  // A setting that can confirm nothing (strict, too few standbys) acknowledges no commit: what
  // the stored record says of the earlier ones stays true, and nothing is to be added.
  const SyncRecord target = plan.confirms_nothing ? current : plan.record;
  const bool in_effect = inst.synchronous_standby_names == plan.standby_names &&
                         WalSendersFollow(plan.standby_names, inst.replication);
  if (!in_effect) {
    const SyncRecord covering = SyncRecord::Covering(current, target);
    if (!stored || *stored != covering) {
      d->steps.push_back(Step::kWriteSyncRecord);
      d->sync_record = covering;
      d->reason += "; recording the synchronous standbys before changing them";
    } else if (inst.synchronous_standby_names != plan.standby_names) {
      d->steps.push_back(Step::kSetStandbyNames);
      d->standby_names = plan.standby_names;
      d->reason += fmt::format("; synchronous standbys: '{}'", plan.standby_names);
    } else {
      d->reason += "; waiting for the WAL senders to follow synchronous_standby_names";
    }
    return;
  }
  if (stored && *stored == target) return;
  // Commits after the setting settled waited for it; the ones before must be confirmed.
  if (!o.memory.standby_names_settled_at) {
    d->reason += "; synchronous standbys set, waiting for the setting to settle";
    return;
  }
  const Lsn settled = *o.memory.standby_names_settled_at;
  int confirmed = 0;
  for (const ReplicationPeer& peer : inst.replication) {
    if (target.Lists(peer.name) && peer.flush_lsn >= settled) ++confirmed;
  }
  if (confirmed < target.acks) {
    d->reason += fmt::format("; waiting for {} synchronous standby(s) to confirm {}",
                             target.acks - confirmed, settled.ToString());
    return;
  }
  d->steps.push_back(Step::kWriteSyncRecord);
  d->sync_record = target;
  d->reason += fmt::format("; synchronous standbys confirmed: {} of them acknowledge each commit",
                           target.acks);
}

// A leader whose PostgreSQL went down restarts it in place, which loses nothing (crash
// recovery replays every acknowledged commit), unless handing the key over loses nothing
// either or restarting does not help:
// - synchronous mode, with a record: a standby that holds every acknowledged commit takes over
//   sooner than crash recovery brings this server back;
// - a crash loop: it went down twice within kCrashLoopWindow.
// Then it releases the key when another member is eligible, and for kCrashLoopWindow after the
// crash stays out of leader races while another member may go. nullopt: restart in place.
constexpr Duration kCrashLoopWindow = std::chrono::minutes(5);

std::optional<std::string> HandOverAfterCrash(const Observation& o) {
  const auto& m = o.memory;
  if (!m.primary_crashed_at || o.now - *m.primary_crashed_at >= kCrashLoopWindow) {
    return std::nullopt;
  }
  if (m.primary_crashed_before &&
      *m.primary_crashed_at - *m.primary_crashed_before < kCrashLoopWindow) {
    return fmt::format("postgres went down again {:.0f} s after it last went down (a crash loop)",
                       Seconds(*m.primary_crashed_at - *m.primary_crashed_before));
  }
  if (o.cluster.sync && o.cluster.sync->QuorumToPromote() > 0) {
    return std::string(
        "postgres went down, and in synchronous mode a standby holding every acknowledged "
        "commit takes over sooner than crash recovery");
  }
  return std::nullopt;
}

// The other members that could take over now, best first.
std::vector<std::string> OtherCandidates(const Observation& o) {
  std::vector<MemberInfo> others;
  for (const auto& [name, m] : o.cluster.members) {
    if (name != o.self) others.push_back(m);
  }
  return RankCandidates(others, PromotionRules(o));
}

// This node told a primary in failsafe mode that nobody could take over: it keeps its word for
// a TTL, while that primary takes its key back. Before any other rule, an operator's too.
std::optional<Decision> KeepFailsafePromise(const Observation& o) {
  if (o.failsafe_leader.empty() || o.failsafe_leader == o.self ||
      o.now - o.failsafe_confirmed_at >= std::chrono::seconds(o.timing.ttl_seconds)) {
    return std::nullopt;
  }
  return Wait(
      fmt::format("no leader; {} kept its primary in failsafe mode until moments ago: "
                  "waiting for it to take its key back",
                  o.failsafe_leader));
}

Decision DecideWithoutDcs(const Observation& o) {
  const InstanceState& inst = o.instance;
  const bool writable = inst.accepting && inst.role == PgRole::kPrimary;
  if (writable && o.now >= o.lease_deadline) {
    if (o.failsafe_until && o.now < *o.failsafe_until) {
      return Wait(
          "etcd unreachable; failsafe mode: every member confirmed it cannot reach etcd either, "
          "so nobody can take over and the primary keeps running");
    }
    return Do({Step::kFence}, "etcd unreachable and the leader lease may have ended: fencing");
  }
  return Wait(writable ? "etcd unreachable; primary keeps running until its lease deadline"
                       : "etcd unreachable; keeping the current role");
}

// The leader with a switchover request: wait for its time, refuse with a reason, or stop
// cleanly and pass the key to the chosen replica.
Decision DecideSwitchoverLeader(const Observation& o, const SwitchoverRequest& request) {
  auto end = [](std::string reason) {
    return Do({Step::kRenewLeader, Step::kRefuseSwitchover}, std::move(reason));
  };
  if (request.from != o.self) {
    return end(fmt::format("switchover requested from {}, but {} is the leader: cancelled",
                           request.from, o.self));
  }
  // A scheduled switchover is judged at its time, not before.
  if (request.at_unix > o.wall_now_unix) {
    return Do({Step::kRenewLeader},
              fmt::format("leader; switchover to {} scheduled in {:.0f} s",
                          request.to.empty() ? "the best replica" : request.to,
                          request.at_unix - o.wall_now_unix));
  }
  const SwitchoverChoice choice =
      ChooseSwitchoverTarget(o.cluster, o.self, o.instance.replication, o.instance.lsn, request,
                             o.timing.maximum_lag_on_failover);
  if (choice.target.empty()) return end("switchover refused: " + choice.refusal);
  const MemberInfo* target = o.cluster.Member(choice.target);
  auto upstream = UpstreamOf(*target);
  if (!upstream) return end(fmt::format("switchover refused: {} has no address", choice.target));
  return Do(
      {Step::kRenewLeader, Step::kHandOver},
      fmt::format("switchover: stopping cleanly and handing the leader key to {}", choice.target),
      upstream);
}

// This replica was handed the key: promote once it holds the old leader's shutdown checkpoint
// (so no acknowledged commit is missing); if it never arrives, give the key back.
Decision DecideSwitchoverCandidate(const Observation& o, const SwitchoverRequest& request) {
  if (o.instance.lsn > request.checkpoint) {
    Decision d =
        Do({Step::kRenewLeader, Step::kPromote},
           fmt::format("switchover from {}: received its shutdown checkpoint ({}), promoting",
                       request.from, request.checkpoint.ToString()));
    PrepareSyncPromotion(o, "", &d);
    return d;
  }
  const Duration waited =
      o.memory.handover_since ? o.now - *o.memory.handover_since : Duration::zero();
  if (waited >= TakeoverWait(o)) {
    return Do({Step::kReleaseLeader, Step::kRefuseSwitchover},
              fmt::format("switchover from {} failed: this node has WAL up to {}, short of the "
                          "shutdown checkpoint {}; giving the key back",
                          request.from, o.instance.lsn.ToString(), request.checkpoint.ToString()));
  }
  return Do({Step::kRenewLeader},
            fmt::format("switchover from {}: waiting to receive its shutdown checkpoint ({})",
                        request.from, request.checkpoint.ToString()));
}

Decision DecideAsLeader(const Observation& o) {
  const InstanceState& inst = o.instance;
  if (!inst.data_present) {
    return Do({Step::kReleaseLeader}, "holds the leader key but has no data: giving it up");
  }
  if (!inst.running) {
    // Only for a crash that began this down spell (not a clean stop after an earlier crash).
    const auto& m = o.memory;
    const bool crashed_now = m.primary_down_since && m.primary_crashed_at &&
                             *m.primary_crashed_at >= *m.primary_down_since;
    const auto hand_over = crashed_now ? HandOverAfterCrash(o) : std::nullopt;
    if (hand_over) {
      if (const auto others = OtherCandidates(o); !others.empty()) {
        return Do({Step::kReleaseLeader},
                  fmt::format("{}: handing the leader key over instead of restarting it ({} is "
                              "the best candidate now)",
                              *hand_over, others.front()));
      }
    }
    if (o.memory.primary_down_since && o.now - *o.memory.primary_down_since >
                                           FromSeconds(o.timing.primary_start_timeout_seconds)) {
      return Do({Step::kReleaseLeader},
                fmt::format("primary did not come back within primary_start_timeout ({} s): "
                            "giving up the leader key",
                            o.timing.primary_start_timeout_seconds));
    }
    if (inst.stopped_in_recovery) {
      // Its data is a replica's (a promotion that did not finish): starting it as primary would
      // skip the timeline switch. Start read-only; the next tick promotes.
      return Do({Step::kRenewLeader, Step::kStartReplica},
                "postgres is down with a replica's data: restarting it read-only to promote it");
    }
    return Do({Step::kRenewLeader, Step::kStartPrimary},
              "postgres is down: restarting it as primary");
  }
  if (!inst.accepting) {
    // A server that stopped answering (SIGSTOP, hung) may still take writes it cannot report.
    // Past half the TTL it is killed; the restart-in-place path above brings it back.
    const Duration silent =
        o.memory.unresponsive_since ? o.now - *o.memory.unresponsive_since : Duration{};
    if (inst.unresponsive && silent > FromSeconds(o.timing.ttl_seconds / 2.0)) {
      return Do({Step::kRenewLeader, Step::kKill},
                fmt::format("postgres has not answered for {:.1f} s (over half the lease TTL): "
                            "killing it to restart it as primary",
                            Seconds(silent)));
    }
    return Do({Step::kRenewLeader}, inst.unresponsive
                                        ? "leader; postgres does not answer"
                                        : "leader; waiting for postgres to accept connections");
  }
  const auto& switchover = o.cluster.switchover;
  const bool handed_to_self = switchover && switchover->handing_over && switchover->to == o.self;
  if (inst.role == PgRole::kReplica) {
    if (handed_to_self) return DecideSwitchoverCandidate(o, *switchover);
    Decision d = Do({Step::kRenewLeader, Step::kPromote}, "holds the leader key: promoting");
    PrepareSyncPromotion(o, "", &d);
    return d;
  }
  Decision d = Do({Step::kRenewLeader}, "leader, running as primary");
  if (o.cluster.failover) {
    d.steps.push_back(Step::kEndFailover);
    d.reason = "leader, running as primary; the manual failover request is moot";
  }
  if (switchover) {
    if (switchover->handing_over) {
      d.steps.push_back(handed_to_self ? Step::kEndSwitchover : Step::kRefuseSwitchover);
      d.reason = handed_to_self
                     ? fmt::format("switchover from {} complete: leader, running as primary",
                                   switchover->from)
                     : "leader, running as primary; a stale switchover hand-over was dropped";
      return d;
    }
    return DecideSwitchoverLeader(o, *switchover);
  }
  AddSyncSteps(o, &d);
  return d;
}

Decision DecideAsFollower(const Observation& o, const LeaderKey& leader) {
  if (auto early = DecideEarlyTakeover(o, leader)) return *early;
  const InstanceState& inst = o.instance;
  const MemberInfo* leader_member = o.cluster.Member(leader.name);
  std::optional<Upstream> upstream;
  if (leader_member != nullptr) upstream = UpstreamOf(*leader_member);
  if (!upstream) {
    if (inst.accepting && inst.role == PgRole::kPrimary) {
      return Do({Step::kFence},
                fmt::format("{} holds the leader key: fencing this primary", leader.name));
    }
    return Wait(
        fmt::format("{} holds the leader key but has not published its address yet", leader.name));
  }
  const bool leader_serving = leader_member->Runs(MemberRole::kPrimary);
  if (!inst.data_present) {
    if (!leader_serving) {
      return Wait(fmt::format("waiting for leader {} to run as primary", leader.name));
    }
    return Do({Step::kClone}, fmt::format("cloning from leader {}", leader.name), upstream);
  }
  // A node on an older timeline than the leader may hold WAL the leader never had (a former
  // primary, or a replica that received more than the new primary): pg_rewind decides.
  const bool older_timeline = inst.timeline != 0 && inst.timeline < leader_member->timeline;
  if (!inst.running) {
    // Decide only on the leader's record as a serving primary (its timeline is then current).
    if (!leader_serving) {
      return Wait(fmt::format("waiting for leader {} to run as primary", leader.name));
    }
    // A primary that shut down cleanly before the leader's timeline began (a switchover) has
    // nothing the leader lacks: it follows the new timeline as it is.
    // Only for the timeline right after its own: further timelines may have forked earlier.
    const bool behind_switch_point = inst.clean_shutdown &&
                                     leader_member->timeline == inst.timeline + 1 &&
                                     inst.lsn < leader_member->timeline_start;
    // A replica's control file names the timeline of its last restartpoint, often older than
    // the WAL it streamed: it starts as a replica, and is rewound only if it turns out to have
    // received WAL past the leader's switch point (below). pg_rewind on a replica that was
    // killed would first run crash recovery, writing an end-of-recovery record no leader has.
    if (older_timeline && !behind_switch_point && !inst.stopped_in_recovery) {
      return Do({Step::kRewind, Step::kStartReplica},
                fmt::format("on timeline {} while leader {} is on {}: rewinding, then following",
                            inst.timeline, leader.name, leader_member->timeline),
                upstream);
    }
    return Do({Step::kStartReplica},
              older_timeline
                  ? fmt::format("shut down cleanly at {}, before leader {}'s timeline {} began: "
                                "following it without a rewind",
                                inst.lsn.ToString(), leader.name, leader_member->timeline)
                  : fmt::format("starting as a replica of {}", leader.name),
              upstream);
  }
  if (!inst.accepting) return Wait("waiting for postgres to accept connections");
  if (inst.role == PgRole::kPrimary) {
    return Do(
        {Step::kDemote},
        fmt::format("{} holds the leader key: demoting this primary to its replica", leader.name),
        upstream);
  }
  // Received WAL past the point where the leader's timeline began: this replica holds a tail
  // the leader never had and cannot follow the switch without a rewind.
  if (older_timeline && leader_serving && leader_member->timeline_start.value > 0 &&
      inst.lsn > leader_member->timeline_start) {
    return Do({Step::kRewind, Step::kStartReplica},
              fmt::format("received WAL up to {}, past where leader {}'s timeline {} began ({}): "
                          "rewinding",
                          inst.lsn.ToString(), leader.name, leader_member->timeline,
                          leader_member->timeline_start.ToString()),
              upstream);
  }
  if (inst.configured_upstream != upstream->address.ToString()) {
    return Do({Step::kFollow}, fmt::format("repointing replication to leader {}", leader.name),
              upstream);
  }
  return Wait(inst.streaming ? fmt::format("replica streaming from {}", leader.name)
                             : fmt::format("replica of {}, not streaming yet", leader.name));
}

// A manual failover request counts while it has not expired and names a live member (a
// request for a node that died meanwhile must not hold back an automatic failover).
bool ManualFailoverPending(const Observation& o) {
  const auto& request = o.cluster.failover;
  return request && request->expires_unix > o.wall_now_unix &&
         o.cluster.Member(request->to) != nullptr;
}

// The operator named the next leader: it takes over, the others wait for it.
Decision DecideManualFailover(const Observation& o, const FailoverRequest& request) {
  const InstanceState& inst = o.instance;
  if (request.to != o.self) {
    return Wait(fmt::format("no leader; manual failover to {} requested", request.to));
  }
  if (!inst.running || !inst.accepting) {
    return Wait("no leader; manual failover to this node requested, but postgres is not ready");
  }
  Decision d = inst.role == PgRole::kPrimary
                   ? Do({Step::kAcquireLeader, Step::kEndFailover},
                        "manual failover to this node: taking the key")
                   : Do({Step::kAcquireLeader, Step::kPromote, Step::kEndFailover},
                        "manual failover to this node: taking the key and promoting");
  d.operator_choice = true;
  PrepareSyncPromotion(o, o.cluster.last_leader ? o.cluster.last_leader->name : "", &d);
  return d;
}

Decision RankWithoutLeader(const Observation& o) {
  const InstanceState& inst = o.instance;
  if (auto promise = KeepFailsafePromise(o)) return *promise;
  if (ManualFailoverPending(o)) return DecideManualFailover(o, *o.cluster.failover);
  if (!inst.data_present) return Wait("no leader to clone from");
  if (!inst.running && HandOverAfterCrash(o)) {
    // Down, so the others do not count it as a candidate (see kCrashLoopWindow).
    if (auto others = OtherCandidates(o); !others.empty()) {
      return Wait(
          fmt::format("no leader; this node handed its key over after its primary went "
                      "down: leaving it to {}",
                      others.front()));
    }
  }
  if (!inst.running) {
    return Do({Step::kStartReplica}, "no leader: starting read-only to learn this node's position");
  }
  if (!inst.accepting) return Wait("waiting for postgres to accept connections");
  if (inst.role == PgRole::kReplica) {
    if (auto backoff = PromotionBackoff(o)) return *backoff;
  }

  // Compare only positions published after the leader was gone; wait briefly for the rest.
  const Duration leaderless_for =
      o.memory.leaderless_since ? o.now - *o.memory.leaderless_since : Duration::zero();
  std::vector<MemberInfo> members;
  std::vector<std::string> pending;
  for (const auto& [name, m] : o.cluster.members) {
    if (name == o.self) continue;
    if (m.leader_seen.empty()) {
      members.push_back(m);
    } else {
      pending.push_back(name);
    }
  }
  if (!pending.empty() && leaderless_for < PositionWait(o)) {
    return Wait(fmt::format("no leader; waiting for {} to report its position", pending.front()));
  }
  members.push_back(DescribeSelf(o));
  const PromotionContext context = PromotionRules(o);
  const auto verdicts = JudgeCandidates(members, context);
  const auto ranked = RankCandidates(members, context);
  if (ranked.empty()) {
    std::string why;
    for (const auto& v : verdicts) why += fmt::format("; {}: {}", v.name, v.why_not);
    return Wait("no leader and no member is eligible to take over" + why);
  }
  const auto self_rank =
      static_cast<size_t>(std::find(ranked.begin(), ranked.end(), o.self) - ranked.begin());
  if (self_rank == ranked.size()) {
    return Wait(fmt::format("no leader; this node is not eligible ({}); {} is the best candidate",
                            verdicts.back().why_not, ranked.front()));
  }
  // Each better-ranked candidate gets TakeoverWait to take the key; past it, it is passed over.
  const auto passed_over = static_cast<size_t>(leaderless_for / TakeoverWait(o));
  if (self_rank > passed_over) {
    return Wait(fmt::format("no leader; {} is the best candidate", ranked[passed_over]));
  }
  if (inst.role == PgRole::kPrimary) {
    return Do({Step::kAcquireLeader},
              "no leader; this primary is the best candidate: taking the key");
  }
  Decision d =
      Do({Step::kAcquireLeader, Step::kPromote},
         self_rank == 0 ? "no leader; this replica is the best candidate: taking the key and "
                          "promoting"
                        : fmt::format("no leader; {} did not take over in time: taking the key and "
                                      "promoting",
                                      ranked.front()));
  PrepareSyncPromotion(o, o.cluster.last_leader ? o.cluster.last_leader->name : "", &d);
  return d;
}

// No leader: the best candidate takes over. A writable primary that does not take the key
// must not keep accepting writes while another node may: it fences itself (and can still be
// chosen afterwards, as a replica with the same data).
Decision DecideWithoutLeader(const Observation& o) {
  Decision d = RankWithoutLeader(o);
  const bool writable = o.instance.accepting && o.instance.role == PgRole::kPrimary;
  if (writable && d.idle()) {
    return Do({Step::kFence}, "no leader key and not taking it (" + d.reason + "): fencing");
  }
  return d;
}

// Maintenance mode: the leader keeps its key (so nobody takes over), nobody starts, stops,
// promotes or repoints PostgreSQL. Agents keep observing and publishing.
Decision DecidePaused(const Observation& o) {
  const bool leader = o.cluster.leader && o.cluster.leader->name == o.self;
  const auto& switchover = o.cluster.switchover;
  if (leader && switchover && switchover->handing_over && switchover->to == o.self &&
      o.instance.accepting && o.instance.role == PgRole::kReplica) {
    // A hand-over under way finishes: the old leader is already down.
    return DecideSwitchoverCandidate(o, *switchover);
  }
  if (leader) {
    return Do({Step::kRenewLeader},
              o.instance.running ? "cluster paused: leader keeps its key, no automatic actions"
                                 : "cluster paused: postgres is down and is not restarted");
  }
  if (!o.cluster.leader) {
    if (auto promise = KeepFailsafePromise(o)) return *promise;
    if (ManualFailoverPending(o)) return DecideManualFailover(o, *o.cluster.failover);
    return Wait("cluster paused: no leader, and no automatic failover until `baton resume`");
  }
  return Wait("cluster paused: no automatic actions");
}

// An operator verb for this node, carried out when nothing more urgent is to be done.
Decision DecideNodeAction(const Observation& o, const NodeAction& action) {
  const InstanceState& inst = o.instance;
  const bool leader = o.cluster.leader && o.cluster.leader->name == o.self;
  auto refuse = [](std::string why) { return Do({Step::kRefuseAction}, std::move(why)); };
  std::vector<Step> steps;
  if (leader) steps.push_back(Step::kRenewLeader);
  std::optional<Upstream> upstream;
  const MemberInfo* leader_member = o.cluster.LeaderMember();
  if (!leader && leader_member != nullptr) upstream = UpstreamOf(*leader_member);
  switch (action.verb) {
    case NodeVerb::kRestart: {
      if (!inst.data_present) return refuse("restart refused: the data directory is empty");
      if (leader && !(inst.accepting && inst.role == PgRole::kPrimary)) {
        // Its server is still becoming the primary (promotion, hand-over, crash recovery).
        return refuse("restart refused: the leader is not running as primary yet; try again");
      }
      if (action.pending_only && inst.running && inst.pending_restart.empty()) {
        return Do({Step::kEndAction}, "restart skipped: no setting waits for a restart");
      }
      steps.insert(steps.end(), {Step::kRestart, Step::kEndAction});
      return Do(steps,
                fmt::format("restarting postgres as {} on the operator's request",
                            leader ? "primary" : "replica"),
                upstream);
    }
    case NodeVerb::kReload:
      steps.insert(steps.end(), {Step::kReload, Step::kEndAction});
      return Do(steps, "rewrote postgresql.conf and reloaded postgres");
    case NodeVerb::kReinit: {
      if (leader) return refuse("reinit refused: this node is the leader; switch over first");
      const bool leader_serving =
          leader_member != nullptr && leader_member->Runs(MemberRole::kPrimary);
      if (!leader_serving || !upstream) {
        return refuse("reinit refused: no leader is running as primary to clone from");
      }
      return Do(
          {Step::kReinit, Step::kStartReplica, Step::kEndAction},
          fmt::format("re-cloned from leader {} on the operator's request", leader_member->name),
          upstream);
    }
  }
  return refuse("unknown verb");
}

Decision DecideRole(const Observation& o) {
  if (!o.dcs_reachable) return DecideWithoutDcs(o);
  const ClusterView& cluster = o.cluster;
  if (!cluster.initialized_by) {
    if (!o.instance.data_present) {
      return Do({Step::kClaimInitialize, Step::kAcquireLeader, Step::kBootstrap},
                "no cluster yet: bootstrapping a new one");
    }
    return Wait(
        "the data directory holds a cluster but etcd has no record of this cluster; refusing to "
        "guess (see docs/operations.md)");
  }
  if (cluster.paused) return DecidePaused(o);
  if (*cluster.initialized_by == o.self && !cluster.leader && !o.instance.data_present) {
    // This node claimed /initialize but never finished (lost the leader key race to a timeout,
    // or died during initdb): finish the bootstrap rather than leave the cluster waiting.
    return Do({Step::kAcquireLeader, Step::kBootstrap},
              "claimed the bootstrap earlier but it did not finish: bootstrapping again");
  }
  if (cluster.leader && cluster.leader->name == o.self) return DecideAsLeader(o);
  if (cluster.leader) return DecideAsFollower(o, *cluster.leader);
  return DecideWithoutLeader(o);
}

}  // namespace

Decision Decide(const Observation& o) {
  Decision d = DecideRole(o);
  // Quiet moments only: an operator verb never delays a promotion, a fence or a rejoin.
  // A reinit may also replace a replica's failing attempts to rejoin, never a fence.
  const bool quiet = d.idle() || d.steps == std::vector<Step>{Step::kRenewLeader};
  if (!o.dcs_reachable) return d;
  auto action = o.cluster.actions.find(o.self);
  if (action == o.cluster.actions.end()) return d;
  const bool fencing = std::find(d.steps.begin(), d.steps.end(), Step::kFence) != d.steps.end();
  const bool replaceable = action->second.verb == NodeVerb::kReinit && !fencing;
  if (!quiet && !replaceable) return d;
  return DecideNodeAction(o, action->second);
}

}  // namespace baton
