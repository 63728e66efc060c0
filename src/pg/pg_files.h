// The configuration files baton writes into a data directory, rendered as text.
//
// postgresql.conf and pg_hba.conf are baton's: rewritten from the node's config before every
// start. postgresql.auto.conf is shared with ALTER SYSTEM, so only baton's lines in it
// (primary_conninfo, recovery_target_timeline) are replaced and every other line is kept.
// Pure functions, no I/O.
#pragma once

#include <optional>
#include <string>

#include "core/config.h"
#include "pg/instance.h"

namespace baton {

// `synchronous_standby_names` is baton's (ha.synchronous_mode), not the operator's.
std::string RenderPostgresqlConf(const Config& config,
                                 const std::string& synchronous_standby_names);
// The synchronous_standby_names a postgresql.conf text sets; "" when none.
std::string SynchronousStandbyNamesIn(const std::string& conf);
std::string RenderPgHba(const Config& config);
// Returns `existing` with baton's recovery lines set for `upstream` (or removed when nullopt).
std::string RewriteAutoConf(const std::string& existing, const Config& config,
                            const std::optional<Upstream>& upstream);
// The host:port that primary_conninfo in an auto.conf text points at; "" when none.
std::string UpstreamInAutoConf(const std::string& auto_conf);

}  // namespace baton
