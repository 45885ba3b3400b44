#include <catch2/catch.hpp>

#include "temp_config.h"

using namespace sesame;
using config::LoadResult;
using config::testing::hasError;
using config::testing::joinErrors;
using config::testing::kMinimal;
using config::testing::TempDir;

TEST_CASE("[admin] is absent by default", "[config][admin]") {
  TempDir dir;
  LoadResult r = dir.load(kMinimal);
  REQUIRE(r.config);
  CHECK_FALSE(r.config->admin);
}

TEST_CASE("[admin] address is parsed like a listen address", "[config][admin]") {
  TempDir dir;
  SECTION("loopback IPv4") {
    LoadResult r = dir.load(std::string(kMinimal) + "[admin]\naddress = \"127.0.0.1:9901\"\n");
    INFO(joinErrors(r));
    REQUIRE(r.config);
    REQUIRE(r.config->admin);
    CHECK(r.config->admin->address == "127.0.0.1:9901");
    CHECK(r.config->admin->addr.toString() == "127.0.0.1:9901");
  }
  SECTION("IPv6, and a non-loopback address is accepted") {
    LoadResult r = dir.load(std::string(kMinimal) + "[admin]\naddress = \"[::]:9901\"\n");
    INFO(joinErrors(r));
    REQUIRE(r.config);
    CHECK(r.config->admin->addr.toString() == "[::]:9901");
  }
  SECTION("the same port as a listener on another host address") {
    LoadResult r = dir.load(std::string(kMinimal) + "[admin]\naddress = \"127.0.0.2:8080\"\n");
    INFO(joinErrors(r));
    CHECK(r.config);
  }
}

TEST_CASE("[admin] errors name the key and its position", "[config][admin]") {
  TempDir dir;
  // kMinimal has 9 lines; [admin] is line 10.
  SECTION("address missing, unknown key") {
    LoadResult r = dir.load(std::string(kMinimal) + "[admin]\nport = 9901\n");
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "10:1", "admin.address is missing", "host:port"));
    CHECK(hasError(r, "11:1", "unknown key admin.port"));
    CHECK(r.errors.size() == 2);
  }
  SECTION("malformed address") {
    LoadResult r = dir.load(std::string(kMinimal) + "[admin]\naddress = \"127.0.0.1\"\n");
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "11:11", "admin.address \"127.0.0.1\" is not a usable address"));
  }
  SECTION("wrong type") {
    LoadResult r = dir.load(std::string(kMinimal) + "[admin]\naddress = 9901\n");
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "11:11", "admin.address", "expected"));
  }
  SECTION("[admin] must be a table") {
    LoadResult r = dir.load("admin = \"127.0.0.1:9901\"\n" + std::string(kMinimal));
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "1:9", "admin", "a table ([admin])"));
  }
}

TEST_CASE("[admin] address may not be a listener's", "[config][admin]") {
  TempDir dir;
  SECTION("the same address") {
    LoadResult r = dir.load(std::string(kMinimal) + "[admin]\naddress = \"127.0.0.1:8080\"\n");
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "11:11", "admin.address \"127.0.0.1:8080\" overlaps listen[0].address",
                   "an address of their own"));
  }
  SECTION("a wildcard listener on the same port") {
    LoadResult r = dir.load(R"([[listen]]
address = "0.0.0.0:8080"

[upstream.app]
servers = ["127.0.0.1:9000"]

[[route]]
path = "/"
upstream = "app"
[admin]
address = "127.0.0.1:8080"
)");
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "11:11", "overlaps listen[0].address \"0.0.0.0:8080\""));
  }
  SECTION("a wildcard admin address on a listener's port") {
    LoadResult r = dir.load(std::string(kMinimal) + "[admin]\naddress = \"0.0.0.0:8080\"\n");
    REQUIRE_FALSE(r.config);
    CHECK(hasError(r, "11:11", "overlaps listen[0].address"));
  }
}

TEST_CASE("[admin] ready_requires: all three by default, any subset", "[config][admin]") {
  TempDir dir;
  const std::string admin = std::string(kMinimal) + "[admin]\naddress = \"127.0.0.1:9901\"\n";
  SECTION("default") {
    LoadResult r = dir.load(admin);
    INFO(joinErrors(r));
    REQUIRE(r.config);
    CHECK(r.config->admin->ready.listeners);
    CHECK(r.config->admin->ready.store);
    CHECK(r.config->admin->ready.upstreams);
  }
  SECTION("a subset") {
    LoadResult r = dir.load(admin + "ready_requires = [\"listeners\", \"store\"]\n");
    INFO(joinErrors(r));
    REQUIRE(r.config);
    CHECK(r.config->admin->ready.listeners);
    CHECK(r.config->admin->ready.store);
    CHECK_FALSE(r.config->admin->ready.upstreams);
  }
  SECTION("empty: /readyz answers like /healthz") {
    LoadResult r = dir.load(admin + "ready_requires = []\n");
    INFO(joinErrors(r));
    REQUIRE(r.config);
    CHECK_FALSE(r.config->admin->ready.listeners);
    CHECK_FALSE(r.config->admin->ready.store);
    CHECK_FALSE(r.config->admin->ready.upstreams);
  }
}

TEST_CASE("[admin] ready_requires errors name the entry", "[config][admin]") {
  TempDir dir;
  const std::string admin = std::string(kMinimal) + "[admin]\naddress = \"127.0.0.1:9901\"\n";
  SECTION("an unknown name") {
    LoadResult r = dir.load(admin + "ready_requires = [\"store\", \"redis\"]\n");
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "12:28", "admin.ready_requires[1] \"redis\" is not something /readyz checks",
                   "\"listeners\", \"store\" or \"upstreams\""));
    CHECK(r.errors.size() == 1);
  }
  SECTION("a name twice") {
    LoadResult r = dir.load(admin + "ready_requires = [\"store\", \"store\"]\n");
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "12:28", "admin.ready_requires[1] \"store\" is listed twice"));
  }
  SECTION("not a string") {
    LoadResult r = dir.load(admin + "ready_requires = [1]\n");
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "12:19", "admin.ready_requires[0]: expected", "got an integer"));
  }
  SECTION("not an array") {
    LoadResult r = dir.load(admin + "ready_requires = \"store\"\n");
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "12:18", "admin.ready_requires", "an array of names"));
  }
}
