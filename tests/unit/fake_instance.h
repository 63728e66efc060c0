// FakeInstance: the Instance port as an in-memory state machine, for decision tests.
// A test reads and pokes `state` directly and sees every call in `calls`. Its fencing watchdog
// runs the real FenceRule: RunWatchdog(now), called by the test as time passes (the watchdog is
// a process of its own, ticking whether the agent does or not), kills the server once an armed
// deadline has passed.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "pg/fence_rule.h"
#include "pg/instance.h"

namespace baton {

class FakeInstance final : public Instance {
 public:
  InstanceState state;
  std::vector<std::string> calls;
  bool fail_start = false;   // Start() fails, as a server that cannot come up would
  bool fail_rewind = false;  // Rewind() fails, as pg_rewind can
  bool fail_promote = false;
  std::function<void()> during_promote;           // runs inside Promote(), e.g. to let time pass
  std::function<void()> during_bootstrap;         // runs inside Bootstrap(), its server up
  std::map<std::string, std::string> parameters;  // as last given to Reconfigure
  FenceRule fence;                                // as armed through ArmFence/DisarmFence
  bool watchdog_alive = true;                     // false: killed with its node, fences nothing
  int watchdog_kills = 0;

  InstanceState Probe() override { return state; }
  Status Bootstrap() override {
    calls.push_back("bootstrap");
    state.data_present = state.running = state.accepting = true;
    state.role = PgRole::kPrimary;
    state.timeline = 1;
    state.lsn = state.replay_lsn = Lsn{0x1000000};
    if (during_bootstrap) during_bootstrap();
    return Status::Ok();
  }
  Status CloneFrom(const Upstream& upstream,
                   const std::function<void(const std::string&)>& on_progress) override {
    calls.push_back("clone:" + upstream.name);
    if (on_progress) on_progress("100% (1/1 kB)");
    state.data_present = true;
    return Status::Ok();
  }
  Status Reconfigure(const std::map<std::string, std::string>& given) override {
    calls.push_back("reconfigure");
    parameters = given;
    return Status::Ok();
  }
  Status RemoveData() override {
    calls.push_back("remove-data");
    state = InstanceState{};
    return Status::Ok();
  }
  Status Start(PgRole role, const std::optional<Upstream>& upstream) override {
    calls.push_back(std::string("start:") + PgRoleName(role));
    if (fail_start) return Internal("fake start failure");
    state.running = state.accepting = true;
    state.clean_shutdown = state.stopped_in_recovery = false;
    state.role = role;
    state.configured_upstream =
        role == PgRole::kReplica && upstream ? upstream->address.ToString() : "";
    state.streaming = !state.configured_upstream.empty();
    if (state.timeline == 0) state.timeline = 1;
    return Status::Ok();
  }
  Status Stop(StopMode mode) override {
    calls.push_back(mode == StopMode::kFast        ? "stop:fast"
                    : mode == StopMode::kImmediate ? "stop:immediate"
                                                   : "stop:kill");
    state.clean_shutdown = mode == StopMode::kFast && state.role == PgRole::kPrimary;
    state.stopped_in_recovery = state.role == PgRole::kReplica;
    state.running = state.accepting = state.streaming = state.unresponsive = false;
    return Status::Ok();
  }
  Status Checkpoint() override {
    calls.push_back("checkpoint");
    return Status::Ok();
  }
  Status Promote() override {
    calls.push_back("promote");
    if (during_promote) during_promote();
    if (fail_promote) return Internal("fake promote failure");
    state.role = PgRole::kPrimary;
    state.timeline += 1;
    state.timeline_start = state.lsn;  // the new timeline begins where replay ended
    state.configured_upstream.clear();
    state.streaming = false;
    return Status::Ok();
  }
  Status Follow(const Upstream& upstream) override {
    calls.push_back("follow:" + upstream.name);
    state.configured_upstream = upstream.address.ToString();
    state.streaming = true;
    return Status::Ok();
  }
  Status Detach() override {
    calls.push_back("detach");
    state.configured_upstream.clear();
    state.streaming = false;
    return Status::Ok();
  }
  // As PostgreSQL does once its WAL senders reloaded: each listed standby's sync_state follows.
  Status SetSynchronousStandbyNames(const std::string& value) override {
    calls.push_back("synchronous_standby_names:" + value);
    state.synchronous_standby_names = value;
    ShowSyncStates();
    return Status::Ok();
  }
  // Recomputes every peer's sync_state from synchronous_standby_names (after a test changed
  // `state.replication`).
  void ShowSyncStates() {
    const std::string& names = state.synchronous_standby_names;
    const bool quorum = names.rfind("ANY ", 0) == 0;
    for (ReplicationPeer& peer : state.replication) {
      const bool listed = names.find("\"" + peer.name + "\"") != std::string::npos;
      peer.sync_state = !listed ? "async" : quorum ? "quorum" : "sync";
    }
  }
  Status Rewind(const Upstream& upstream) override {
    calls.push_back("rewind:" + upstream.name);
    if (fail_rewind) return Internal("fake pg_rewind failure");
    state.running = state.accepting = state.streaming = false;
    return Status::Ok();
  }
  Result<std::string> MoveAside() override {
    calls.push_back("move-aside");
    state = InstanceState{};
    return std::string("/fake.diverged");
  }
  void SetExitCallback(std::function<void()>) override {}
  Status ArmFence(TimePoint deadline) override {
    fence.Arm(deadline);
    return Status::Ok();
  }
  Status DisarmFence() override {
    fence.Disarm();
    return Status::Ok();
  }
  // The watchdog at time `now`: past an armed deadline, the server dies (SIGKILL).
  void RunWatchdog(TimePoint now) {
    if (!watchdog_alive || fence.Next(now).action != FenceRule::Action::kFence) return;
    fence.Fenced();
    ++watchdog_kills;
    state.clean_shutdown = false;
    state.stopped_in_recovery = state.role == PgRole::kReplica;
    state.running = state.accepting = state.streaming = state.unresponsive = false;
  }
};

}  // namespace baton
