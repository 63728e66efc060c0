// AlertSender: the Alerts port for real: each alert's JSON (AlertJson) is POSTed to
// alerts.webhook and handed to hooks.on_alert, off the caller's thread.
//
// Send() renders the event, queues it and returns at once; it never touches the network. One
// worker thread delivers the queue in order: a POST with Content-Type application/json, each
// attempt's connect, send and answer bounded by alerts.timeout. A 2xx answer is delivered; no
// answer, 408, 429 or 5xx is tried again up to alerts.retries times, after a backoff that
// doubles from `first_backoff` up to `max_backoff`; any other answer is given up on at once.
// The hook runs on a HookRunner of its own (queued, killed at hooks.timeout, counted), with the
// JSON in BATON_ALERT. The queue holds `capacity` alerts; when it is full the oldest waiting one
// is dropped, logged and counted. The destructor lets the attempt in progress end (within
// alerts.timeout), ends a backoff at once and drops what is still queued; call Drain() first to
// give the queue a bounded time. The webhook's path is never logged (it may carry a token): only
// its origin. All public methods are thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/config.h"
#include "core/http_url.h"
#include "ha/alert.h"
#include "ha/hook_runner.h"

namespace baton {

struct AlertSenderOptions {
  size_t capacity = 128;
  Duration first_backoff = std::chrono::seconds(1);
  Duration max_backoff = std::chrono::seconds(30);
};

class AlertSender final : public Alerts {
 public:
  // `config` gives the cluster and node names, alerts.* and hooks.on_alert (and hooks.timeout);
  // its alerts.webhook must have passed config validation.
  explicit AlertSender(const Config& config, AlertSenderOptions options = {});
  ~AlertSender() override;
  AlertSender(const AlertSender&) = delete;
  AlertSender& operator=(const AlertSender&) = delete;

  // Whether alerts go anywhere (a webhook or hooks.on_alert); Send() ignores them otherwise.
  bool configured() const { return webhook_.has_value() || !hooks_config_.on_alert.empty(); }
  void Send(const Alert& alert) override;
  AlertCounts counts() const override;
  // Blocks until every queued alert was delivered or given up on and no on_alert hook waits or
  // runs, or `timeout` passes. True when drained.
  bool Drain(Duration timeout);
  // The longest one alert's delivery to the webhook may take: every attempt (connect and answer
  // each within alerts.timeout) and every backoff between them.
  Duration DeliveryBudget() const;
  // Why the last alert given up on failed ("" when none has failed).
  std::string last_error() const;

 private:
  struct Pending {
    std::string event;
    std::string body;  // the JSON
  };
  enum class Answer { kDelivered, kRetry, kGiveUp };

  void WorkLoop();
  // Delivers one alert, retrying as configured; counts how it ended.
  void Deliver(const Pending& alert);
  // One POST. `why` says what went wrong when it did not deliver.
  Answer Post(const std::string& body, std::string* why) const;

  const std::string cluster_;
  const std::string node_;
  const Hooks hooks_config_;
  const AlertSettings settings_;
  const std::optional<HttpUrl> webhook_;
  const AlertSenderOptions options_;
  HookRunner hooks_;

  mutable std::mutex mu_;
  std::condition_variable work_or_stop_;  // an alert was queued, or the sender is stopping
  std::condition_variable idle_;          // nothing queued and nothing being delivered
  std::deque<Pending> queue_;
  bool delivering_ = false;
  bool stopping_ = false;
  AlertCounts counts_;
  std::string last_error_;
  std::thread worker_;  // last: starts after every member it uses is constructed
};

}  // namespace baton
