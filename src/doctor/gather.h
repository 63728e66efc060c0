// Gathering the doctor's facts: one read of the cluster from etcd, each etcd endpoint read on its
// own, and every member's PostgreSQL and agent asked directly, all at once and each bounded by a
// deadline, so a stopped, frozen or cut-off member costs at most that deadline.
//
// What does not answer is recorded with the reason (ClusterFacts), never returned as an error:
// the checks judge it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "doctor/cluster_facts.h"

namespace baton {

struct GatherOptions {
  std::vector<std::string> etcd_endpoints;
  std::string cluster;
  // A node's config (-c): PostgreSQL's superuser credentials and the local settings under the
  // dynamic ones. nullopt: libpq's defaults (PGUSER, PGPASSWORD, ~/.pgpass) and the defaults.
  std::optional<Config> node_config;
  Duration timeout = std::chrono::seconds(2);  // each probe
  bool smoke_write = false;
  Duration smoke_timeout = std::chrono::seconds(5);  // for every replica to show the row
};

ClusterFacts GatherFacts(const GatherOptions& options);

}  // namespace baton
