#include "dcs/cluster_store.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "core/json_integer.h"
#include "core/json_text.h"

namespace baton {

namespace {
constexpr const char* kInitialize = "initialize";
constexpr const char* kLeader = "leader";
constexpr const char* kMembers = "members/";
constexpr const char* kConfig = "config";
constexpr const char* kPause = "pause";
constexpr const char* kHistory = "history/";
constexpr const char* kDrills = "drills/";
constexpr const char* kStatus = "status";
constexpr const char* kNodes = "nodes/";
constexpr const char* kSwitchover = "switchover";
constexpr const char* kFailover = "failover";
constexpr const char* kActions = "actions/";
constexpr const char* kSync = "sync";
}  // namespace

const MemberInfo* ClusterView::Member(const std::string& name) const {
  auto it = members.find(name);
  return it == members.end() ? nullptr : &it->second;
}

DynamicSettings ClusterView::Settings() const {
  DynamicSettings settings;
  for (const auto& [key, value] : config.items()) {
    settings[key] = value.is_string() ? value.get<std::string>() : value.dump();
  }
  return settings;
}

const MemberInfo* ClusterView::LeaderMember() const {
  return leader ? Member(leader->name) : nullptr;
}

bool ClusterView::ListsAsStandby(const std::string& node) const {
  return leader && leader->name != node && sync && sync->leader == leader->name &&
         sync->Lists(node);
}

ClusterView::Lag ClusterView::LagOf(const MemberInfo& member) const {
  const MemberInfo* leader_member = LeaderMember();
  if (leader_member == nullptr) return {};
  if (leader_member->name == member.name) return {0, 0.0};
  auto behind = [&](Lsn position) -> uint64_t {
    return leader_member->lsn > position ? leader_member->lsn.value - position.value : 0;
  };
  for (const auto& peer : leader_member->replication) {
    if (peer.name == member.name) return {behind(peer.replay_lsn), peer.replay_lag_seconds};
  }
  if (member.state != MemberState::kRunning) return {};
  return {behind(member.replay_lsn), std::nullopt};
}

ClusterStore::ClusterStore(Dcs& dcs, std::string cluster, std::string node, int ttl_seconds,
                           const Clock& clock)
    : dcs_(dcs),
      prefix_(Prefix(cluster)),
      node_(std::move(node)),
      ttl_seconds_(ttl_seconds),
      lease_ttl_seconds_(ttl_seconds),
      clock_(clock) {}

Result<ClusterView> ClusterStore::Load() {
  auto kvs = dcs_.GetPrefix(prefix_);
  if (!kvs.ok()) return kvs.status();
  ClusterView view;
  for (const KeyValue& kv : *kvs) {
    const std::string key = kv.key.substr(prefix_.size());
    if (key == kInitialize) {
      view.initialized_by = kv.value;
    } else if (key == kLeader) {
      view.leader = LeaderKey{kv.value, kv.mod_revision, kv.lease};
    } else if (key.rfind(kMembers, 0) == 0) {
      if (auto member = MemberInfo::FromJson(kv.value)) {
        member->lease = kv.lease;
        view.member_texts[member->name] = kv.value;
        view.members[member->name] = *member;
      }
    } else if (key == kPause) {
      view.paused = true;
    } else if (key == kConfig) {
      auto config = nlohmann::json::parse(kv.value, nullptr, false);
      if (config.is_object()) view.config = config;
      view.config_text = kv.value;
    } else if (key == kStatus) {
      auto j = nlohmann::json::parse(kv.value, nullptr, false);
      try {
        const auto timeline =
            j.is_object() ? JsonIntegerField<uint32_t>(j, "timeline", 0) : std::nullopt;
        if (timeline) {
          view.last_leader =
              LeaderStatus{j.value("name", ""), Lsn::Parse(j.value("lsn", "0/0")).value_or(Lsn{}),
                           *timeline, j.value("time_unix", 0.0)};
        }
      } catch (const nlohmann::json::exception&) {
        // A malformed status is as good as none: lag is then judged against the members.
      }
    } else if (key == kSync) {
      view.sync = SyncRecord::FromJson(kv.value);
      view.sync_text = kv.value;
    } else if (key == kSwitchover) {
      view.switchover = SwitchoverRequest::FromJson(kv.value);
      view.switchover_text = kv.value;
    } else if (key == kFailover) {
      view.failover = FailoverRequest::FromJson(kv.value);
    } else if (key.rfind(kActions, 0) == 0) {
      if (auto action = NodeAction::FromJson(kv.value)) {
        view.actions[key.substr(std::string(kActions).size())] = *action;
      }
    } else if (key.rfind(kNodes, 0) == 0) {
      auto info = nlohmann::json::parse(kv.value, nullptr, false);
      view.nodes[key.substr(std::string(kNodes).size())] =
          info.is_object() ? info : nlohmann::json::object();
    } else if (key.rfind(kHistory, 0) == 0) {
      auto record = nlohmann::json::parse(kv.value, nullptr, false);
      if (record.is_object()) view.history.push_back(record);
    } else if (key.rfind(kDrills, 0) == 0) {
      auto record = nlohmann::json::parse(kv.value, nullptr, false);
      if (record.is_object()) view.drills.push_back(record);
    }
  }
  return view;
}

Status ClusterStore::RefreshSession() {
  const TimePoint sent = clock_.Now();
  if (lease_ != 0 && ttl_changed_) {
    spdlog::info("moving to a new session lease with a {} s TTL", ttl_seconds_);
    lease_ = 0;
  }
  ttl_changed_ = false;
  if (lease_ != 0) {
    Status s = dcs_.KeepAlive(lease_);
    if (s.ok()) {
      last_renewal_sent_ = sent;
      last_refresh_renewed_ = true;
      return s;
    }
    if (s.code() != StatusCode::kNotFound) return s;
    spdlog::warn("session lease {:x} ended; granting a new one", lease_);
    lease_ = 0;
  }
  auto lease = dcs_.GrantLease(ttl_seconds_);
  if (!lease.ok()) return lease.status();
  lease_ = *lease;
  lease_ttl_seconds_ = ttl_seconds_;
  last_renewal_sent_ = sent;
  last_refresh_renewed_ = false;
  return Status::Ok();
}

void ClusterStore::SetTtl(int ttl_seconds) {
  if (ttl_seconds == ttl_seconds_) return;
  ttl_seconds_ = ttl_seconds;
  ttl_changed_ = true;
}

void ClusterStore::CloseSession() {
  if (lease_ == 0) return;
  if (Status s = dcs_.RevokeLease(lease_); !s.ok()) {
    spdlog::warn("could not revoke session lease: {}", s.ToString());
  }
  lease_ = 0;
}

Status ClusterStore::PublishMember(const MemberInfo& member) {
  if (lease_ == 0) return FailedPrecondition("no session lease");
  return dcs_.Put(prefix_ + kMembers + node_, JsonText(member.ToJson()), lease_);
}

Result<bool> ClusterStore::ClaimInitialize() {
  return dcs_.CreateIfAbsent(prefix_ + kInitialize, node_, 0);
}

Status ClusterStore::CancelInitialize() {
  auto deleted = dcs_.DeleteIfValue(prefix_ + kInitialize, node_);
  return deleted.status();
}

Result<bool> ClusterStore::AcquireLeader(const std::optional<std::string>& sync_expected) {
  if (lease_ == 0) return FailedPrecondition("no session lease");
  if (!sync_expected) return dcs_.CreateIfAbsent(prefix_ + kLeader, node_, lease_);
  return dcs_.Transact({TxnCondition::Absent(prefix_ + kLeader),
                        TxnCondition::Reads(prefix_ + kSync, *sync_expected)},
                       {KeyValue{.key = prefix_ + kLeader, .value = node_, .lease = lease_}});
}

Result<bool> ClusterStore::TakeOverLeader(const std::string& old_leader, int64_t seen_revision,
                                          const std::string& sync_expected,
                                          const std::map<std::string, std::string>& members) {
  if (lease_ == 0) return FailedPrecondition("no session lease");
  if (seen_revision == 0) return InvalidArgument("the leader key's revision as seen is unknown");
  std::vector<TxnCondition> conditions = {
      TxnCondition::Unchanged(prefix_ + kLeader, old_leader, seen_revision),
      TxnCondition::Reads(prefix_ + kSync, sync_expected)};
  for (const auto& [name, text] : members) {
    conditions.push_back(TxnCondition::Equals(prefix_ + kMembers + name, text));
  }
  return dcs_.Transact(conditions,
                       {KeyValue{.key = prefix_ + kLeader, .value = node_, .lease = lease_}});
}

Result<bool> ClusterStore::WriteSync(const SyncRecord& record, const std::string& expected_text) {
  return dcs_.Transact({TxnCondition::Equals(prefix_ + kLeader, node_),
                        TxnCondition::Reads(prefix_ + kSync, expected_text)},
                       {KeyValue{.key = prefix_ + kSync, .value = JsonText(record.ToJson())}});
}

Result<bool> ClusterStore::DeleteSync(const std::string& expected_text) {
  return dcs_.Transact({TxnCondition::Equals(prefix_ + kLeader, node_),
                        TxnCondition::Equals(prefix_ + kSync, expected_text)},
                       {}, {prefix_ + kSync});
}

Result<bool> ClusterStore::RenewLeader() {
  if (lease_ == 0) return FailedPrecondition("no session lease");
  auto held = dcs_.Holds(prefix_ + kLeader, node_, lease_);
  if (!held.ok() || *held) return held;
  // Still ours but on an older session's lease (the agent restarted): move it to this one.
  return dcs_.PutIfValue(prefix_ + kLeader, node_, node_, lease_);
}

Result<bool> ClusterStore::ReclaimLeader() {
  if (lease_ == 0) return FailedPrecondition("no session lease");
  return dcs_.PutIfValue(prefix_ + kLeader, node_, node_, lease_);
}

Status ClusterStore::ReleaseLeader() {
  return dcs_.DeleteIfValue(prefix_ + kLeader, node_).status();
}

Result<bool> ClusterStore::ReplaceConfig(const std::string& expected_text,
                                         const nlohmann::json& config) {
  if (expected_text.empty()) return dcs_.CreateIfAbsent(prefix_ + kConfig, JsonText(config), 0);
  return dcs_.PutIfValue(prefix_ + kConfig, expected_text, JsonText(config), 0);
}

Status ClusterStore::RegisterNode(const nlohmann::json& info) {
  return dcs_.Put(prefix_ + kNodes + node_, JsonText(info), 0);
}

Status ClusterStore::RemoveNode(const std::string& name) {
  if (Status s = dcs_.Delete(prefix_ + kActions + name); !s.ok()) return s;
  return dcs_.Delete(prefix_ + kNodes + name);
}

Result<bool> ClusterStore::RequestSwitchover(const SwitchoverRequest& request) {
  return dcs_.CreateIfAbsent(prefix_ + kSwitchover, JsonText(request.ToJson()), 0);
}

Status ClusterStore::EndSwitchover() {
  return dcs_.Delete(prefix_ + kSwitchover);
}

Result<bool> ClusterStore::CancelSwitchover(const std::string& expected_text) {
  return dcs_.DeleteIfValue(prefix_ + kSwitchover, expected_text);
}

Result<bool> ClusterStore::HandOver(const SwitchoverRequest& request, int64_t to_lease,
                                    const std::string& expected_text,
                                    const std::optional<std::string>& sync_expected) {
  std::vector<TxnCondition> conditions = {
      TxnCondition::Equals(prefix_ + kSwitchover, expected_text),
      TxnCondition::Equals(prefix_ + kLeader, node_)};
  std::vector<KeyValue> puts = {
      KeyValue{.key = prefix_ + kSwitchover, .value = JsonText(request.ToJson())},
      KeyValue{.key = prefix_ + kLeader, .value = request.to, .lease = to_lease}};
  if (sync_expected) conditions.push_back(TxnCondition::Reads(prefix_ + kSync, *sync_expected));
  return dcs_.Transact(conditions, puts);
}

Status ClusterStore::RequestFailover(const FailoverRequest& request) {
  return dcs_.Put(prefix_ + kFailover, JsonText(request.ToJson()), 0);
}

Status ClusterStore::EndFailover() {
  return dcs_.Delete(prefix_ + kFailover);
}

Result<bool> ClusterStore::RequestAction(const std::string& node, const NodeAction& action) {
  return dcs_.CreateIfAbsent(prefix_ + kActions + node, JsonText(action.ToJson()), 0);
}

Status ClusterStore::EndAction(const std::string& node) {
  return dcs_.Delete(prefix_ + kActions + node);
}

Status ClusterStore::AppendRecord(const char* folder, const nlohmann::json& record) {
  // Keys sort by the time they were written, so a range read lists the records oldest first.
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
  return dcs_.Put(fmt::format("{}{}{:020d}-{}", prefix_, folder, micros, node_), JsonText(record),
                  0);
}

Status ClusterStore::AppendHistory(const nlohmann::json& record) {
  return AppendRecord(kHistory, record);
}

Status ClusterStore::AppendDrill(const nlohmann::json& record) {
  return AppendRecord(kDrills, record);
}

Status ClusterStore::SetPaused(bool paused, const std::string& by) {
  if (!paused) return dcs_.Delete(prefix_ + kPause);
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const nlohmann::json record = {{"by", by},
                                 {"since_unix", std::chrono::duration<double>(now).count()}};
  return dcs_.Put(prefix_ + kPause, JsonText(record), 0);
}

Status ClusterStore::WriteLeaderStatus(const LeaderStatus& status) {
  const nlohmann::json j = {{"name", status.name},
                            {"lsn", status.lsn.ToString()},
                            {"timeline", status.timeline},
                            {"time_unix", status.time_unix}};
  return dcs_.Put(prefix_ + kStatus, JsonText(j), 0);
}

bool ClusterStore::IsUrgentKey(const std::string& key) {
  return key == kLeader || key == kInitialize || key == kConfig || key == kPause ||
         key == kSwitchover || key == kFailover || key.rfind(kActions, 0) == 0;
}

bool ClusterStore::IsMemberKey(const std::string& key) {
  return key.rfind(kMembers, 0) == 0;
}

void ClusterStore::Watch(
    std::function<void(const std::string& key, const std::string& value)> on_change) {
  dcs_.WatchPrefix(prefix_,
                   [prefix = prefix_, on_change = std::move(on_change)](const WatchEvent& event) {
                     on_change(event.kv.key.substr(prefix.size()), event.kv.value);
                   });
}

}  // namespace baton
