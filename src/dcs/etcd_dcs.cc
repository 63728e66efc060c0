#include "dcs/etcd_dcs.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "etcd/rpc.grpc.pb.h"

namespace baton {

namespace pb = etcdserverpb;

struct EtcdDcs::Stubs {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<pb::KV::Stub> kv;
  std::unique_ptr<pb::Watch::Stub> watch;
  std::unique_ptr<pb::Lease::Stub> lease;
};

namespace {

// "ipv4:a:1,b:2" lets gRPC fail over between literal addresses; a host name uses DNS.
std::string ChannelTarget(const std::vector<std::string>& endpoints) {
  bool all_ipv4 = !endpoints.empty();
  for (const auto& e : endpoints) {
    in_addr addr{};
    all_ipv4 = all_ipv4 && inet_pton(AF_INET, e.substr(0, e.rfind(':')).c_str(), &addr) == 1;
  }
  if (!all_ipv4) return "dns:///" + endpoints.front();
  std::string target = "ipv4:";
  for (size_t i = 0; i < endpoints.size(); ++i) target += (i ? "," : "") + endpoints[i];
  return target;
}

Status FromGrpc(const grpc::Status& status, const std::string& what) {
  if (status.ok()) return Status::Ok();
  std::string message = fmt::format("etcd {}: {}", what, status.error_message());
  switch (status.error_code()) {
    case grpc::StatusCode::NOT_FOUND:
      return NotFound(message);
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Timeout(message);
    case grpc::StatusCode::INVALID_ARGUMENT:
      return InvalidArgument(message);
    case grpc::StatusCode::FAILED_PRECONDITION:
      return FailedPrecondition(message);
    default:
      return Unavailable(message);
  }
}

// The range_end that selects every key starting with `prefix`.
std::string PrefixEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    auto last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

KeyValue FromProto(const mvccpb::KeyValue& kv) {
  return {kv.key(), kv.value(), kv.create_revision(), kv.mod_revision(), kv.lease()};
}

void AddPut(pb::RequestOp* op, const std::string& key, const std::string& value, LeaseId lease) {
  pb::PutRequest* put = op->mutable_request_put();
  put->set_key(key);
  put->set_value(value);
  put->set_lease(lease);
}

void AddValueEquals(pb::TxnRequest* txn, const std::string& key, const std::string& value) {
  pb::Compare* compare = txn->add_compare();
  compare->set_key(key);
  compare->set_target(pb::Compare::VALUE);
  compare->set_result(pb::Compare::EQUAL);
  compare->set_value(value);
}

void AddRevisionEquals(pb::TxnRequest* txn, const std::string& key, int64_t mod_revision) {
  pb::Compare* compare = txn->add_compare();
  compare->set_key(key);
  compare->set_target(pb::Compare::MOD);
  compare->set_result(pb::Compare::EQUAL);
  compare->set_mod_revision(mod_revision);
}

void AddLeaseEquals(pb::TxnRequest* txn, const std::string& key, LeaseId lease) {
  pb::Compare* compare = txn->add_compare();
  compare->set_key(key);
  compare->set_target(pb::Compare::LEASE);
  compare->set_result(pb::Compare::EQUAL);
  compare->set_lease(lease);
}

}  // namespace

namespace {
std::shared_ptr<grpc::Channel> NewChannel(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}
}  // namespace

EtcdDcs::EtcdDcs(const std::vector<std::string>& endpoints, Duration call_timeout)
    : target_(ChannelTarget(endpoints)), call_timeout_(call_timeout) {
  RenewChannel(nullptr);
}

std::shared_ptr<EtcdDcs::Stubs> EtcdDcs::CurrentStubs() const {
  std::lock_guard lock(stubs_mu_);
  return stubs_;
}

void EtcdDcs::RenewChannel(const std::shared_ptr<Stubs>& failed) {
  auto fresh = std::make_shared<Stubs>();
  fresh->channel = NewChannel(target_);
  fresh->kv = pb::KV::NewStub(fresh->channel);
  fresh->watch = pb::Watch::NewStub(fresh->channel);
  fresh->lease = pb::Lease::NewStub(fresh->channel);
  std::lock_guard lock(stubs_mu_);
  if (stubs_ == failed) stubs_ = std::move(fresh);  // another caller may have renewed it already
}

Status EtcdDcs::Checked(const std::shared_ptr<Stubs>& used, const grpc::Status& status,
                        const std::string& what) {
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    RenewChannel(used);
  }
  return FromGrpc(status, what);
}

