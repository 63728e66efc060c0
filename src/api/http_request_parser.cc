#include "api/http_request_parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <vector>

namespace baton {

namespace {

HttpRequestParser::Outcome Failure(int status, std::string why) {
  HttpRequestParser::Outcome outcome;
  outcome.state = HttpRequestParser::State::kError;
  outcome.error_status = status;
  outcome.error = std::move(why);
  return outcome;
}

// RFC 9110 token characters (method and header names).
bool IsTokenChar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), IsTokenChar);
}

std::string_view TrimSpace(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::string Lower(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

// Where the header block ends (just past its empty line), or npos while it has not arrived.
// Lines end in CRLF; a bare LF is accepted too (RFC 9112 section 2.2).
size_t HeadEnd(std::string_view buffer) {
  for (size_t at = buffer.find('\n'); at != std::string_view::npos;
       at = buffer.find('\n', at + 1)) {
    if (at + 1 < buffer.size() && buffer[at + 1] == '\n') return at + 2;
    if (at + 2 < buffer.size() && buffer[at + 1] == '\r' && buffer[at + 2] == '\n') return at + 3;
  }
  return std::string_view::npos;
}

bool ContainsControl(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; });
}

// Whether the comma-separated header value `value` lists `token` (case-insensitively).
bool ListsToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    const std::string item = Lower(TrimSpace(value.substr(0, comma)));
    if (item == token) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string PercentDecode(std::string_view text, bool plus_is_space, bool& ok) {
  ok = true;
  std::string decoded;
  decoded.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      const int high = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
      const int low = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
      if (high < 0 || low < 0) {
        ok = false;
        return "";
      }
      decoded += static_cast<char>(high * 16 + low);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      decoded += ' ';
    } else {
      decoded += c;
    }
  }
  return decoded;
}

bool HttpRequestParser::HasPartialRequest() const {
  return have_head_ || buffer_.find_first_not_of("\r\n") != std::string::npos;
}

HttpRequestParser::Outcome HttpRequestParser::Next() {
  if (failed_) return Failure(400, "the connection already sent a malformed request");
  if (!have_head_) {
    // Empty lines before a request line are ignored (RFC 9112 section 2.2).
    const size_t start = buffer_.find_first_not_of("\r\n");
    if (start == std::string::npos) {
      buffer_.clear();
      return {};
    }
    if (start > 0) buffer_.erase(0, start);
    if (static_cast<unsigned char>(buffer_[0]) == 0x16) {
      failed_ = true;
      return Failure(400,
                     "a TLS handshake on a plain-HTTP port: use http://, or configure "
                     "restapi.certfile for HTTPS");
    }
    const size_t end = HeadEnd(buffer_);
    if (end == std::string::npos) {
      if (buffer_.size() > limits_.max_header_bytes) {
        failed_ = true;
        return Failure(
            431, fmt::format("request line and headers exceed {} bytes", limits_.max_header_bytes));
      }
      return {};
    }
    if (end > limits_.max_header_bytes) {
      failed_ = true;
      return Failure(
          431, fmt::format("request line and headers exceed {} bytes", limits_.max_header_bytes));
    }
    Outcome head = ParseHead(std::string_view(buffer_).substr(0, end));
    if (head.state == State::kError) {
      failed_ = true;
      return head;
    }
    buffer_.erase(0, end);
    have_head_ = true;
  }
  if (buffer_.size() < body_length_) return {};
  Outcome outcome;
  outcome.state = State::kRequest;
  outcome.request = std::move(pending_);
  outcome.request.body = buffer_.substr(0, body_length_);
  buffer_.erase(0, body_length_);
  pending_ = HttpRequest{};
  have_head_ = false;
  body_length_ = 0;
  return outcome;
}

