#include "ha/cluster_admin.h"

#include <fmt/format.h>

#include <chrono>
#include <random>

#include "ha/candidate.h"
#include "ha/switchover.h"

namespace baton {

namespace {

std::string NewRequestId() {
  std::random_device random;
  return fmt::format("{:08x}{:08x}", random(), random());
}

Status CheckMember(const ClusterView& view, const std::string& node) {
  if (view.Member(node) != nullptr) return Status::Ok();
  std::string known;
  for (const auto& [name, member] : view.members) known += (known.empty() ? "" : ", ") + name;
  return FailedPrecondition(fmt::format("{} is not a running member (members: {})", node,
                                        known.empty() ? "none" : known));
}

// The settings applied to the defaults, as any node would start from.
Result<Config> OnDefaults(const DynamicSettings& settings) {
  return ApplyDynamicConfig(Config{}, settings);
}

Status Validate(const DynamicSettings& settings) {
  return OnDefaults(settings).status();
}

nlohmann::json ToJson(const DynamicSettings& settings) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [key, value] : settings) j[key] = value;
  return j;
}

}  // namespace

ClusterAdmin::ClusterAdmin(Dcs& dcs, const std::string& cluster, const Clock& clock)
    : clock_(clock), store_(dcs, cluster, "", 10, clock) {}

Result<ClusterView> ClusterAdmin::Load() {
  auto view = store_.Load();
  if (!view.ok()) return view.status().WithContext("cannot read the cluster from etcd");
  if (!view->initialized_by) {
    return FailedPrecondition("etcd holds no cluster by that name (never bootstrapped)");
  }
  return view;
}

Result<SwitchoverPlan> ClusterAdmin::Switchover(const std::string& to, double at_unix, bool force,
                                                const std::string& by) {
  auto view = Load();
  if (!view.ok()) return view.status();
  if (view->paused) return FailedPrecondition("the cluster is paused: `baton resume` first");
  if (view->switchover) {
    return FailedPrecondition(
        fmt::format("a switchover is already pending (from {}); `baton switchover --cancel` first",
                    view->switchover->from));
  }
  if (!view->switchover_text.empty()) {
    return FailedPrecondition(
        "etcd holds a malformed switchover record; `baton switchover --cancel` removes it");
  }
  const MemberInfo* leader = view->LeaderMember();
  if (leader == nullptr || !leader->Runs(MemberRole::kPrimary)) {
    return FailedPrecondition(
        "no leader is running as primary: a switchover needs one (see `baton failover`)");
  }
  SwitchoverRequest request;
  request.from = leader->name;
  request.to = to;
  request.at_unix = at_unix;
  request.force = force;
  request.requested_by = by;
  // The same check the leader makes before it stops, on what it last published.
  auto effective = OnDefaults(view->Settings());
  const uint64_t max_lag =
      effective.ok() ? effective->timing.maximum_lag_on_failover : Timing{}.maximum_lag_on_failover;
  const SwitchoverChoice choice = ChooseSwitchoverTarget(*view, leader->name, leader->replication,
                                                         leader->lsn, request, max_lag);
  if (choice.target.empty()) return FailedPrecondition(choice.refusal);
  auto created = store_.RequestSwitchover(request);
  if (!created.ok()) return created.status();
  if (!*created) return FailedPrecondition("another switchover was requested meanwhile");
  return SwitchoverPlan{request, choice.target};
}

Status ClusterAdmin::CancelSwitchover() {
  auto view = Load();
  if (!view.ok()) return view.status();
  if (view->switchover_text.empty()) return FailedPrecondition("no switchover is pending");
  if (view->switchover && view->switchover->handing_over) {
    return FailedPrecondition("the switchover is already under way and cannot be cancelled");
  }
  // Only the request as read: if the leader started the hand-over meanwhile, it stands.
  auto cancelled = store_.CancelSwitchover(view->switchover_text);
  if (!cancelled.ok()) return cancelled.status();
  if (!*cancelled) {
    return FailedPrecondition("the switchover got under way meanwhile and cannot be cancelled");
  }
  return Status::Ok();
}

