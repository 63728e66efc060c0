#include "api/node_watch.h"

#include <poll.h>

#include <chrono>
#include <memory>

#include "pg/pg_connection.h"

namespace baton {

namespace {

constexpr auto kRetry = std::chrono::milliseconds(200);
constexpr int kPollMs = 200;  // how soon a change of target or a stop is seen

}  // namespace

NodeWatch::NodeWatch() : thread_([this] { Loop(); }) {}

NodeWatch::~NodeWatch() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void NodeWatch::Watch(const std::string& conninfo, std::function<void()> on_lost) {
  {
    std::lock_guard lock(mu_);
    on_lost_ = std::move(on_lost);
    if (conninfo == conninfo_) return;
    conninfo_ = conninfo;
    ++generation_;
  }
  changed_.notify_all();
}

void NodeWatch::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (conninfo_.empty()) {
      changed_.wait(lock, [this] { return stopping_ || !conninfo_.empty(); });
      continue;
    }
    const std::string conninfo = conninfo_;
    const uint64_t generation = generation_;
    lock.unlock();
    auto connected = PgConnection::Connect(conninfo, std::chrono::seconds(1));
    lock.lock();
    if (!connected.ok()) {
      changed_.wait_for(lock, kRetry, [&] { return stopping_ || generation_ != generation; });
      continue;
    }
    std::unique_ptr<PgConnection> conn = std::move(connected).value();
    bool lost = false;
    while (!stopping_ && generation_ == generation && !lost) {
      lock.unlock();
      pollfd pfd{conn->socket(), POLLIN, 0};
      const int ready = poll(&pfd, 1, kPollMs);
      // Input on an idle connection is its end (or a notice; ConsumeInput tells which).
      lost = ready < 0 || (ready == 1 && !conn->ConsumeInput());
      lock.lock();
    }
    if (lost && !stopping_ && generation_ == generation && on_lost_) {
      const auto on_lost = on_lost_;
      lock.unlock();
      on_lost();
      lock.lock();
    }
  }
}

}  // namespace baton
