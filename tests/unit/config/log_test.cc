#include <catch2/catch.hpp>

#include "temp_config.h"

using namespace sesame;
using config::LoadResult;
using config::LogConfig;
using config::testing::hasError;
using config::testing::joinErrors;
using config::testing::kMinimal;
using config::testing::TempDir;

TEST_CASE("[log] defaults: no access log, combined, info", "[config][log]") {
  TempDir dir;
  LoadResult r = dir.load(kMinimal);
  INFO(joinErrors(r));
  REQUIRE(r.config);
  CHECK(r.config->log.access == LogConfig::Access::kOff);
  CHECK(r.config->log.format == LogConfig::Format::kCombined);
  CHECK(r.config->log.level == log::Level::kInfo);
}

TEST_CASE("[log] access is stderr, off or a path resolved against the file", "[config][log]") {
  TempDir dir;
  SECTION("stderr, json, warn") {
    LoadResult r = dir.load(std::string(kMinimal) +
                            "[log]\naccess = \"stderr\"\nformat = \"json\"\nlevel = \"warn\"\n");
    INFO(joinErrors(r));
    REQUIRE(r.config);
    CHECK(r.config->log.access == LogConfig::Access::kStderr);
    CHECK(r.config->log.format == LogConfig::Format::kJson);
    CHECK(r.config->log.level == log::Level::kWarn);
  }
  SECTION("off") {
    LoadResult r = dir.load(std::string(kMinimal) + "[log]\naccess = \"off\"\nlevel = \"debug\"\n");
    REQUIRE(r.config);
    CHECK(r.config->log.access == LogConfig::Access::kOff);
    CHECK(r.config->log.level == log::Level::kDebug);
  }
  SECTION("a relative path, with where it was configured") {
    LoadResult r = dir.load(std::string(kMinimal) + "[log]\naccess = \"logs/access.log\"\n");
    INFO(joinErrors(r));
    REQUIRE(r.config);
    CHECK(r.config->log.access == LogConfig::Access::kFile);
    CHECK(r.config->log.access_path == dir.path() + "/logs/access.log");
    // kMinimal has 9 lines; [log] is line 10, access line 11, column 10.
    CHECK(r.config->log.access_origin == dir.path() + "/sesame.toml:11:10");
  }
  SECTION("an absolute path is kept, and the file is not touched by the load") {
    LoadResult r =
        dir.load(std::string(kMinimal) + "[log]\naccess = \"/nonexistent/dir/access.log\"\n");
    REQUIRE(r.config);
    CHECK(r.config->log.access_path == "/nonexistent/dir/access.log");
  }
}

TEST_CASE("[log] errors name the key and its position", "[config][log]") {
  TempDir dir;
  LoadResult r = dir.load(std::string(kMinimal) + R"([log]
access = ""
format = "clf"
level = "verbose"
colour = true
)");
  REQUIRE_FALSE(r.config);
  INFO(joinErrors(r));
  CHECK(hasError(r, "11:10", "log.access is empty", "stderr"));
  CHECK(hasError(r, "12:10", "log.format \"clf\"", "\"combined\" or \"json\""));
  CHECK(hasError(r, "13:9", "log.level \"verbose\"", "\"debug\"", "\"error\""));
  CHECK(hasError(r, "14:1", "unknown key log.colour"));
  CHECK(r.errors.size() == 4);

  SECTION("wrong types") {
    LoadResult t = dir.load(std::string(kMinimal) + "[log]\naccess = true\nlevel = 3\n");
    REQUIRE_FALSE(t.config);
    INFO(joinErrors(t));
    CHECK(hasError(t, "11:10", "log.access"));
    CHECK(hasError(t, "12:9", "log.level"));
  }
  SECTION("[log] must be a table") {
    LoadResult t = dir.load("log = \"stderr\"\n" + std::string(kMinimal));
    REQUIRE_FALSE(t.config);
    INFO(joinErrors(t));
    CHECK(hasError(t, "1:7", "log"));
  }
}
