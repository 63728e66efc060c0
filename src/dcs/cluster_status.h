// ClusterStatus: a cluster's state as `baton status --json` prints it and the REST API's /status
// serves it (the status page draws from it), with the words both it and the status table use
// for a member's role and state. Pure functions of a ClusterView.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dcs/cluster_store.h"

namespace baton {

nlohmann::json ClusterStatusJson(const std::string& cluster, const ClusterView& view);
// "leader" for the leader key's holder, else the member's own role ("replica", ...).
std::string MemberRoleShown(const ClusterView& view, const MemberInfo& m);
// "streaming" or "running" for a replica, else the member's state.
std::string MemberStateShown(const MemberInfo& m);
// Registered nodes whose agent no longer publishes anything.
std::vector<std::string> DownNodes(const ClusterView& view);

}  // namespace baton
