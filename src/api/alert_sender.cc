#include "api/alert_sender.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "api/http_client.h"
#include "core/json_text.h"

namespace baton {

namespace {

std::optional<HttpUrl> WebhookOf(const AlertSettings& settings) {
  if (!settings.Configured()) return std::nullopt;
  auto url = HttpUrl::Parse(settings.webhook);
  if (!url.ok()) {
    spdlog::error("alerts.webhook: {}; alerts go to hooks.on_alert only", url.status().message());
    return std::nullopt;
  }
  return *url;
}

}  // namespace

AlertSender::AlertSender(const Config& config, AlertSenderOptions options)
    : cluster_(config.cluster_name),
      node_(config.node_name),
      hooks_config_(config.hooks),
      settings_(config.alerts),
      webhook_(WebhookOf(config.alerts)),
      options_(options),
      hooks_(config.hooks, config.cluster_name, config.node_name),
      worker_([this] { WorkLoop(); }) {}

AlertSender::~AlertSender() {
  {
    std::lock_guard lock(mu_);
    if (!queue_.empty()) {
      std::string events;
      for (const Pending& alert : queue_) events += (events.empty() ? "" : ", ") + alert.event;
      spdlog::warn("alerts: stopping with {} undelivered: {}", queue_.size(), events);
      counts_.dropped += queue_.size();
      queue_.clear();
    }
    stopping_ = true;
  }
  work_or_stop_.notify_all();
  worker_.join();
}

void AlertSender::Send(const Alert& alert) {
  if (!configured()) return;
  const std::string body = JsonText(AlertJson(alert, cluster_, node_));
  spdlog::info("alert {} ({}): {}", alert.event, AlertSeverityName(alert.severity), alert.summary);
  hooks_.Fire({"on_alert",
               "",
               "",
               0,
               alert.summary,
               {{"BATON_ALERT", body},
                {"BATON_ALERT_EVENT", alert.event},
                {"BATON_ALERT_SEVERITY", AlertSeverityName(alert.severity)}}});
  if (!webhook_) return;
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= std::max<size_t>(options_.capacity, 1)) {
      spdlog::warn("alert queue full ({} waiting): dropping the oldest, {}", queue_.size(),
                   queue_.front().event);
      queue_.pop_front();
      ++counts_.dropped;
    }
    queue_.push_back({alert.event, body});
  }
  work_or_stop_.notify_all();
}

AlertCounts AlertSender::counts() const {
  AlertCounts counts;
  {
    std::lock_guard lock(mu_);
    counts = counts_;
  }
  counts.hooks = hooks_.counts();
  return counts;
}

std::string AlertSender::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

bool AlertSender::Drain(Duration timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  {
    std::unique_lock lock(mu_);
    if (!idle_.wait_until(lock, deadline, [this] { return queue_.empty() && !delivering_; })) {
      return false;
    }
  }
  return hooks_.Drain(std::max<Duration>(
      Duration::zero(),
      std::chrono::duration_cast<Duration>(deadline - std::chrono::steady_clock::now())));
}

Duration AlertSender::DeliveryBudget() const {
  const Duration attempt = 2 * FromSeconds(settings_.timeout_seconds);
  Duration total = attempt;
  Duration backoff = options_.first_backoff;
  for (int retry = 0; retry < settings_.retries; ++retry) {
    total += backoff + attempt;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
  return total;
}

void AlertSender::WorkLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    work_or_stop_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    const Pending alert = std::move(queue_.front());
    queue_.pop_front();
    delivering_ = true;
    lock.unlock();
    Deliver(alert);
    lock.lock();
    delivering_ = false;
    if (queue_.empty()) idle_.notify_all();
  }
}

void AlertSender::Deliver(const Pending& alert) {
  Duration backoff = options_.first_backoff;
  std::string why;
  for (int attempt = 0; attempt <= settings_.retries; ++attempt) {
    if (attempt > 0) {
      std::unique_lock lock(mu_);
      if (work_or_stop_.wait_for(lock, backoff, [this] { return stopping_; })) {
        why += "; the agent stopped before the next attempt";
        break;
      }
      ++counts_.retries;
      backoff = std::min(backoff * 2, options_.max_backoff);
    }
    const Answer answer = Post(alert.body, &why);
    if (answer == Answer::kDelivered) {
      std::lock_guard lock(mu_);
      ++counts_.sent;
      return;
    }
    spdlog::warn("alert {}: delivery to {} failed (attempt {} of {}): {}", alert.event,
                 webhook_->Origin(), attempt + 1, settings_.retries + 1, why);
    if (answer == Answer::kGiveUp) break;
  }
  std::lock_guard lock(mu_);
  ++counts_.failed;
  last_error_ = fmt::format("{}: {}", webhook_->Origin(), why);
  spdlog::error("alert {}: not delivered to {}: {}", alert.event, webhook_->Origin(), why);
}

AlertSender::Answer AlertSender::Post(const std::string& body, std::string* why) const {
  auto client = MakeHttpClient(webhook_->Origin(), FromSeconds(settings_.timeout_seconds));
  if (!settings_.ca_file.empty()) client->set_ca_cert_path(settings_.ca_file.c_str());
  client->set_default_headers({{"User-Agent", "baton/" BATON_VERSION}});
  auto res = client->Post(webhook_->target, body, "application/json");
  if (!res) {
    *why = "no answer: " + httplib::to_string(res.error());
    return Answer::kRetry;
  }
  if (res->status >= 200 && res->status < 300) return Answer::kDelivered;
  const std::string answer = res->body.substr(0, res->body.find('\n')).substr(0, 200);
  *why = fmt::format("answered {}{}{}", res->status, answer.empty() ? "" : ": ", answer);
  const bool worth_retrying = res->status == 408 || res->status == 429 || res->status >= 500;
  return worth_retrying ? Answer::kRetry : Answer::kGiveUp;
}

}  // namespace baton
