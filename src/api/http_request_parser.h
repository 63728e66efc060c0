// HttpRequestParser: turns the bytes a client sends into HTTP/1.x requests, one at a time,
// within fixed limits, so that no input can make the server hold more than those limits or
// wait for more than one request's worth of bytes.
//
// Feed() appends what arrived; Next() answers kNeedMore until a whole request (request line,
// headers and a Content-Length body) is buffered, then kRequest with it, and keeps any bytes
// after it for the next call (pipelined requests). Anything that is not a request baton
// answers gets kError with the HTTP status to send and a reason that names the problem: a
// malformed request line or header (400, and a TLS handshake on the plain port is named as
// such), a header block over `max_header_bytes` (431), a body over `max_body_bytes` (413), a
// Transfer-Encoding (501: baton reads Content-Length bodies only), another HTTP version (505).
// After kError the connection must be closed: the parser does not resynchronise.
// Not thread-safe: one per connection.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "api/http_message.h"

namespace baton {

struct HttpLimits {
  size_t max_header_bytes = 16 * 1024;  // request line and headers together
  size_t max_headers = 100;
  size_t max_body_bytes = 1 << 20;
};

class HttpRequestParser {
 public:
  enum class State { kNeedMore, kRequest, kError };
  struct Outcome {
    State state = State::kNeedMore;
    HttpRequest request;   // when kRequest
    int error_status = 0;  // when kError
    std::string error;     // when kError: what was wrong, for the client and the log
  };

  explicit HttpRequestParser(HttpLimits limits = {}) : limits_(limits) {}

  void Feed(std::string_view bytes) { buffer_.append(bytes); }
  Outcome Next();
  // Whether part of a request is buffered (a started request, as opposed to an idle connection).
  bool HasPartialRequest() const;

 private:
  // Parses a complete header block into pending_ and body_length_: kNeedMore when it was
  // accepted (the body may follow), kError when not.
  Outcome ParseHead(std::string_view head);

  HttpLimits limits_;
  std::string buffer_;
  bool failed_ = false;
  // A parsed head waiting for `body_length_` body bytes.
  bool have_head_ = false;
  HttpRequest pending_;
  size_t body_length_ = 0;
};

// Decodes %XX escapes (and '+' as a space when `plus_is_space`, as in a query). Sets `ok` to
// false (and returns "") when an escape is malformed.
std::string PercentDecode(std::string_view text, bool plus_is_space, bool& ok);

}  // namespace baton
