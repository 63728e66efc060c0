// RoundAnalysis: what one drill round did to its clients, computed from their acknowledgments
// and errors alone, so it measures any cluster (baton's or not) the way an application sees it.
//
//   write gap  the longest stretch without any acknowledged write, from the last before the fault
//   RTO        fault to the acknowledgment that ended that longest stretch (the outage); when no
//              client saw an error after the fault (no outage), to the first acknowledgment
//   lost       acknowledged writes missing on the final primary (rows, and WAL bytes between the
//              last surviving and the last lost acknowledgment on the same server)
//   dual-primary windows  two writers (a server on a timeline) acknowledging writes in
//              overlapping time
// A pinned client (one that stays on one server) counts for the losses and the dual-primary
// windows, not for the outage figures, which are what the applications following the primary
// see. Pure: no clock, no I/O. Thread-safe (stateless).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.h"
#include "drill/write_load.h"

namespace baton {

struct ClientRecord {
  std::vector<WriteLoad::Ack> acks;
  std::vector<bool> present;  // per ack: found on the final primary afterwards
  std::vector<WriteLoad::Error> errors;
  bool pinned = false;  // a client on one server only (WriteLoadOptions::pinned)
};

// Two writers that both acknowledged writes from `from_seconds` to `to_seconds` (since the round
// started). A writer reads "node1 (10.0.0.21:5432, timeline 2)".
struct DualPrimaryWindow {
  std::string first;
  std::string second;
  double from_seconds = 0;
  double to_seconds = 0;
};

struct Bucket {
  double start_seconds = 0;  // since the round started
  size_t writes = 0;
  size_t errors = 0;
};

struct RoundAnalysis {
  std::string old_primary;       // server ("host:port") of the last acknowledgment before the fault
  std::string new_primary;       // server of the last acknowledgment of the round
  double fault_seconds = 0;      // since the round started
  double promoted_seconds = -1;  // first acknowledgment by another server than old_primary
  double rto_seconds = -1;       // -1: writes never came back
  double gap_seconds = 0;
  size_t acked = 0;
  size_t errors = 0;  // after the fault
  size_t lost = 0;
  uint64_t lost_wal_bytes = 0;
  Lsn first_lost_lsn;  // the lowest WAL position of a lost acknowledgment (0/0: none lost)
  size_t dual_primary_windows = 0;
  double dual_primary_seconds = 0;
  std::vector<DualPrimaryWindow> windows;
  std::vector<Bucket> buckets;  // writes and errors per `bucket` interval, for plots
};

RoundAnalysis AnalyzeRound(const std::vector<ClientRecord>& clients, TimePoint started,
                           TimePoint fault_at, TimePoint ended,
                           Duration bucket = std::chrono::milliseconds(100));

}  // namespace baton
