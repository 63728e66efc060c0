// FenceRule: what the fencing watchdog does, as a pure state machine with time injected.
//
// The agent arms it with a deadline ("if not re-armed before then, stop this server at once")
// or disarms it; the command channel closing means the agent is gone (killed, crashed). Next()
// says what to do at a given moment: wait (until the deadline, or for the next command), fence
// now, or exit. The rule fences once per arming; with the agent gone it still enforces the last
// armed deadline, and exits once nothing is armed. The watchdog process (`baton watchdog`) and
// the tests' FakeInstance both run it. Commands travel as text lines, "arm <ns>" (the deadline
// on the monotonic clock, which all processes of one machine share) and "disarm"; the process
// runs the rule on CLOCK_BOOTTIME, so that time the machine spent suspended counts too.
// Plain value, not thread-safe.
#pragma once

#include <optional>
#include <string>

#include "core/clock.h"
#include "core/status.h"

namespace baton {

class FenceRule {
 public:
  enum class Action { kWait, kFence, kExit };
  struct Verdict {
    Action action = Action::kWait;
    std::optional<TimePoint> wake_at;  // kWait: when to look again; none = only on a command
    bool read_commands = true;         // false once the agent is gone
  };

  void Arm(TimePoint deadline) { deadline_ = deadline; }
  void Disarm() { deadline_.reset(); }
  void AgentGone() { agent_gone_ = true; }
  // The server was killed for the armed deadline: nothing more to enforce until re-armed.
  void Fenced() { deadline_.reset(); }

  Verdict Next(TimePoint now) const;
  const std::optional<TimePoint>& deadline() const { return deadline_; }

 private:
  std::optional<TimePoint> deadline_;
  bool agent_gone_ = false;
};

// The command lines, without the newline.
std::string ArmCommand(TimePoint deadline);
std::string DisarmCommand();
// One command line: the deadline to arm, or nullopt for "disarm"; InvalidArgument otherwise.
Result<std::optional<TimePoint>> ParseFenceCommand(const std::string& line);

}  // namespace baton
