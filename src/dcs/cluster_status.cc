#include "dcs/cluster_status.h"

namespace baton {

std::string MemberRoleShown(const ClusterView& view, const MemberInfo& m) {
  if (view.leader && view.leader->name == m.name) return "leader";
  return MemberRoleName(m.role);
}

std::string MemberStateShown(const MemberInfo& m) {
  if (m.Runs(MemberRole::kReplica)) return m.streaming ? "streaming" : "running";
  return MemberStateName(m.state);
}

std::vector<std::string> DownNodes(const ClusterView& view) {
  std::vector<std::string> down;
  for (const auto& [name, info] : view.nodes) {
    if (view.Member(name) == nullptr) down.push_back(name);
  }
  return down;
}

nlohmann::json ClusterStatusJson(const std::string& cluster, const ClusterView& view) {
  nlohmann::json members = nlohmann::json::array();
  for (const auto& [name, m] : view.members) {
    const auto lag = view.LagOf(m);
    members.push_back(
        {{"name", name},
         {"host", m.pg_address},
         {"api_url", m.api_url},
         {"role", MemberRoleShown(view, m)},
         {"state", MemberStateShown(m)},
         {"timeline", m.timeline},
         {"lsn", m.lsn.ToString()},
         {"replay_lsn", m.replay_lsn.ToString()},
         {"replay_timestamp",
          m.replay_timestamp.empty() ? nlohmann::json() : nlohmann::json(m.replay_timestamp)},
         {"lag_bytes", lag.bytes ? nlohmann::json(*lag.bytes) : nlohmann::json()},
         {"lag_seconds", lag.seconds ? nlohmann::json(*lag.seconds) : nlohmann::json()},
         {"upstream", m.upstream},
         {"rejoined", m.rejoined.empty() ? nlohmann::json() : nlohmann::json(m.rejoined)},
         {"tags", {{"nofailover", m.nofailover}, {"priority", m.priority}}},
         {"pending_restart", m.pending_restart},
         {"note", m.note}});
  }
  for (const auto& name : DownNodes(view)) {
    members.push_back({{"name", name},
                       {"host", view.nodes.at(name).value("pg_address", "")},
                       {"role", "unknown"},
                       {"state", "down"},
                       {"note", "its agent does not report (baton remove forgets it)"}});
  }
  return {{"cluster", cluster},
          {"initialized_by",
           view.initialized_by ? nlohmann::json(*view.initialized_by) : nlohmann::json()},
          {"leader", view.leader ? nlohmann::json(view.leader->name) : nlohmann::json()},
          {"paused", view.paused},
          {"switchover", view.switchover ? view.switchover->ToJson() : nlohmann::json()},
          {"sync", view.sync ? view.sync->ToJson() : nlohmann::json()},
          {"members", members}};
}

}  // namespace baton
