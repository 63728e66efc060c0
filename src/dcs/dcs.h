// Dcs: the port to the distributed configuration store that holds baton's shared state.
//
// It has etcd v3's semantics, reduced to what baton needs: leases with a TTL that delete their
// keys when they end, compare-and-set transactions, prefix reads and prefix watches. Two
// implementations: EtcdDcs (gRPC, production) and MemoryDcs (unit tests, simulated time).
// Implementations are thread-safe. Watch callbacks may run on an implementation's own thread;
// they must be quick and must not call back into the Dcs.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"

namespace baton {

using LeaseId = int64_t;

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  LeaseId lease = 0;
};

struct WatchEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  KeyValue kv;  // for kDelete only key and mod_revision are set
};

using WatchCallback = std::function<void(const WatchEvent&)>;

// One comparison of a transaction: the key holds exactly `value` (and, when `mod_revision` is
// not 0, was last written at that revision: nobody wrote it since), or does not exist.
struct TxnCondition {
  std::string key;
  bool absent = false;  // true: the key must not exist (`value`, `mod_revision` are ignored)
  std::string value;
  int64_t mod_revision = 0;

  static TxnCondition Equals(std::string key, std::string value) {
    return {std::move(key), false, std::move(value)};
  }
  static TxnCondition Unchanged(std::string key, std::string value, int64_t mod_revision) {
    return {std::move(key), false, std::move(value), mod_revision};
  }
  static TxnCondition Absent(std::string key) { return {std::move(key), true, ""}; }
  // Absent when `value` is empty (a key baton never stores empty), else Equals.
  static TxnCondition Reads(std::string key, std::string value) {
    return value.empty() ? Absent(std::move(key)) : Equals(std::move(key), std::move(value));
  }
};

class Dcs {
 public:
  virtual ~Dcs() = default;

  // A new lease that ends ttl_seconds after its last keep-alive.
  virtual Result<LeaseId> GrantLease(int ttl_seconds) = 0;
  // Renews a lease. NotFound when it has already ended; Unavailable when the store is unreachable.
  virtual Status KeepAlive(LeaseId lease) = 0;
  // Ends a lease now, deleting its keys.
  virtual Status RevokeLease(LeaseId lease) = 0;

  virtual Result<std::vector<KeyValue>> GetPrefix(const std::string& prefix) = 0;
  // lease 0 = the key lives until deleted.
  virtual Status Put(const std::string& key, const std::string& value, LeaseId lease) = 0;
  virtual Status Delete(const std::string& key) = 0;
  // Transaction: put only if the key does not exist. false = someone else has it.
  virtual Result<bool> CreateIfAbsent(const std::string& key, const std::string& value,
                                      LeaseId lease) = 0;
  // Transaction: put only if the key exists with exactly `expected` as its value.
  virtual Result<bool> PutIfValue(const std::string& key, const std::string& expected,
                                  const std::string& value, LeaseId lease) = 0;
  // Transaction: every put in `puts` (value and lease) and every delete in `deletes`, only if
  // every condition holds. false = one of them did not (nothing was written).
  virtual Result<bool> Transact(const std::vector<TxnCondition>& conditions,
                                const std::vector<KeyValue>& puts,
                                const std::vector<std::string>& deletes = {}) = 0;
  // Transaction without writes: true when the key holds `value` and is attached to `lease`.
  virtual Result<bool> Holds(const std::string& key, const std::string& value, LeaseId lease) = 0;
  // Transaction: delete only if the key holds exactly `expected`.
  virtual Result<bool> DeleteIfValue(const std::string& key, const std::string& expected) = 0;

  // Calls `callback` for every change under `prefix` from now on, until the Dcs is destroyed.
  // Reconnects by itself; a change missed while disconnected is seen on the next read.
  virtual void WatchPrefix(const std::string& prefix, WatchCallback callback) = 0;
  // Ends every watch; no callback runs once this returns. For an orderly shutdown, before the
  // objects the callbacks point at are destroyed.
  virtual void StopWatches() = 0;
};

}  // namespace baton
