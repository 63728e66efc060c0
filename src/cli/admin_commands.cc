// The `baton` verbs that change a cluster: switchover, failover, restart, reload, reinit,
// remove and config show/set/edit. Each checks and stores its request through ClusterAdmin,
// then follows it in etcd and shows what happens until it is done, refused or timed out.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "cli/cluster_connection.h"
#include "cli/commands.h"
#include "core/json_text.h"
#include "core/wall_time.h"
#include "ha/cluster_admin.h"

namespace baton {

namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(100);

// Polls the cluster until `done` says so (returns an exit code) or the timeout passes.
int Follow(Connected& c, double timeout_seconds,
           const std::function<std::optional<int>(const ClusterView&)>& done) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(timeout_seconds));
  while (std::chrono::steady_clock::now() < deadline) {
    auto view = LoadView(c);
    if (view.ok()) {
      if (auto code = done(*view)) return *code;
    }
    std::this_thread::sleep_for(kPollInterval);  // poll interval, not a wait for an outcome
  }
  std::cerr << fmt::format("baton: no outcome within {:.0f} s; see `baton status` and the log\n",
                           timeout_seconds);
  return kExitFailure;
}

// The newest history record of `event` after `since` (wall-clock seconds), if any.
std::optional<nlohmann::json> HistoryAfter(const ClusterView& view, const std::string& event,
                                           size_t known_records) {
  for (size_t i = known_records; i < view.history.size(); ++i) {
    if (view.history[i].value("event", "") == event) return view.history[i];
  }
  return std::nullopt;
}

int ShowPendingSwitchover(const ClusterView& view) {
  if (!view.switchover) {
    std::cout << "No switchover is pending.\n";
    return kExitOk;
  }
  const SwitchoverRequest& r = *view.switchover;
  std::cout << fmt::format("Switchover from {} to {}{}{}, requested by {}\n", r.from,
                           r.to.empty() ? "the best replica" : r.to,
                           r.at_unix > 0 ? " at " + UtcText(r.at_unix) : "",
                           r.handing_over ? " (under way)" : "", r.requested_by);
  return kExitOk;
}

// Connects to the target's cluster and runs `verb` with an admin on it; returns its exit code.
int WithAdmin(const ClusterTarget& target,
              const std::function<int(Connected&, ClusterAdmin&)>& verb) {
  auto connected = Connect(target);
  if (auto* code = std::get_if<int>(&connected)) return *code;
  Connected& c = std::get<Connected>(connected);
  SteadyClock clock;
  ClusterAdmin admin(*c.dcs, c.cluster, clock);
  return verb(c, admin);
}

}  // namespace

int SwitchoverCommand(const ClusterTarget& target, const SwitchoverOptions& options) {
  return WithAdmin(target, [&](Connected& c, ClusterAdmin& admin) {
    if (options.list) {
      auto view = admin.Load();
      if (!view.ok()) return ReportFailure(view.status());
      return ShowPendingSwitchover(*view);
    }
    if (options.cancel) {
      if (Status s = admin.CancelSwitchover(); !s.ok()) return ReportFailure(s);
      std::cout << "Cancelled the pending switchover.\n";
      return kExitOk;
    }
    double at_unix = 0;
    if (!options.at.empty()) {
      auto when = ParseWhen(options.at);
      if (!when.ok()) return ReportFailure(when.status().WithContext("--at"));
      if (*when <= UnixNow()) {
        return ReportFailure(InvalidArgument("--at: " + options.at + " is in the past"));
      }
      at_unix = *when;
    }
    auto before = admin.Load();
    if (!before.ok()) return ReportFailure(before.status());
    const size_t known_records = before->history.size();
    auto plan = admin.Switchover(options.to, at_unix, options.force, OperatorName());
    if (!plan.ok()) return ReportFailure(plan.status().WithContext("switchover refused"));
    const std::string from = plan->request.from;
    if (at_unix > 0) {
      std::cout << fmt::format(
          "Switchover from {} to {} scheduled at {}. `baton switchover --list` shows it, "
          "`--cancel` cancels it.\n",
          from, options.to.empty() ? "the best replica" : options.to, UtcText(at_unix));
      return kExitOk;
    }
    std::cout << fmt::format("Switchover from {} to {} requested.\n", from, plan->target);
    // The leader judges again with its live view and may pick another replica: follow its pick.
    std::string chosen = plan->target;
    const auto started = std::chrono::steady_clock::now();
    auto elapsed = [&] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    };
    std::string shown;
    auto stage = [&](const std::string& text) {
      if (text == shown) return;
      shown = text;
      std::cout << fmt::format("  {:5.2f} s  {}\n", elapsed(), text) << std::flush;
    };
    return Follow(c, options.timeout_seconds, [&](const ClusterView& view) -> std::optional<int> {
      if (auto refused = HistoryAfter(view, "switchover-refused", known_records)) {
        std::cerr << "baton: " << refused->value("reason", "switchover refused") << "\n";
        return kExitFailure;
      }
      const std::string leader = view.leader ? view.leader->name : "";
      if (view.switchover && view.switchover->handing_over) chosen = view.switchover->to;
      const MemberInfo* new_leader = view.Member(chosen);
      const MemberInfo* old_leader = view.Member(from);
      if (view.switchover && view.switchover->handing_over) {
        stage(fmt::format("{} stopped cleanly at checkpoint {}; leader key handed to {}", from,
                          view.switchover->checkpoint.ToString(), view.switchover->to));
      } else if (leader == from) {
        stage(fmt::format("{} is stopping cleanly", from));
      }
      if (leader != chosen || new_leader == nullptr || new_leader->role != MemberRole::kPrimary) {
        return std::nullopt;
      }
      stage(fmt::format("{} promoted: leader on timeline {}", chosen, new_leader->timeline));
      if (old_leader == nullptr || !old_leader->Runs(MemberRole::kReplica)) {
        return std::nullopt;
      }
      stage(fmt::format(
          "{} follows {}{}", from, chosen,
          old_leader->rejoined.empty() ? " without a rewind" : " after " + old_leader->rejoined));
      std::cout << fmt::format("Switchover done in {:.2f} s: {} is the leader.\n", elapsed(),
                               chosen);
      return kExitOk;
    });
  });
}

