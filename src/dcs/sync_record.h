// SyncRecord: the leader's promise about where acknowledged commits are, kept at
// /baton/<cluster>/sync while the cluster replicates synchronously.
//
// A record reads: "every commit acknowledged to a client is on `leader` and on at least `acks`
// of `standbys`". A leaderless cluster may then promote `leader` itself, or a member of
// `standbys` that sees the positions of QuorumToPromote() members of `standbys` (itself
// included) and is at least as far as every one of them: any `acks` members and any
// |standbys| - acks + 1 members share one, so the furthest of those holds every acknowledged
// commit. With `acks` 0 only `leader` may be promoted. A leader keeps its record true by changing
// synchronous_standby_names only while a record true for both the old and the new setting is
// stored (Covering), and writes the new record once the new setting holds. Plain value; JSON
// round-trips through ToJson/FromJson (FromJson returns nullopt for anything malformed).
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace baton {

struct SyncRecord {
  std::string leader;
  std::vector<std::string> standbys;  // sorted, no duplicates
  int acks = 0;

  // A record that claims nothing beyond the leader: no standby may be promoted.
  static SyncRecord LeaderOnly(const std::string& leader) { return {leader, {}, 0}; }
  // `standbys` sorted and deduplicated, `acks` at most their number.
  static SyncRecord Make(std::string leader, std::vector<std::string> standbys, int acks);
  // True while either `a` or `b` is: the union of their standbys, the fewer acks (a's leader).
  static SyncRecord Covering(const SyncRecord& a, const SyncRecord& b);
  // This record as `new_leader` may state it, `new_leader` holding every acknowledged commit
  // (it may be promoted): it leaves the standbys, and a confirmation it gave no longer counts.
  SyncRecord LedBy(const std::string& new_leader) const;

  bool Lists(const std::string& name) const;
  // How many members of `standbys` a standby must see to be promoted; 0 when none may be.
  size_t QuorumToPromote() const;

  nlohmann::json ToJson() const;
  static std::optional<SyncRecord> FromJson(const std::string& text);
  bool operator==(const SyncRecord&) const = default;
};

}  // namespace baton
