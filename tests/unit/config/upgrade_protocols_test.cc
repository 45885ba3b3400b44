#include <catch2/catch.hpp>

#include "temp_config.h"

using namespace sesame;
using config::LoadResult;
using config::testing::hasError;
using config::testing::joinErrors;
using config::testing::kMinimal;
using config::testing::TempDir;

TEST_CASE("server.upgrade_protocols defaults to websocket only", "[config][upgrade]") {
  TempDir dir;
  LoadResult r = dir.load(kMinimal);
  REQUIRE(r.config);
  CHECK(r.config->server.upgrade_protocols == std::vector<std::string>{"websocket"});
}

TEST_CASE("server.upgrade_protocols takes protocol names", "[config][upgrade]") {
  TempDir dir;
  SECTION("a list, and an empty list that tunnels nothing") {
    LoadResult r = dir.load("[server]\nupgrade_protocols = [\"websocket\", \"foo\"]\n" +
                            std::string(kMinimal));
    INFO(joinErrors(r));
    REQUIRE(r.config);
    CHECK(r.config->server.upgrade_protocols == std::vector<std::string>{"websocket", "foo"});
    LoadResult none = dir.load("[server]\nupgrade_protocols = []\n" + std::string(kMinimal));
    REQUIRE(none.config);
    CHECK(none.config->server.upgrade_protocols.empty());
  }
  SECTION("h2c is refused: its requests would pass the gate unparsed") {
    LoadResult r = dir.load("[server]\nupgrade_protocols = [\"H2C\"]\n" + std::string(kMinimal));
    INFO(joinErrors(r));
    CHECK(hasError(r, "2:22", "server.upgrade_protocols[0] \"H2C\" cannot be tunnelled"));
  }
  SECTION("not a token, a version, or not a string") {
    LoadResult r = dir.load("[server]\nupgrade_protocols = [\"web socket\", \"foo/2\", 3]\n" +
                            std::string(kMinimal));
    INFO(joinErrors(r));
    CHECK(hasError(r, "2:22", "server.upgrade_protocols[0] \"web socket\" is not a protocol name"));
    CHECK(hasError(r, "2:36", "server.upgrade_protocols[1] \"foo/2\" is not a protocol name"));
    CHECK(hasError(r, "2:45", "server.upgrade_protocols[2]: expected a string, got an integer"));
  }
}
