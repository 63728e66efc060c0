#include "api/admin_auth.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/process.h"
#include "temp_dir.h"

namespace baton {
namespace {

const char* kToken = "t0ken-Sekr1t-9f8e7d";
const char* kUser = "admin";
const char* kPassword = "pa55-Sekr1t-c0ffee";

ApiSecurity TokenOnly() {
  ApiSecurity s;
  s.token = kToken;
  return s;
}

ApiSecurity BasicOnly() {
  ApiSecurity s;
  s.basic = {kUser, kPassword};
  return s;
}

ApiSecurity Both() {
  ApiSecurity s = TokenOnly();
  s.basic = {kUser, kPassword};
  return s;
}

std::string BasicHeader(const std::string& user_colon_password) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned int acc = 0;
  int bits = 0;
  for (unsigned char c : user_colon_password) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3F]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3F]);
  while (out.size() % 4 != 0) out.push_back('=');
  return "Basic " + out;
}

// The configured secrets must never show up in what a client or a log sees.
void ExpectNoSecret(const std::string& text) {
  EXPECT_EQ(text.find(kToken), std::string::npos) << text;
  EXPECT_EQ(text.find(kPassword), std::string::npos) << text;
  EXPECT_EQ(text.find(BasicHeader(std::string(kUser) + ":" + kPassword).substr(6)),
            std::string::npos)
      << text;
}

TEST(AdminAuthTest, NoAuthConfiguredRefusesEveryAdminRequestWith403) {
  const ApiSecurity none;
  for (const std::string& header :
       {std::string(), "Bearer " + std::string(kToken), BasicHeader("admin:x"), std::string("x")}) {
    const AuthVerdict v = CheckAdminAuth(none, header);
    EXPECT_EQ(v.http_status, 403) << header;
    EXPECT_FALSE(v.allowed());
    EXPECT_NE(v.error.find("restapi.auth.token"), std::string::npos) << v.error;
    EXPECT_NE(v.error.find("restapi.auth.username"), std::string::npos) << v.error;
    EXPECT_NE(v.error.find("restapi.auth.password"), std::string::npos) << v.error;
  }
  EXPECT_EQ(AuthChallenge(none), "");
}

TEST(AdminAuthTest, MissingHeaderIs401NamingTheAcceptedSchemes) {
  for (const char* header : {"", "   "}) {
    const AuthVerdict v = CheckAdminAuth(Both(), header);
    EXPECT_EQ(v.http_status, 401);
    EXPECT_NE(v.error.find("Bearer"), std::string::npos) << v.error;
    EXPECT_NE(v.error.find("Basic"), std::string::npos) << v.error;
    ExpectNoSecret(v.error);
  }
  EXPECT_EQ(CheckAdminAuth(TokenOnly(), "").error.find("Basic"), std::string::npos);
}

TEST(AdminAuthTest, RightTokenIsAllowed) {
  const AuthVerdict v = CheckAdminAuth(TokenOnly(), std::string("Bearer ") + kToken);
  EXPECT_EQ(v.http_status, 200);
  EXPECT_TRUE(v.allowed());
  EXPECT_EQ(v.error, "");
  // The scheme is case-insensitive (RFC 7235) and surrounding blanks do not matter.
  EXPECT_TRUE(CheckAdminAuth(TokenOnly(), std::string("bearer ") + kToken).allowed());
  EXPECT_TRUE(CheckAdminAuth(TokenOnly(), std::string(" BEARER   ") + kToken + " ").allowed());
}

TEST(AdminAuthTest, WrongTokenIs401) {
  const std::string token = kToken;
  for (const std::string& wrong : {std::string("nope"), token.substr(0, token.size() - 1),
                                   token + "x", token.substr(1), std::string(kPassword)}) {
    const AuthVerdict v = CheckAdminAuth(TokenOnly(), "Bearer " + wrong);
    EXPECT_EQ(v.http_status, 401) << wrong;
    ExpectNoSecret(v.error);
  }
}

