#include "sesame/outbound/url.h"

#include <catch2/catch.hpp>

using sesame::outbound::parseUrl;

TEST_CASE("outbound url: absolute https URLs", "[outbound]") {
  auto url = parseUrl("https://ID.Example.com/realms/main/.well-known/openid-configuration", false,
                      nullptr);
  REQUIRE(url);
  CHECK(url->https);
  CHECK(url->host == "id.example.com");
  CHECK(url->port == 443);
  CHECK_FALSE(url->ip_literal);
  CHECK(url->target == "/realms/main/.well-known/openid-configuration");
  CHECK(url->authority() == "id.example.com");

  url = parseUrl("HTTPS://id.example.com:8443?a=b%2Fc&d=", false, nullptr);
  REQUIRE(url);
  CHECK(url->port == 8443);
  CHECK(url->target == "/?a=b%2Fc&d=");
  CHECK(url->authority() == "id.example.com:8443");
  CHECK(url->toString() == "https://id.example.com:8443/?a=b%2Fc&d=");

  url = parseUrl("https://id.example.com", false, nullptr);
  REQUIRE(url);
  CHECK(url->target == "/");
  CHECK(url->toString() == "https://id.example.com/");
}

TEST_CASE("outbound url: IP literals", "[outbound]") {
  auto v4 = parseUrl("https://127.0.0.1:9443/jwks", false, nullptr);
  REQUIRE(v4);
  CHECK(v4->ip_literal);
  CHECK(v4->host == "127.0.0.1");
  CHECK(v4->authority() == "127.0.0.1:9443");

  auto v6 = parseUrl("https://[::1]/x", false, nullptr);
  REQUIRE(v6);
  CHECK(v6->ip_literal);
  CHECK(v6->host == "::1");
  CHECK(v6->authority() == "[::1]");
  CHECK(parseUrl("https://[2001:DB8::1]:444/", false, nullptr)->authority() == "[2001:db8::1]:444");
}

TEST_CASE("outbound url: plain http only when allowed", "[outbound]") {
  std::string error;
  CHECK_FALSE(parseUrl("http://id.example.com/", false, &error));
  CHECK(error.find("https") != std::string::npos);
  auto url = parseUrl("http://127.0.0.1/", true, nullptr);
  REQUIRE(url);
  CHECK_FALSE(url->https);
  CHECK(url->port == 80);
}

TEST_CASE("outbound url: refusals", "[outbound]") {
  const char* bad[] = {
      "",
      "id.example.com/path",
      "ftp://id.example.com/",
      "https://user:pw@id.example.com/",     // userinfo
      "https://good.example@evil.example/",  // userinfo that misleads
      "https://id.example.com/#frag",        // fragment
      "https:///path",                       // no host
      "https://:443/",
      "https://id.example.com:/",   // empty port
      "https://id.example.com:0/",  // port 0
      "https://id.example.com:65536/",
      "https://id.example.com:+443/",
      "https://id..example.com/",  // empty label
      "https://id.example.com./",  // trailing dot
      "https://id_example.com/",   // '_' is no host name character
      "https://1.2.3/",            // numeric tail, not dotted-decimal IPv4
      "https://0x7f.1/",
      "https://010.0.0.1/",
      "https://256.0.0.1/",
      "https://[::1/",
      "https://[fe80::1%25eth0]/",  // zone
      "https://[127.0.0.1]/",       // brackets around IPv4
      "https://[::1]x/",
      "https://::1/",
      "https://id.example.com/a b",  // space
      "https://id.example.com/a\tb",
      "https://id.example.com/a\r\nHost: evil",
      "https://id.example.com/\xc3\xa9",  // non-ASCII
      "https://id.example.com/a\\b",
      "https://id.example.com/%zz",
      "https://id.example.com/%4",
      "https://id.example.com/[x]",
  };
  for (const char* text : bad) {
    INFO(text);
    std::string error;
    CHECK_FALSE(parseUrl(text, true, &error));
    CHECK_FALSE(error.empty());
  }
  CHECK_FALSE(parseUrl(std::string("https://id.example.com/a\0b", 26), true, nullptr));
  CHECK_FALSE(parseUrl("https://" + std::string(64, 'a') + ".example/", false, nullptr));
  CHECK(parseUrl("https://" + std::string(63, 'a') + ".example/", false, nullptr));
}

// Found by the outbound_url fuzzer: inet_pton stopped at the NUL and accepted "::".
TEST_CASE("outbound url: a NUL inside an IPv6 literal is refused", "[outbound]") {
  CHECK_FALSE(parseUrl(std::string("https://[::\0\0001]/", 16), false, nullptr));
}
