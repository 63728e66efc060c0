// DrillReport: a drill's rounds as a table for people, JSON for scripts, and an SVG timeline
// (writes and errors per 100 ms, with fault and promotion markers) to look at. Pure.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "drill/drill.h"

namespace baton {

std::string DrillTable(const std::vector<DrillRound>& rounds);
nlohmann::json DrillJson(const std::vector<DrillRound>& rounds);
std::string DrillSvg(const std::vector<DrillRound>& rounds);

}  // namespace baton
