#include "drill/round_analysis.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace baton {

namespace {

double Since(TimePoint start, TimePoint t) {
  return std::chrono::duration<double>(t - start).count();
}

struct Span {
  TimePoint first;
  TimePoint last;
};

// A writer: a server on one timeline (a server demoted and promoted again is another writer).
std::string WriterOf(const WriteLoad::Ack& a) {
  const std::string node = a.node.substr(a.node.find('/') + 1);
  return fmt::format("{} ({}, timeline {})", node.empty() ? a.server : node, a.server, a.timeline);
}

}  // namespace

RoundAnalysis AnalyzeRound(const std::vector<ClientRecord>& clients, TimePoint started,
                           TimePoint fault_at, TimePoint ended, Duration bucket) {
  RoundAnalysis r;
  r.fault_seconds = Since(started, fault_at);
  std::vector<const WriteLoad::Ack*> acks;      // the clients that follow the primary
  std::vector<const WriteLoad::Ack*> all_acks;  // pinned clients' too
  std::vector<TimePoint> errors;
  std::map<std::string, Lsn> last_surviving_lsn;  // per server
  std::map<std::string, Lsn> last_lost_lsn;
  for (const ClientRecord& c : clients) {
    for (size_t i = 0; i < c.acks.size(); ++i) {
      if (!c.pinned) acks.push_back(&c.acks[i]);
      all_acks.push_back(&c.acks[i]);
      const bool present = i < c.present.size() && c.present[i];
      auto& last = present ? last_surviving_lsn[c.acks[i].server] : last_lost_lsn[c.acks[i].server];
      last = std::max(last, c.acks[i].lsn);
      r.lost += !present;
      if (!present && (r.first_lost_lsn == Lsn{} || c.acks[i].lsn < r.first_lost_lsn)) {
        r.first_lost_lsn = c.acks[i].lsn;
      }
    }
    if (!c.pinned) {
      for (const auto& e : c.errors) errors.push_back(e.at);
    }
  }
  auto by_time = [](const WriteLoad::Ack* a, const WriteLoad::Ack* b) { return a->at < b->at; };
  std::sort(acks.begin(), acks.end(), by_time);
  std::sort(all_acks.begin(), all_acks.end(), by_time);
  std::sort(errors.begin(), errors.end());
  r.acked = all_acks.size();
  for (const auto& [server, lost_lsn] : last_lost_lsn) {
    const Lsn kept = last_surviving_lsn.count(server) ? last_surviving_lsn[server] : Lsn{};
    if (lost_lsn > kept) r.lost_wal_bytes = std::max(r.lost_wal_bytes, lost_lsn.value - kept.value);
  }

  // Before and after the fault.
  std::optional<TimePoint> last_before;
  for (const auto* a : acks) {
    if (a->at >= fault_at) break;
    last_before = a->at;
    r.old_primary = a->server;
  }
  if (!acks.empty()) r.new_primary = acks.back()->server;
  for (const auto* a : acks) {
    if (a->at >= fault_at && a->server != r.old_primary) {
      r.promoted_seconds = Since(started, a->at);
      break;
    }
  }
  r.errors =
      static_cast<size_t>(errors.end() - std::lower_bound(errors.begin(), errors.end(), fault_at));
  // The outage is the longest stretch without an acknowledgment, from the last one before the
  // fault, that the fault caused: the first one, or one in which a client saw an error. Once the
  // fault made errors, a pause later on without one (a checkpoint, a busy machine) is not the
  // outage. It ends with the acknowledgment that closes it.
  auto error_within = [&](TimePoint from, TimePoint to) {
    auto first = std::upper_bound(errors.begin(), errors.end(), from);
    return first != errors.end() && *first <= to;
  };
  TimePoint previous = last_before.value_or(fault_at);
  bool first_gap = true;
  for (const auto* a : acks) {
    if (a->at <= previous) continue;
    const bool caused_by_fault = r.errors == 0 || first_gap || error_within(previous, a->at);
    first_gap = false;
    if (caused_by_fault && Since(previous, a->at) > r.gap_seconds) {
      r.gap_seconds = Since(previous, a->at);
      r.rto_seconds = std::max(0.0, Since(fault_at, a->at));
    }
    previous = a->at;
  }
  if (Since(previous, ended) > r.gap_seconds) {  // writes never came back
    r.gap_seconds = Since(previous, ended);
    r.rto_seconds = -1;
  } else if (r.errors == 0) {
    // No client saw an error: no outage, whatever pause was longest; the next write ends it.
    for (const auto* a : acks) {
      if (a->at >= fault_at) {
        r.rto_seconds = Since(fault_at, a->at);
        break;
      }
    }
  }

  // Two writers acknowledging in overlapping time: each pair's overlap is one window.
  std::map<std::string, Span> spans;
  for (const auto* a : all_acks) {
    auto [it, inserted] = spans.try_emplace(WriterOf(*a), Span{a->at, a->at});
    if (!inserted) it->second.last = a->at;
  }
  for (auto a = spans.begin(); a != spans.end(); ++a) {
    for (auto b = std::next(a); b != spans.end(); ++b) {
      const TimePoint from = std::max(a->second.first, b->second.first);
      const TimePoint to = std::min(a->second.last, b->second.last);
      if (to > from) {
        ++r.dual_primary_windows;
        r.dual_primary_seconds += Since(from, to);
        r.windows.push_back({a->first, b->first, Since(started, from), Since(started, to)});
      }
    }
  }

  const auto buckets = static_cast<size_t>((ended - started) / bucket) + 1;
  r.buckets.resize(buckets);
  for (size_t i = 0; i < buckets; ++i) {
    r.buckets[i].start_seconds = std::chrono::duration<double>(bucket * i).count();
  }
  auto index = [&](TimePoint t) {
    return std::min(buckets - 1,
                    static_cast<size_t>(std::max(Duration::zero(), t - started) / bucket));
  };
  for (const auto* a : acks) ++r.buckets[index(a->at)].writes;
  for (TimePoint e : errors) ++r.buckets[index(e)].errors;
  return r;
}

}  // namespace baton