TEST(AdminAuthTest, BearerWithoutTokenIs400) {
  for (const char* header : {"Bearer", "Bearer   "}) {
    const AuthVerdict v = CheckAdminAuth(TokenOnly(), header);
    EXPECT_EQ(v.http_status, 400) << header;
    EXPECT_NE(v.error.find("malformed"), std::string::npos) << v.error;
  }
}

TEST(AdminAuthTest, BasicRightCredentialsAreAllowed) {
  EXPECT_TRUE(
      CheckAdminAuth(BasicOnly(), BasicHeader("admin:" + std::string(kPassword))).allowed());
  // Only the first ':' separates: a password may hold colons.
  ApiSecurity colon = BasicOnly();
  colon.basic.password = "a:b:c";
  EXPECT_TRUE(CheckAdminAuth(colon, BasicHeader("admin:a:b:c")).allowed());
}

TEST(AdminAuthTest, BasicWrongUserOrPasswordIs401WithoutSayingWhich) {
  const std::string p = kPassword;
  const AuthVerdict wrong_password = CheckAdminAuth(BasicOnly(), BasicHeader("admin:" + p + "x"));
  const AuthVerdict wrong_user = CheckAdminAuth(BasicOnly(), BasicHeader("root:" + p));
  const AuthVerdict empty = CheckAdminAuth(BasicOnly(), BasicHeader(":"));
  EXPECT_EQ(wrong_password.http_status, 401);
  EXPECT_EQ(wrong_user.http_status, 401);
  EXPECT_EQ(empty.http_status, 401);
  EXPECT_EQ(wrong_password.error, wrong_user.error);
  ExpectNoSecret(wrong_password.error);
}

TEST(AdminAuthTest, MalformedBasicCredentialsAre400) {
  for (const std::string& header :
       {std::string("Basic !!!not-base64!!!"), std::string("Basic YWRtaW4=x"),
        std::string("Basic YWRtaW46c"),  // 9 characters: cannot decode
        std::string("Basic"), BasicHeader("admin-without-colon")}) {
    const AuthVerdict v = CheckAdminAuth(BasicOnly(), header);
    EXPECT_EQ(v.http_status, 400) << header;
    EXPECT_NE(v.error.find("malformed"), std::string::npos) << v.error;
  }
  EXPECT_NE(CheckAdminAuth(BasicOnly(), "Basic %%%").error.find("base64"), std::string::npos);
  EXPECT_NE(CheckAdminAuth(BasicOnly(), BasicHeader("nocolon")).error.find("':'"),
            std::string::npos);
}

TEST(AdminAuthTest, UnknownSchemeIs400) {
  for (const std::string& header :
       {std::string("Digest username=\"admin\""), std::string("Token abc"),
        std::string("Bearer2 x"), std::string(kToken)}) {
    const AuthVerdict v = CheckAdminAuth(Both(), header);
    EXPECT_EQ(v.http_status, 400) << header;
    EXPECT_NE(v.error.find("Bearer or Basic"), std::string::npos) << v.error;
  }
}

TEST(AdminAuthTest, SecretSentWithoutASchemeIsNotEchoed) {
  // A client that sends only its token (or password) must not see it quoted back: the text goes
  // to the client and to the log.
  for (const std::string& header :
       {std::string(kToken), std::string(kPassword), std::string(kToken) + " trailing"}) {
    const AuthVerdict v = CheckAdminAuth(Both(), header);
    EXPECT_EQ(v.http_status, 400);
    ExpectNoSecret(v.error);
  }
}

