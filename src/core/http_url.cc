#include "core/http_url.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "core/config.h"

namespace baton {

std::string HttpUrl::Origin() const {
  return fmt::format("{}://{}:{}", scheme, host, port);
}

Result<HttpUrl> HttpUrl::Parse(const std::string& text) {
  const auto separator = text.find("://");
  if (separator == std::string::npos) {
    return InvalidArgument(fmt::format("must be an http:// or https:// URL, got '{}'", text));
  }
  HttpUrl url;
  url.scheme = text.substr(0, separator);
  std::transform(url.scheme.begin(), url.scheme.end(), url.scheme.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (url.scheme != "http" && url.scheme != "https") {
    return InvalidArgument(fmt::format(
        "scheme '{}' is not supported (use http:// or https://), got '{}'", url.scheme, text));
  }
  const std::string rest = text.substr(separator + 3);
  const auto path_start = rest.find_first_of("/?#");
  const std::string authority = rest.substr(0, path_start);
  if (path_start != std::string::npos) url.target = rest.substr(path_start);
  if (url.target.front() == '?') url.target = "/" + url.target;
  if (url.target.find('#') != std::string::npos) {
    return InvalidArgument(fmt::format("must not have a #fragment, got '{}'", text));
  }
  if (authority.find('@') != std::string::npos) {
    return InvalidArgument("must not carry user:password@ (put a token in the path or query)");
  }
  const bool has_port = authority.find(':') != std::string::npos;
  const std::string host_port = has_port ? authority : authority + (url.tls() ? ":443" : ":80");
  auto parsed = HostPort::Parse(host_port);
  if (!parsed.ok() || parsed->host.empty()) {
    return InvalidArgument(fmt::format(
        "must be {}://host[:port][/path] with a port 1-65535, got '{}'", url.scheme, text));
  }
  url.host = parsed->host;
  url.port = parsed->port;
  return url;
}

}  // namespace baton
