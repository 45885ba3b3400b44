#include <pwd.h>

#include <catch2/catch.hpp>
#include <string>

#include "temp_config.h"

using namespace sesame::config;
using sesame::config::testing::hasError;
using sesame::config::testing::joinErrors;
using sesame::config::testing::kMinimal;
using sesame::config::testing::TempDir;

namespace {

LoadResult loadWithServer(const TempDir& dir, const std::string& server_table) {
  return dir.load("[server]\n" + server_table + "\n" + std::string(kMinimal));
}

// The first account in the password database with a uid other than 0, so
// the test does not depend on one distribution's user names.
const passwd* someUnprivilegedUser() {
  static std::string name;
  static passwd copy{};
  if (!name.empty()) return &copy;
  setpwent();
  while (const passwd* p = getpwent()) {
    if (p->pw_uid != 0) {
      name = p->pw_name;
      copy = *p;
      copy.pw_name = name.data();
      break;
    }
  }
  endpwent();
  return name.empty() ? nullptr : &copy;
}

}  // namespace

TEST_CASE("server.user is absent by default: no switch", "[config][server]") {
  TempDir dir;
  LoadResult r = dir.load(kMinimal);
  INFO(joinErrors(r));
  REQUIRE(r.config);
  CHECK(r.config->server.user.empty());
  CHECK(r.config->server.uid == 0);
  CHECK(r.config->server.gid == 0);
}

TEST_CASE("server.user resolves to the account's uid and primary gid", "[config][server]") {
  const passwd* user = someUnprivilegedUser();
  REQUIRE(user != nullptr);
  TempDir dir;
  LoadResult r = loadWithServer(dir, "user = \"" + std::string(user->pw_name) + "\"");
  INFO(joinErrors(r));
  REQUIRE(r.config);
  CHECK(r.config->server.user == user->pw_name);
  CHECK(r.config->server.uid == user->pw_uid);
  CHECK(r.config->server.gid == user->pw_gid);
}

TEST_CASE("server.user errors name the user and its position", "[config][server]") {
  TempDir dir;
  SECTION("an unknown user") {
    LoadResult r = loadWithServer(dir, "user = \"no-such-user-sesame\"");
    INFO(joinErrors(r));
    CHECK_FALSE(r.config);
    CHECK(hasError(r, "2:8", "server.user", "\"no-such-user-sesame\"", "not a user"));
  }
  SECTION("root: switching would keep every privilege") {
    LoadResult r = loadWithServer(dir, "user = \"root\"");
    INFO(joinErrors(r));
    CHECK_FALSE(r.config);
    CHECK(hasError(r, "2:8", "server.user", "\"root\"", "uid 0"));
  }
  SECTION("an empty name") {
    LoadResult r = loadWithServer(dir, "user = \"\"");
    INFO(joinErrors(r));
    CHECK_FALSE(r.config);
    CHECK(hasError(r, "2:8", "server.user is empty"));
  }
  SECTION("not a string") {
    LoadResult r = loadWithServer(dir, "user = 65534");
    INFO(joinErrors(r));
    CHECK_FALSE(r.config);
    CHECK(hasError(r, "2:8", "server.user"));
  }
  SECTION("a hostile name cannot forge log lines") {
    LoadResult r = loadWithServer(dir, "user = \"x\\nsesame: fake\"");
    INFO(joinErrors(r));
    CHECK_FALSE(r.config);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].find('\n') == std::string::npos);
  }
}

TEST_CASE("server.shutdown_timeout: a duration, 30 s by default", "[config][server]") {
  TempDir dir;
  LoadResult plain = dir.load(std::string(kMinimal));
  REQUIRE(plain.config);
  CHECK(plain.config->server.shutdown_timeout == std::chrono::seconds(30));
  LoadResult set = loadWithServer(dir, "shutdown_timeout = \"2500ms\"");
  REQUIRE(set.config);
  CHECK(set.config->server.shutdown_timeout == std::chrono::milliseconds(2500));
  LoadResult zero = loadWithServer(dir, "shutdown_timeout = \"0s\"");
  REQUIRE(zero.config);
  CHECK(zero.config->server.shutdown_timeout.count() == 0);
  LoadResult bad = loadWithServer(dir, "shutdown_timeout = \"soon\"");
  CHECK_FALSE(bad.config);
  CHECK(hasError(bad, "2:20", "server.shutdown_timeout"));
  LoadResult number = loadWithServer(dir, "shutdown_timeout = 30");
  CHECK_FALSE(number.config);
  CHECK(hasError(number, "2:20", "server.shutdown_timeout"));
}
