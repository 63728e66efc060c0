#include "api/admin_auth.h"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

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

}  // namespace
}  // namespace baton
