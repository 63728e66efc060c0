// NodeWatch: one idle libpq connection to another node's PostgreSQL, held by a thread of its
// own, that reports the moment it breaks (the server died, or its node closed the socket).
//
// Watch() names the server (conninfo; "" = none) and the callback; the thread connects (again
// every 200 ms while it cannot), waits on the socket, and calls `on_lost` once each time an
// established connection ends. A silent network (no reset) is not noticed here. Thread-safe;
// the destructor stops the thread without calling back.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace baton {

class NodeWatch {
 public:
  NodeWatch();
  ~NodeWatch();
  NodeWatch(const NodeWatch&) = delete;
  NodeWatch& operator=(const NodeWatch&) = delete;

  // Watches the server `conninfo` reaches from now on ("" = none), reporting to `on_lost`. The
  // same conninfo again changes nothing.
  void Watch(const std::string& conninfo, std::function<void()> on_lost);

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable changed_;
  std::string conninfo_;
  std::function<void()> on_lost_;
  uint64_t generation_ = 0;  // bumped by every change of target
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the rest is constructed
};

}  // namespace baton
