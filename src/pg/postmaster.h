// Postmaster: the PostgreSQL processes of one data directory, found and killed from outside.
//
// The postmaster's pid is the first line of <data_dir>/postmaster.pid; after a reboot or a
// kill -9 that file can be stale, so a pid counts only while a live process named postgres has
// it. KillServer ends the postmaster and every backend with SIGKILL, which works even on
// processes that are stopped (SIGSTOP) or stuck, and needs nothing from them. Used by
// PostgresInstance and by the fencing watchdog process. Thread-safe (no state).
#pragma once

#include <sys/types.h>

#include <string>

#include "core/clock.h"

namespace baton {

// The pid of the live postmaster of `data_dir`, 0 when none runs (reaps it if it is our child).
pid_t LivePostmaster(const std::string& data_dir);

// Freezes the postmaster (so it starts nothing more), kills every process descended from it,
// then the postmaster itself, all with SIGKILL, and waits up to `timeout` for the postmaster to
// be gone. Returns how many processes it signalled; 0 when `postmaster` was not alive.
int KillServer(pid_t postmaster, Duration timeout);

}  // namespace baton
