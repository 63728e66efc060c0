#include "pg/fence_rule.h"

#include <fmt/format.h>

#include <charconv>

namespace baton {

FenceRule::Verdict FenceRule::Next(TimePoint now) const {
  Verdict verdict;
  verdict.read_commands = !agent_gone_;
  if (deadline_ && now >= *deadline_) {
    verdict.action = Action::kFence;
  } else if (deadline_) {
    verdict.wake_at = deadline_;
  } else if (agent_gone_) {
    verdict.action = Action::kExit;
  }
  return verdict;
}

std::string ArmCommand(TimePoint deadline) {
  return fmt::format("arm {}", deadline.time_since_epoch().count());
}

std::string DisarmCommand() {
  return "disarm";
}

Result<std::optional<TimePoint>> ParseFenceCommand(const std::string& line) {
  if (line == DisarmCommand()) return std::optional<TimePoint>();
  constexpr std::string_view kArm = "arm ";
  if (line.rfind(kArm, 0) == 0) {
    Duration::rep ns = 0;
    const char* first = line.data() + kArm.size();
    const char* last = line.data() + line.size();
    const auto [end, error] = std::from_chars(first, last, ns);
    if (error == std::errc() && end == last && first != last) {
      return std::optional<TimePoint>(TimePoint(Duration(ns)));
    }
  }
  return InvalidArgument(fmt::format("unknown fencing command '{}'", line));
}

}  // namespace baton
