// Fault: what a drill does to the primary each round, and how it undoes it before the next.
//
// LocalClusterFault acts on a cluster this machine runs (`baton demo`, a LocalCluster): kill -9
// of the whole node, of PostgreSQL only or of the agent only, SIGSTOP of the node for a while,
// or a planned `baton switchover`. CommandFault runs the operator's shell command, so a drill
// can fault any cluster, baton's or not. Not thread-safe: one drill drives one fault.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/status.h"
#include "lab/local_cluster.h"

namespace baton {

class Fault {
 public:
  virtual ~Fault() = default;
  virtual std::string name() const = 0;
  // Hurts the primary, the server at `primary` ("host:port"). Returns once the fault is in place.
  virtual Status Inject(const std::string& primary) = 0;
  // Undoes what needs undoing (restarts a killed agent, resumes a stopped node) so the next
  // round starts from a whole cluster. Called once per round, after writes came back (or not).
  virtual Status Heal() = 0;
  // How long after Inject the fault must last before Heal (a stopped node stays stopped).
  virtual Duration hold() const { return Duration::zero(); }
};

// The fault kinds a drill knows for a local cluster.
inline constexpr const char* kLocalFaultKinds[] = {"kill-node", "kill-postgres", "stop-agent",
                                                   "pause-primary", "switchover"};

// A fault on a local cluster. InvalidArgument for an unknown kind. `pause` is how long
// pause-primary keeps the node stopped.
Result<std::unique_ptr<Fault>> MakeLocalClusterFault(const std::string& kind, LocalCluster& cluster,
                                                     Duration pause);
// `inject` (and `heal`, when given) run with /bin/sh -c, with BATON_DRILL_PRIMARY=host:port
// and BATON_DRILL_ROUND set; a non-zero exit is a failed round.
std::unique_ptr<Fault> MakeCommandFault(std::string inject, std::string heal, Duration hold);

}  // namespace baton
