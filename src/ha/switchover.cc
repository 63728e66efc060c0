#include "ha/switchover.h"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

namespace baton {

namespace {

struct Judged {
  const MemberInfo* member = nullptr;
  uint64_t lag = 0;
  std::string why_not;
};

Judged Judge(const MemberInfo& m, const std::vector<ReplicationPeer>& standbys, Lsn leader_lsn,
             const SwitchoverRequest& request, uint64_t maximum_lag_bytes) {
  Judged j{&m, 0, ""};
  if (!m.Runs(MemberRole::kReplica)) {
    j.why_not = fmt::format("{} is not a running replica (role {}, state {})", m.name,
                            MemberRoleName(m.role), MemberStateName(m.state));
    return j;
  }
  if (m.nofailover) {
    j.why_not = fmt::format("{} is tagged nofailover", m.name);
    return j;
  }
  auto peer = std::find_if(standbys.begin(), standbys.end(),
                           [&](const ReplicationPeer& p) { return p.name == m.name; });
  if (peer == standbys.end() || peer->state != "streaming") {
    j.why_not = fmt::format("{} is not streaming from {}", m.name, request.from);
    return j;
  }
  j.lag = leader_lsn > peer->replay_lsn ? leader_lsn.value - peer->replay_lsn.value : 0;
  if (!request.force && j.lag > maximum_lag_bytes) {
    j.why_not = fmt::format(
        "{} lags {} bytes, more than maximum_lag_on_failover ({}); --force switches anyway", m.name,
        j.lag, maximum_lag_bytes);
  }
  return j;
}

}  // namespace

SwitchoverChoice ChooseSwitchoverTarget(const ClusterView& cluster, const std::string& leader,
                                        const std::vector<ReplicationPeer>& standbys,
                                        Lsn leader_lsn, const SwitchoverRequest& request,
                                        uint64_t maximum_lag_bytes) {
  if (!request.to.empty()) {
    if (request.to == leader) return {"", fmt::format("{} is already the leader", leader)};
    const MemberInfo* m = cluster.Member(request.to);
    if (m == nullptr) return {"", fmt::format("{} is not a running member", request.to)};
    Judged j = Judge(*m, standbys, leader_lsn, request, maximum_lag_bytes);
    if (!j.why_not.empty()) return {"", j.why_not};
    return {request.to, ""};
  }
  std::vector<Judged> eligible;
  std::string refusals;
  for (const auto& [name, m] : cluster.members) {
    if (name == leader) continue;
    Judged j = Judge(m, standbys, leader_lsn, request, maximum_lag_bytes);
    if (j.why_not.empty()) {
      eligible.push_back(j);
    } else {
      refusals += (refusals.empty() ? "" : "; ") + j.why_not;
    }
  }
  if (eligible.empty()) {
    return {"", "no replica can take over" + (refusals.empty() ? "" : ": " + refusals)};
  }
  std::sort(eligible.begin(), eligible.end(), [](const Judged& a, const Judged& b) {
    return std::make_tuple(a.lag, -a.member->priority, a.member->name) <
           std::make_tuple(b.lag, -b.member->priority, b.member->name);
  });
  return {eligible.front().member->name, ""};
}

}  // namespace baton
