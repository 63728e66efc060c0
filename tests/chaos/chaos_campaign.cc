#include "chaos/chaos_campaign.h"

#include <fmt/format.h>

#include <algorithm>
#include <random>

#include "drill/chaos_fault.h"
#include "drill/topology_check.h"
#include "drill/write_load.h"

namespace baton {

namespace {}  // namespace

std::vector<std::string> ChaosSchedule(const std::vector<std::string>& kinds, int rounds,
                                       uint64_t seed) {
  std::vector<std::string> schedule;
  if (kinds.empty()) return schedule;
  std::mt19937_64 rng(seed);
  std::vector<std::string> first = kinds;
  std::shuffle(first.begin(), first.end(), rng);
  for (int r = 0; r < rounds; ++r) {
    schedule.push_back(static_cast<size_t>(r) < first.size() ? first[r]
                                                             : kinds[rng() % kinds.size()]);
  }
  return schedule;
}

void JudgeChaosRound(ChaosRound& round) {
  round.failed.clear();
  round.reasons.clear();
  auto fail = [&](const std::string& check, const std::string& reason) {
    round.failed.push_back(check);
    round.reasons.push_back(check + ": " + reason);
  };
  const RoundAnalysis& a = round.drill.analysis;
  if (!round.drill.failure.empty()) fail("measured", round.drill.failure);
  const bool tail_only = round.asynchronous && round.replicated_at_fault != Lsn{} &&
                         a.first_lost_lsn > round.replicated_at_fault;
  if (a.lost > 0 && round.asynchronous && !tail_only) {
    const std::string why =
        round.replicated_at_fault == Lsn{}
            ? std::string(
                  "no replica said how far it had received the primary's WAL when the "
                  "fault hit")
            : fmt::format("which a replica had received ({}) when the fault hit",
                          round.replicated_at_fault.ToString());
    fail("acked-on-final-primary",
         fmt::format("{} of {} acknowledged writes are missing on the final primary, the first at "
                     "{}, {}",
                     a.lost, a.acked, a.first_lost_lsn.ToString(), why));
  } else if (a.lost > 0 && !round.asynchronous) {
    fail("acked-on-final-primary",
         fmt::format("{} of {} acknowledged writes are missing on the final primary ({} bytes of "
                     "WAL)",
                     a.lost, a.acked, a.lost_wal_bytes));
  }
  if (a.dual_primary_windows > 0) {
    std::string windows;
    for (const auto& w : a.windows) {
      windows += fmt::format("{}{} and {} from {:.2f} s to {:.2f} s", windows.empty() ? "" : "; ",
                             w.first, w.second, w.from_seconds, w.to_seconds);
    }
    fail("no-dual-primary", fmt::format("{} window(s), {:.2f} s in all: {}", a.dual_primary_windows,
                                        a.dual_primary_seconds, windows));
  }
  if (!round.topology.empty()) fail("one-primary-streaming", round.topology);
  const bool silent =
      round.fault.rfind("sigstop-", 0) == 0 || round.fault.rfind("partition-primary", 0) == 0;
  const bool replaced = a.promoted_seconds >= 0 && a.new_primary != a.old_primary;
  const double replaced_after = a.promoted_seconds - a.fault_seconds;
  if (round.asynchronous && silent && replaced && replaced_after < round.lease_floor_seconds) {
    fail("silent-waits-for-lease",
         fmt::format("{} was replaced {:.2f} s after the fault, before its lease could end "
                     "({:.2f} s)",
                     a.old_primary, replaced_after, round.lease_floor_seconds));
  }
}

ChaosCampaign::ChaosCampaign(LocalCluster& cluster, ChaosOptions options,
                             std::function<void(const std::string&)> progress,
                             std::function<void(const ChaosRound&)> on_round)
    : cluster_(cluster),
      options_(std::move(options)),
      progress_(std::move(progress)),
      on_round_(std::move(on_round)) {}

Result<std::vector<ChaosRound>> ChaosCampaign::Run() {
  std::vector<std::string> kinds = options_.faults;
  if (kinds.empty()) kinds.assign(std::begin(kChaosFaultKinds), std::end(kChaosFaultKinds));
  for (const auto& kind : kinds) {
    auto fault = ChaosFault::Make(kind, cluster_, options_.hold, 0);
    if (!fault.ok()) return fault.status();
  }
  const std::vector<std::string> schedule = ChaosSchedule(kinds, options_.rounds, options_.seed);
  std::mt19937_64 picks(options_.seed ^ 0x9e3779b97f4a7c15ull);  // which replica, which member
  std::vector<ChaosRound> rounds;
  for (int n = 1; n <= options_.rounds; ++n) {
    rounds.push_back(RunRound(n, schedule[n - 1], picks()));
    if (on_round_) on_round_(rounds.back());
    if (!rounds.back().started) break;  // the cluster did not become whole again
  }
  return rounds;
}

ChaosRound ChaosCampaign::RunRound(int number, const std::string& kind, uint64_t pick) {
  ChaosRound round;
  round.number = number;
  round.fault = kind;
  auto fault = ChaosFault::Make(kind, cluster_, options_.hold, pick);
  round.asynchronous = options_.asynchronous;
  round.lease_floor_seconds = options_.lease_floor_seconds;
  if (!fault.ok()) {  // checked in Run
    round.drill.failure = fault.status().message();
    JudgeChaosRound(round);
    return round;
  }
  std::vector<std::pair<std::string, int>> hosts;
  DrillOptions o;
  for (const auto& node : cluster_.nodes) {
    hosts.emplace_back(node.host, node.pg_port);
    o.pinned_dsns.push_back(
        PinnedDsn(node.host, node.pg_port, "postgres", LocalCluster::kSuperuserPassword));
  }
  DrillTarget target{MultiHostDsn(hosts, "postgres", LocalCluster::kSuperuserPassword), &cluster_};
  o.rounds = options_.rounds;
  o.clients = options_.clients;
  o.timeout_seconds = options_.write_timeout_seconds;
  o.back_after_heal = true;
  o.after_heal = [&] {
    round.started = true;
    if (progress_) {
      progress_(
          fmt::format("round {}/{} {}: healed; waiting for one primary and every other node "
                      "streaming from it",
                      number, options_.rounds, kind));
    }
    const TimePoint healed = std::chrono::steady_clock::now();
    Status whole = CheckOnePrimaryAllStreaming(cluster_, options_.whole_timeout);
    if (whole.ok()) {
      round.whole_after_seconds = SecondsSince(healed);
    } else {
      round.topology = whole.message();
    }
  };
  // Drill's lines read "round N/M: ..."; the kind goes in after the number.
  auto progress = [&](const std::string& line) {
    if (!progress_) return;
    const auto colon = line.find(':');
    progress_(colon == std::string::npos ? line
                                         : line.substr(0, colon) + " " + kind + line.substr(colon));
  };
  Drill drill(target, **fault, o, progress);
  round.drill = drill.RunRound(number);
  round.drill.fault = kind;
  round.target = (*fault)->target();
  round.evidence = (*fault)->evidence();
  round.replicated_at_fault = (*fault)->replicated();
  if (!round.started) {
    // The round did not get as far as the fault (the cluster was not healthy at its start).
    Status whole = CheckOnePrimaryAllStreaming(cluster_, std::chrono::seconds(1));
    if (!whole.ok()) round.topology = whole.message();
  }
  JudgeChaosRound(round);
  return round;
}

}  // namespace baton
