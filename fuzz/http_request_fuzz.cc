// libFuzzer target: the REST API's request parser (api/http_request_parser.h). The input is
// fed in pieces whose sizes come from its first byte, so that every split of a request is
// tried; the parser must never crash, and what it accepts must hold its own limits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/http_request_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = 1 + data[0] % 64;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  baton::HttpLimits limits;
  limits.max_header_bytes = 512;
  limits.max_body_bytes = 256;
  limits.max_headers = 8;
  baton::HttpRequestParser parser(limits);
  while (!input.empty()) {
    const size_t n = std::min(piece, input.size());
    parser.Feed(input.substr(0, n));
    input.remove_prefix(n);
    for (;;) {
      const auto outcome = parser.Next();
      if (outcome.state == baton::HttpRequestParser::State::kNeedMore) break;
      if (outcome.state == baton::HttpRequestParser::State::kError) {
        if (outcome.error_status < 400 || outcome.error_status > 599 || outcome.error.empty()) {
          std::abort();
        }
        return 0;
      }
      const baton::HttpRequest& request = outcome.request;
      if (request.body.size() > limits.max_body_bytes || request.headers.size() > 8 ||
          request.method.empty() || request.minor_version > 9) {
        std::abort();
      }
    }
  }
  return 0;
}
