#include "core/http_url.h"

#include <gtest/gtest.h>

namespace baton {
namespace {

TEST(HttpUrlTest, SplitsOriginAndTargetWithDefaultPorts) {
  auto plain = HttpUrl::Parse("http://127.0.0.1:9000/alerts/baton?team=db");
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->scheme, "http");
  EXPECT_EQ(plain->host, "127.0.0.1");
  EXPECT_EQ(plain->port, 9000);
  EXPECT_EQ(plain->target, "/alerts/baton?team=db");
  EXPECT_EQ(plain->Origin(), "http://127.0.0.1:9000");
  EXPECT_FALSE(plain->tls());

  auto tls = HttpUrl::Parse("HTTPS://hooks.example.com");
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  EXPECT_TRUE(tls->tls());
  EXPECT_EQ(tls->port, 443);
  EXPECT_EQ(tls->target, "/");
  EXPECT_EQ(HttpUrl::Parse("http://h?x=1")->target, "/?x=1");
  EXPECT_EQ(HttpUrl::Parse("http://h/")->port, 80);
}

TEST(HttpUrlTest, RefusesWhatAClientCouldNotUse) {
  for (const char* bad : {"", "h:80/x", "ftp://h/x", "http://", "http:///x", "http://h:0/",
                          "http://h:99999/", "http://h:port/", "http://u:p@h/", "http://h/#top"}) {
    auto url = HttpUrl::Parse(bad);
    EXPECT_FALSE(url.ok()) << bad;
    EXPECT_EQ(url.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace baton
