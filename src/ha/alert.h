// Alert: one event a person may need to hear about (a failover, a fenced primary, a lagging
// replica, a failed doctor check), and Alerts, the port it is sent through.
//
// The agent and `baton doctor` only say what happened; an Alerts implementation decides where
// it goes. AlertSender (src/api/alert_sender.h) is the real one: it posts the event's JSON to
// alerts.webhook and runs hooks.on_alert, on a thread of its own, so Send() never waits on the
// network. DiscardAlerts() sends nothing (for agents built without one); unit tests record what
// was sent. AlertJson() is the schema every receiver sees (docs/monitoring.md#alerts-without-
// prometheus). Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "ha/hook_runner.h"

namespace baton {

enum class AlertSeverity { kCritical, kWarning, kInfo };
const char* AlertSeverityName(AlertSeverity severity);

struct Alert {
  std::string event;  // "failover" | "switchover" | "fenced" | "replica_lagging" |
                      // "replica_caught_up" | "doctor_check_failed"
  AlertSeverity severity = AlertSeverity::kCritical;
  std::string summary;  // one line for a person
  nlohmann::json details = nlohmann::json::object();
  double time_unix = 0;  // when it happened (Clock::UnixNow()); 0 = when it is sent
};

// {"event", "severity", "cluster", "node", "time" (ISO 8601 UTC), "summary", "details"}.
nlohmann::json AlertJson(const Alert& alert, const std::string& cluster, const std::string& node);

// What became of the alerts sent so far.
struct AlertCounts {
  uint64_t sent = 0;         // delivered to the webhook (a 2xx answer)
  uint64_t failed = 0;       // given up on: retries spent, or an answer not worth retrying (4xx)
  uint64_t retries = 0;      // delivery attempts after a failed one
  uint64_t dropped = 0;      // pushed out of a full queue, or still queued when the sender stopped
  HookRunner::Counts hooks;  // hooks.on_alert runs
};

class Alerts {
 public:
  virtual ~Alerts() = default;
  // Hands the alert over and returns at once.
  virtual void Send(const Alert& alert) = 0;
  virtual AlertCounts counts() const = 0;
};

// An Alerts that sends nothing and counts nothing; one shared instance.
Alerts& DiscardAlerts();

}  // namespace baton
