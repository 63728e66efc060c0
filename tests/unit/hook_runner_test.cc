#include "ha/hook_runner.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "temp_dir.h"

namespace baton {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Polls `condition` until it holds or `timeout` passes. True when it held.
bool WaitUntil(const std::function<bool()>& condition, Duration timeout) {
  const auto deadline = steady_clock::now() + timeout;
  while (!condition()) {
    if (steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

HookEvent Event(const std::string& name, const std::string& reason = "test") {
  HookEvent event;
  event.name = name;
  event.reason = reason;
  return event;
}

TEST(HookRunnerTest, PassesTheEventToTheCommandInEnvironmentVariables) {
  TempDir dir("baton-hooks");
  ASSERT_TRUE(dir.ok());
  const std::string out = dir.File("env.txt");
  Hooks hooks;
  hooks.on_role_change =
      "printf '%s\\n' \"$BATON_EVENT\" \"$BATON_CLUSTER\" \"$BATON_NODE\" \"$BATON_OLD_ROLE\" "
      "\"$BATON_NEW_ROLE\" \"$BATON_TIMELINE\" \"$BATON_REASON\" > " +
      out;
  HookRunner runner(hooks, "prod", "db2");
  runner.Fire({.name = "on_role_change",
               .old_role = "primary",
               .new_role = "replica",
               .timeline = 7,
               .reason = "lost the leader key; 'quoted' $NOT_EXPANDED"});
  ASSERT_TRUE(runner.Drain(seconds(10)));

  EXPECT_EQ(ReadLines(out),
            (std::vector<std::string>{"on_role_change", "prod", "db2", "primary", "replica", "7",
                                      "lost the leader key; 'quoted' $NOT_EXPANDED"}));
  const auto counts = runner.counts();
  EXPECT_EQ(counts.started, 1u);
  EXPECT_EQ(counts.failed, 0u);
}

TEST(HookRunnerTest, RunsNothingForAnEventWithoutAHook) {
  TempDir dir("baton-hooks");
  ASSERT_TRUE(dir.ok());
  const std::string marker = dir.File("ran");
  Hooks hooks;
  hooks.on_start = "touch " + marker;
  HookRunner runner(hooks, "prod", "db1");
  runner.Fire(Event("on_stop"));
  runner.Fire(Event("on_failover"));
  runner.Fire(Event("on_no_such_event"));
  ASSERT_TRUE(runner.Drain(seconds(10)));

  EXPECT_EQ(runner.counts().started, 0u);
  EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST(HookRunnerTest, CountsANonZeroExitAsFailed) {
  Hooks hooks;
  hooks.on_failover = "echo about to fail; exit 3";
  HookRunner runner(hooks, "prod", "db1");
  runner.Fire(Event("on_failover"));
  ASSERT_TRUE(runner.Drain(seconds(10)));

  const auto counts = runner.counts();
  EXPECT_EQ(counts.started, 1u);
  EXPECT_EQ(counts.failed, 1u);
  EXPECT_EQ(counts.timed_out, 0u);
}

TEST(HookRunnerTest, KillsAHookPastItsTimeout) {
  Hooks hooks;
  hooks.on_start = "sleep 5";
  hooks.timeout_seconds = 0.2;
  HookRunner runner(hooks, "prod", "db1");
  const auto start = steady_clock::now();
  runner.Fire(Event("on_start"));
  ASSERT_TRUE(runner.Drain(seconds(10)));

  EXPECT_LT(steady_clock::now() - start, seconds(4));
  const auto counts = runner.counts();
  EXPECT_EQ(counts.started, 1u);
  EXPECT_EQ(counts.timed_out, 1u);
  EXPECT_EQ(counts.failed, 1u);
}

TEST(HookRunnerTest, FireDoesNotWaitForASlowHook) {
  Hooks hooks;
  hooks.on_role_change = "sleep 1";
  HookRunner runner(hooks, "prod", "db1");
  const auto start = steady_clock::now();
  runner.Fire(Event("on_role_change"));
  runner.Fire(Event("on_role_change"));  // while the first one runs
  const auto fired = steady_clock::now();
  ASSERT_TRUE(runner.Drain(seconds(20)));
  const auto hooks_took = steady_clock::now() - start;

  EXPECT_GE(hooks_took, seconds(2));  // one after the other
  EXPECT_LT(fired - start, hooks_took / 4);
  EXPECT_EQ(runner.counts().failed, 0u);
}

TEST(HookRunnerTest, AFullQueueDropsTheOldestWaitingHook) {
  TempDir dir("baton-hooks");
  ASSERT_TRUE(dir.ok());
  const std::string order = dir.File("order.txt");
  const std::string gate = dir.File("gate");
  Hooks hooks;
  // Records its event's reason, then waits for the test to open the gate.
  hooks.on_role_change =
      "echo \"$BATON_REASON\" >> " + order + "; while [ ! -e " + gate + " ]; do sleep 0.01; done";
  hooks.timeout_seconds = 60;
  HookRunner runner(hooks, "prod", "db1");
  runner.Fire(Event("on_role_change", "0"));
  ASSERT_TRUE(WaitUntil([&] { return runner.counts().started == 1; }, seconds(10)));

  const int extra = 3;
  const int fired = static_cast<int>(HookRunner::kQueueCapacity) + extra;
  for (int i = 1; i <= fired; ++i) runner.Fire(Event("on_role_change", std::to_string(i)));
  EXPECT_EQ(runner.counts().dropped, static_cast<uint64_t>(extra));
  std::ofstream(gate).put('\n');
  ASSERT_TRUE(runner.Drain(seconds(60)));

  // The running hook is never dropped; of the waiting ones, the oldest go first.
  std::vector<std::string> expected = {"0"};
  for (int i = extra + 1; i <= fired; ++i) expected.push_back(std::to_string(i));
  EXPECT_EQ(ReadLines(order), expected);
  const auto counts = runner.counts();
  EXPECT_EQ(counts.started, 1 + HookRunner::kQueueCapacity);
  EXPECT_EQ(counts.failed, 0u);
}

TEST(HookRunnerTest, DestructorFinishesTheRunningHookAndDropsTheQueue) {
  TempDir dir("baton-hooks");
  ASSERT_TRUE(dir.ok());
  const std::string order = dir.File("order.txt");
  Hooks hooks;
  hooks.on_stop = "echo \"$BATON_REASON\" >> " + order + "; sleep 30";
  hooks.timeout_seconds = 2;
  const auto start = steady_clock::now();
  {
    HookRunner runner(hooks, "prod", "db1");
    runner.Fire(Event("on_stop", "running"));
    ASSERT_TRUE(WaitUntil([&] { return runner.counts().started == 1; }, seconds(10)));
    runner.Fire(Event("on_stop", "queued 1"));
    runner.Fire(Event("on_stop", "queued 2"));
  }
  EXPECT_LT(steady_clock::now() - start, seconds(15));  // the running hook's timeout, not 30 s
  EXPECT_EQ(ReadLines(order), std::vector<std::string>{"running"});
}

TEST(HookRunnerTest, SecretsInTheAgentsEnvironmentReachTheHookBlank) {
  TempDir dir("baton-hooks");
  ASSERT_TRUE(dir.ok());
  const std::string out = dir.File("secrets.txt");
  setenv("BATON_RESTAPI_AUTH_TOKEN", "s3cret-token", 1);
  setenv("BATON_POSTGRESQL_SUPERUSER_PASSWORD", "s3cret-password", 1);
  Hooks hooks;
  hooks.on_start =
      "printf '[%s][%s]\\n' \"$BATON_RESTAPI_AUTH_TOKEN\" "
      "\"$BATON_POSTGRESQL_SUPERUSER_PASSWORD\" > " +
      out;
  HookRunner runner(hooks, "prod", "db2");
  runner.Fire(Event("on_start"));
  ASSERT_TRUE(runner.Drain(seconds(10)));
  unsetenv("BATON_RESTAPI_AUTH_TOKEN");
  unsetenv("BATON_POSTGRESQL_SUPERUSER_PASSWORD");
  EXPECT_EQ(ReadLines(out), (std::vector<std::string>{"[][]"}));
}

}  // namespace
}  // namespace baton
