// ClusterStore: baton's keys in the Dcs, and this agent's session lease.
//
// Layout under /baton/<cluster>/:
//   initialize        node name that bootstrapped the cluster (created once, by transaction)
//   leader            node name of the leader, on the leader's session lease
//   members/<name>    MemberInfo JSON, on that member's session lease
//   config            dynamic cluster settings (JSON)
//   pause             present while the cluster is in maintenance mode (who paused it, when)
//   status            the leader's last position (LeaderStatus JSON), written every tick
//   history/<n>       one JSON record per role change
//   drills/<n>        one JSON record per finished `baton drill` (drill/drill_history.h)
//   nodes/<name>      every node that ever joined (no lease), so a dead one still shows
//   sync              SyncRecord JSON: where acknowledged commits are (synchronous mode)
//   switchover, failover, actions/<name>   operator requests (dcs/requests.h)
// The session lease is granted on first refresh and renewed by every RefreshSession(); when
// etcd reports it ended, a new one is granted (and any leader key on the old one is gone).
// Not thread-safe: one agent loop owns it. Load() may be called from any thread on a
// separate instance (the CLI uses its own).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "dcs/dcs.h"
#include "dcs/member.h"
#include "dcs/requests.h"
#include "dcs/sync_record.h"

namespace baton {

struct LeaderKey {
  std::string name;
  int64_t mod_revision = 0;
  LeaseId lease = 0;
};

// The leader's last published position; outlives the leader's lease, so after a failure the
// survivors still know how far the old primary had got.
struct LeaderStatus {
  std::string name;
  Lsn lsn;
  uint32_t timeline = 0;
  double time_unix = 0;  // wall-clock seconds when written
};

struct ClusterView {
  std::optional<std::string> initialized_by;
  std::optional<LeaderKey> leader;
  std::map<std::string, MemberInfo> members;
  std::map<std::string, std::string> member_texts;  // each member's record as stored
  std::optional<LeaderStatus> last_leader;
  std::optional<SyncRecord> sync;  // synchronous mode's record (dcs/sync_record.h)
  std::string sync_text;           // as stored ("" when absent), for compare-and-swap
  bool paused = false;  // maintenance mode: no automatic failover, restarts or role changes
  nlohmann::json config = nlohmann::json::object();
  std::string config_text;              // /config as stored ("" when absent), for compare-and-swap
  std::vector<nlohmann::json> history;  // oldest first
  std::vector<nlohmann::json> drills;   // oldest first
  std::optional<SwitchoverRequest> switchover;
  std::string switchover_text;  // as stored ("" when absent; set even when malformed)
  std::optional<FailoverRequest> failover;
  std::map<std::string, NodeAction> actions;    // node name -> its pending verb
  std::map<std::string, nlohmann::json> nodes;  // every registered node (see RegisterNode)

  const MemberInfo* Member(const std::string& name) const;
  // /config as settings (key path -> text).
  DynamicSettings Settings() const;
  const MemberInfo* LeaderMember() const;
  // Whether `node` is a standby the current leader's /sync record lists (the leader itself
  // is not).
  bool ListsAsStandby(const std::string& node) const;

  // How far a member is behind the leader, as the leader last reported it (pg_stat_replication),
  // or from the member's own position when the leader does not list it. Unknown = nullopt.
  struct Lag {
    std::optional<uint64_t> bytes;
    std::optional<double> seconds;
  };
  Lag LagOf(const MemberInfo& member) const;
};

class ClusterStore {
 public:
  ClusterStore(Dcs& dcs, std::string cluster, std::string node, int ttl_seconds,
               const Clock& clock);

  static std::string Prefix(const std::string& cluster) { return "/baton/" + cluster + "/"; }
  const std::string& prefix() const { return prefix_; }
  const std::string& node() const { return node_; }

  Result<ClusterView> Load();

  // Grants or renews this node's session lease. On success records when the renewal was sent.
  Status RefreshSession();
  bool has_session() const { return lease_ != 0; }
  LeaseId lease() const { return lease_; }
  // The TTL the current lease was granted with (a new TTL applies only from the next lease).
  int lease_ttl_seconds() const { return lease_ttl_seconds_; }
  // False when the last successful refresh had to grant a new lease (the old one had ended,
  // and with it any leader key on it).
  bool last_refresh_renewed() const { return last_refresh_renewed_; }
  // When the last successful renewal was sent (for the self-fencing deadline).
  TimePoint last_renewal_sent() const { return last_renewal_sent_; }
  // A new lease TTL: the next refresh grants a lease with it; the old lease is left to expire
  // (PublishMember and RenewLeader move this node's keys onto the new one).
  void SetTtl(int ttl_seconds);
  // Ends the session (deleting this node's member and leader keys). Best effort.
  void CloseSession();

