#include "drill/fault.h"

#include <fmt/format.h>
#include <signal.h>

#include "core/process.h"

namespace baton {

namespace {

constexpr auto kCommandTimeout = std::chrono::minutes(2);

class LocalClusterFault final : public Fault {
 public:
  LocalClusterFault(std::string kind, LocalCluster& cluster, Duration pause)
      : kind_(std::move(kind)), cluster_(cluster), pause_(pause) {}

  std::string name() const override { return kind_; }
  Duration hold() const override { return kind_ == "pause-primary" ? pause_ : Duration::zero(); }

  Status Inject(const std::string& primary) override {
    node_ = cluster_.NodeAt(primary);
    if (!node_) return NotFound("the primary " + primary + " is not a node of this cluster");
    const LocalNode& node = cluster_.nodes[*node_];
    const pid_t postmaster = cluster_.PostmasterPid(*node_);
    if (kind_ == "kill-node") {
      cluster_.KillNode(*node_);
    } else if (kind_ == "kill-postgres") {
      if (postmaster <= 0) return FailedPrecondition(node.name + " has no postmaster");
      for (pid_t pid : ProcessTree(postmaster)) kill(pid, SIGKILL);
    } else if (kind_ == "stop-agent") {
      kill(node.agent_pid, SIGKILL);
      ReapIfChild(node.agent_pid);
    } else if (kind_ == "pause-primary") {
      // The whole node freezes, as a hung machine would: agent and every PostgreSQL process.
      paused_ = ProcessTree(postmaster);
      paused_.push_back(node.agent_pid);
      for (pid_t pid : paused_) kill(pid, SIGSTOP);
    } else if (kind_ == "switchover") {
      auto result = RunCommand({cluster_.baton_binary, "switchover", "-c", node.config_path}, {},
                               kCommandTimeout);
      if (!result.ok()) return result.status();
      if (result->exit_code != 0) return Internal("baton switchover failed: " + result->output);
    }
    return Status::Ok();
  }

  Status Heal() override {
    if (!node_) return Status::Ok();
    const size_t index = *node_;
    node_.reset();
    if (kind_ == "pause-primary") {
      for (pid_t pid : paused_) kill(pid, SIGCONT);
      paused_.clear();
      return Status::Ok();
    }
    if (kind_ == "kill-node" || kind_ == "stop-agent") return cluster_.StartAgent(index);
    return Status::Ok();  // a killed postmaster is restarted by its agent; a switchover stands
  }

 private:
  const std::string kind_;
  LocalCluster& cluster_;
  const Duration pause_;
  std::optional<size_t> node_;
  std::vector<pid_t> paused_;
};

class CommandFault final : public Fault {
 public:
  CommandFault(std::string inject, std::string heal, Duration hold)
      : inject_(std::move(inject)), heal_(std::move(heal)), hold_(hold) {}

  std::string name() const override { return "command"; }
  Duration hold() const override { return hold_; }

  Status Inject(const std::string& primary) override {
    primary_ = primary;
    ++round_;
    return Run(inject_, "--fault-command");
  }

  Status Heal() override { return heal_.empty() ? Status::Ok() : Run(heal_, "--heal-command"); }

 private:
  Status Run(const std::string& command, const std::string& what) {
    auto result = RunCommand(
        {"/bin/sh", "-c", command},
        {{"BATON_DRILL_PRIMARY", primary_}, {"BATON_DRILL_ROUND", std::to_string(round_)}},
        kCommandTimeout);
    if (!result.ok()) return result.status().WithContext(what);
    if (result->exit_code != 0) {
      return Internal(
          fmt::format("{} exited with {}: {}", what, result->exit_code, result->output));
    }
    return Status::Ok();
  }

  const std::string inject_;
  const std::string heal_;
  const Duration hold_;
  std::string primary_;
  int round_ = 0;
};

}  // namespace

Result<std::unique_ptr<Fault>> MakeLocalClusterFault(const std::string& kind, LocalCluster& cluster,
                                                     Duration pause) {
  for (const char* known : kLocalFaultKinds) {
    if (kind == known) return std::unique_ptr<Fault>(new LocalClusterFault(kind, cluster, pause));
  }
  return InvalidArgument(fmt::format(
      "--fault: unknown kind '{}' (kill-node, kill-postgres, stop-agent, pause-primary, "
      "switchover)",
      kind));
}

std::unique_ptr<Fault> MakeCommandFault(std::string inject, std::string heal, Duration hold) {
  return std::make_unique<CommandFault>(std::move(inject), std::move(heal), hold);
}

}  // namespace baton