EtcdDcs::~EtcdDcs() {
  StopWatches();
}

void EtcdDcs::StopWatches() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(watch_mu_);
    stopping_ = true;
    for (auto& context : watch_contexts_) context->TryCancel();
    threads.swap(watch_threads_);
  }
  watch_cv_.notify_all();
  for (auto& thread : threads) thread.join();
}

std::unique_ptr<grpc::ClientContext> EtcdDcs::NewCallContext() const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + call_timeout_);
  return context;
}

Result<LeaseId> EtcdDcs::GrantLease(int ttl_seconds) {
  auto stubs = CurrentStubs();
  pb::LeaseGrantRequest request;
  request.set_ttl(ttl_seconds);
  pb::LeaseGrantResponse response;
  auto context = NewCallContext();
  if (Status s = Checked(stubs, stubs->lease->LeaseGrant(context.get(), request, &response),
                         "lease grant");
      !s.ok()) {
    return s;
  }
  if (!response.error().empty()) return Unavailable("etcd lease grant: " + response.error());
  return LeaseId{response.id()};
}

Status EtcdDcs::KeepAlive(LeaseId lease) {
  auto stubs = CurrentStubs();
  auto context = NewCallContext();
  auto stream = stubs->lease->LeaseKeepAlive(context.get());
  pb::LeaseKeepAliveRequest request;
  request.set_id(lease);
  pb::LeaseKeepAliveResponse response;
  const bool exchanged = stream->Write(request) && stream->Read(&response);
  stream->WritesDone();
  grpc::Status finished = stream->Finish();
  if (!exchanged) {
    return Checked(
        stubs,
        finished.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream closed") : finished,
        "lease keep-alive");
  }
  if (response.ttl() <= 0) return NotFound(fmt::format("etcd lease {:x} has ended", lease));
  return Status::Ok();
}

Status EtcdDcs::RevokeLease(LeaseId lease) {
  auto stubs = CurrentStubs();
  pb::LeaseRevokeRequest request;
  request.set_id(lease);
  pb::LeaseRevokeResponse response;
  auto context = NewCallContext();
  return Checked(stubs, stubs->lease->LeaseRevoke(context.get(), request, &response),
                 "lease revoke");
}

Result<std::vector<KeyValue>> EtcdDcs::GetPrefix(const std::string& prefix) {
  auto stubs = CurrentStubs();
  pb::RangeRequest request;
  request.set_key(prefix);
  request.set_range_end(PrefixEnd(prefix));
  pb::RangeResponse response;
  auto context = NewCallContext();
  if (Status s = Checked(stubs, stubs->kv->Range(context.get(), request, &response), "range");
      !s.ok()) {
    return s;
  }
  std::vector<KeyValue> out;
  out.reserve(response.kvs_size());
  for (const auto& kv : response.kvs()) out.push_back(FromProto(kv));
  return out;
}

Status EtcdDcs::Put(const std::string& key, const std::string& value, LeaseId lease) {
  auto stubs = CurrentStubs();
  pb::PutRequest request;
  request.set_key(key);
  request.set_value(value);
  request.set_lease(lease);
  pb::PutResponse response;
  auto context = NewCallContext();
  return Checked(stubs, stubs->kv->Put(context.get(), request, &response), "put " + key);
}

Status EtcdDcs::Delete(const std::string& key) {
  auto stubs = CurrentStubs();
  pb::DeleteRangeRequest request;
  request.set_key(key);
  pb::DeleteRangeResponse response;
  auto context = NewCallContext();
  return Checked(stubs, stubs->kv->DeleteRange(context.get(), request, &response), "delete " + key);
}

Result<bool> EtcdDcs::RunTxn(const pb::TxnRequest& request) {
  auto stubs = CurrentStubs();
  pb::TxnResponse response;
  auto context = NewCallContext();
  if (Status s = Checked(stubs, stubs->kv->Txn(context.get(), request, &response), "txn");
      !s.ok()) {
    return s;
  }
  return response.succeeded();
}