Result<FailoverPlan> ClusterAdmin::Failover(const std::string& to, bool allow_data_loss,
                                            double timeout_seconds, const std::string& by) {
  auto view = Load();
  if (!view.ok()) return view.status();
  if (view->leader) {
    return FailedPrecondition(
        fmt::format("{} is the leader: use `baton switchover --to {}` for a planned change",
                    view->leader->name, to));
  }
  if (Status s = CheckMember(*view, to); !s.ok()) return s;
  const MemberInfo& candidate = *view->Member(to);
  if (candidate.state != MemberState::kRunning) {
    return FailedPrecondition(
        fmt::format("{} is {}: it cannot be promoted", to, MemberStateName(candidate.state)));
  }
  FailoverPlan plan;
  plan.request = {to, allow_data_loss, by, clock_.UnixNow() + timeout_seconds};
  plan.candidate_lsn = candidate.lsn;
  plan.leader_lsn = view->last_leader ? view->last_leader->lsn : Lsn{};
  for (const auto& [name, member] : view->members) {
    plan.leader_lsn = std::max(plan.leader_lsn, member.lsn);
  }
  plan.lost_bytes =
      plan.leader_lsn > candidate.lsn ? plan.leader_lsn.value - candidate.lsn.value : 0;
  if (!view->sync && !view->sync_text.empty() && !allow_data_loss) {
    return FailedPrecondition(
        "the /sync record cannot be read, so nobody knows which node holds every acknowledged "
        "commit; add --allow-data-loss to promote " +
        to + " anyway");
  }
  if (view->sync && !allow_data_loss) {
    // Synchronous mode: WAL the old leader wrote past its standbys was never acknowledged; what
    // counts is whether the record says the candidate holds every acknowledged commit.
    std::vector<MemberInfo> members;
    for (const auto& [name, member] : view->members) members.push_back(member);
    PromotionContext context;
    context.sync = &*view->sync;
    for (const CandidateVerdict& verdict : JudgeCandidates(members, context)) {
      if (verdict.name != to) continue;
      if (!verdict.eligible) {
        return FailedPrecondition(fmt::format(
            "{} may miss acknowledged commits ({}); add --allow-data-loss to promote it anyway", to,
            verdict.why_not));
      }
      if (Status s = store_.RequestFailover(plan.request); !s.ok()) return s;
      return plan;
    }
  }
  if (plan.lost_bytes > 0 && !allow_data_loss) {
    return FailedPrecondition(
        fmt::format("promoting {} would lose {} bytes of WAL (it has {}, the cluster had {}); add "
                    "--allow-data-loss to do it anyway",
                    to, plan.lost_bytes, candidate.lsn.ToString(), plan.leader_lsn.ToString()));
  }
  if (Status s = store_.RequestFailover(plan.request); !s.ok()) return s;
  return plan;
}

Status ClusterAdmin::CancelFailover() {
  return store_.EndFailover();
}

Result<NodeAction> ClusterAdmin::RequestAction(const std::string& node, NodeVerb verb,
                                               bool pending_only, const std::string& by) {
  auto view = Load();
  if (!view.ok()) return view.status();
  if (Status s = CheckMember(*view, node); !s.ok()) return s;
  if (verb == NodeVerb::kReinit && view->leader && view->leader->name == node) {
    return FailedPrecondition(
        fmt::format("{} is the leader: switch over first, then reinit it", node));
  }
  if (view->actions.count(node)) {
    return FailedPrecondition(
        fmt::format("{} still has a {} pending", node, NodeVerbName(view->actions.at(node).verb)));
  }
  NodeAction action{verb, NewRequestId(), pending_only, by};
  auto created = store_.RequestAction(node, action);
  if (!created.ok()) return created.status();
  if (!*created) return FailedPrecondition(node + " got another request meanwhile");
  return action;
}

Result<bool> ClusterAdmin::SetPaused(bool paused, const std::string& by) {
  auto view = Load();
  if (!view.ok()) return view.status();
  if (view->paused == paused) return false;
  if (Status s = store_.SetPaused(paused, by); !s.ok()) return s;
  return true;
}

Result<DynamicSettings> ClusterAdmin::SetConfig(const DynamicSettings& changes) {
  auto view = Load();
  if (!view.ok()) return view.status();
  DynamicSettings settings = view->Settings();
  for (const auto& [key, value] : changes) {
    if (value.empty()) {
      settings.erase(key);  // back to each node's file
    } else {
      settings[key] = value;
    }
  }
  if (Status s = Validate(settings); !s.ok()) return s;
  auto replaced = store_.ReplaceConfig(view->config_text, ToJson(settings));
  if (!replaced.ok()) return replaced.status();
  if (!*replaced) return FailedPrecondition("the configuration changed meanwhile; try again");
  return settings;
}

Result<DynamicSettings> ClusterAdmin::ReplaceConfig(const DynamicSettings& expected,
                                                    const DynamicSettings& settings) {
  auto view = Load();
  if (!view.ok()) return view.status();
  if (view->Settings() != expected) {
    return FailedPrecondition("the configuration changed while you edited it; nothing stored");
  }
  if (Status s = Validate(settings); !s.ok()) return s;
  auto replaced = store_.ReplaceConfig(view->config_text, ToJson(settings));
  if (!replaced.ok()) return replaced.status();
  if (!*replaced) return FailedPrecondition("the configuration changed meanwhile; try again");
  return settings;
}

Status ClusterAdmin::Remove(const std::string& node) {
  auto view = Load();
  if (!view.ok()) return view.status();
  if (view->Member(node) != nullptr) {
    return FailedPrecondition(fmt::format(
        "{} is alive (its agent still publishes); stop its agent first, then remove it", node));
  }
  if (view->nodes.count(node) == 0 && view->actions.count(node) == 0) {
    return FailedPrecondition(fmt::format("{} is not in the cluster's records", node));
  }
  return store_.RemoveNode(node);
}

}  // namespace baton