TEST(AdminAuthTest, OnlyTheConfiguredSchemesAreAccepted) {
  const std::string right_basic = BasicHeader("admin:" + std::string(kPassword));
  const std::string right_bearer = "Bearer " + std::string(kToken);
  const AuthVerdict basic_on_token = CheckAdminAuth(TokenOnly(), right_basic);
  EXPECT_EQ(basic_on_token.http_status, 401);
  EXPECT_NE(basic_on_token.error.find("restapi.auth.username is not set"), std::string::npos);
  const AuthVerdict bearer_on_basic = CheckAdminAuth(BasicOnly(), right_bearer);
  EXPECT_EQ(bearer_on_basic.http_status, 401);
  EXPECT_NE(bearer_on_basic.error.find("restapi.auth.token is not set"), std::string::npos);
  EXPECT_TRUE(CheckAdminAuth(Both(), right_basic).allowed());
  EXPECT_TRUE(CheckAdminAuth(Both(), right_bearer).allowed());
}

TEST(AdminAuthTest, ChallengeListsTheAcceptedSchemes) {
  EXPECT_EQ(AuthChallenge(TokenOnly()), R"(Bearer realm="baton")");
  EXPECT_EQ(AuthChallenge(BasicOnly()), R"(Basic realm="baton", charset="UTF-8")");
  EXPECT_EQ(AuthChallenge(Both()), R"(Bearer realm="baton", Basic realm="baton", charset="UTF-8")");
}

TEST(AdminAuthTest, ConstantTimeEqualsComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("ab", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abcd", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abcabc", "abc"));  // `expected` repeated is not a match
  EXPECT_FALSE(ConstantTimeEquals("", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", ""));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0c", 3), "abc"));
}

TEST(AdminAuthTest, DecodeBase64) {
  EXPECT_EQ(DecodeBase64(""), "");
  EXPECT_EQ(DecodeBase64("YWRtaW46c2VjcmV0"), "admin:secret");
  EXPECT_EQ(DecodeBase64("YQ=="), "a");
  EXPECT_EQ(DecodeBase64("YQ"), "a");
  EXPECT_EQ(DecodeBase64("YWI="), "ab");
  EXPECT_EQ(DecodeBase64("YWI"), "ab");
  EXPECT_EQ(DecodeBase64("+/+/"), "\xfb\xff\xbf");
  EXPECT_EQ(DecodeBase64("Y"), std::nullopt);
  EXPECT_EQ(DecodeBase64("YQ="), std::nullopt);
  EXPECT_EQ(DecodeBase64("YQ==="), std::nullopt);
  EXPECT_EQ(DecodeBase64("Y=Q="), std::nullopt);
  EXPECT_EQ(DecodeBase64("YW Jj"), std::nullopt);
  EXPECT_EQ(DecodeBase64("YWJj-_"), std::nullopt);  // base64url is not Basic's alphabet
}

// GuardAdminRequest and RunAdminVerb: the wrapper every admin verb goes through.

const std::string kRightBearer = std::string("Bearer ") + kToken;

TEST(AdminAuthGuardTest, CredentialsAreCheckedBeforeTheBody) {
  const AdminCall no_header = GuardAdminRequest(TokenOnly(), "", "{bad");
  ASSERT_FALSE(no_header.allowed());
  EXPECT_EQ(no_header.refusal->http_status, 401);
  EXPECT_TRUE(no_header.refusal->body.contains("error"));
  const AdminCall wrong = GuardAdminRequest(TokenOnly(), "Bearer nope", "[1]");
  ASSERT_FALSE(wrong.allowed());
  EXPECT_EQ(wrong.refusal->http_status, 401);
  const AdminCall disabled = GuardAdminRequest(ApiSecurity{}, kRightBearer, "{}");
  ASSERT_FALSE(disabled.allowed());
  EXPECT_EQ(disabled.refusal->http_status, 403);
  EXPECT_EQ(disabled.refusal->body.size(), 1u);  // {"error": ...} and nothing else
}

TEST(AdminAuthGuardTest, EmptyBodyIsAnEmptyObject) {
  for (const char* body : {"", " ", "\r\n\t "}) {
    const AdminCall call = GuardAdminRequest(TokenOnly(), kRightBearer, body);
    ASSERT_TRUE(call.allowed()) << call.refusal->body.dump();
    EXPECT_EQ(call.body, nlohmann::json::object());
  }
}

