// ChaosReport: a chaos campaign's rounds as one line per round, a summary for people (rounds,
// faults by kind, acknowledged and lost writes, dual-primary windows, failed checks, median and
// worst RTO overall and per kind) and JSON for scripts. Pure; thread-safe (stateless).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chaos/chaos_campaign.h"

namespace baton {

struct ChaosFigures {
  size_t rounds = 0;
  size_t failed_rounds = 0;
  size_t acked = 0;
  size_t lost = 0;
  size_t dual_primary_windows = 0;
  double dual_primary_seconds = 0;
  double rto_median = -1;  // over the rounds whose writes came back; -1 = none
  double rto_worst = -1;
};

struct ChaosSummary {
  ChaosFigures all;
  std::map<std::string, ChaosFigures> by_kind;
  std::map<std::string, size_t> failed_checks;  // check name -> rounds that failed it
};

ChaosSummary SummarizeChaos(const std::vector<ChaosRound>& rounds);
// "round 3/9 partition-primary node2: RTO 3.41 s, gap 3.38 s, acked 2140, lost 0, dual 0,
//  whole after 4.2 s: PASS" and, for a failed round, a line per failed check below it.
std::string ChaosRoundText(const ChaosRound& round, int of);
std::string ChaosSummaryText(const ChaosSummary& summary, uint64_t seed);
nlohmann::json ChaosJson(const std::vector<ChaosRound>& rounds, uint64_t seed);

}  // namespace baton
