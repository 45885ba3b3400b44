#include "sesame/proxy/access_log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "../config/temp_config.h"

using namespace sesame;
using proxy::AccessRecord;
using proxy::LogTime;

namespace {

const LogTime kTime{"25/Nov/2026:23:55:40 +0000", "2026-11-25T23:55:40", "+00:00", 7};

AccessRecord fullRecord() {
  AccessRecord r;
  r.client = "192.0.2.7";
  r.user = "alice";
  r.method = "GET";
  r.target = "/a?b=1";
  r.version_minor = 1;
  r.status = 200;
  r.bytes = 1234;
  r.referer = "https://ref.example/";
  r.user_agent = "curl/8.0";
  r.request_id = "rid-1";
  r.session = "AbCdEfGhIjKl";
  r.upstream = "127.0.0.1:9000";
  r.duration_us = 3456;
  r.upstream_us = 2001;
  return r;
}

std::string combined(const AccessRecord& r) {
  std::string out;
  proxy::appendCombined(out, r, kTime);
  return out;
}

std::string json(const AccessRecord& r) {
  std::string out;
  proxy::appendJson(out, r, kTime);
  return out;
}

// nginx's log_format combined, field by field, then sesame's fields.
const std::regex kCombined(
    R"re(^(\S+) - (\S+) \[([^\]]+)\] "([^"]*)" (\d{3}) (\d+) "([^"]*)" "([^"]*)")re"
    R"re( request_time=\d+\.\d{3} upstream=\S+ upstream_time=(-|\d+\.\d{3}) request_id=\S+ session=\S+\n$)re");

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("combined: nginx's combined format, then sesame's fields", "[access_log]") {
  std::string line = combined(fullRecord());
  CHECK(line ==
        "192.0.2.7 - alice [25/Nov/2026:23:55:40 +0000] \"GET /a?b=1 HTTP/1.1\" 200 1234 "
        "\"https://ref.example/\" \"curl/8.0\" request_time=0.003 upstream=127.0.0.1:9000 "
        "upstream_time=0.002 request_id=rid-1 session=AbCdEfGhIjKl\n");
  CHECK(std::regex_match(line, kCombined));

  SECTION("absent values are \"-\", HTTP/1.0 is kept") {
    AccessRecord r;
    r.client = "10.0.0.1";
    r.method = "HEAD";
    r.target = "/";
    r.version_minor = 0;
    r.status = 404;
    r.request_id = "x";
    std::string absent = combined(r);
    CHECK(absent ==
          "10.0.0.1 - - [25/Nov/2026:23:55:40 +0000] \"HEAD / HTTP/1.0\" 404 0 \"-\" \"-\" "
          "request_time=0.000 upstream=- upstream_time=- request_id=x session=-\n");
    CHECK(std::regex_match(absent, kCombined));
  }
  SECTION("a request line that never parsed is \"-\"") {
    AccessRecord r;
    r.client = "::1";
    r.status = 400;
    r.request_id = "x";
    r.target = "/ignored";
    CHECK_THAT(combined(r), Catch::StartsWith("::1 - - [25/Nov/2026:23:55:40 +0000] \"-\" 400 0 "));
  }
}

TEST_CASE("combined: quotes, backslashes and control bytes cannot forge fields or lines",
          "[access_log]") {
  AccessRecord r = fullRecord();
  r.target =
      "/a\"b\\c\x01"
      "d\x7f\xc3\xa9 e\n";
  r.user = "al ice\"";
  r.user_agent = "x\" 999 \"y";
  std::string line = combined(r);
  CHECK_THAT(line, Catch::Contains("\"GET /a\\x22b\\x5Cc\\x01d\\x7F\\xC3\\xA9 e\\x0A HTTP/1.1\""));
  CHECK_THAT(line, Catch::Contains(" - al\\x20ice\\x22 ["));
  CHECK_THAT(line, Catch::Contains("\"x\\x22 999 \\x22y\""));
  CHECK(std::count(line.begin(), line.end(), '\n') == 1);
  CHECK(std::regex_match(line, kCombined));
}

TEST_CASE("json: one object per line, every field named", "[access_log]") {
  CHECK(json(fullRecord()) ==
        "{\"time\":\"2026-11-25T23:55:40.007+00:00\",\"client\":\"192.0.2.7\",\"user\":\"alice\","
        "\"method\":\"GET\",\"target\":\"/a?b=1\",\"protocol\":\"HTTP/1.1\",\"status\":200,"
        "\"bytes\":1234,\"referer\":\"https://ref.example/\",\"user_agent\":\"curl/8.0\","
        "\"request_time\":0.003,\"upstream\":\"127.0.0.1:9000\",\"upstream_time\":0.002,"
        "\"request_id\":\"rid-1\",\"session\":\"AbCdEfGhIjKl\"}\n");

  SECTION("absent values are null") {
    AccessRecord r;
    r.client = "10.0.0.1";
    r.status = 408;
    r.request_id = "x";
    CHECK(json(r) ==
          "{\"time\":\"2026-11-25T23:55:40.007+00:00\",\"client\":\"10.0.0.1\",\"user\":null,"
          "\"method\":null,\"target\":null,\"protocol\":null,\"status\":408,\"bytes\":0,"
          "\"referer\":null,\"user_agent\":null,\"request_time\":0.000,\"upstream\":null,"
          "\"upstream_time\":null,\"request_id\":\"x\",\"session\":null}\n");
  }
  SECTION("escapes: quotes, backslashes, control and non-ASCII bytes") {
    AccessRecord r = fullRecord();
    r.target = "/\"\\\n\x7f\xc3";
    CHECK_THAT(json(r), Catch::Contains("\"target\":\"/\\\"\\\\\\u000a\\u007f\\u00c3\""));
  }
}

TEST_CASE("long fields are cut so that a line stays one atomic write", "[access_log]") {
  AccessRecord r = fullRecord();
  std::string target = "/" + std::string(10000, 'a');
  std::string referer(5000, '\x01');
  std::string agent(5000, '"');
  std::string user(1000, 'u');
  r.target = target;
  r.referer = referer;
  r.user_agent = agent;
  r.user = user;
  for (const std::string& line : {combined(r), json(r)}) {
    INFO(line.substr(0, 200));
    CHECK(line.size() <= proxy::kMaxAccessLine);
    CHECK(line.back() == '\n');
    CHECK(std::count(line.begin(), line.end(), '\n') == 1);
    CHECK(line.find("[truncated]") != std::string::npos);
    CHECK(line.find("request_id") != std::string::npos);
    CHECK(line.find("session") != std::string::npos);
  }
  std::string line = combined(r);
  // Cut between escapes, never inside one.
  size_t cut = line.find("[truncated]\" \"");
  REQUIRE(cut != std::string::npos);
  CHECK(line.substr(cut - 4, 4) == "\\x01");
}

TEST_CASE("the access log appends whole lines to its file, mode 0640", "[access_log]") {
  config::testing::TempDir dir;
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  config::LogConfig cfg;
  cfg.access = config::LogConfig::Access::kFile;
  cfg.access_path = dir.path() + "/access.log";
  mode_t old = ::umask(022);
  {
    proxy::AccessLog log(cfg);
    REQUIRE(log.enabled());
    log.write(fullRecord());
    log.write(fullRecord());
  }
  ::umask(old);
  struct stat st {};
  REQUIRE(::stat(cfg.access_path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);
  std::string text = readFile(cfg.access_path);
  REQUIRE(std::count(text.begin(), text.end(), '\n') == 2);
  std::string first = text.substr(0, text.find('\n') + 1);
  CHECK(std::regex_match(first, kCombined));
  CHECK(std::regex_search(first,
                          std::regex(R"(\[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000\])")));

  SECTION("json, appended to what is there") {
    cfg.format = config::LogConfig::Format::kJson;
    {
      proxy::AccessLog log(cfg);
      log.write(fullRecord());
    }
    text = readFile(cfg.access_path);
    REQUIRE(std::count(text.begin(), text.end(), '\n') == 3);
    CHECK(std::regex_search(
        text, std::regex(R"(\n\{"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00",)")));
  }
}

TEST_CASE("an access log that cannot be opened is reported with where it was set", "[access_log]") {
  config::LogConfig cfg;
  cfg.access = config::LogConfig::Access::kFile;
  cfg.access_path = "/nonexistent-sesame-dir/access.log";
  cfg.access_origin = "/etc/sesame/sesame.toml:31:10";
  std::string error;
  CHECK(proxy::openAccessLogFile(cfg, &error) == -1);
  CHECK_THAT(error, Catch::StartsWith("/etc/sesame/sesame.toml:31:10: log.access: cannot open "
                                      "\"/nonexistent-sesame-dir/access.log\" for appending: No "
                                      "such file or directory"));
  CHECK_THAT(error, Catch::Contains("\"stderr\""));

  SECTION("off and stderr need no file") {
    config::LogConfig off;
    CHECK_FALSE(proxy::AccessLog(off).enabled());
    config::LogConfig err;
    err.access = config::LogConfig::Access::kStderr;
    CHECK(proxy::AccessLog(err).enabled());
  }
}

TEST_CASE("reopen() moves the log to a new file at the same path (logrotate)", "[access_log]") {
  config::testing::TempDir dir;
  config::LogConfig cfg;
  cfg.access = config::LogConfig::Access::kFile;
  cfg.access_path = dir.path() + "/access.log";
  proxy::AccessLog log(cfg);
  log.write(fullRecord());
  REQUIRE(::rename(cfg.access_path.c_str(), (cfg.access_path + ".1").c_str()) == 0);
  log.write(fullRecord());  // still the renamed file until reopen()
  REQUIRE(log.reopen());
  log.write(fullRecord());
  std::string rotated = readFile(cfg.access_path + ".1");
  std::string fresh = readFile(cfg.access_path);
  CHECK(std::count(rotated.begin(), rotated.end(), '\n') == 2);
  CHECK(std::count(fresh.begin(), fresh.end(), '\n') == 1);

  SECTION("a failed reopen keeps writing to the file it has") {
    // The directory replaced by a plain file: ENOTDIR, for root too.
    std::string moved = dir.path() + ".moved";
    REQUIRE(::rename(dir.path().c_str(), moved.c_str()) == 0);
    std::ofstream(dir.path()) << "not a directory";
    CHECK_FALSE(log.reopen());
    log.write(fullRecord());
    REQUIRE(::unlink(dir.path().c_str()) == 0);
    REQUIRE(::rename(moved.c_str(), dir.path().c_str()) == 0);
    std::string kept = readFile(cfg.access_path);
    CHECK(std::count(kept.begin(), kept.end(), '\n') == 2);
  }

  SECTION("stderr and off have nothing to reopen") {
    config::LogConfig err;
    err.access = config::LogConfig::Access::kStderr;
    proxy::AccessLog to_stderr(err);
    CHECK(to_stderr.reopen());
    CHECK(to_stderr.enabled());
  }
}
