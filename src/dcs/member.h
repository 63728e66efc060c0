// MemberInfo: what each agent publishes about its node under /baton/<cluster>/members/<name>,
// and what `baton status`, the REST API and the decision core read back. Plain value; JSON
// round-trips through ToJson/FromJson.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/lsn.h"
#include "core/replication_peer.h"
#include "dcs/requests.h"

namespace baton {

// The role a member's server runs in, and the state it is in, as its record says. Each has one
// name in the record's JSON (MemberRoleName, MemberStateName); a name this version does not
// know reads as kUnknown.
enum class MemberRole { kUnknown, kPrimary, kReplica };
enum class MemberState {
  kUnknown,
  kEmpty,         // no data directory yet
  kStopped,       // data, no server
  kStarting,      // the server runs but does not accept connections yet
  kUnresponsive,  // the server runs but does not answer
  kRunning,       // accepting connections
  kCloning,       // pg_basebackup from another member, joining
  kReinit,        // pg_basebackup again, asked for by `baton reinit`
  kReclone,       // pg_basebackup after pg_rewind failed
};
const char* MemberRoleName(MemberRole role);
MemberRole MemberRoleFromName(const std::string& name);
const char* MemberStateName(MemberState state);
MemberState MemberStateFromName(const std::string& name);

struct MemberInfo {
  std::string name;
  std::string api_url;     // http://host:port
  std::string pg_address;  // host:port clients and peers use
  MemberRole role = MemberRole::kUnknown;
  MemberState state = MemberState::kUnknown;
  // A running member in `role`.
  bool Runs(MemberRole as) const { return state == MemberState::kRunning && role == as; }
  uint32_t timeline = 0;
  Lsn lsn;                       // primary: current WAL position; replica: last received
  Lsn replay_lsn;                // replica: last replayed
  Lsn timeline_start;            // primary: the LSN where its timeline began (its switch point)
  bool streaming = false;        // replica: a WAL receiver is streaming
  std::string replay_timestamp;  // replica: commit time of the last replayed transaction, UTC
  std::string upstream;          // replica: the member it streams from
  std::string leader_seen;       // the leader this member saw when it published; "" = none
  // Synchronous mode: the leader this replica stopped replicating from, having found it
  // unreachable (its WAL receiver is gone and will not come back for that leader), so `lsn`
  // is final for it. "" = none.
  std::string detached_from;
  std::string rejoined;  // "pg_rewind" or "re-clone" once this agent rejoined the node
  bool nofailover = false;
  int priority = 1;
  std::string note;         // why the node is not what it should be, for `baton status`
  double updated_unix = 0;  // wall-clock seconds when published
  std::vector<ReplicationPeer> replication;  // primary only
  std::vector<std::string> pending_restart;  // settings changed that wait for a restart
  std::optional<ActionResult> last_action;   // the last operator verb this agent carried out
  int64_t lease = 0;  // the etcd lease the record lives on (from the key, not in the JSON)

  nlohmann::json ToJson() const;
  static std::optional<MemberInfo> FromJson(const std::string& text);
};

}  // namespace baton
