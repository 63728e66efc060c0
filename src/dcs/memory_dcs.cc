#include "dcs/memory_dcs.h"

#include <chrono>

namespace baton {

template <typename Op>
auto MemoryDcs::Mutate(Op op) -> decltype(op(static_cast<Events*>(nullptr))) {
  using Out = decltype(op(static_cast<Events*>(nullptr)));
  Events events;
  Out out = [&]() -> Out {
    std::lock_guard lock(mu_);
    if (!reachable_) return Unavailable("in-memory DCS marked unreachable");
    ExpireLocked(&events);
    return op(&events);
  }();
  Deliver(events);
  return out;
}

void MemoryDcs::ExpireLocked(Events* events) {
  const TimePoint now = clock_.Now();
  for (auto it = leases_.begin(); it != leases_.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    const LeaseId ended = it->first;
    it = leases_.erase(it);
    std::vector<std::string> doomed;
    for (const auto& [key, kv] : keys_) {
      if (kv.lease == ended) doomed.push_back(key);
    }
    for (const auto& key : doomed) DeleteLocked(key, events);
  }
}

Status MemoryDcs::PutLocked(const std::string& key, const std::string& value, LeaseId lease,
                            Events* events) {
  if (lease != 0 && leases_.count(lease) == 0) return NotFound("lease not found");
  KeyValue& kv = keys_[key];
  ++revision_;
  if (kv.create_revision == 0) kv.create_revision = revision_;
  kv.key = key;
  kv.value = value;
  kv.mod_revision = revision_;
  kv.lease = lease;
  events->push_back({WatchEvent::Type::kPut, kv});
  return Status::Ok();
}

void MemoryDcs::DeleteLocked(const std::string& key, Events* events) {
  if (keys_.erase(key) == 0) return;
  ++revision_;
  WatchEvent event{WatchEvent::Type::kDelete, {}};
  event.kv.key = key;
  event.kv.mod_revision = revision_;
  events->push_back(event);
}

void MemoryDcs::Deliver(const Events& events) {
  if (events.empty()) return;
  std::vector<std::pair<std::string, WatchCallback>> watchers;
  {
    std::lock_guard lock(mu_);
    watchers = watchers_;
  }
  for (const auto& event : events) {
    for (const auto& [prefix, callback] : watchers) {
      if (event.kv.key.rfind(prefix, 0) == 0) callback(event);
    }
  }
}

Result<LeaseId> MemoryDcs::GrantLease(int ttl_seconds) {
  return Mutate([&](Events*) -> Result<LeaseId> {
    const LeaseId id = next_lease_++;
    leases_[id] = {ttl_seconds, clock_.Now() + std::chrono::seconds(ttl_seconds)};
    return id;
  });
}

Status MemoryDcs::KeepAlive(LeaseId lease) {
  return Mutate([&](Events*) -> Status {
    auto it = leases_.find(lease);
    if (it == leases_.end()) return NotFound("lease has ended");
    it->second.deadline = clock_.Now() + std::chrono::seconds(it->second.ttl_seconds);
    return Status::Ok();
  });
}

Status MemoryDcs::RevokeLease(LeaseId lease) {
  return Mutate([&](Events* events) -> Status {
    auto it = leases_.find(lease);
    if (it != leases_.end()) it->second.deadline = TimePoint::min();
    ExpireLocked(events);
    return Status::Ok();
  });
}

Result<std::vector<KeyValue>> MemoryDcs::GetPrefix(const std::string& prefix) {
  return Mutate([&](Events*) -> Result<std::vector<KeyValue>> {
    std::vector<KeyValue> out;
    for (auto it = keys_.lower_bound(prefix); it != keys_.end() && it->first.rfind(prefix, 0) == 0;
         ++it) {
      out.push_back(it->second);
    }
    return out;
  });
}

Status MemoryDcs::Put(const std::string& key, const std::string& value, LeaseId lease) {
  return Mutate([&](Events* events) { return PutLocked(key, value, lease, events); });
}

Status MemoryDcs::Delete(const std::string& key) {
  return Mutate([&](Events* events) -> Status {
    DeleteLocked(key, events);
    return Status::Ok();
  });
}

Result<bool> MemoryDcs::CreateIfAbsent(const std::string& key, const std::string& value,
                                       LeaseId lease) {
  return Mutate([&](Events* events) -> Result<bool> {
    if (keys_.count(key) != 0) return false;
    if (Status s = PutLocked(key, value, lease, events); !s.ok()) return s;
    return true;
  });
}

Result<bool> MemoryDcs::PutIfValue(const std::string& key, const std::string& expected,
                                   const std::string& value, LeaseId lease) {
  return Mutate([&](Events* events) -> Result<bool> {
    auto it = keys_.find(key);
    if (it == keys_.end() || it->second.value != expected) return false;
    if (Status s = PutLocked(key, value, lease, events); !s.ok()) return s;
    return true;
  });
}

Result<bool> MemoryDcs::Transact(const std::vector<TxnCondition>& conditions,
                                 const std::vector<KeyValue>& puts,
                                 const std::vector<std::string>& deletes) {
  return Mutate([&](Events* events) -> Result<bool> {
    for (const TxnCondition& condition : conditions) {
      auto it = keys_.find(condition.key);
      const bool holds = condition.absent
                             ? it == keys_.end()
                             : it != keys_.end() && it->second.value == condition.value &&
                                   (condition.mod_revision == 0 ||
                                    it->second.mod_revision == condition.mod_revision);
      if (!holds) return false;
    }
    for (const KeyValue& kv : puts) {  // all or nothing, as in etcd
      if (kv.lease != 0 && leases_.count(kv.lease) == 0) return NotFound("lease not found");
    }
    for (const KeyValue& kv : puts) {
      if (Status s = PutLocked(kv.key, kv.value, kv.lease, events); !s.ok()) return s;
    }
    for (const std::string& key : deletes) DeleteLocked(key, events);
    return true;
  });
}

Result<bool> MemoryDcs::Holds(const std::string& key, const std::string& value, LeaseId lease) {
  return Mutate([&](Events*) -> Result<bool> {
    auto it = keys_.find(key);
    return it != keys_.end() && it->second.value == value && it->second.lease == lease;
  });
}

Result<bool> MemoryDcs::DeleteIfValue(const std::string& key, const std::string& expected) {
  return Mutate([&](Events* events) -> Result<bool> {
    auto it = keys_.find(key);
    if (it == keys_.end() || it->second.value != expected) return false;
    DeleteLocked(key, events);
    return true;
  });
}

void MemoryDcs::WatchPrefix(const std::string& prefix, WatchCallback callback) {
  std::lock_guard lock(mu_);
  watchers_.emplace_back(prefix, std::move(callback));
}

void MemoryDcs::StopWatches() {
  std::lock_guard lock(mu_);
  watchers_.clear();
}

void MemoryDcs::SetReachable(bool reachable) {
  std::lock_guard lock(mu_);
  reachable_ = reachable;
}

void MemoryDcs::Tick() {
  Events events;
  {
    std::lock_guard lock(mu_);
    ExpireLocked(&events);
  }
  Deliver(events);
}

}  // namespace baton
