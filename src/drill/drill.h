// Drill: rounds of "write load, fault the primary, measure" against a live cluster.
//
// Each round checks the cluster is healthy (unless forced), starts `clients` WriteLoads through
// the target's DSN, injects the fault into the writable primary, waits until writes come back,
// keeps writing a little longer, heals the fault, then reads every client's table on the final
// primary and analyzes the round (drill/round_analysis.h). Progress is reported through a
// callback as it happens. Not thread-safe: one Run at a time.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "drill/fault.h"
#include "drill/round_analysis.h"
#include "lab/local_cluster.h"

namespace baton {

struct DrillTarget {
  std::string dsn;                  // libpq DSN that reaches the writable primary (multi-host)
  LocalCluster* cluster = nullptr;  // when the cluster runs here: its full health check
};

struct DrillOptions {
  int rounds = 1;
  int clients = 4;
  double duration_seconds = 5;   // the least each round writes for, fault included
  double timeout_seconds = 120;  // how long writes may take to come back
  bool force = false;            // run against a cluster that is not healthy
  // One more client per DSN, pinned to that one server (drill/write_load.h): its acknowledged
  // writes count for lost rows and dual-primary windows, not for the RTO and write gap.
  std::vector<std::string> pinned_dsns;
  // A fault with a hold is over only when healed: writes count as back once they flow after
  // the heal (a partitioned primary may well serve its clients until it fences).
  bool back_after_heal = false;
  // Runs once the fault is healed and the writers stopped, before the acknowledged writes are
  // looked up on the final primary (e.g. waiting until the cluster is whole again).
  std::function<void()> after_heal;
};

struct DrillRound {
  int number = 0;
  std::string fault;
  RoundAnalysis analysis;
  uint32_t timeline = 0;  // the final primary's
  std::string failure;    // why the round could not be measured ("" when it was)
};

class Drill {
 public:
  Drill(DrillTarget target, Fault& fault, DrillOptions options,
        std::function<void(const std::string&)> progress);

  // Refuses (FailedPrecondition, with the reason) a cluster that is not healthy, unless forced.
  Status CheckHealthy(Duration wait);
  // Runs every round; stops early when one cannot be measured.
  std::vector<DrillRound> Run();
  // Runs round `number` of options.rounds alone: for a campaign that faults differently each
  // round (one Drill per round). Rounds after the first start with a health check.
  DrillRound RunRound(int number);

 private:
  const DrillTarget target_;
  Fault& fault_;
  const DrillOptions options_;
  const std::function<void(const std::string&)> progress_;
};

// "host:port" of the server `dsn` reaches, and its timeline. Unavailable when none answers.
struct ServerIdentity {
  std::string server;
  uint32_t timeline = 0;
};
Result<ServerIdentity> WritableServer(const std::string& dsn);

}  // namespace baton
