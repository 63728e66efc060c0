// Decision: what the agent should do now, as an ordered list of steps and the reason for it.
//
// The agent runs the steps in order and stops at the first that fails or loses its race (a
// transaction that finds the key taken), so "AcquireLeader, Promote" never promotes a node that
// did not win the key. `reason` is shown in logs and `baton status`. Plain value.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dcs/sync_record.h"
#include "pg/instance.h"

namespace baton {

enum class Step {
  kClaimInitialize,  // create /initialize for this node (transaction)
  kAcquireLeader,    // create /leader on this node's lease (transaction)
  kRenewLeader,      // confirm /leader still names this node, on its current lease
  kReleaseLeader,    // delete /leader if it names this node
  kBootstrap,        // initdb, start as primary, create roles
  kClone,            // pg_basebackup from the upstream
  kStartPrimary,
  kStartReplica,  // follows `upstream` when set
  kFollow,        // repoint a running replica at `upstream` (reload)
  kRewind,        // stop, pg_rewind from `upstream`; if that fails move data aside, re-clone
  kPromote,
  kDemote,            // stop fast, start as a replica of `upstream` (or of nobody)
  kFence,             // stop immediately, start as a replica of nobody: writes refused at once
  kKill,              // kill -9 postgres and every backend (a server that stopped answering)
  kHandOver,          // switchover: stop cleanly, pass the leader key to `upstream` (the target)
  kEndSwitchover,     // delete the switchover request: it is done
  kRefuseSwitchover,  // delete the switchover request, recording `reason` in the history
  kEndFailover,       // delete the manual failover request
  kRestart,           // stop fast, start again in the same role (operator's restart)
  kReload,            // rewrite postgresql.conf and reload (operator's reload)
  kReinit,            // stop, empty the data directory, clone from `upstream`
  kEndAction,         // report this node's operator verb done (reason = message), delete it
  kRefuseAction,      // report this node's operator verb refused (reason = why), delete it
  kTakeOverLeader,    // early takeover: move /leader from the dead or unreachable leader here
  kDetach,            // early takeover: stop replicating from the dead or unreachable leader
  kWriteSyncRecord,   // store `sync_record` as /sync (transaction: this node leads)
  kDeleteSyncRecord,  // synchronous mode turned off: delete /sync (transaction: this node leads)
  kSetStandbyNames,   // set synchronous_standby_names to `standby_names` (reload)
};

const char* StepName(Step step);

struct Decision {
  std::vector<Step> steps;
  std::optional<Upstream> upstream;
  std::string reason;
  // The operator named this node (manual failover): after winning the key it does not defer
  // to a better-ranked candidate.
  bool operator_choice = false;
  // For kWriteSyncRecord; with kPromote, the record stored just before promoting.
  std::optional<SyncRecord> sync_record{};
  // For kSetStandbyNames; with kPromote, the setting the server starts its new timeline with.
  std::optional<std::string> standby_names{};

  bool idle() const { return steps.empty(); }
  // True when a step changes this node's state (anything but renewing the leader key), so the
  // agent should look again at once instead of waiting for loop_wait.
  bool ChangesState() const {
    for (Step step : steps) {
      if (step != Step::kRenewLeader && step != Step::kEndAction && step != Step::kRefuseAction &&
          step != Step::kEndSwitchover && step != Step::kRefuseSwitchover &&
          step != Step::kEndFailover) {
        return true;
      }
    }
    return false;
  }
};

}  // namespace baton
