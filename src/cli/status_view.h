// Renders a cluster's state and history for people, as tables (the JSON form is
// dcs/cluster_status.h). Pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "dcs/cluster_store.h"

namespace baton {

std::string ClusterStatusTable(const std::string& cluster, const ClusterView& view);
std::string HistoryTable(const ClusterView& view);

}  // namespace baton
