// Renders a cluster's state for people (a table) and for scripts (JSON). Pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "dcs/cluster_store.h"

namespace baton {

nlohmann::json ClusterStatusJson(const std::string& cluster, const ClusterView& view);
std::string ClusterStatusTable(const std::string& cluster, const ClusterView& view);
std::string HistoryTable(const ClusterView& view);

}  // namespace baton
