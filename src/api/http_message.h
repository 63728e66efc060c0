// HTTP messages as the REST API's server sees them: a parsed request and the response it sends.
//
// HttpRequest is what HttpRequestParser (api/http_request_parser.h) produces: the method, the
// percent-decoded path, the query parameters in order, the headers with lower-case names, the
// body, and whether the connection stays open after the answer. HttpResponse is what a handler
// returns; ResponseText() writes it out with Content-Length and Connection set by the server.
// Plain values: safe to copy between threads.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace baton {

struct HttpRequest {
  std::string method;  // "GET", "POST", ... as sent (upper case)
  std::string path;    // percent-decoded, without the query: "/replica"
  std::vector<std::pair<std::string, std::string>> query;    // decoded, in request order
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  int minor_version = 1;  // HTTP/1.<minor_version>
  bool keep_alive = true;
  std::string remote;  // the peer's address, "host:port" (set by the server)

  // The first value of header `lower_case_name`, "" when absent.
  std::string Header(std::string_view lower_case_name) const;
  // The first value of query parameter `name`, nullptr when absent.
  const std::string* Query(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones (WWW-Authenticate, ...)
};

// An answer {"error": message} with `status`.
HttpResponse ErrorResponse(int status, std::string_view message);

// The standard reason phrase of `status` ("Not Found"); "Unknown" for codes baton never sends.
const char* ReasonPhrase(int status);

// The bytes on the wire: status line, the response's headers, Content-Type, Content-Length,
// Connection (keep-alive or close) and, unless `head_only` (a HEAD request), the body.
std::string ResponseText(const HttpResponse& response, bool keep_alive, bool head_only);

}  // namespace baton
