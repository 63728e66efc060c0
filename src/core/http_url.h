// HttpUrl: an http:// or https:// URL split into the parts an HTTP client needs (the origin it
// connects to, the path it asks for), for addresses an operator configures (alerts.webhook).
//
// Parse() accepts scheme://host[:port][/path][?query] with the scheme http or https and the
// port defaulting to 80 or 443; user:password@ in the authority and #fragments are refused, as
// is any other scheme. A plain value; thread-safe to read.
#pragma once

#include <string>

#include "core/status.h"

namespace baton {

struct HttpUrl {
  std::string scheme;  // "http" | "https"
  std::string host;
  int port = 0;
  std::string target = "/";  // path and query, as given ("/" when the URL has neither)

  bool tls() const { return scheme == "https"; }
  // scheme://host:port, what an HTTP client connects to; no path, so it may be logged even
  // when the path carries a secret (a webhook token).
  std::string Origin() const;
  // InvalidArgument saying what is wrong with `text`.
  static Result<HttpUrl> Parse(const std::string& text);
};

}  // namespace baton
