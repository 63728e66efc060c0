#include "ha/decision.h"

namespace baton {

const char* StepName(Step step) {
  switch (step) {
    case Step::kClaimInitialize:
      return "claim-initialize";
    case Step::kAcquireLeader:
      return "acquire-leader";
    case Step::kRenewLeader:
      return "renew-leader";
    case Step::kReleaseLeader:
      return "release-leader";
    case Step::kBootstrap:
      return "bootstrap";
    case Step::kClone:
      return "clone";
    case Step::kStartPrimary:
      return "start-primary";
    case Step::kStartReplica:
      return "start-replica";
    case Step::kFollow:
      return "follow";
    case Step::kRewind:
      return "rewind";
    case Step::kPromote:
      return "promote";
    case Step::kDemote:
      return "demote";
    case Step::kFence:
      return "fence";
    case Step::kKill:
      return "kill";
    case Step::kHandOver:
      return "hand-over";
    case Step::kEndSwitchover:
      return "end-switchover";
    case Step::kRefuseSwitchover:
      return "refuse-switchover";
    case Step::kEndFailover:
      return "end-failover";
    case Step::kRestart:
      return "restart";
    case Step::kReload:
      return "reload";
    case Step::kReinit:
      return "reinit";
    case Step::kEndAction:
      return "end-action";
    case Step::kRefuseAction:
      return "refuse-action";
    case Step::kTakeOverLeader:
      return "take-over-leader";
    case Step::kDetach:
      return "detach";
    case Step::kWriteSyncRecord:
      return "write-sync-record";
    case Step::kDeleteSyncRecord:
      return "delete-sync-record";
    case Step::kSetStandbyNames:
      return "set-standby-names";
  }
  return "unknown";
}

}  // namespace baton
