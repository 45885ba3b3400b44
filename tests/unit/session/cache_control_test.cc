// Responses carrying the session cookie: kept out of shared caches.
#include "sesame/session/cache_control.h"

#include <catch2/catch.hpp>

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

using sesame::http::HeaderList;
using sesame::session::forbidCaching;
using sesame::session::isPrivateNoStore;

namespace {

HeaderList fields(std::initializer_list<std::pair<const char*, const char*>> list) {
  HeaderList h;
  for (const auto& [name, value] : list) h.add(name, value);
  return h;
}

std::vector<std::string> lines(const HeaderList& h) {
  std::vector<std::string> out;
  for (const auto& f : h.fields()) out.push_back(f.name + ": " + f.value);
  return out;
}

}  // namespace

TEST_CASE("isPrivateNoStore needs both directives, bare", "[session][cache]") {
  REQUIRE(isPrivateNoStore(fields({{"Cache-Control", "private, no-store"}})));
  REQUIRE(isPrivateNoStore(fields({{"Cache-Control", "NO-STORE,PRIVATE, max-age=0"}})));
  REQUIRE(isPrivateNoStore(fields({{"Cache-Control", "no-store"}, {"cache-control", "private"}})));
  REQUIRE_FALSE(isPrivateNoStore(fields({})));
  REQUIRE_FALSE(isPrivateNoStore(fields({{"Cache-Control", "no-store"}})));
  REQUIRE_FALSE(isPrivateNoStore(fields({{"Cache-Control", "private, max-age=3600"}})));
  REQUIRE_FALSE(isPrivateNoStore(fields({{"Cache-Control", "no-cache, private"}})));
  // private with a field list only hides those fields from shared caches.
  REQUIRE_FALSE(isPrivateNoStore(fields({{"Cache-Control", "private=\"Set-Cookie\", no-store"}})));
  // Commas inside a quoted argument do not make directives.
  REQUIRE_FALSE(
      isPrivateNoStore(fields({{"Cache-Control", "private, no-cache=\"a, no-store, b\""}})));
  REQUIRE_FALSE(isPrivateNoStore(fields({{"Cache-Control", "private, x=\"\\\", no-store\""}})));
  REQUIRE_FALSE(isPrivateNoStore(fields({{"X-Cache-Control", "private, no-store"}})));
}

TEST_CASE("shared-cache leak: forbidCaching replaces anything weaker", "[session][cache]") {
  SECTION("a public, cacheable response") {
    HeaderList h = fields({{"Content-Type", "text/html"},
                           {"Cache-Control", "public, max-age=3600"},
                           {"Cache-Control", "s-maxage=600"},
                           {"ETag", "\"1\""}});
    forbidCaching(h);
    REQUIRE(lines(h) == std::vector<std::string>{"Content-Type: text/html", "ETag: \"1\"",
                                                 "Cache-Control: private, no-store"});
  }
  SECTION("none at all") {
    HeaderList h;
    forbidCaching(h);
    REQUIRE(lines(h) == std::vector<std::string>{"Cache-Control: private, no-store"});
  }
  SECTION("no-store alone, or private alone, is not enough") {
    for (const char* weaker : {"no-store", "private", "no-cache", "private, max-age=60"}) {
      HeaderList h = fields({{"Cache-Control", weaker}});
      forbidCaching(h);
      INFO(weaker);
      REQUIRE(lines(h) == std::vector<std::string>{"Cache-Control: private, no-store"});
    }
  }
  SECTION("an upstream's as strict one is kept as sent") {
    HeaderList h = fields({{"Cache-Control", "no-store, private, must-revalidate"}});
    forbidCaching(h);
    REQUIRE(lines(h) ==
            std::vector<std::string>{"Cache-Control: no-store, private, must-revalidate"});
  }
  SECTION("targeted fields that CDNs obey instead always go") {
    HeaderList h = fields({{"CDN-Cache-Control", "max-age=3600"},
                           {"Cloudflare-CDN-Cache-Control", "max-age=60"},
                           {"surrogate-control", "max-age=600"},
                           {"Cache-Control", "private, no-store"},
                           {"Vary", "Accept"}});
    forbidCaching(h);
    REQUIRE(lines(h) ==
            std::vector<std::string>{"Cache-Control: private, no-store", "Vary: Accept"});
  }
}
