// CSRF check: Sec-Fetch-Site, then Origin, then Referer, against the request's own origin.
#include <catch2/catch.hpp>

#include <initializer_list>
#include <utility>

#include "sesame/session/csrf.h"

using sesame::http::HeaderList;
using sesame::session::allowUnsafeRequest;
using sesame::session::allowUpgradeRequest;
using sesame::session::normalizeOrigin;
using sesame::session::originOfUrl;

namespace {

constexpr std::string_view kSelf = "https://app.example.com";

bool allow(std::initializer_list<std::pair<const char*, const char*>> fields,
           std::string_view method = "POST", std::vector<std::string> allowed = {},
           std::string_view self = kSelf) {
  HeaderList h;
  for (const auto& [name, value] : fields) h.add(name, value);
  return allowUnsafeRequest(method, h, self, allowed);
}

bool allowUpgrade(std::initializer_list<std::pair<const char*, const char*>> fields,
                  std::vector<std::string> allowed = {}) {
  HeaderList h;
  for (const auto& [name, value] : fields) h.add(name, value);
  return allowUpgradeRequest(h, kSelf, allowed);
}

}  // namespace

TEST_CASE("normalizeOrigin", "[session][csrf]") {
  REQUIRE(normalizeOrigin("https://app.example.com") == "https://app.example.com");
  REQUIRE(normalizeOrigin("HTTPS://App.Example.COM") == "https://app.example.com");
  REQUIRE(normalizeOrigin("https://a.example:443") == "https://a.example");
  REQUIRE(normalizeOrigin("http://a.example:80") == "http://a.example");
  REQUIRE(normalizeOrigin("http://a.example:443") == "http://a.example:443");
  REQUIRE(normalizeOrigin("https://a.example:80") == "https://a.example:80");
  REQUIRE(normalizeOrigin("https://a.example:08443") == "https://a.example:8443");
  REQUIRE(normalizeOrigin("https://a.example:") == "https://a.example");
  REQUIRE(normalizeOrigin("https://[::1]:8443") == "https://[::1]:8443");
  REQUIRE(normalizeOrigin("https://[::1]:443") == "https://[::1]");
  REQUIRE(normalizeOrigin("http://127.0.0.1:8080") == "http://127.0.0.1:8080");
  for (const char* bad :
       {"null", "", "https://", "app.example.com", "ftp://a.example", "https://a.example/",
        "https://a.example/path", "https://u@a.example", "https://a.example:0",
        "https://a.example:65536", "https://a.example:1x", "https://a.example:1:2",
        "https://a b.example", "https://[::1", "https://[]", "https://[::1]x", "https://[zz]"}) {
    INFO(bad);
    REQUIRE_FALSE(normalizeOrigin(bad));
  }
}

TEST_CASE("originOfUrl drops path, query and fragment", "[session][csrf]") {
  REQUIRE(originOfUrl("https://App.example.com/a/b?x=https://evil.example#f") ==
          "https://app.example.com");
  REQUIRE(originOfUrl("https://app.example.com:443?q") == "https://app.example.com");
  REQUIRE(originOfUrl("https://app.example.com#frag") == "https://app.example.com");
  REQUIRE(originOfUrl("http://a.example:8080/") == "http://a.example:8080");
  REQUIRE_FALSE(originOfUrl("/relative?u=https://app.example.com"));
  REQUIRE_FALSE(originOfUrl("https://user:pw@app.example.com/"));
  REQUIRE_FALSE(originOfUrl("about:blank"));
}