TEST(AdminAuthGuardTest, ObjectBodyIsPassedOn) {
  const AdminCall call =
      GuardAdminRequest(TokenOnly(), kRightBearer, R"({"candidate": "node2", "force": true})");
  ASSERT_TRUE(call.allowed());
  EXPECT_EQ(call.body, (nlohmann::json{{"candidate", "node2"}, {"force", true}}));
}

TEST(AdminAuthGuardTest, BodyThatIsNotAJsonObjectIs400) {
  for (const char* body : {"[1]", "42", "\"text\"", "null", "true"}) {
    const AdminCall call = GuardAdminRequest(TokenOnly(), kRightBearer, body);
    ASSERT_FALSE(call.allowed()) << body;
    EXPECT_EQ(call.refusal->http_status, 400) << body;
    const std::string error = call.refusal->body.at("error");
    EXPECT_NE(error.find("must be a JSON object"), std::string::npos) << error;
  }
}

TEST(AdminAuthGuardTest, InvalidJsonIs400WithoutQuotingTheBody) {
  for (const std::string& body :
       {std::string("{bad"), std::string("{\"a\": 1} trailing"),
        std::string("{\"password\": \"") + kPassword, std::string("{\"a\": \"\xff\"}")}) {
    const AdminCall call = GuardAdminRequest(TokenOnly(), kRightBearer, body);
    ASSERT_FALSE(call.allowed()) << body;
    EXPECT_EQ(call.refusal->http_status, 400) << body;
    const std::string error = call.refusal->body.at("error");
    EXPECT_NE(error.find("not valid JSON"), std::string::npos) << error;
    EXPECT_EQ(error.find("bad"), std::string::npos) << error;
    ExpectNoSecret(error);
  }
}

TEST(AdminAuthGuardTest, RunAdminVerbCallsTheHandlerOnlyWhenAllowed) {
  int calls = 0;
  const AdminHandler handler = [&](const nlohmann::json& body) {
    ++calls;
    return AdminReply{202, {{"echo", body}}};
  };
  const AdminReply refused = RunAdminVerb(TokenOnly(), "Bearer nope", "{}", handler);
  EXPECT_EQ(refused.http_status, 401);
  const AdminReply bad_body = RunAdminVerb(TokenOnly(), kRightBearer, "[1]", handler);
  EXPECT_EQ(bad_body.http_status, 400);
  EXPECT_EQ(calls, 0);
  const AdminReply ok = RunAdminVerb(TokenOnly(), kRightBearer, R"({"x": 1})", handler);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(ok.http_status, 202);
  EXPECT_EQ(ok.body, (nlohmann::json{{"echo", {{"x", 1}}}}));
}

TEST(AdminAuthGuardTest, RunAdminVerbTurnsHandlerExceptionsIntoErrorReplies) {
  const AdminReply wrong_type =
      RunAdminVerb(TokenOnly(), kRightBearer, R"({"lag": "lots"})", [](const nlohmann::json& b) {
        return AdminReply{200, {{"lag", b.at("lag").get<int>()}}};
      });
  EXPECT_EQ(wrong_type.http_status, 400);
  EXPECT_NE(wrong_type.body.at("error").get<std::string>().find("bad request body"),
            std::string::npos);
  const AdminReply failed = RunAdminVerb(TokenOnly(), kRightBearer, "", [](const nlohmann::json&) {
    throw std::runtime_error("disk on fire");
    return AdminReply{};
  });
  EXPECT_EQ(failed.http_status, 500);
  EXPECT_EQ(failed.body, (nlohmann::json{{"error", "internal error"}}));
}

// MakeApiServer and HTTPS, with a self-signed certificate made by the openssl CLI.

