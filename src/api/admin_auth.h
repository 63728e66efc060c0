// Admin auth: who may call the REST API's admin verbs (see docs/rest-api.md#security).
//
// Admin verbs (anything that changes the cluster) need the credentials configured under
// restapi.auth: `Authorization: Bearer <token>` when restapi.auth.token is set, `Authorization:
// Basic base64(user:password)` when restapi.auth.username/password are set, either one when both
// are. Without restapi.auth every admin verb is refused (403): baton never runs one
// unauthenticated. Read-only endpoints (/primary, /cluster, ...) stay open and never get here.
// Secrets are compared in constant time, and no error text repeats a configured secret or any
// part of the Authorization header the client sent. All functions are thread-safe: they keep no
// state.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/status.h"

namespace baton {

// The answer to "may this Authorization header call an admin verb?".
struct AuthVerdict {
  int http_status = 200;  // 200 allowed; 400 malformed header; 401 missing or wrong credentials;
                          // 403 admin verbs disabled (restapi.auth not configured)
  std::string error;      // why not, when not allowed; never holds a secret
  bool allowed() const { return http_status == 200; }
};

// Judges the Authorization header of an admin request ("" when the request had none).
AuthVerdict CheckAdminAuth(const ApiSecurity& security, const std::string& authorization_header);

// The WWW-Authenticate value a 401 carries: the schemes `security` accepts, e.g.
// `Bearer realm="baton", Basic realm="baton"`. Empty when restapi.auth is not configured.
std::string AuthChallenge(const ApiSecurity& security);

// True when `given` equals `expected`. The time taken depends on the sizes only, never on where
// the first differing byte is.
bool ConstantTimeEquals(std::string_view given, std::string_view expected);

// Standard base64 (RFC 4648 alphabet, trailing '=' padding optional). nullopt when `text` has a
// character outside the alphabet, misplaced padding, or an impossible length.
std::optional<std::string> DecodeBase64(std::string_view text);

// What an admin verb answers: a status code and a JSON body.
struct AdminReply {
  int http_status = 200;
  nlohmann::json body;
};
// An admin verb's work. Runs only after authentication passed; `request_body` is always a JSON
// object (an empty request body arrives as {}).
using AdminHandler = std::function<AdminReply(const nlohmann::json& request_body)>;

// A field an admin verb's body may carry, and the JSON type it must have.
struct AdminField {
  enum class Type { kString, kBool };
  const char* name;
  Type type;
};
// The body's fields are all among `fields`, each of its type: "" when so, else what is wrong
// ("unknown field 'too': this verb takes to, at, force"). Never quotes a value.
std::string CheckAdminFields(const nlohmann::json& body, const std::vector<AdminField>& fields);

// An admin request after its checks: either refused (answer `refusal` and do nothing else) or
// allowed with its parsed body.
struct AdminCall {
  std::optional<AdminReply> refusal;               // {"error": ...} with 400, 401 or 403
  nlohmann::json body = nlohmann::json::object();  // the request body, when allowed
  bool allowed() const { return !refusal.has_value(); }
};

// Checks the Authorization header first (CheckAdminAuth) and only then parses `body`: empty or
// blank is {}, a JSON object is itself, anything else (invalid JSON, an array, a number...) is a
// 400. Error texts never quote the body.
AdminCall GuardAdminRequest(const ApiSecurity& security, const std::string& authorization_header,
                            const std::string& body);

// GuardAdminRequest, then `handler` when allowed. An nlohmann::json exception escaping the
// handler (a field of the wrong type) becomes 400 {"error"}; any other exception 500 {"error"}.
AdminReply RunAdminVerb(const ApiSecurity& security, const std::string& authorization_header,
                        const std::string& body, const AdminHandler& handler);

}  // namespace baton
