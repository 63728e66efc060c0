// EtcdDcs: the Dcs port on a real etcd v3 cluster, over gRPC.
//
// KV reads and writes are unary calls with a per-call deadline (retry_timeout). After a call
// fails to reach etcd the channel is replaced: a gRPC channel whose connection failed can wait
// out a long reconnect backoff (10-15 s measured) after etcd is back, while a new one connects
// at once; that difference decides whether a healthy primary fences itself over an etcd restart.
// Compare-and-set operations are etcd transactions. Keep-alives go over etcd's LeaseKeepAlive
// stream. Each WatchPrefix runs a background thread with an etcd Watch stream that resumes from the
// last revision it saw when the connection drops. gRPC reconnects quickly (100 ms to 1 s backoff)
// so an etcd restart is noticed within a second. Thread-safe; the destructor stops the watches.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "dcs/dcs.h"

namespace grpc {
class Channel;
class ClientContext;
class Status;
}  // namespace grpc

namespace etcdserverpb {
class TxnRequest;
class TxnResponse;
}  // namespace etcdserverpb

namespace baton {

class EtcdDcs final : public Dcs {
 public:
  // endpoints: "host:port" each. call_timeout bounds every call.
  EtcdDcs(const std::vector<std::string>& endpoints, Duration call_timeout);
  ~EtcdDcs() override;
  EtcdDcs(const EtcdDcs&) = delete;
  EtcdDcs& operator=(const EtcdDcs&) = delete;

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

 private:
  struct Stubs;
  // The current channel's stubs (a snapshot: safe to use while the channel is replaced).
  std::shared_ptr<Stubs> CurrentStubs() const;
  // Replaces the channel if `failed` is still the current one.
  void RenewChannel(const std::shared_ptr<Stubs>& failed);
  // Maps a gRPC status; after a connection failure, renews the channel.
  Status Checked(const std::shared_ptr<Stubs>& used, const grpc::Status& status,
                 const std::string& what);
  std::unique_ptr<grpc::ClientContext> NewCallContext() const;
  Result<bool> RunTxn(const etcdserverpb::TxnRequest& request);
  void RunWatch(const std::string& prefix, const WatchCallback& callback);

  const std::string target_;
  const Duration call_timeout_;
  mutable std::mutex stubs_mu_;
  std::shared_ptr<Stubs> stubs_;

  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool stopping_ = false;
  std::vector<std::shared_ptr<grpc::ClientContext>> watch_contexts_;
  std::vector<std::thread> watch_threads_;
};

}  // namespace baton