// The openssl CLI's path, or "" when it is not installed (scripts/deps.sh installs it).
std::string OpensslPath() {
  const char* path = getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    const size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::string candidate = dirs.substr(start, end - start) + "/openssl";
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

// Runs openssl with `args`; the test fails with its output when it exits non-zero.
void Openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {OpensslPath()};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto result = RunCommand(argv, {}, std::chrono::seconds(60));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->exit_code, 0) << result->output;
}

// A self-signed P-256 certificate for 127.0.0.1 in dir/cert.pem with its key in dir/key.pem.
void MakeSelfSignedCert(const TempDir& dir) {
  Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
           "-keyout", dir.File("key.pem"), "-out", dir.File("cert.pem"), "-days", "2", "-subj",
           "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"});
}

ApiSecurity Tls(const TempDir& dir, const std::string& cert = "cert.pem",
                const std::string& key = "key.pem") {
  ApiSecurity s;
  s.cert_file = dir.File(cert);
  s.key_file = dir.File(key);
  return s;
}

// Serves `server` on a free loopback port from its own thread until destroyed.
class Serving {
 public:
  explicit Serving(httplib::Server& server) : server_(server) {
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) return;
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() before the loop runs would be lost, so wait for it.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!server_.is_running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ~Serving() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  int port() const { return port_; }
  bool running() const { return port_ > 0 && server_.is_running(); }

 private:
  httplib::Server& server_;
  int port_ = -1;
  std::thread thread_;
};

// Never skipped: scripts/deps.sh installs the openssl CLI, so its absence is a failure.
#define REQUIRE_OPENSSL_CLI()                                                   \
  if (OpensslPath().empty()) {                                                  \
    FAIL() << "the openssl CLI is not installed (scripts/deps.sh installs it)"; \
  }                                                                             \
  static_assert(true)

TEST(AdminAuthTlsTest, PlainServerWhenTlsIsNotConfigured) {
  auto server = MakeApiServer(TokenOnly());
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  EXPECT_EQ(dynamic_cast<httplib::SSLServer*>(server->get()), nullptr);
  EXPECT_TRUE((*server)->is_valid());
}

TEST(AdminAuthTlsTest, UnreadableCertOrKeyIsInvalidArgumentNamingTheFile) {
  TempDir dir("baton-tls");
  ASSERT_TRUE(dir.ok());
  { std::ofstream(dir.File("cert.pem")) << "not used\n"; }
  const auto no_cert = MakeApiServer(Tls(dir, "missing-cert.pem", "cert.pem"));
  ASSERT_FALSE(no_cert.ok());
  EXPECT_EQ(no_cert.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_cert.status().message().find("restapi.certfile " + dir.File("missing-cert.pem")),
            std::string::npos)
      << no_cert.status().ToString();
  EXPECT_NE(no_cert.status().message().find("No such file"), std::string::npos);

  const auto no_key = MakeApiServer(Tls(dir, "cert.pem", "missing-key.pem"));
  ASSERT_FALSE(no_key.ok());
  EXPECT_EQ(no_key.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_key.status().message().find("restapi.keyfile " + dir.File("missing-key.pem")),
            std::string::npos)
      << no_key.status().ToString();
}

