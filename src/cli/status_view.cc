#include "cli/status_view.h"

#include <fmt/format.h>

#include "core/json_integer.h"
#include "core/wall_time.h"
#include "dcs/cluster_status.h"

namespace baton {

namespace {

std::string Rejoined(const MemberInfo& m) {
  return m.rejoined.empty() ? "" : "rejoined via " + m.rejoined;
}

std::string PendingRestart(const MemberInfo& m) {
  if (m.pending_restart.empty()) return "";
  std::string names;
  for (const auto& p : m.pending_restart) names += (names.empty() ? "" : ",") + p;
  return "pending restart: " + names;
}

// Synchronous mode's record, in words: who may be promoted without losing a commit.
std::string SyncLine(const SyncRecord& sync) {
  if (sync.acks == 0) {
    return fmt::format("Synchronous: no standby confirmed yet; only {} may be promoted\n",
                       sync.leader);
  }
  std::string names;
  for (const auto& name : sync.standbys) names += (names.empty() ? "" : ", ") + name;
  return fmt::format("Synchronous: {} of {} confirm each commit\n", sync.acks, names);
}

}  // namespace

std::string ClusterStatusTable(const std::string& cluster, const ClusterView& view) {
  std::string out = fmt::format("Cluster {}: leader {}, {} member(s){}\n", cluster,
                                view.leader ? view.leader->name : "NONE", view.members.size(),
                                view.paused ? ", PAUSED (maintenance mode)" : "");
  out += fmt::format("{:<12} {:<21} {:<8} {:<10} {:>3} {:<12} {:>10} {:>8}  {}\n", "MEMBER", "HOST",
                     "ROLE", "STATE", "TL", "LSN", "LAG(B)", "LAG(S)", "NOTE");
  for (const auto& [name, m] : view.members) {
    const auto lag = view.LagOf(m);
    const bool healthy =
        m.state == MemberState::kRunning && (m.role == MemberRole::kPrimary || m.streaming);
    std::string note = healthy && view.leader ? Rejoined(m) : m.note;
    if (!m.pending_restart.empty()) note += (note.empty() ? "" : "; ") + PendingRestart(m);
    out += fmt::format("{:<12} {:<21} {:<8} {:<10} {:>3} {:<12} {:>10} {:>8}  {}\n", name,
                       m.pg_address, MemberRoleShown(view, m), MemberStateShown(m), m.timeline,
                       m.lsn.ToString(), lag.bytes ? std::to_string(*lag.bytes) : "-",
                       lag.seconds ? fmt::format("{:.1f}", *lag.seconds) : "-", note);
  }
  for (const auto& name : DownNodes(view)) {
    out += fmt::format("{:<12} {:<21} {:<8} {:<10} {:>3} {:<12} {:>10} {:>8}  {}\n", name,
                       view.nodes.at(name).value("pg_address", ""), "-", "down", "", "", "-", "-",
                       "its agent does not report (`baton remove` forgets it)");
  }
  if (view.members.empty()) out += "(no member is reporting)\n";
  if (view.sync) out += SyncLine(*view.sync);
  if (view.switchover) {
    const SwitchoverRequest& r = *view.switchover;
    out += fmt::format("Switchover pending: {} -> {}{}\n", r.from,
                       r.to.empty() ? "best replica" : r.to,
                       r.at_unix > 0 ? " at " + UtcText(r.at_unix) : "");
  }
  return out;
}

std::string HistoryTable(const ClusterView& view) {
  std::string out = fmt::format("{:<25} {:<10} {:<10} {:<10} {:>3} {:<12} {:>8}  {}\n", "TIME",
                                "EVENT", "OLD", "NEW", "TL", "LSN", "GAP(S)", "REASON");
  for (const auto& h : view.history) {
    const auto seconds = h.find("unavailable_seconds");
    const std::string gap = seconds != h.end() && seconds->is_number()
                                ? fmt::format("{:.2f}", seconds->get<double>())
                                : "-";
    out += fmt::format("{:<25} {:<10} {:<10} {:<10} {:>3} {:<12} {:>8}  {}\n", h.value("time", ""),
                       h.value("event", ""), h.value("old_leader", ""), h.value("new_leader", ""),
                       JsonIntegerField<int>(h, "timeline", 0).value_or(0), h.value("lsn", ""), gap,
                       h.value("reason", ""));
  }
  return out;
}

}  // namespace baton
