// Renders a cluster's state for people (a table) and for scripts (JSON). Pure functions.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "dcs/cluster_store.h"

namespace baton {

nlohmann::json ClusterStatusJson(const std::string& cluster, const ClusterView& view);
std::string ClusterStatusTable(const std::string& cluster, const ClusterView& view);
std::string HistoryTable(const ClusterView& view);

}  // namespace baton
