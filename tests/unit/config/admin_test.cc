#include <sys/stat.h>
#include <unistd.h>

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

namespace {

constexpr std::string_view kToken = "0123456789abcdef0123456789abcdef-token";

// Writes the token file with `mode` (a credential: 0600 unless a test says otherwise).
std::string writeToken(const TempDir& dir, std::string_view text, mode_t mode = 0600) {
  std::string path = dir.write("keys/admin-token", text);
  REQUIRE(::chmod(path.c_str(), mode) == 0);
  return path;
}

std::string withTokenFile(std::string_view file) {
  return std::string(kMinimal) + "[admin]\naddress = \"127.0.0.1:9901\"\ntoken_file = \"" +
         std::string(file) + "\"\n";
}

}  // namespace

TEST_CASE("[admin] token_file: one line, relative to the config, newline stripped",
          "[config][admin]") {
  TempDir dir;
  SECTION("absent: no token") {
    LoadResult r = dir.load(std::string(kMinimal) + "[admin]\naddress = \"127.0.0.1:9901\"\n");
    REQUIRE(r.config);
    CHECK(r.config->admin->token.empty());
    CHECK(r.config->admin->token_file.empty());
  }
  SECTION("LF") {
    std::string path = writeToken(dir, std::string(kToken) + "\n");
    LoadResult r = dir.load(withTokenFile("keys/admin-token"));
    INFO(joinErrors(r));
    REQUIRE(r.config);
    CHECK(r.config->admin->token == kToken);
    CHECK(r.config->admin->token_file == path);
  }
  SECTION("CRLF, group-readable") {
    writeToken(dir, std::string(kToken) + "\r\n", 0640);
    LoadResult r = dir.load(withTokenFile("keys/admin-token"));
    INFO(joinErrors(r));
    REQUIRE(r.config);
    CHECK(r.config->admin->token == kToken);
  }
  SECTION("no newline at all, exactly the minimum length") {
    writeToken(dir, std::string(config::kMinAdminToken, 'x'));
    LoadResult r = dir.load(withTokenFile("keys/admin-token"));
    INFO(joinErrors(r));
    REQUIRE(r.config);
    CHECK(r.config->admin->token == std::string(config::kMinAdminToken, 'x'));
  }
}

TEST_CASE("[admin] token_file errors name the file, never the token", "[config][admin]") {
  TempDir dir;
  auto checkQuiet = [](const LoadResult& r, std::string_view secret) {
    for (const std::string& e : r.errors) CHECK(e.find(secret) == std::string::npos);
  };
  SECTION("too short") {
    writeToken(dir, "short-SECRET-xyz\n");
    LoadResult r = dir.load(withTokenFile("keys/admin-token"));
    INFO(joinErrors(r));
    CHECK(hasError(r, "12:14", "admin.token_file", "admin-token", "a token of 16 bytes",
                   "at least 32"));
    checkQuiet(r, "SECRET");
  }
  SECTION("two lines") {
    writeToken(dir, std::string(kToken) + "\nSECOND-line-SECRET\n");
    LoadResult r = dir.load(withTokenFile("keys/admin-token"));
    INFO(joinErrors(r));
    CHECK(hasError(r, "12:14", "admin.token_file", "more than one line"));
    checkQuiet(r, "SECOND-line");
  }
  SECTION("a space inside") {
    writeToken(dir, "0123456789abcdef 0123456789abcdef-SECRET\n");
    LoadResult r = dir.load(withTokenFile("keys/admin-token"));
    INFO(joinErrors(r));
    CHECK(hasError(r, "12:14", "admin.token_file", "printable ASCII", "openssl rand -hex 32"));
    checkQuiet(r, "SECRET");
  }
  SECTION("readable by every user") {
    writeToken(dir, std::string(kToken) + "\n", 0644);
    LoadResult r = dir.load(withTokenFile("keys/admin-token"));
    INFO(joinErrors(r));
    CHECK(hasError(r, "12:14", "admin.token_file", "has mode 0644", "chmod o-rwx"));
  }
  SECTION("missing") {
    LoadResult r = dir.load(withTokenFile("nope"));
    INFO(joinErrors(r));
    CHECK(hasError(r, "12:14", "admin.token_file", dir.path() + "/nope", "does not exist"));
  }
  SECTION("empty path, wrong type") {
    LoadResult r = dir.load(withTokenFile(""));
    CHECK(hasError(r, "12:14", "admin.token_file is empty"));
    r = dir.load(std::string(kMinimal) + "[admin]\naddress = \"127.0.0.1:9901\"\ntoken_file = 1\n");
    CHECK(hasError(r, "12:14", "admin.token_file", "expected"));
  }
}
