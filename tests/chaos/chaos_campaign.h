// ChaosCampaign: rounds of randomly chosen faults (drill/chaos_fault.h) against a LocalCluster
// in network namespaces, each round a Drill round and then the checker:
//   acked-on-final-primary  every acknowledged write is on the final primary (no lost rows);
//                           with asynchronous replication, every lost one lies beyond what a
//                           replica had received when the fault hit (the unreplicated tail)
//   no-dual-primary         no two writers (node and timeline) acknowledged writes in
//                           overlapping time; besides the clients that follow the primary, one
//                           client is pinned to each node, so a second writable server is seen
//   one-primary-streaming   once healed, exactly one primary and every other node streaming
//                           from it (drill/topology_check.h), within `whole_timeout`
//   measured                the fault happened as intended and writes came back
//   silent-waits-for-lease  asynchronous: a primary that went silent (stopped, cut off) is
//                           replaced no sooner than half its TTL after the fault (the lease
//                           path cannot be quicker); only a provably dead one is taken over
//                           early
// The first rounds cover every kind once in a seeded order; later rounds draw kinds at random,
// so a seed replays a campaign. Not thread-safe: one Run at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "drill/drill.h"
#include "lab/local_cluster.h"

namespace baton {

struct ChaosOptions {
  int rounds = 9;
  uint64_t seed = 1;
  std::vector<std::string> faults;  // the kinds to draw from; empty = every kind
  int clients = 4;
  Duration hold = std::chrono::seconds(5);  // every kind but kill-node; longer than the TTL
  Duration whole_timeout = std::chrono::seconds(90);
  double write_timeout_seconds = 90;  // how long writes may take to come back
  // Asynchronous replication: the unreplicated tail may be lost, and a silent primary must not
  // be replaced before `lease_floor_seconds` (half the TTL) from the fault.
  bool asynchronous = false;
  double lease_floor_seconds = 0;
};

struct ChaosRound {
  int number = 0;
  std::string fault;
  std::string target;    // what the fault hit: "node2", "etcd1 etcd2 etcd3"
  std::string evidence;  // how the injection was checked
  DrillRound drill;
  bool started = false;  // it got as far as the fault (the cluster was whole at its start)
  std::string topology;  // why the cluster was not whole after the round; "" = it was
  double whole_after_seconds = -1;   // from the end of the round to a whole cluster
  bool asynchronous = false;         // ChaosOptions'
  double lease_floor_seconds = 0;    // ChaosOptions'
  Lsn replicated_at_fault;           // ChaosFault::replicated() of this round
  std::vector<std::string> failed;   // the checks that failed (names above)
  std::vector<std::string> reasons;  // one line per failed check
};

// The kinds the rounds use, in order: every kind once in a seeded order, then seeded draws.
std::vector<std::string> ChaosSchedule(const std::vector<std::string>& kinds, int rounds,
                                       uint64_t seed);
// Fills `failed` and `reasons` from the round's figures. Pure.
void JudgeChaosRound(ChaosRound& round);

class ChaosCampaign {
 public:
  // `progress` gets live lines; `on_round` each round once judged.
  ChaosCampaign(LocalCluster& cluster, ChaosOptions options,
                std::function<void(const std::string&)> progress,
                std::function<void(const ChaosRound&)> on_round);
  // Runs the rounds; stops after a round that could not start because the cluster had not
  // become whole again (the rounds after it could not be measured either). Unknown fault kinds are
  // refused before the first round.
  Result<std::vector<ChaosRound>> Run();

 private:
  ChaosRound RunRound(int number, const std::string& kind, uint64_t pick);

  LocalCluster& cluster_;
  const ChaosOptions options_;
  const std::function<void(const std::string&)> progress_;
  const std::function<void(const ChaosRound&)> on_round_;
};

}  // namespace baton
