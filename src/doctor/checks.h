// The doctor's checks: one pass of named judgements over ClusterFacts, each ok, warn or fail with
// a one-line reason and the figures behind it.
//
// Pure: facts in, results out, in a fixed order (cluster-wide checks first, then each member's).
// docs/doctor.md lists every check and what makes it warn or fail.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "doctor/cluster_facts.h"

namespace baton {

enum class CheckStatus { kOk, kWarn, kFail };
const char* CheckStatusName(CheckStatus status);

struct CheckResult {
  std::string check;   // "etcd", "primary", "replication", ...
  std::string member;  // the member it is about; "" = the whole cluster
  CheckStatus status = CheckStatus::kOk;
  std::string reason;
  nlohmann::json figures = nlohmann::json::object();
};

// WAL an inactive replication slot may hold before the slots check warns.
inline constexpr uint64_t kSlotRetentionLimitBytes = 1ull << 30;

std::vector<CheckResult> RunChecks(const ClusterFacts& facts);

// The worst status among `results` (kOk when empty).
CheckStatus WorstStatus(const std::vector<CheckResult>& results);

}  // namespace baton
