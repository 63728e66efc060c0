#include "dcs/member.h"

#include <nlohmann/json.hpp>
#include <utility>

#include "core/json_integer.h"

namespace baton {

namespace {

constexpr std::pair<MemberRole, const char*> kRoleNames[] = {
    {MemberRole::kUnknown, "unknown"},
    {MemberRole::kPrimary, "primary"},
    {MemberRole::kReplica, "replica"},
};
constexpr std::pair<MemberState, const char*> kStateNames[] = {
    {MemberState::kUnknown, "unknown"},           {MemberState::kEmpty, "empty"},
    {MemberState::kStopped, "stopped"},           {MemberState::kStarting, "starting"},
    {MemberState::kUnresponsive, "unresponsive"}, {MemberState::kRunning, "running"},
    {MemberState::kCloning, "cloning"},           {MemberState::kReinit, "reinit"},
    {MemberState::kReclone, "re-clone"},
};

template <typename Enum, size_t N>
const char* NameOf(const std::pair<Enum, const char*> (&names)[N], Enum value) {
  for (const auto& [known, name] : names) {
    if (known == value) return name;
  }
  return "unknown";
}

template <typename Enum, size_t N>
Enum ValueOf(const std::pair<Enum, const char*> (&names)[N], const std::string& name) {
  for (const auto& [value, known] : names) {
    if (name == known) return value;
  }
  return Enum::kUnknown;
}

}  // namespace

const char* MemberRoleName(MemberRole role) {
  return NameOf(kRoleNames, role);
}
MemberRole MemberRoleFromName(const std::string& name) {
  return ValueOf(kRoleNames, name);
}
const char* MemberStateName(MemberState state) {
  return NameOf(kStateNames, state);
}
MemberState MemberStateFromName(const std::string& name) {
  return ValueOf(kStateNames, name);
}

nlohmann::json MemberInfo::ToJson() const {
  nlohmann::json peers = nlohmann::json::array();
  for (const auto& p : replication) {
    peers.push_back({{"name", p.name},
                     {"state", p.state},
                     {"replay_lsn", p.replay_lsn.ToString()},
                     {"replay_lag_seconds", p.replay_lag_seconds},
                     {"flush_lsn", p.flush_lsn.ToString()},
                     {"sync_state", p.sync_state}});
  }
  nlohmann::json j = {{"name", name},
                      {"api_url", api_url},
                      {"pg_address", pg_address},
                      {"role", MemberRoleName(role)},
                      {"state", MemberStateName(state)},
                      {"timeline", timeline},
                      {"lsn", lsn.ToString()},
                      {"replay_lsn", replay_lsn.ToString()},
                      {"timeline_start", timeline_start.ToString()},
                      {"streaming", streaming},
                      {"replay_timestamp", replay_timestamp},
                      {"upstream", upstream},
                      {"leader_seen", leader_seen},
                      {"detached_from", detached_from},
                      {"rejoined", rejoined},
                      {"nofailover", nofailover},
                      {"priority", priority},
                      {"note", note},
                      {"updated_unix", updated_unix},
                      {"replication", peers},
                      {"pending_restart", pending_restart}};
  if (last_action) {
    j["last_action"] = {{"id", last_action->id},
                        {"verb", last_action->verb},
                        {"ok", last_action->ok},
                        {"message", last_action->message}};
  }
  return j;
}

std::optional<MemberInfo> MemberInfo::FromJson(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  try {
    MemberInfo m;
    m.name = j.value("name", "");
    m.api_url = j.value("api_url", "");
    m.pg_address = j.value("pg_address", "");
    m.role = MemberRoleFromName(j.value("role", "unknown"));
    m.state = MemberStateFromName(j.value("state", "unknown"));
    const auto timeline = JsonIntegerField<uint32_t>(j, "timeline", 0);
    const auto priority = JsonIntegerField<int>(j, "priority", 1);
    if (!timeline || !priority) return std::nullopt;
    m.timeline = *timeline;
    m.lsn = Lsn::Parse(j.value("lsn", "0/0")).value_or(Lsn{});
    m.replay_lsn = Lsn::Parse(j.value("replay_lsn", "0/0")).value_or(Lsn{});
    m.timeline_start = Lsn::Parse(j.value("timeline_start", "0/0")).value_or(Lsn{});
    m.streaming = j.value("streaming", false);
    m.replay_timestamp = j.value("replay_timestamp", "");
    m.upstream = j.value("upstream", "");
    m.leader_seen = j.value("leader_seen", "");
    m.detached_from = j.value("detached_from", "");
    m.rejoined = j.value("rejoined", "");
    m.nofailover = j.value("nofailover", false);
    m.priority = *priority;
    m.note = j.value("note", "");
    m.updated_unix = j.value("updated_unix", 0.0);
    for (const auto& p : j.value("replication", nlohmann::json::array())) {
      m.replication.push_back({p.value("name", ""), p.value("state", ""),
                               Lsn::Parse(p.value("replay_lsn", "0/0")).value_or(Lsn{}),
                               p.value("replay_lag_seconds", 0.0),
                               Lsn::Parse(p.value("flush_lsn", "0/0")).value_or(Lsn{}),
                               p.value("sync_state", "")});
    }
    m.pending_restart = j.value("pending_restart", std::vector<std::string>{});
    if (j.contains("last_action") && j["last_action"].is_object()) {
      const auto& a = j["last_action"];
      m.last_action = ActionResult{a.value("id", ""), a.value("verb", ""), a.value("ok", false),
                                   a.value("message", "")};
    }
    if (m.name.empty()) return std::nullopt;
    return m;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace baton