int FailoverCommand(const ClusterTarget& target, const std::string& to, bool allow_data_loss,
                    double timeout_seconds) {
  return WithAdmin(target, [&](Connected& c, ClusterAdmin& admin) {
    auto plan = admin.Failover(to, allow_data_loss, timeout_seconds, OperatorName());
    if (!plan.ok()) return ReportFailure(plan.status().WithContext("failover refused"));
    std::cout << fmt::format("Manual failover to {} requested ({}).\n", to,
                             plan->lost_bytes == 0
                                 ? "no WAL lost: it has everything the cluster had"
                                 : fmt::format("{} bytes of WAL will be lost", plan->lost_bytes));
    const auto started = std::chrono::steady_clock::now();
    const int code = Follow(c, timeout_seconds, [&](const ClusterView& view) -> std::optional<int> {
      const MemberInfo* m = view.Member(to);
      if (!view.leader || view.leader->name != to || m == nullptr ||
          m->role != MemberRole::kPrimary) {
        return std::nullopt;
      }
      std::cout << fmt::format(
          "{} is the leader on timeline {} ({:.2f} s).\n", to, m->timeline,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      return kExitOk;
    });
    // A request that was not carried out must not linger and fire later, unexpectedly.
    if (code != kExitOk) (void)admin.CancelFailover();
    return code;
  });
}

int NodeVerbCommand(const ClusterTarget& target, NodeVerb verb, std::vector<std::string> nodes,
                    bool pending_only, double timeout_seconds) {
  return WithAdmin(target, [&](Connected& c, ClusterAdmin& admin) {
    if (nodes.empty()) {
      auto view = admin.Load();
      if (!view.ok()) return ReportFailure(view.status());
      for (const auto& [name, member] : view->members) nodes.push_back(name);
    }
    int result = kExitOk;
    for (const std::string& node : nodes) {
      auto action = admin.RequestAction(node, verb, pending_only, OperatorName());
      if (!action.ok()) {
        result = ReportFailure(
            action.status().WithContext(fmt::format("{} {}", NodeVerbName(verb), node)));
        continue;
      }
      std::cout << fmt::format("{} {}: requested\n", NodeVerbName(verb), node) << std::flush;
      std::string last_progress;
      const int code =
          Follow(c, timeout_seconds, [&](const ClusterView& view) -> std::optional<int> {
            const MemberInfo* m = view.Member(node);
            if (m == nullptr) return std::nullopt;
            if (m->last_action && m->last_action->id == action->id) {
              if (!last_progress.empty()) std::cout << "\n";
              std::cout << fmt::format("{} {}: {}\n", NodeVerbName(verb), node,
                                       m->last_action->message);
              return m->last_action->ok ? kExitOk : kExitFailure;
            }
            // A clone reports "45% (1200/2700 kB)" in its note: draw it as a bar.
            const auto percent_at = m->note.find('%');
            if (m->note != last_progress && percent_at != std::string::npos) {
              const auto start = m->note.rfind(' ', percent_at);
              const int percent =
                  std::atoi(m->note.c_str() + (start == std::string::npos ? 0 : start + 1));
              const int filled = std::clamp(percent, 0, 100) * 30 / 100;
              std::cout << fmt::format("\r  [{}{}] {}",
                                       std::string(static_cast<size_t>(filled), '#'),
                                       std::string(static_cast<size_t>(30 - filled), ' '), m->note)
                        << std::flush;
              last_progress = m->note;
            }
            return std::nullopt;
          });
      if (code != kExitOk) result = code;
    }
    return result;
  });
}

int RemoveCommand(const ClusterTarget& target, const std::string& node) {
  return WithAdmin(target, [&](Connected&, ClusterAdmin& admin) {
    if (Status s = admin.Remove(node); !s.ok())
      return ReportFailure(s.WithContext("remove refused"));
    std::cout << "Removed " << node << " from the cluster's records.\n";
    return kExitOk;
  });
}

namespace {

std::string SettingsText(const DynamicSettings& settings) {
  std::string text;
  for (const auto& [key, value] : settings) text += key + ": " + value + "\n";
  return text;
}

// "key: value" lines (blank lines and # comments skipped) back into settings.
Result<DynamicSettings> ParseSettingsText(const std::string& text) {
  DynamicSettings settings;
  std::istringstream lines(text);
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) {
      return InvalidArgument(fmt::format("line {}: expected 'key: value', got '{}'", number, line));
    }
    auto trim = [](std::string s) {
      s.erase(0, s.find_first_not_of(" \t"));
      s.erase(s.find_last_not_of(" \t\r") + 1);
      return s;
    };
    settings[trim(line.substr(0, colon))] = trim(line.substr(colon + 1));
  }
  return settings;
}

}  // namespace

