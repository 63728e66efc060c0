// ChaosFault: the faults of the chaos tests (split-brain safety), on a LocalCluster whose nodes
// and etcd run in network namespaces of their own (lab/local_network.h).
//
//   kill-node              kill -9 of the primary's agent, all it started, and every PostgreSQL
//                          process; the agent is restarted once writes are back
//   sigstop-postgres       SIGSTOP of the primary's PostgreSQL processes (the postmaster's tree)
//                          for `hold`, then SIGCONT
//   sigstop-agent          SIGSTOP of the primary's agent process only, for `hold`, then SIGCONT
//   partition-primary      the primary cut off from etcd and its peers, both directions
//   partition-primary-out  ... only what it sends is dropped
//   partition-primary-in   ... only what it receives is dropped
//   partition-replica      one replica cut off from etcd and its peers, both directions
//   etcd-member-down       kill -9 of one of the etcd members, restarted after `hold`
//   etcd-down              kill -9 of every etcd member, restarted after `hold`
//
// Partitions are iptables DROP rules inside the node's namespace against the etcd members' and
// the other nodes' addresses only: the clients, on the host's address, still reach the cut-off
// node, which is what exposes a primary that fails to fence itself. Every injection is checked
// before Inject returns (the processes are dead or stopped, a partition blocks TCP connections
// both ways while the host still connects), so a round never passes on a fault that did not
// happen. Just before each injection it reads how far the primary's WAL has reached a replica
// (replicated()): what a failover may lose in asynchronous mode lies beyond it. Not
// thread-safe: one drill drives one fault.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "drill/fault.h"
#include "lab/local_cluster.h"

namespace baton {

inline constexpr const char* kChaosFaultKinds[] = {
    "kill-node",         "sigstop-postgres",      "sigstop-agent",
    "partition-primary", "partition-primary-out", "partition-primary-in",
    "partition-replica", "etcd-member-down",      "etcd-down"};

class ChaosFault final : public Fault {
 public:
  // InvalidArgument for an unknown kind, FailedPrecondition for a cluster the kind cannot act on
  // (partitions need network namespaces). `hold` is how long every kind but kill-node lasts
  // (longer than the lease TTL); `pick` chooses the replica or etcd member a kind needs.
  static Result<std::unique_ptr<ChaosFault>> Make(const std::string& kind, LocalCluster& cluster,
                                                  Duration hold, uint64_t pick);

  std::string name() const override { return kind_; }
  Status Inject(const std::string& primary) override;
  Status Heal() override;
  Duration hold() const override { return kind_ == "kill-node" ? Duration::zero() : hold_; }

  // What the last injection hit ("node2", "etcd3") and how it was checked.
  const std::string& target() const { return target_; }
  const std::string& evidence() const { return evidence_; }
  // The furthest WAL position any other node had received just before the last injection
  // (0/0 when none answered): every write acknowledged at or below it was on a replica.
  Lsn replicated() const { return replicated_; }

 private:
  ChaosFault(std::string kind, LocalCluster& cluster, Duration hold, uint64_t pick)
      : kind_(std::move(kind)), cluster_(cluster), hold_(hold), pick_(pick) {}

  Status StopProcesses(const std::vector<pid_t>& pids);
  Status Partition(size_t node, bool drop_outbound, bool drop_inbound);
  Status CheckPartition(size_t node);

  const std::string kind_;
  LocalCluster& cluster_;
  const Duration hold_;
  const uint64_t pick_;
  std::optional<size_t> node_;        // the node faulted this round
  std::vector<size_t> etcd_members_;  // the etcd members killed this round
  std::vector<pid_t> stopped_;        // processes SIGSTOPped this round
  std::string target_;
  std::string evidence_;
  Lsn replicated_;
};

}  // namespace baton
