// The columns every probe of a PostgreSQL server's state starts with, shared by the agent's
// probe (PostgresInstance) and `baton doctor`, so both read a server the same way.
//
// In order: pg_is_in_recovery() ('t' or 'f'); the WAL position (primary: current; replica: the
// furthest received or replayed); the replayed position; the timeline (replica: its WAL
// receiver's, else the last checkpoint's; primary: from its current WAL file's name); the WAL
// receiver's status (NULL without one). Callers append their own columns after a comma.
#pragma once

namespace baton {

inline constexpr const char* kServerStateColumns =
    "pg_is_in_recovery(),"
    " CASE WHEN pg_is_in_recovery()"
    "  THEN GREATEST(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())"
    "  ELSE pg_current_wal_lsn() END,"
    " pg_last_wal_replay_lsn(),"
    " CASE WHEN pg_is_in_recovery()"
    "  THEN COALESCE((SELECT received_tli FROM pg_stat_wal_receiver),"
    "                (SELECT timeline_id FROM pg_control_checkpoint()))"
    "  ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END,"
    " (SELECT status FROM pg_stat_wal_receiver)";

}  // namespace baton
