#include "api/http_request_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace baton {
namespace {

using State = HttpRequestParser::State;

HttpRequestParser::Outcome ParseAll(const std::string& bytes, HttpLimits limits = {}) {
  HttpRequestParser parser(limits);
  parser.Feed(bytes);
  return parser.Next();
}

TEST(HttpRequestParserTest, ParsesARequestWithQueryHeadersAndBody) {
  const auto outcome = ParseAll(
      "POST /switch%6Fver?lag=10&a+b=c%20d&flag HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
      "Authorization: Bearer t\r\n\r\n{}{}");
  ASSERT_EQ(outcome.state, State::kRequest) << outcome.error;
  const HttpRequest& r = outcome.request;
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/switchover");
  ASSERT_EQ(r.query.size(), 3u);
  EXPECT_EQ(*r.Query("lag"), "10");
  EXPECT_EQ(*r.Query("a b"), "c d");
  EXPECT_EQ(*r.Query("flag"), "");
  EXPECT_EQ(r.Query("missing"), nullptr);
  EXPECT_EQ(r.Header("authorization"), "Bearer t");
  EXPECT_EQ(r.body, "{}{}");
  EXPECT_TRUE(r.keep_alive);
}

TEST(HttpRequestParserTest, WaitsForTheWholeRequestByteByByte) {
  const std::string text = "GET /health HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
  HttpRequestParser parser;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    parser.Feed(text.substr(i, 1));
    ASSERT_EQ(parser.Next().state, State::kNeedMore) << "after byte " << i;
    EXPECT_TRUE(parser.HasPartialRequest());
  }
  parser.Feed(text.substr(text.size() - 1));
  const auto outcome = parser.Next();
  ASSERT_EQ(outcome.state, State::kRequest);
  EXPECT_EQ(outcome.request.body, "abc");
  EXPECT_FALSE(parser.HasPartialRequest());
}

TEST(HttpRequestParserTest, PipelinedRequestsComeOutOneAtATime) {
  HttpRequestParser parser;
  parser.Feed("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.0\n\nGET /c");
  auto first = parser.Next();
  ASSERT_EQ(first.state, State::kRequest);
  EXPECT_EQ(first.request.path, "/a");
  auto second = parser.Next();
  ASSERT_EQ(second.state, State::kRequest);
  EXPECT_EQ(second.request.path, "/b");
  EXPECT_FALSE(second.request.keep_alive);  // HTTP/1.0 without keep-alive
  EXPECT_EQ(parser.Next().state, State::kNeedMore);
  EXPECT_TRUE(parser.HasPartialRequest());
}

TEST(HttpRequestParserTest, ConnectionHeaderDecidesKeepAlive) {
  EXPECT_FALSE(ParseAll("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n").request.keep_alive);
  EXPECT_TRUE(ParseAll("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").request.keep_alive);
}

TEST(HttpRequestParserTest, LeadingEmptyLinesAreIgnored) {
  const auto outcome = ParseAll("\r\n\r\nGET /health HTTP/1.1\r\n\r\n");
  ASSERT_EQ(outcome.state, State::kRequest);
  EXPECT_EQ(outcome.request.path, "/health");
}

struct BadRequest {
  const char* name;
  std::string bytes;
  int status;
  const char* error_part;
};

TEST(HttpRequestParserTest, EveryMalformedRequestIsRefusedWithAStatusAndAReason) {
  HttpLimits small;
  small.max_header_bytes = 256;
  small.max_body_bytes = 16;
  small.max_headers = 4;
  const std::vector<BadRequest> cases = {
      {"tls on plain port", std::string("\x16\x03\x01\x02\x00\x01\x00", 7), 400, "TLS handshake"},
      {"no version", "GET /health\r\n\r\n", 400, "malformed request line"},
      {"no path", "GET health HTTP/1.1\r\n\r\n", 400, "starting with /"},
      {"bad method", "G(T / HTTP/1.1\r\n\r\n", 400, "method"},
      {"http/2", "GET / HTTP/2.0\r\n\r\n", 505, "HTTP/2.0"},
      {"garbage version", "GET / HTTX/1.1\r\n\r\n", 400, "HTTP/1.0 or HTTP/1.1"},
      {"control char", std::string("GET /a\x01 HTTP/1.1\r\n\r\n"), 400, "malformed request line"},
      {"bad escape", "GET /a%zz HTTP/1.1\r\n\r\n", 400, "percent-escape in the path"},
      {"bad query escape", "GET /a?x=%4 HTTP/1.1\r\n\r\n", 400, "percent-escape in the query"},
      {"header without colon", "GET / HTTP/1.1\r\nHost x\r\n\r\n", 400, "Name: value"},
      {"folded header", "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 400, "folded"},
      {"chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501, "Content-Length"},
      {"length not a number", "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400, "not a number"},
      {"negative length", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "not a number"},
      {"two lengths", "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400,
       "two different"},
      {"body too large", "POST / HTTP/1.1\r\nContent-Length: 17\r\n\r\n", 413, "16 bytes"},
      {"huge length", "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413,
       "exceeds"},
      {"headers too large", "GET / HTTP/1.1\r\nA: " + std::string(300, 'x') + "\r\n\r\n", 431,
       "256 bytes"},
      {"no end of headers", "GET / HTTP/1.1\r\nA: " + std::string(300, 'x'), 431, "256 bytes"},
      {"too many headers", "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n", 431,
       "more than 4 headers"},
  };
  for (const BadRequest& bad : cases) {
    HttpRequestParser parser(small);
    parser.Feed(bad.bytes);
    const auto outcome = parser.Next();
    ASSERT_EQ(outcome.state, State::kError) << bad.name;
    EXPECT_EQ(outcome.error_status, bad.status) << bad.name << ": " << outcome.error;
    EXPECT_NE(outcome.error.find(bad.error_part), std::string::npos)
        << bad.name << ": " << outcome.error;
    // Nothing after an error is read as a request.
    parser.Feed("GET / HTTP/1.1\r\n\r\n");
    EXPECT_EQ(parser.Next().state, State::kError) << bad.name;
  }
}

TEST(HttpRequestParserTest, PercentDecodeRejectsTruncatedEscapes) {
  bool ok = true;
  EXPECT_EQ(PercentDecode("a%2", false, ok), "");
  EXPECT_FALSE(ok);
  EXPECT_EQ(PercentDecode("a+b%2B", true, ok), "a b+");
  EXPECT_TRUE(ok);
  EXPECT_EQ(PercentDecode("a+b", false, ok), "a+b");
}

}  // namespace
}  // namespace baton
