#include "api/admin_auth.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <exception>

namespace baton {

namespace {

std::string_view Trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t");
  return s.substr(first, last - first + 1);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// The schemes the config accepts, for messages: "Bearer <token>", "Basic <base64 user:password>".
std::string AcceptedSchemes(const ApiSecurity& security) {
  std::string schemes;
  if (!security.token.empty()) schemes = "'Authorization: Bearer <token>'";
  if (!security.basic.username.empty()) {
    if (!schemes.empty()) schemes += " or ";
    schemes += "'Authorization: Basic <base64 of user:password>'";
  }
  return schemes;
}

AuthVerdict Malformed(const std::string& why) {
  return {400, "malformed Authorization header: " + why};
}

const AuthVerdict kAllowed{200, ""};

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

AdminReply ErrorReply(int http_status, const std::string& error) {
  return {http_status, {{"error", error}}};
}

}  // namespace

bool ConstantTimeEquals(std::string_view given, std::string_view expected) {
  // Every byte of `given` is compared (against `expected` repeated when it is shorter), with no
  // branch on the bytes, so the time says nothing about how long a matching prefix was.
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < given.size(); ++i) {
    const unsigned char e =
        expected.empty() ? 0 : static_cast<unsigned char>(expected[i % expected.size()]);
    diff |= static_cast<unsigned char>(static_cast<unsigned char>(given[i]) ^ e);
  }
  volatile unsigned char result = diff;  // keeps the compiler from exiting the loop early
  return result == 0;
}

std::optional<std::string> DecodeBase64(std::string_view text) {
  size_t end = text.size();
  int padding = 0;
  while (end > 0 && text[end - 1] == '=' && padding < 2) {
    --end;
    ++padding;
  }
  if (padding > 0 && text.size() % 4 != 0) return std::nullopt;
  if (end % 4 == 1) return std::nullopt;  // 6 bits cannot make a byte
  std::string out;
  out.reserve(end / 4 * 3 + 2);
  unsigned int acc = 0;
  int bits = 0;
  for (size_t i = 0; i < end; ++i) {
    const int v = Base64Value(text[i]);
    if (v < 0) return std::nullopt;
    acc = ((acc << 6) | static_cast<unsigned int>(v)) & 0xFFFFFFu;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFFu));
    }
  }
  return out;
}

std::string AuthChallenge(const ApiSecurity& security) {
  std::string challenge;
  if (!security.token.empty()) challenge = R"(Bearer realm="baton")";
  if (!security.basic.username.empty()) {
    if (!challenge.empty()) challenge += ", ";
    challenge += R"(Basic realm="baton", charset="UTF-8")";
  }
  return challenge;
}

AuthVerdict CheckAdminAuth(const ApiSecurity& security, const std::string& authorization_header) {
  if (!security.AuthConfigured()) {
    return {403,
            "admin verbs are disabled on this node: set restapi.auth.token, or "
            "restapi.auth.username and restapi.auth.password, to enable them"};
  }
  const std::string_view header = Trim(authorization_header);
  if (header.empty()) {
    return {401, "authentication required: send " + AcceptedSchemes(security)};
  }
  // The scheme is never quoted back: a client that sent its secret without a scheme would see
  // (and a log would keep) the secret.
  const auto space = header.find_first_of(" \t");
  const std::string_view scheme = header.substr(0, space);
  const std::string_view credentials =
      space == std::string_view::npos ? std::string_view() : Trim(header.substr(space));

  if (EqualsIgnoreCase(scheme, "Bearer")) {
    if (credentials.empty()) return Malformed("Bearer without a token");
    if (security.token.empty()) {
      return {401, "bearer tokens are not accepted here (restapi.auth.token is not set): send " +
                       AcceptedSchemes(security)};
    }
    if (!ConstantTimeEquals(credentials, security.token)) return {401, "wrong bearer token"};
    return kAllowed;
  }
  if (EqualsIgnoreCase(scheme, "Basic")) {
    if (credentials.empty()) return Malformed("Basic without credentials");
    const auto decoded = DecodeBase64(credentials);
    if (!decoded) return Malformed("Basic credentials are not valid base64");
    const auto colon = decoded->find(':');
    if (colon == std::string::npos) {
      return Malformed("Basic credentials need a ':' between user name and password");
    }
    if (security.basic.username.empty()) {
      return {401, "basic auth is not accepted here (restapi.auth.username is not set): send " +
                       AcceptedSchemes(security)};
    }
    const std::string_view user = std::string_view(*decoded).substr(0, colon);
    const std::string_view password = std::string_view(*decoded).substr(colon + 1);
    // Both compared whatever the first gives, so the time does not tell a right user name.
    const bool user_ok = ConstantTimeEquals(user, security.basic.username);
    const bool password_ok = ConstantTimeEquals(password, security.basic.password);
    if (!(user_ok & password_ok)) return {401, "wrong user name or password"};
    return kAllowed;
  }
  return Malformed("the scheme must be Bearer or Basic");
}

AdminCall GuardAdminRequest(const ApiSecurity& security, const std::string& authorization_header,
                            const std::string& body) {
  const AuthVerdict verdict = CheckAdminAuth(security, authorization_header);
  if (!verdict.allowed()) return {ErrorReply(verdict.http_status, verdict.error)};
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return {};  // blank: {}
  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& e) {
    return {
        ErrorReply(400, fmt::format("request body is not valid JSON (error at byte {})", e.byte))};
  }
  if (!parsed.is_object()) {
    return {ErrorReply(
        400, fmt::format("request body must be a JSON object, not {}", parsed.type_name()))};
  }
  return {std::nullopt, std::move(parsed)};
}

std::string CheckAdminFields(const nlohmann::json& body, const std::vector<AdminField>& fields) {
  for (const auto& [key, value] : body.items()) {
    const AdminField* field = nullptr;
    for (const AdminField& known : fields) {
      if (key == known.name) field = &known;
    }
    if (field == nullptr) {
      std::string names;
      for (const AdminField& known : fields)
        names += (names.empty() ? "" : ", ") + std::string(known.name);
      return fmt::format("unknown field '{}': this verb takes {}", key,
                         names.empty() ? "no fields" : names);
    }
    if (field->type == AdminField::Type::kString && !value.is_string()) {
      return fmt::format("field '{}' must be a string", key);
    }
    if (field->type == AdminField::Type::kBool && !value.is_boolean()) {
      return fmt::format("field '{}' must be true or false", key);
    }
  }
  return "";
}

AdminReply RunAdminVerb(const ApiSecurity& security, const std::string& authorization_header,
                        const std::string& body, const AdminHandler& handler) {
  AdminCall call = GuardAdminRequest(security, authorization_header, body);
  if (!call.allowed()) return *call.refusal;
  try {
    return handler(call.body);
  } catch (const nlohmann::json::exception& e) {
    return ErrorReply(400, fmt::format("bad request body: {}", e.what()));
  } catch (const std::exception& e) {
    // The details go to the log only: they may say more about this host than a client needs.
    spdlog::error("REST API: admin verb failed: {}", e.what());
    return ErrorReply(500, "internal error");
  }
}

}  // namespace baton
