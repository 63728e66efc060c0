#include "ha/hook_runner.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <map>
#include <utility>
#include <vector>

#include "core/process.h"

namespace baton {

namespace {

// The command configured for an event name; empty when none is (or the name is unknown).
const std::string& CommandFor(const Hooks& hooks, const std::string& event_name) {
  static const std::string kNone;
  if (event_name == "on_start") return hooks.on_start;
  if (event_name == "on_stop") return hooks.on_stop;
  if (event_name == "on_role_change") return hooks.on_role_change;
  if (event_name == "on_failover") return hooks.on_failover;
  if (event_name == "on_alert") return hooks.on_alert;
  if (event_name == "pre_promote") return hooks.pre_promote;
  if (event_name == "fence_command") return hooks.fence_command;
  return kNone;
}

Duration HookTimeout(const Hooks& hooks) {
  return FromSeconds(hooks.timeout_seconds);
}

}  // namespace

HookRunner::HookRunner(Hooks hooks, std::string cluster, std::string node)
    : hooks_(std::move(hooks)),
      cluster_(std::move(cluster)),
      node_(std::move(node)),
      worker_([this] { WorkLoop(); }) {}

HookRunner::~HookRunner() {
  {
    std::lock_guard lock(mu_);
    if (!queue_.empty()) {
      std::string names;
      for (const auto& hook : queue_) {
        names +=
            fmt::format("{}{} ({})", names.empty() ? "" : ", ", hook.event.name, hook.event.reason);
      }
      spdlog::warn("shutting down: dropping {} queued hook(s): {}", queue_.size(), names);
      queue_.clear();
    }
    stopping_ = true;
  }
  work_or_stop_.notify_one();
  worker_.join();
}

void HookRunner::Fire(const HookEvent& event) {
  const std::string& command = CommandFor(hooks_, event.name);
  if (command.empty()) return;
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= kQueueCapacity) {
      spdlog::warn("hook queue full ({} waiting): dropping the oldest, {} ({})", queue_.size(),
                   queue_.front().event.name, queue_.front().event.reason);
      queue_.pop_front();
      ++counts_.dropped;
    }
    queue_.push_back({event, command});
  }
  work_or_stop_.notify_one();
}

bool HookRunner::Drain(Duration timeout) {
  std::unique_lock lock(mu_);
  return idle_.wait_for(lock, timeout, [this] { return queue_.empty() && !running_; });
}

HookRunner::Counts HookRunner::counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

void HookRunner::WorkLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    work_or_stop_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    const PendingHook hook = std::move(queue_.front());
    queue_.pop_front();
    running_ = true;
    ++counts_.started;
    lock.unlock();
    const Outcome outcome = Run(hook, HookTimeout(hooks_)).outcome;
    lock.lock();
    running_ = false;
    Count(outcome);
    if (queue_.empty()) idle_.notify_all();
  }
}

void HookRunner::Count(Outcome outcome) {
  if (outcome != Outcome::kSucceeded) ++counts_.failed;
  if (outcome == Outcome::kTimedOut) ++counts_.timed_out;
}

Status HookRunner::RunNow(const HookEvent& event, Duration budget) {
  const std::string& command = CommandFor(hooks_, event.name);
  if (command.empty()) return Status::Ok();
  {
    std::lock_guard lock(mu_);
    ++counts_.started;
  }
  const Ended ended = Run({event, command}, std::min(HookTimeout(hooks_), budget));
  {
    std::lock_guard lock(mu_);
    Count(ended.outcome);
  }
  switch (ended.outcome) {
    case Outcome::kSucceeded:
      return Status::Ok();
    case Outcome::kTimedOut:
      return Timeout(fmt::format("hook {} timed out: {}", event.name, ended.detail));
    case Outcome::kFailed:
      break;
  }
  return FailedPrecondition(fmt::format("hook {} failed: {}", event.name, ended.detail));
}

HookRunner::Ended HookRunner::Run(const PendingHook& hook, Duration timeout) const {
  const HookEvent& event = hook.event;
  std::map<std::string, std::string> env = {
      {"BATON_EVENT", event.name},
      {"BATON_CLUSTER", cluster_},
      {"BATON_NODE", node_},
      {"BATON_OLD_ROLE", event.old_role},
      {"BATON_NEW_ROLE", event.new_role},
      {"BATON_TIMELINE", std::to_string(event.timeline)},
      {"BATON_REASON", event.reason},
  };
  // The agent's own BATON_* overrides may carry secrets (passwords, the admin token); a hook
  // that prints its environment must not copy them into the log, so they reach it blank.
  for (const auto& [name, value] : ProcessEnvironment()) {
    const bool secret =
        name.find("PASSWORD") != std::string::npos || name.find("TOKEN") != std::string::npos;
    if (name.rfind("BATON_", 0) == 0 && secret) env[name] = "";
  }
  for (const auto& [name, value] : event.details) env[name] = value;
  spdlog::info("hook {}: running {}", event.name, hook.command);
  std::string last_line;
  const auto result =
      RunCommand({"/bin/sh", "-c", hook.command}, env, timeout, [&](const std::string& line) {
        spdlog::info("hook {}: {}", event.name, line);
        last_line = line;
      });
  if (result.status().code() == StatusCode::kTimeout) {
    const std::string detail =
        fmt::format("killed after {:.1f} s (last output: '{}')", Seconds(timeout), last_line);
    spdlog::warn("hook {}: {}", event.name, detail);
    return {Outcome::kTimedOut, detail};
  }
  if (!result.ok()) {
    spdlog::warn("hook {}: could not run: {}", event.name, result.status().ToString());
    return {Outcome::kFailed, "could not run: " + result.status().ToString()};
  }
  if (result->exit_code != 0) {
    const std::string detail =
        fmt::format("exit code {} (last output: '{}')", result->exit_code, last_line);
    spdlog::warn("hook {}: failed with {}", event.name, detail);
    return {Outcome::kFailed, detail};
  }
  spdlog::info("hook {}: done", event.name);
  return {Outcome::kSucceeded, ""};
}

}  // namespace baton