Result<bool> EtcdDcs::CreateIfAbsent(const std::string& key, const std::string& value,
                                     LeaseId lease) {
  pb::TxnRequest txn;
  pb::Compare* compare = txn.add_compare();
  compare->set_key(key);
  compare->set_target(pb::Compare::CREATE);
  compare->set_result(pb::Compare::EQUAL);
  compare->set_create_revision(0);
  AddPut(txn.add_success(), key, value, lease);
  return RunTxn(txn);
}

Result<bool> EtcdDcs::PutIfValue(const std::string& key, const std::string& expected,
                                 const std::string& value, LeaseId lease) {
  pb::TxnRequest txn;
  AddValueEquals(&txn, key, expected);
  AddPut(txn.add_success(), key, value, lease);
  return RunTxn(txn);
}

Result<bool> EtcdDcs::Transact(const std::vector<TxnCondition>& conditions,
                               const std::vector<KeyValue>& puts,
                               const std::vector<std::string>& deletes) {
  pb::TxnRequest txn;
  for (const TxnCondition& condition : conditions) {
    if (!condition.absent) {
      AddValueEquals(&txn, condition.key, condition.value);
      if (condition.mod_revision != 0) {
        AddRevisionEquals(&txn, condition.key, condition.mod_revision);
      }
      continue;
    }
    pb::Compare* compare = txn.add_compare();
    compare->set_key(condition.key);
    compare->set_target(pb::Compare::CREATE);
    compare->set_result(pb::Compare::EQUAL);
    compare->set_create_revision(0);
  }
  for (const KeyValue& kv : puts) AddPut(txn.add_success(), kv.key, kv.value, kv.lease);
  for (const std::string& key : deletes) {
    txn.add_success()->mutable_request_delete_range()->set_key(key);
  }
  return RunTxn(txn);
}

Result<bool> EtcdDcs::Holds(const std::string& key, const std::string& value, LeaseId lease) {
  pb::TxnRequest txn;
  AddValueEquals(&txn, key, value);
  AddLeaseEquals(&txn, key, lease);
  return RunTxn(txn);
}

Result<bool> EtcdDcs::DeleteIfValue(const std::string& key, const std::string& expected) {
  pb::TxnRequest txn;
  AddValueEquals(&txn, key, expected);
  txn.add_success()->mutable_request_delete_range()->set_key(key);
  return RunTxn(txn);
}

void EtcdDcs::WatchPrefix(const std::string& prefix, WatchCallback callback) {
  std::lock_guard lock(watch_mu_);
  if (stopping_) return;
  watch_threads_.emplace_back(
      [this, prefix, callback = std::move(callback)] { RunWatch(prefix, callback); });
}

void EtcdDcs::RunWatch(const std::string& prefix, const WatchCallback& callback) {
  int64_t next_revision = 0;  // 0 = from now
  while (true) {
    auto context = std::make_shared<grpc::ClientContext>();
    {
      std::lock_guard lock(watch_mu_);
      if (stopping_) return;
      watch_contexts_.push_back(context);
    }
    auto stubs = CurrentStubs();
    auto stream = stubs->watch->Watch(context.get());
    pb::WatchRequest request;
    pb::WatchCreateRequest* create = request.mutable_create_request();
    create->set_key(prefix);
    create->set_range_end(PrefixEnd(prefix));
    create->set_start_revision(next_revision);
    if (stream->Write(request)) {
      pb::WatchResponse response;
      while (stream->Read(&response)) {
        if (response.compact_revision() != 0) {
          next_revision = 0;  // history is gone; a fresh read will catch up
          break;
        }
        for (const auto& event : response.events()) {
          WatchEvent out;
          out.type = event.type() == mvccpb::Event::DELETE ? WatchEvent::Type::kDelete
                                                           : WatchEvent::Type::kPut;
          out.kv = FromProto(event.kv());
          next_revision = event.kv().mod_revision() + 1;
          callback(out);
        }
        if (next_revision == 0 && response.header().revision() > 0) {
          next_revision = response.header().revision() + 1;
        }
        if (response.canceled()) break;
      }
    }
    context->TryCancel();
    grpc::Status finished = stream->Finish();
    std::unique_lock lock(watch_mu_);
    std::erase(watch_contexts_, context);
    if (stopping_) return;
    spdlog::debug("etcd watch on {} ended ({}); reconnecting", prefix, finished.error_message());
    RenewChannel(stubs);  // the stream broke: reconnect on a fresh channel
    watch_cv_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stopping_; });
  }
}

}  // namespace baton
