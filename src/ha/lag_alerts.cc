#include "ha/lag_alerts.h"

#include <fmt/format.h>

namespace baton {

std::vector<Alert> LagAlerts::Update(const ClusterView& view, const std::string& self, bool leads,
                                     uint64_t limit, double now_unix) {
  std::vector<Alert> alerts;
  if (!leads) {
    lagging_.clear();
    return alerts;
  }
  std::erase_if(lagging_, [&](const std::string& name) { return view.Member(name) == nullptr; });
  for (const auto& [name, member] : view.members) {
    if (name == self) continue;
    const ClusterView::Lag lag = view.LagOf(member);
    if (!lag.bytes) continue;
    const bool was_lagging = lagging_.count(name) > 0;
    const bool crossed = was_lagging ? *lag.bytes <= limit / 2 : *lag.bytes > limit;
    if (!crossed) continue;
    Alert alert;
    alert.time_unix = now_unix;
    alert.details = {{"member", name},
                     {"leader", self},
                     {"lag_bytes", *lag.bytes},
                     {"maximum_lag_on_failover", limit}};
    if (lag.seconds) alert.details["lag_seconds"] = *lag.seconds;
    if (was_lagging) {
      lagging_.erase(name);
      alert.event = "replica_caught_up";
      alert.severity = AlertSeverity::kInfo;
      alert.summary = fmt::format("replica {} caught up: {} bytes behind the leader {}", name,
                                  *lag.bytes, self);
    } else {
      lagging_.insert(name);
      alert.event = "replica_lagging";
      alert.severity = AlertSeverity::kWarning;
      alert.summary = fmt::format(
          "replica {} is {} bytes behind the leader {}, past maximum_lag_on_failover ({}): it "
          "would not be promoted automatically",
          name, *lag.bytes, self, limit);
    }
    alerts.push_back(std::move(alert));
  }
  return alerts;
}

}  // namespace baton
