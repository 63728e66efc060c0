// EtcdDcs: the Dcs port on a real etcd v3 cluster, over gRPC.
//
// KV reads and writes are unary calls with a per-call deadline (retry_timeout). Compare-and-set
// operations are etcd transactions. Keep-alives go over etcd's LeaseKeepAlive stream. Each
// WatchPrefix runs a background thread with an etcd Watch stream that resumes from the last
// revision it saw when the connection drops. gRPC reconnects quickly (100 ms to 1 s backoff)
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
  Result<bool> PutIfValue(const std::string& key, const std::string& expected,
                          const std::string& value, LeaseId lease) override;
  Result<bool> Holds(const std::string& key, const std::string& value, LeaseId lease) override;
  Result<bool> DeleteIfValue(const std::string& key, const std::string& expected) override;
  void WatchPrefix(const std::string& prefix, WatchCallback callback) override;
  void StopWatches() override;

 private:
  struct Stubs;
  std::unique_ptr<grpc::ClientContext> NewCallContext() const;
  Result<bool> RunTxn(const etcdserverpb::TxnRequest& request);
  void RunWatch(const std::string& prefix, const WatchCallback& callback);

  const std::string target_;
  const Duration call_timeout_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<Stubs> stubs_;

  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool stopping_ = false;
  std::vector<std::shared_ptr<grpc::ClientContext>> watch_contexts_;
  std::vector<std::thread> watch_threads_;
};

}  // namespace baton