  Status PublishMember(const MemberInfo& member);
  // Claims the right to bootstrap a new cluster. false = another node has it.
  Result<bool> ClaimInitialize();
  Status CancelInitialize();
  // Creates the leader key for this node on its session lease. false = someone holds it.
  // With `sync_expected` (synchronous mode, or a record left from it) the same transaction
  // requires /sync to still read that text ("" = absent), as the candidate judged it. /sync is
  // left as it is, still true: the winner replaces it with a leader-only record (WriteSync)
  // only just before it promotes.
  Result<bool> AcquireLeader(const std::optional<std::string>& sync_expected = std::nullopt);
  // The early takeover: moves the key from `old_leader` (whose lease has not ended) to this
  // node's lease, only while nobody wrote the key since it was seen (at `seen_revision`; the
  // old leader's node rewrites it before it starts a primary: ReclaimLeader), /sync still reads
  // `sync_expected` and each member in `members` (name -> record text) still reads as counted.
  Result<bool> TakeOverLeader(const std::string& old_leader, int64_t seen_revision,
                              const std::string& sync_expected,
                              const std::map<std::string, std::string>& members);
  // The leader's record: replaces /sync only while the leader key names this node and /sync
  // reads `expected_text` ("" = absent). false = one of them changed.
  Result<bool> WriteSync(const SyncRecord& record, const std::string& expected_text);
  // Deletes /sync under the same conditions (synchronous mode turned off).
  Result<bool> DeleteSync(const std::string& expected_text);
  // Keeps the leader key: true while it still names this node (re-attaches it to this session's
  // lease, which also covers an agent restarted within the old lease).
  Result<bool> RenewLeader();
  // Rewrites the leader key as it is (this node, this session's lease) while it names this
  // node: done before a primary is started, so that no early takeover that read the key
  // earlier, while this node's server was down, can succeed afterwards.
  Result<bool> ReclaimLeader();
  // Deletes the leader key if it names this node.
  Status ReleaseLeader();
  // Replaces /config only if it still reads `expected_text` ("" = absent). false = it changed.
  Result<bool> ReplaceConfig(const std::string& expected_text, const nlohmann::json& config);
  // Records this node in nodes/<name> (kept after it dies, until `baton remove`).
  Status RegisterNode(const nlohmann::json& info);
  // Forgets a node: its registration and any pending action for it.
  Status RemoveNode(const std::string& name);

  // Operator requests. Request* fail (false) when one of the same kind is already pending.
  Result<bool> RequestSwitchover(const SwitchoverRequest& request);
  Status EndSwitchover();
  // Deletes the switchover request only if it still reads `expected_text`.
  Result<bool> CancelSwitchover(const std::string& expected_text);
  // The leader's half of a switchover, with its server stopped at `request.checkpoint`: in one
  // transaction, records the hand-over and moves the leader key to `request.to` on `to_lease`,
  // only while the key names this node and the request still reads `expected_text` (not
  // cancelled meanwhile). With `sync_expected`, /sync must still read it; it stays as it is
  // (this stopped leader holds every commit) until the target promotes. false = one changed.
  Result<bool> HandOver(const SwitchoverRequest& request, int64_t to_lease,
                        const std::string& expected_text,
                        const std::optional<std::string>& sync_expected = std::nullopt);
  Status RequestFailover(const FailoverRequest& request);
  Status EndFailover();
  Result<bool> RequestAction(const std::string& node, const NodeAction& action);
  Status EndAction(const std::string& node);
  // Maintenance mode: while the pause key exists no agent fails over or restarts PostgreSQL.
  Status SetPaused(bool paused, const std::string& by);
  Status WriteLeaderStatus(const LeaderStatus& status);
  Status AppendHistory(const nlohmann::json& record);
  // Keeps a finished drill's record (kept like history: never expires, never rewritten).
  Status AppendDrill(const nlohmann::json& record);
  // `on_change` runs (on another thread) for every change of a key of this cluster, with the
  // key relative to prefix() ("leader", "members/node2", ...) and its new value ("" deleted).
  void Watch(std::function<void(const std::string& key, const std::string& value)> on_change);
  // Keys whose change calls for an immediate decision.
  static bool IsUrgentKey(const std::string& key);
  static bool IsMemberKey(const std::string& key);

 private:
  // Puts `record` under `folder` ("history/", "drills/") at a new key.
  Status AppendRecord(const char* folder, const nlohmann::json& record);

  Dcs& dcs_;
  const std::string prefix_;
  const std::string node_;
  int ttl_seconds_;
  int lease_ttl_seconds_;
  bool ttl_changed_ = false;
  const Clock& clock_;
  LeaseId lease_ = 0;
  TimePoint last_renewal_sent_{};
  bool last_refresh_renewed_ = false;
};

}  // namespace baton
