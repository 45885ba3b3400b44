// The pure parts of `sesame sessions`: reading the API's JSON, the table,
// percent-encoding, and arguments that never reach the network.
#include "sesame/server/sessions_cli.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "sesame/admin/sessions_api.h"
#include "sesame/base/log.h"

using namespace sesame;
using server::SessionRow;

namespace {

std::optional<int> runArgs(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return server::runSessionsCommand(static_cast<int>(args.size()), argv.data());
}

}  // namespace

TEST_CASE("sessions CLI reads what the admin API writes", "[admin][cli]") {
  session::SessionSummary s;
  s.handle = "AbCdEfGhIjKl";
  s.created = 1714566896000;
  s.login = 1714566896000;
  s.touched = 1714567000000;
  s.method = "app";
  s.address = "2001:db8::7";
  s.agent = "Mozilla/5.0 \"x\" \\ J\xc3\xbcrgen \xf0\x9f\x98\x80 \xff";
  session::SessionSummary never = s;
  never.touched = 0;
  std::optional<std::vector<SessionRow>> rows =
      server::parseSessionList(admin::sessionsJson({s, never}));
  REQUIRE(rows);
  REQUIRE(rows->size() == 2);
  CHECK((*rows)[0].handle == "AbCdEfGhIjKl");
  CHECK((*rows)[0].login == "2024-05-01T12:34:56Z");
  CHECK((*rows)[0].last_seen == "2024-05-01T12:36:40Z");
  CHECK((*rows)[0].client == "2001:db8::7");
  // The ill-formed byte comes back as U+00FF, everything else as it was.
  CHECK((*rows)[0].user_agent == "Mozilla/5.0 \"x\" \\ J\xc3\xbcrgen \xf0\x9f\x98\x80 \xc3\xbf");
  CHECK((*rows)[1].last_seen.empty());
  CHECK(server::parseSessionList("[]\n"));
  CHECK(server::parseSessionList("[]\n")->empty());
}

TEST_CASE("sessions CLI refuses what is not a session list", "[admin][cli]") {
  for (const char* text : {"", "{}", "[", "[{]", "[{\"handle\"}]", "[{\"handle\": \"a\"]", "[] x",
                           "[{\"a\": \"\\x\"}]", "[{\"a\": \"\\ud800\"}]", "[{\"a\": \"\x01\"}]",
                           "[{\"a\": }]", "[1]"}) {
    INFO(text);
    CHECK_FALSE(server::parseSessionList(text));
  }
  // Surrogate pairs decode to one code point; unknown keys and numbers are skipped.
  auto rows = server::parseSessionList(
      "[{\"user_agent\": \"\\ud83d\\ude00 \\u00e9\\n\", \"n\": 12, \"b\": true}]");
  REQUIRE(rows);
  CHECK((*rows)[0].user_agent == "\xf0\x9f\x98\x80 \xc3\xa9\n");
}

TEST_CASE("sessions CLI table: aligned, UTC, nothing a terminal would obey", "[admin][cli]") {
  std::vector<SessionRow> rows{
      {"AbCdEfGhIjKl", "2024-05-01T12:34:56Z", "2024-05-01T12:36:40Z", "192.0.2.7", "curl/8.5"},
      {"x", "2024-05-02T00:00:00Z", "", "::1",
       "evil \x1b]0;title\x07 \xc2\x9b"
       "31m \x7f end"}};
  CHECK(server::formatSessionTable(rows) ==
        "HANDLE        LOGIN (UTC)          LAST SEEN (UTC)      CLIENT     USER AGENT\n"
        "AbCdEfGhIjKl  2024-05-01 12:34:56  2024-05-01 12:36:40  192.0.2.7  curl/8.5\n"
        "x             2024-05-02 00:00:00  -                    ::1        evil ?]0;title? ?31m "
        "? end\n");
}

TEST_CASE("sessions CLI percent-encodes all but unreserved characters", "[admin][cli]") {
  CHECK(server::percentEncode("alice") == "alice");
  CHECK(server::percentEncode("A-z_0.9~") == "A-z_0.9~");
  CHECK(server::percentEncode("jane doe+x@y/z?&=%") == "jane%20doe%2Bx%40y%2Fz%3F%26%3D%25");
  CHECK(server::percentEncode("J\xc3\xbc") == "J%C3%BC");
  CHECK(admin::decodeQueryValue(server::percentEncode("a +\x01\xff")) == "a +\x01\xff");
}

TEST_CASE("sessions CLI arguments", "[admin][cli]") {
  SECTION("not a sessions command: main carries on") {
    CHECK_FALSE(runArgs({"sesame", "-c", "sesame.toml"}));
    CHECK_FALSE(runArgs({"sesame", "-t", "-c", "sesame.toml"}));
    CHECK_FALSE(runArgs({"sesame", "-c", "sessions"}));  // a file called "sessions"
  }
  SECTION("usage errors exit 2 before reading any file") {
    CHECK(runArgs({"sesame", "sessions", "list", "alice"}) == server::kSessionsUsage);
    CHECK(runArgs({"sesame", "-c", "x.toml", "sessions"}) == server::kSessionsUsage);
    CHECK(runArgs({"sesame", "-c", "x.toml", "sessions", "list"}) == server::kSessionsUsage);
    CHECK(runArgs({"sesame", "-c", "x.toml", "sessions", "show", "alice"}) ==
          server::kSessionsUsage);
    CHECK(runArgs({"sesame", "-c", "x.toml", "sessions", "list", "a", "b"}) ==
          server::kSessionsUsage);
    CHECK(runArgs({"sesame", "-t", "-c", "x.toml", "sessions", "list", "a"}) ==
          server::kSessionsUsage);
  }
  SECTION("a configuration that cannot be read exits 2") {
    CHECK(runArgs({"sesame", "-c", "/nonexistent/sesame.toml", "sessions", "list", "alice"}) ==
          server::kSessionsUsage);
    log::setMinLevel(log::Level::kInfo);  // the command quiets the log for its own output
  }
}
