// Routes: where the router sends new client connections, derived from one read of the cluster.
//
// The writer is the member that holds the leader key and reports itself as a running primary
// (a key winner that has not finished promoting is not one yet: clients wait for it). Readers
// are the running replicas that stream and lag the leader by at most `max_lag_bytes`; with none,
// the writer serves reads too. Pure functions of a ClusterView; plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "dcs/cluster_store.h"

namespace baton {

struct Backend {
  std::string name;  // member name
  HostPort address;  // its PostgreSQL, as it publishes it
  bool operator==(const Backend& other) const {
    return name == other.name && address.host == other.address.host &&
           address.port == other.address.port;
  }
};

struct Routes {
  std::optional<Backend> writer;
  std::vector<Backend> readers;  // by name; never empty while there is a writer
  bool operator==(const Routes& other) const = default;
  // "writer node1 (127.0.0.1:5432), readers node2, node3" for the log.
  std::string Describe() const;
};

Routes RoutesFor(const ClusterView& view, uint64_t max_lag_bytes);

}  // namespace baton
