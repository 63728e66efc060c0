// The REST API's admin verbs: the same operator requests as the `baton` CLI, checked and stored
// through ClusterAdmin, behind restapi.auth (see api/admin_auth.h).
//
//   POST   /switchover  {"to"?, "at"?, "force"?}   202 with the request; 409 with the refusal
//   DELETE /switchover                             cancel a scheduled switchover
//   POST   /failover    {"to", "allow_data_loss"?} 202; 409 when a leader serves or WAL would be
//   lost POST   /pause, POST /resume                    maintenance mode POST   /restart
//   {"pending"?}, /reload, /reinit this node's PostgreSQL; 202 with the request id GET    /config,
//   PATCH /config {"key": "value"} the cluster's dynamic settings POST   /remove {"node"} forget a
//   node that is gone
// Errors: 400 bad input, 409 refused in the cluster's current state, 503 etcd unreachable.
// Node verbs report their outcome in the member's last_action (GET /cluster, `baton status`).
#pragma once

#include "api/rest_api.h"
#include "core/clock.h"
#include "core/config.h"
#include "dcs/dcs.h"

namespace baton {

// Registers every admin verb on `api`. `dcs` must outlive the API server.
void AddAdminVerbs(RestApi& api, Dcs& dcs, const Config& config, const Clock& clock);

}  // namespace baton