TEST_CASE("safe methods are always allowed", "[session][csrf]") {
  for (const char* m : {"GET", "HEAD", "OPTIONS"}) {
    REQUIRE(allow({{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example"}}, m));
  }
  // Methods are case-sensitive (RFC 9110 §9.1): "get" is not GET.
  REQUIRE_FALSE(allow({{"Sec-Fetch-Site", "cross-site"}}, "get"));
  for (const char* m : {"POST", "PUT", "DELETE", "PATCH", "PROPFIND"}) {
    REQUIRE_FALSE(allow({{"Origin", "https://evil.example"}}, m));
  }
}

TEST_CASE("Sec-Fetch-Site decides first", "[session][csrf]") {
  SECTION("cross-site is refused even with a matching Origin") {
    REQUIRE_FALSE(allow({{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://app.example.com"}}));
    REQUIRE_FALSE(allow({{"sec-fetch-site", "Cross-Site"}}));
  }
  SECTION("cross-site in any field is refused") {
    REQUIRE_FALSE(allow({{"Sec-Fetch-Site", "same-origin"}, {"Sec-Fetch-Site", "cross-site"}}));
  }
  SECTION("same-origin and none are allowed without looking at Origin") {
    REQUIRE(allow({{"Sec-Fetch-Site", "same-origin"}, {"Origin", "https://evil.example"}}));
    REQUIRE(allow({{"Sec-Fetch-Site", "none"}}));
  }
  SECTION("same-site falls back to Origin") {
    REQUIRE_FALSE(allow({{"Sec-Fetch-Site", "same-site"}, {"Origin", "https://evil.example.com"}}));
    REQUIRE(allow({{"Sec-Fetch-Site", "same-site"}, {"Origin", "https://www.example.com"}}, "POST",
                  {"https://www.example.com"}));
  }
  SECTION("unknown values fall back to Origin") {
    REQUIRE(allow({{"Sec-Fetch-Site", "bogus"}, {"Origin", "https://app.example.com"}}));
    REQUIRE_FALSE(allow({{"Sec-Fetch-Site", "bogus"}, {"Origin", "https://evil.example"}}));
  }
  SECTION("a browser header without Origin or Referer is refused") {
    REQUIRE_FALSE(allow({{"Sec-Fetch-Site", "same-site"}}));
  }
}

TEST_CASE("Origin is compared normalised", "[session][csrf]") {
  REQUIRE(allow({{"Origin", "https://app.example.com"}}));
  REQUIRE(allow({{"Origin", "HTTPS://APP.example.com:443"}}));
  REQUIRE_FALSE(allow({{"Origin", "http://app.example.com"}}));
  REQUIRE_FALSE(allow({{"Origin", "https://app.example.com:8443"}}));
  REQUIRE_FALSE(allow({{"Origin", "https://app.example.com.evil.example"}}));
  REQUIRE_FALSE(allow({{"Origin", "https://evil.example"}}));
  REQUIRE_FALSE(allow({{"Origin", "null"}}));
  REQUIRE_FALSE(allow({{"Origin", ""}}));
  REQUIRE_FALSE(allow({{"Origin", "https://app.example.com/"}}));
  SECTION("request origin with a port") {
    REQUIRE(allow({{"Origin", "https://app.example.com:8443"}}, "POST", {},
                  "https://app.example.com:8443"));
    REQUIRE_FALSE(
        allow({{"Origin", "https://app.example.com"}}, "POST", {}, "https://app.example.com:8443"));
    REQUIRE(allow({{"Origin", "http://localhost:8080"}}, "POST", {}, "HTTP://LOCALHOST:8080"));
  }
  SECTION("two Origin fields are refused") {
    REQUIRE_FALSE(
        allow({{"Origin", "https://app.example.com"}, {"Origin", "https://app.example.com"}}));
  }
}

TEST_CASE("allowed origins", "[session][csrf]") {
  const std::vector<std::string> allowed{"https://admin.example.com", "HTTP://Partner.example:80",
                                         "not an origin"};
  REQUIRE(allow({{"Origin", "https://admin.example.com:443"}}, "POST", allowed));
  REQUIRE(allow({{"Origin", "http://partner.example"}}, "PUT", allowed));
  REQUIRE_FALSE(allow({{"Origin", "https://partner.example"}}, "POST", allowed));
  REQUIRE_FALSE(allow({{"Origin", "not an origin"}}, "POST", allowed));
  REQUIRE(allow({{"Referer", "https://admin.example.com/page?x=1"}}, "POST", allowed));
}

TEST_CASE("Referer when Origin is absent", "[session][csrf]") {
  REQUIRE(allow({{"Referer", "https://app.example.com/cart?item=3#top"}}));
  REQUIRE(allow({{"Referer", "https://APP.example.com:443/"}}));
  REQUIRE_FALSE(allow({{"Referer", "https://evil.example/?next=https://app.example.com/"}}));
  REQUIRE_FALSE(allow({{"Referer", "https://app.example.com:8443/path"}}));
  REQUIRE_FALSE(allow({{"Referer", "/relative"}}));
  REQUIRE_FALSE(allow({{"Referer", "https://app.example.com@evil.example/"}}));
  SECTION("Origin wins over Referer") {
    REQUIRE_FALSE(
        allow({{"Referer", "https://app.example.com/"}, {"Origin", "https://evil.example"}}));
    REQUIRE(allow({{"Referer", "https://evil.example/"}, {"Origin", "https://app.example.com"}}));
  }
}

TEST_CASE("no Origin and no Referer is a non-browser client", "[session][csrf]") {
  REQUIRE(allow({}));
  REQUIRE(allow({{"User-Agent", "curl/8.0"}, {"Content-Type", "application/json"}}, "DELETE"));
}

TEST_CASE("an invalid request origin only matches allowed origins", "[session][csrf]") {
  REQUIRE_FALSE(allow({{"Origin", "https://app.example.com"}}, "POST", {}, "garbage"));
  REQUIRE(allow({{"Origin", "https://app.example.com"}}, "POST", {"https://app.example.com"},
                "garbage"));
}

namespace {

sesame::session::CsrfVerdict verdict(
    std::initializer_list<std::pair<const char*, const char*>> fields,
    std::string_view method = "POST") {
  static HeaderList h;  // the verdict's views point into it
  h = HeaderList();
  for (const auto& [name, value] : fields) h.add(name, value);
  return sesame::session::checkUnsafeRequest(method, h, kSelf, {});
}

}  // namespace

TEST_CASE("checkUnsafeRequest names the field that decided, for the log", "[session][csrf]") {
  using sesame::session::CsrfVerdict;
  CsrfVerdict v = verdict({{"Sec-Fetch-Site", "cross-site"}, {"Origin", kSelf.data()}});
  CHECK_FALSE(v.allowed);
  CHECK(v.field == "Sec-Fetch-Site");
  CHECK(v.value == "cross-site");
  CHECK(v.why == "says so");

  v = verdict({{"Origin", "https://evil.example"}});
  CHECK_FALSE(v.allowed);
  CHECK(v.field == "Origin");
  CHECK(v.value == "https://evil.example");
  CHECK(v.why == "is not this site's origin nor in csrf_origins");

  v = verdict({{"Origin", "https://evil.example"}, {"Origin", kSelf.data()}});
  CHECK_FALSE(v.allowed);
  CHECK(v.why == "is sent twice");

  v = verdict({{"Sec-Fetch-Site", "same-site"}});
  CHECK_FALSE(v.allowed);
  CHECK(v.field == "Sec-Fetch-Site");
  CHECK(v.value == "same-site");
  CHECK(v.why == "comes without Origin or Referer");

  v = verdict({{"Origin", kSelf.data()}});
  CHECK(v.allowed);
  CHECK(v.field == "Origin");
  CHECK(v.why.empty());

  v = verdict({});
  CHECK(v.allowed);
  CHECK(v.field.empty());
  CHECK(verdict({{"Origin", "https://evil.example"}}, "GET").allowed);
}

TEST_CASE("checkUnsafeRequest shows a Referer's origin only, never its path, query or userinfo",
          "[session][csrf]") {
  using sesame::session::CsrfVerdict;
  CsrfVerdict v = verdict({{"Referer", "https://evil.example:8443/reset?token=s3cret#x"}});
  CHECK_FALSE(v.allowed);
  CHECK(v.field == "Referer");
  CHECK(v.value == "https://evil.example:8443");

  v = verdict({{"Referer", "https://user:pw@evil.example/x"}});
  CHECK_FALSE(v.allowed);
  CHECK(v.value == "https://");

  v = verdict({{"Referer", "/relative?token=s3cret"}});
  CHECK_FALSE(v.allowed);
  CHECK(v.value.empty());
}

TEST_CASE("cross-site WebSocket hijack: upgrades are checked although they are GETs",
          "[session][csrf]") {
  // What a page on another site sends when it opens new WebSocket(...).
  REQUIRE_FALSE(allowUpgrade({{"Origin", "https://evil.example"}}));
  REQUIRE_FALSE(
      allowUpgrade({{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example"}}));
  REQUIRE_FALSE(allowUpgrade({{"Origin", "null"}}));
  REQUIRE_FALSE(
      allowUpgrade({{"Sec-Fetch-Site", "same-site"}, {"Origin", "https://www.example.com"}}));
  REQUIRE_FALSE(allowUpgrade({{"Origin", "http://app.example.com"}}));  // scheme differs
  // The same rules as for unsafe methods allow the application's own pages
  // and csrf_origins.
  REQUIRE(allowUpgrade({{"Origin", "https://app.example.com"}}));
  REQUIRE(allowUpgrade({{"Sec-Fetch-Site", "same-origin"}, {"Origin", "https://app.example.com"}}));
  REQUIRE(allowUpgrade({{"Origin", "https://www.example.com"}}, {"https://www.example.com"}));
  // No Origin at all: a non-browser client (browsers always send one on a
  // handshake), allowed as for unsafe methods; a browser marker without it
  // is not.
  REQUIRE(allowUpgrade({}));
  REQUIRE_FALSE(allowUpgrade({{"Sec-Fetch-Site", "cross-site"}}));
  REQUIRE_FALSE(allowUpgrade({{"Sec-Fetch-Site", "same-site"}}));
}
