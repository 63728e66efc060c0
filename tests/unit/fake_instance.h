// FakeInstance: the Instance port as an in-memory state machine, for decision tests.
// A test reads and pokes `state` directly and sees every call in `calls`.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

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
  std::map<std::string, std::string> parameters;  // as last given to Reconfigure

  InstanceState Probe() override { return state; }
  Status Bootstrap() override {
    calls.push_back("bootstrap");
    state.data_present = state.running = state.accepting = true;
    state.role = PgRole::kPrimary;
    state.timeline = 1;
    state.lsn = state.replay_lsn = Lsn{0x1000000};
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
    calls.push_back(mode == StopMode::kFast ? "stop:fast" : "stop:immediate");
    state.clean_shutdown = mode == StopMode::kFast && state.role == PgRole::kPrimary;
    state.stopped_in_recovery = state.role == PgRole::kReplica;
    state.running = state.accepting = state.streaming = false;
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
};

}  // namespace baton