int ConfigShowCommand(const ClusterTarget& target, bool json) {
  return WithAdmin(target, [&](Connected&, ClusterAdmin& admin) {
    auto view = admin.Load();
    if (!view.ok()) return ReportFailure(view.status());
    const DynamicSettings settings = view->Settings();
    if (json) {
      nlohmann::json pending = nlohmann::json::object();
      for (const auto& [name, m] : view->members) pending[name] = m.pending_restart;
      std::cout << JsonText({{"settings", view->config}, {"pending_restart", pending}}, 2) << "\n";
      return kExitOk;
    }
    std::cout << (settings.empty() ? "# no dynamic settings: each node uses its own file\n"
                                   : SettingsText(settings));
    for (const auto& [name, m] : view->members) {
      if (m.pending_restart.empty()) continue;
      std::string names;
      for (const auto& p : m.pending_restart) names += (names.empty() ? "" : ", ") + p;
      std::cout << fmt::format("# {}: pending restart for {} (`baton restart {} --pending`)\n",
                               name, names, name);
    }
    return kExitOk;
  });
}

int ConfigSetCommand(const ClusterTarget& target, const std::vector<std::string>& assignments) {
  DynamicSettings changes;
  for (const std::string& assignment : assignments) {
    const auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0) {
      return ReportFailure(InvalidArgument(
          fmt::format("'{}': expected KEY=VALUE (an empty VALUE removes the key)", assignment)));
    }
    const std::string key = assignment.substr(0, eq);
    if (!IsDynamicKey(key)) {
      return ReportFailure(ApplyDynamicConfig(Config{}, {{key, ""}}).status());
    }
    changes[key] = assignment.substr(eq + 1);
  }
  return WithAdmin(target, [&](Connected&, ClusterAdmin& admin) {
    auto stored = admin.SetConfig(changes);
    if (!stored.ok()) return ReportFailure(stored.status());
    std::cout << "Stored. Dynamic settings now:\n" << SettingsText(*stored);
    std::cout << "Agents apply them at once; `baton config show` lists settings that wait for a "
                 "restart.\n";
    return kExitOk;
  });
}

int ConfigEditCommand(const ClusterTarget& target) {
  return WithAdmin(target, [&](Connected& c, ClusterAdmin& admin) {
    auto view = admin.Load();
    if (!view.ok()) return ReportFailure(view.status());
    const DynamicSettings before = view->Settings();
    // A private file (mkstemp: new, mode 0600), never one someone prepared in /tmp.
    std::string path = (std::filesystem::temp_directory_path() / "baton-config-XXXXXX").string();
    const int fd = mkstemp(path.data());
    if (fd < 0) return ReportFailure(Internal("cannot create a temporary file to edit"));
    const std::string initial =
        "# Dynamic settings of cluster " + c.cluster + ", one 'key: value' per line.\n" +
        "# Allowed: timing.ttl, timing.loop_wait, timing.primary_start_timeout,\n" +
        "# timing.maximum_lag_on_failover, postgresql.parameters.<name>.\n" + SettingsText(before);
    const bool written =
        write(fd, initial.data(), initial.size()) == static_cast<ssize_t>(initial.size());
    close(fd);
    if (!written) return ReportFailure(Internal("cannot write the temporary file to edit"));
    const char* editor = getenv("VISUAL") != nullptr ? getenv("VISUAL") : getenv("EDITOR");
    const std::string command = fmt::format("{} '{}'", editor != nullptr ? editor : "vi", path);
    const int status = std::system(command.c_str());
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    std::filesystem::remove(path);
    if (status != 0) return ReportFailure(Internal("the editor failed; nothing stored"));
    auto after = ParseSettingsText(text.str());
    if (!after.ok()) return ReportFailure(after.status().WithContext("nothing stored"));
    if (*after == before) {
      std::cout << "No change.\n";
      return kExitOk;
    }
    auto stored = admin.ReplaceConfig(before, *after);
    if (!stored.ok()) return ReportFailure(stored.status().WithContext("nothing stored"));
    std::cout << "Stored. Dynamic settings now:\n" << SettingsText(*stored);
    return kExitOk;
  });
}

}  // namespace baton
