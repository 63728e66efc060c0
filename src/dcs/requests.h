// Operator requests: what `baton switchover`, `baton failover` and the per-node verbs (restart,
// reload, reinit) leave in the DCS for the agents to carry out, and what an agent reports back.
//
//   switchover       SwitchoverRequest: planned change of leader, scheduled or at once
//   failover         FailoverRequest: the operator's choice of the next leader when none serves
//   actions/<node>   NodeAction: one verb for one node's agent
// A request is a plain value; JSON round-trips through ToJson/FromJson (FromJson returns
// nullopt for anything malformed, so a bad record written by hand is ignored, never thrown).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/lsn.h"

namespace baton {

struct SwitchoverRequest {
  std::string from;          // the leader when it was requested; another leader cancels it
  std::string to;            // the candidate; "" = the leader picks the best replica
  double at_unix = 0;        // not before this wall-clock time; 0 = at once
  bool force = false;        // skip the lag check (the shutdown-checkpoint check still holds)
  std::string requested_by;  // who asked, for status and history
  // Set by the leader when it has stopped cleanly and passed the key: the candidate may
  // promote only once it has received WAL past this shutdown checkpoint.
  bool handing_over = false;
  Lsn checkpoint;

  nlohmann::json ToJson() const;
  static std::optional<SwitchoverRequest> FromJson(const std::string& text);
};

struct FailoverRequest {
  std::string to;
  bool allow_data_loss = false;
  std::string requested_by;
  double expires_unix = 0;  // wall-clock seconds after which agents ignore it

  nlohmann::json ToJson() const;
  static std::optional<FailoverRequest> FromJson(const std::string& text);
};

enum class NodeVerb { kRestart, kReload, kReinit };
const char* NodeVerbName(NodeVerb verb);
std::optional<NodeVerb> ParseNodeVerb(const std::string& name);

struct NodeAction {
  NodeVerb verb = NodeVerb::kRestart;
  std::string id;             // unique per request, echoed in the member's ActionResult
  bool pending_only = false;  // restart: only when a setting waits for a restart
  std::string requested_by;

  nlohmann::json ToJson() const;
  static std::optional<NodeAction> FromJson(const std::string& text);
};

// The outcome of the last NodeAction an agent carried out, published in its member record.
struct ActionResult {
  std::string id;
  std::string verb;
  bool ok = false;
  std::string message;
};

}  // namespace baton
