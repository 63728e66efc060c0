// RecordingAlerts: an Alerts that keeps every alert sent, for assertions. Thread-safe.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "ha/alert.h"

namespace baton {

class RecordingAlerts final : public Alerts {
 public:
  void Send(const Alert& alert) override {
    std::lock_guard lock(mu_);
    sent_.push_back(alert);
  }
  AlertCounts counts() const override { return {}; }

  std::vector<Alert> Sent() const {
    std::lock_guard lock(mu_);
    return sent_;
  }
  void Clear() {
    std::lock_guard lock(mu_);
    sent_.clear();
  }
  // The alerts named `event`, in the order sent.
  std::vector<Alert> Named(const std::string& event) const {
    std::vector<Alert> named;
    for (const Alert& alert : Sent()) {
      if (alert.event == event) named.push_back(alert);
    }
    return named;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Alert> sent_;
};

}  // namespace baton
