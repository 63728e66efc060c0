// MemoryDcs: an in-process Dcs with etcd's semantics, for unit tests.
//
// Leases end in simulated time: every call first expires the leases whose deadline on the
// injected Clock has passed, deleting their keys and firing watch events, just as etcd would.
// SetReachable(false) makes every call fail with Unavailable, to model a partition. Watch
// callbacks run synchronously on the thread that made the change, after the lock is released.
// Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "dcs/dcs.h"

namespace baton {

class MemoryDcs final : public Dcs {
 public:
  explicit MemoryDcs(const Clock& clock) : clock_(clock) {}

  Result<LeaseId> GrantLease(int ttl_seconds) override;
  Status KeepAlive(LeaseId lease) override;
  Status RevokeLease(LeaseId lease) override;
  Result<std::vector<KeyValue>> GetPrefix(const std::string& prefix) override;
  Status Put(const std::string& key, const std::string& value, LeaseId lease) override;
  Status Delete(const std::string& key) override;
  Result<bool> CreateIfAbsent(const std::string& key, const std::string& value,
                              LeaseId lease) override;
  Result<bool> Transact(const std::vector<TxnCondition>& conditions,
                        const std::vector<KeyValue>& puts,
                        const std::vector<std::string>& deletes) override;
  Result<bool> PutIfValue(const std::string& key, const std::string& expected,
                          const std::string& value, LeaseId lease) override;
  Result<bool> Holds(const std::string& key, const std::string& value, LeaseId lease) override;
  Result<bool> DeleteIfValue(const std::string& key, const std::string& expected) override;
  void WatchPrefix(const std::string& prefix, WatchCallback callback) override;
  void StopWatches() override;

  // Fault injection: while unreachable every call returns Unavailable (leases keep ageing).
  void SetReachable(bool reachable);
  // Expires due leases now (every call does this too); lets a test observe expiry directly.
  void Tick();

 private:
  struct Lease {
    int ttl_seconds;
    TimePoint deadline;
  };
  using Events = std::vector<WatchEvent>;

  // Runs `op` under the lock after expiring due leases, then delivers the watch events it made.
  // `op` returns the call's Result; an unreachable store short-circuits with Unavailable.
  template <typename Op>
  auto Mutate(Op op) -> decltype(op(static_cast<Events*>(nullptr)));
  void ExpireLocked(Events* events);
  Status PutLocked(const std::string& key, const std::string& value, LeaseId lease, Events* events);
  void DeleteLocked(const std::string& key, Events* events);
  void Deliver(const Events& events);

  const Clock& clock_;
  mutable std::mutex mu_;
  bool reachable_ = true;
  int64_t revision_ = 1;
  LeaseId next_lease_ = 1000;
  std::map<std::string, KeyValue> keys_;
  std::map<LeaseId, Lease> leases_;
  std::vector<std::pair<std::string, WatchCallback>> watchers_;
};

}  // namespace baton
