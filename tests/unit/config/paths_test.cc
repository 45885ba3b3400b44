// server.escaped_slashes and route paths in the spelling requests are
// matched in (issue 10 §3).
#include <catch2/catch.hpp>
#include <string>

#include "temp_config.h"

using namespace sesame::config;
using sesame::config::testing::hasError;
using sesame::config::testing::joinErrors;
using sesame::config::testing::kMinimal;
using sesame::config::testing::TempDir;
using sesame::http::EscapedSlashes;

TEST_CASE("server.escaped_slashes: reject by default, or keep", "[config][server]") {
  TempDir dir;
  LoadResult plain = dir.load(std::string(kMinimal));
  REQUIRE(plain.config);
  CHECK(plain.config->server.escaped_slashes == EscapedSlashes::kReject);
  for (auto [text, mode] :
       {std::pair{"reject", EscapedSlashes::kReject}, std::pair{"keep", EscapedSlashes::kKeep}}) {
    LoadResult set = dir.load("[server]\nescaped_slashes = \"" + std::string(text) + "\"\n" +
                              std::string(kMinimal));
    INFO(joinErrors(set));
    REQUIRE(set.config);
    CHECK(set.config->server.escaped_slashes == mode);
  }
  LoadResult bad = dir.load("[server]\nescaped_slashes = \"decode\"\n" + std::string(kMinimal));
  CHECK_FALSE(bad.config);
  CHECK(hasError(bad, "2:19", "server.escaped_slashes \"decode\" is not supported",
                 "expected \"reject\" or \"keep\""));
  LoadResult number = dir.load("[server]\nescaped_slashes = true\n" + std::string(kMinimal));
  CHECK_FALSE(number.config);
  CHECK(hasError(number, "2:19", "server.escaped_slashes"));
}

TEST_CASE("route paths must be in the normal form requests are matched in", "[config][routes]") {
  TempDir dir;
  LoadResult r = dir.load(std::string(kMinimal) + R"(
[[route]]
path = "/%61dmin/"
upstream = "app"
[[route]]
path = "/x/../admin"
upstream = "app"
[[route]]
path = "//admin"
upstream = "app"
[[route]]
path = "/caf%c3%a9"
upstream = "app"
[[route]]
path = "/admin;jsessionid=1/"
upstream = "app"
[[route]]
path = "/api?v=2"
upstream = "app"
[[route]]
path = "/../admin"
upstream = "app"
[[route]]
path = "/a%2Fb"
upstream = "app"
[[route]]
path = "/%zz"
upstream = "app"
)");
  INFO(joinErrors(r));
  CHECK_FALSE(r.config);
  CHECK(hasError(r, "12:8", "route[1].path \"/%61dmin/\" is not in normal form",
                 "write \"/admin/\""));
  CHECK(hasError(r, "15:8", "route[2].path", "write \"/admin\""));
  CHECK(hasError(r, "18:8", "route[3].path", "write \"/admin\""));
  CHECK(hasError(r, "21:8", "route[4].path", "write \"/caf%C3%A9\""));
  CHECK(hasError(r, "24:8", "route[5].path", "without ;parameters"));
  CHECK(hasError(r, "27:8", "route[6].path", "without query"));
  CHECK(hasError(r, "30:8", "route[7].path",
                 "can never match a request (path climbs above the root)"));
  CHECK(
      hasError(r, "36:8", "route[9].path", "can never match a request (invalid percent-encoding"));
  // Escaped slashes match when kept: the path is valid as written.
  CHECK_FALSE(hasError(r, "33:8"));
}
