// MakeHttpClient: the one way baton opens an outgoing HTTP(S) connection (to other agents, to
// an alert webhook): cpp-httplib's client for an origin, with connect, read and write each
// bounded by one timeout.
//
// The caller chooses how a server certificate is checked. A client object is not thread-safe;
// make one per thread or per request.
#pragma once

#include <httplib.h>

#include <memory>
#include <string>

#include "core/clock.h"

namespace baton {

// `origin` is scheme://host:port ("http://..." or "https://..."); a path is the request's.
std::unique_ptr<httplib::Client> MakeHttpClient(const std::string& origin, Duration timeout);

}  // namespace baton