HttpRequestParser::Outcome HttpRequestParser::ParseHead(std::string_view head) {
  HttpRequest request;
  std::vector<std::string_view> lines;
  while (!head.empty()) {
    const size_t newline = head.find('\n');
    std::string_view line = head.substr(0, newline);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    lines.push_back(line);
    head.remove_prefix(newline + 1);
  }
  if (lines.empty()) return Failure(400, "no request line");

  // Request line: METHOD SP target SP HTTP/1.x
  const std::string_view request_line = lines.front();
  const size_t first_space = request_line.find(' ');
  const size_t last_space = request_line.rfind(' ');
  if (first_space == std::string_view::npos || first_space == last_space ||
      ContainsControl(request_line)) {
    return Failure(400, "malformed request line: expected METHOD /path HTTP/1.1");
  }
  const std::string_view method = request_line.substr(0, first_space);
  const std::string_view target =
      request_line.substr(first_space + 1, last_space - first_space - 1);
  const std::string_view version = request_line.substr(last_space + 1);
  if (!IsToken(method)) return Failure(400, "malformed request line: the method is not a token");
  if (target.empty() || target.front() != '/' || target.find(' ') != std::string_view::npos) {
    return Failure(400, "malformed request line: the target must be a path starting with /");
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      !std::isdigit(static_cast<unsigned char>(version[5])) ||
      !std::isdigit(static_cast<unsigned char>(version[7]))) {
    return Failure(400, "malformed request line: expected HTTP/1.0 or HTTP/1.1 at its end");
  }
  if (version[5] != '1') {
    return Failure(505, fmt::format("{} is not supported: use HTTP/1.1", version));
  }
  request.method = std::string(method);
  request.minor_version = version[7] - '0';

  const size_t question = target.find('?');
  bool ok = true;
  request.path = PercentDecode(target.substr(0, question), false, ok);
  if (!ok) return Failure(400, "malformed percent-escape in the path");
  if (question != std::string_view::npos) {
    std::string_view query = target.substr(question + 1);
    while (!query.empty()) {
      const size_t amp = query.find('&');
      const std::string_view pair = query.substr(0, amp);
      if (!pair.empty()) {
        const size_t eq = pair.find('=');
        bool value_ok = true;
        std::string key = PercentDecode(pair.substr(0, eq), true, ok);
        std::string value =
            eq == std::string_view::npos ? "" : PercentDecode(pair.substr(eq + 1), true, value_ok);
        if (!ok || !value_ok) return Failure(400, "malformed percent-escape in the query");
        request.query.emplace_back(std::move(key), std::move(value));
      }
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
  }

  if (lines.size() - 1 > limits_.max_headers) {
    return Failure(431, fmt::format("more than {} headers", limits_.max_headers));
  }
  std::optional<size_t> content_length;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (line.front() == ' ' || line.front() == '\t') {
      return Failure(400, "folded header lines are not accepted");
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || !IsToken(line.substr(0, colon))) {
      return Failure(400, "malformed header line: expected Name: value");
    }
    const std::string_view value = TrimSpace(line.substr(colon + 1));
    if (ContainsControl(value)) return Failure(400, "a header value holds a control character");
    std::string name = Lower(line.substr(0, colon));
    if (name == "transfer-encoding") {
      return Failure(501, "Transfer-Encoding is not supported: send the body with Content-Length");
    }
    if (name == "content-length") {
      size_t length = 0;
      const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), length);
      if (value.empty() || error != std::errc() || end != value.data() + value.size()) {
        if (error == std::errc::result_out_of_range) {
          return Failure(413, fmt::format("the body exceeds {} bytes", limits_.max_body_bytes));
        }
        return Failure(400, "Content-Length is not a number");
      }
      if (content_length && *content_length != length) {
        return Failure(400, "two different Content-Length headers");
      }
      if (length > limits_.max_body_bytes) {
        return Failure(413, fmt::format("the body exceeds {} bytes", limits_.max_body_bytes));
      }
      content_length = length;
    }
    request.headers.emplace_back(std::move(name), std::string(value));
  }
  if (request.minor_version == 0) {
    request.keep_alive = ListsToken(request.Header("connection"), "keep-alive");
  } else {
    request.keep_alive = !ListsToken(request.Header("connection"), "close");
  }
  pending_ = std::move(request);
  body_length_ = content_length.value_or(0);
  return {};
}

}  // namespace baton
