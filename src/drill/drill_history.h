// DrillHistory: a finished drill as one compact record kept in etcd (ClusterStore::AppendDrill),
// so `baton drill --history` and the status page (/ui) show the trend of RTO, write gap and
// losses across drills. A record holds the drill's summary (as DrillJson's), one line per round,
// and the writes and errors per 100 ms of its slowest measured round, for a timeline plot. Pure.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "drill/drill.h"

namespace baton {

// The record of a drill that ran `rounds` with `fault` ("kill-node", or the --fault-command
// text), ended at `unix_seconds`, started by `by` ("user@host").
nlohmann::json DrillRecord(const std::vector<DrillRound>& rounds, const std::string& fault,
                           double unix_seconds, const std::string& by);

// The records (oldest first) as a table: one line per drill with its median and worst RTO and
// write gap, acknowledged and lost writes and dual-primary windows; "no drill recorded" when
// there is none.
std::string DrillHistoryTable(const std::vector<nlohmann::json>& records);

}  // namespace baton
