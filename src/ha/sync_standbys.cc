#include "ha/sync_standbys.h"

#include <fmt/format.h>

#include <algorithm>
#include <regex>
#include <tuple>

namespace baton {

namespace {

// Listed when a strict policy has no standby at all: no server has this application_name (node
// names cannot hold ':'), so commits wait.
constexpr const char* kNoStandby = "baton:no-standby";

std::string Render(SyncMode mode, const std::vector<std::string>& standbys, int demanded) {
  if (demanded <= 0) return "";
  std::string names;
  for (const std::string& name :
       standbys.empty() ? std::vector<std::string>{kNoStandby} : standbys) {
    names += fmt::format("{}\"{}\"", names.empty() ? "" : ", ", name);
  }
  return fmt::format("{} {} ({})", mode == SyncMode::kQuorum ? "ANY" : "FIRST", demanded, names);
}

}  // namespace

SyncPlan PlanSyncStandbys(const HaPolicy& policy, const std::string& leader,
                          const ClusterView& cluster, const std::vector<ReplicationPeer>& peers,
                          const std::vector<std::string>& keep) {
  if (policy.synchronous_mode == SyncMode::kOff) return {SyncRecord::LeaderOnly(leader), ""};
  auto eligible = [&](const std::string& name) {
    const MemberInfo* m = cluster.Member(name);
    return name != leader && m != nullptr && !m->nofailover;
  };
  struct Candidate {
    std::string name;
    Lsn flush;
  };
  std::vector<Candidate> candidates;
  for (const ReplicationPeer& peer : peers) {
    if (peer.state == "streaming" && eligible(peer.name)) {
      candidates.push_back({peer.name, peer.flush_lsn});
    }
  }
  for (const std::string& name : keep) {
    const bool listed = std::any_of(candidates.begin(), candidates.end(),
                                    [&](const Candidate& c) { return c.name == name; });
    if (!listed && eligible(name)) candidates.push_back({name, Lsn{}});
  }
  const int wanted = policy.synchronous_node_count;
  if (policy.synchronous_mode == SyncMode::kOn) {
    // Keep the standbys already chosen, then the furthest, then by name.
    auto chosen = [&](const Candidate& c) { return cluster.sync && cluster.sync->Lists(c.name); };
    std::sort(candidates.begin(), candidates.end(), [&](const Candidate& a, const Candidate& b) {
      return std::make_tuple(!chosen(a), b.flush, a.name) <
             std::make_tuple(!chosen(b), a.flush, b.name);
    });
    if (static_cast<int>(candidates.size()) > wanted) candidates.resize(wanted);
  }
  std::vector<std::string> standbys;
  for (const Candidate& c : candidates) standbys.push_back(c.name);
  std::sort(standbys.begin(), standbys.end());
  const int available = static_cast<int>(standbys.size());
  const int demanded = policy.synchronous_mode_strict ? wanted : std::min(wanted, available);
  return {SyncRecord::Make(leader, standbys, demanded),
          Render(policy.synchronous_mode, standbys, demanded), demanded > available};
}

std::vector<std::string> ListedStandbys(const std::string& standby_names) {
  static const std::regex quoted("\"([^\"]*)\"");
  std::vector<std::string> names;
  for (auto it = std::sregex_iterator(standby_names.begin(), standby_names.end(), quoted);
       it != std::sregex_iterator(); ++it) {
    names.push_back((*it)[1].str());
  }
  return names;
}

bool WalSendersFollow(const std::string& standby_names, const std::vector<ReplicationPeer>& peers) {
  const std::vector<std::string> listed = ListedStandbys(standby_names);
  return std::all_of(peers.begin(), peers.end(), [&](const ReplicationPeer& peer) {
    const bool is_listed = std::find(listed.begin(), listed.end(), peer.name) != listed.end();
    return is_listed == (peer.sync_state != "async");
  });
}

}  // namespace baton
