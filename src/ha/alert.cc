#include "ha/alert.h"

#include "core/wall_time.h"

namespace baton {

const char* AlertSeverityName(AlertSeverity severity) {
  switch (severity) {
    case AlertSeverity::kCritical:
      return "critical";
    case AlertSeverity::kWarning:
      return "warning";
    case AlertSeverity::kInfo:
      return "info";
  }
  return "critical";
}

nlohmann::json AlertJson(const Alert& alert, const std::string& cluster, const std::string& node) {
  return {{"event", alert.event},
          {"severity", AlertSeverityName(alert.severity)},
          {"cluster", cluster},
          {"node", node},
          {"time", UtcTimestamp(alert.time_unix > 0 ? alert.time_unix : UnixNow())},
          {"summary", alert.summary},
          {"details", alert.details}};
}

namespace {

class Discard final : public Alerts {
 public:
  void Send(const Alert&) override {}
  AlertCounts counts() const override { return {}; }
};

}  // namespace

Alerts& DiscardAlerts() {
  static Discard discard;
  return discard;
}

}  // namespace baton