TEST(AdminAuthTlsTest, GarbageCertOrKeyIsInvalidArgument) {
  REQUIRE_OPENSSL_CLI();
  TempDir dir("baton-tls");
  ASSERT_TRUE(dir.ok());
  ASSERT_NO_FATAL_FAILURE(MakeSelfSignedCert(dir));
  { std::ofstream(dir.File("garbage.pem")) << "-----BEGIN CERTIFICATE-----\nnope\n"; }
  for (const auto& security :
       {Tls(dir, "garbage.pem", "key.pem"), Tls(dir, "cert.pem", "garbage.pem"),
        Tls(dir, "key.pem", "cert.pem")}) {
    const auto server = MakeApiServer(security);
    ASSERT_FALSE(server.ok()) << security.cert_file << " " << security.key_file;
    EXPECT_EQ(server.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(server.status().message().find(security.cert_file), std::string::npos);
    EXPECT_NE(server.status().message().find(security.key_file), std::string::npos);
  }
}

TEST(AdminAuthTlsTest, KeyThatDoesNotMatchTheCertIsRefused) {
  REQUIRE_OPENSSL_CLI();
  TempDir dir("baton-tls");
  ASSERT_TRUE(dir.ok());
  ASSERT_NO_FATAL_FAILURE(MakeSelfSignedCert(dir));
  ASSERT_NO_FATAL_FAILURE(Openssl({"genpkey", "-algorithm", "EC", "-pkeyopt",
                                   "ec_paramgen_curve:P-256", "-out", dir.File("other-key.pem")}));
  const auto server = MakeApiServer(Tls(dir, "cert.pem", "other-key.pem"));
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), StatusCode::kInvalidArgument);
}

TEST(AdminAuthTlsTest, ServesHttpsWithASelfSignedCert) {
  REQUIRE_OPENSSL_CLI();
  TempDir dir("baton-tls");
  ASSERT_TRUE(dir.ok());
  ASSERT_NO_FATAL_FAILURE(MakeSelfSignedCert(dir));
  auto made = MakeApiServer(Tls(dir));
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  httplib::Server& server = **made;
  ASSERT_NE(dynamic_cast<httplib::SSLServer*>(&server), nullptr);
  ASSERT_TRUE(server.is_valid());
  server.Get("/ping", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("pong", "text/plain");
  });
  // An admin verb wired as RestApi::AddAdminVerb does, to see the header arrive over TLS.
  server.Post("/admin", [](const httplib::Request& req, httplib::Response& res) {
    const AdminReply reply = RunAdminVerb(TokenOnly(), req.get_header_value("Authorization"),
                                          req.body, [](const nlohmann::json& body) {
                                            return AdminReply{200, {{"got", body}}};
                                          });
    res.status = reply.http_status;
    res.set_content(reply.body.dump(), "application/json");
  });
  Serving serving(server);
  ASSERT_TRUE(serving.running());

  httplib::SSLClient client("127.0.0.1", serving.port());
  client.enable_server_certificate_verification(false);
  client.set_connection_timeout(std::chrono::seconds(10));
  client.set_read_timeout(std::chrono::seconds(10));
  const auto ping = client.Get("/ping");
  ASSERT_TRUE(ping) << httplib::to_string(ping.error());
  EXPECT_EQ(ping->status, 200);
  EXPECT_EQ(ping->body, "pong");

  const auto anonymous = client.Post("/admin", "{}", "application/json");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  client.set_bearer_token_auth(kToken);
  const auto admin = client.Post("/admin", R"({"a": 1})", "application/json");
  ASSERT_TRUE(admin);
  EXPECT_EQ(admin->status, 200);
  EXPECT_EQ(nlohmann::json::parse(admin->body), (nlohmann::json{{"got", {{"a", 1}}}}));

  // Verifying against the certificate itself works too (it names 127.0.0.1).
  httplib::SSLClient verifying("127.0.0.1", serving.port());
  verifying.set_ca_cert_path(dir.File("cert.pem").c_str());
  verifying.enable_server_certificate_verification(true);
  verifying.set_connection_timeout(std::chrono::seconds(10));
  verifying.set_read_timeout(std::chrono::seconds(10));
  const auto verified = verifying.Get("/ping");
  ASSERT_TRUE(verified) << httplib::to_string(verified.error());
  EXPECT_EQ(verified->status, 200);

  // No plain-HTTP fallback on the same port.
  httplib::Client plain("127.0.0.1", serving.port());
  plain.set_connection_timeout(std::chrono::seconds(10));
  plain.set_read_timeout(std::chrono::seconds(2));
  const auto cleartext = plain.Get("/ping");
  EXPECT_TRUE(!cleartext || cleartext->status != 200);
}

}  // namespace
}  // namespace baton
