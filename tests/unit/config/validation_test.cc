// One failing case per rule: each asserts the position, the key and the fix.
#include <catch2/catch.hpp>
#include <string>

#include "temp_config.h"

using namespace sesame::config;
using sesame::config::testing::hasError;
using sesame::config::testing::joinErrors;
using sesame::config::testing::kMinimal;
using sesame::config::testing::TempDir;

namespace {

// kMinimal is 9 lines; text appended after it starts on line 10.
LoadResult withMinimal(const TempDir& dir, std::string_view extra) {
  return dir.load(std::string(kMinimal) + std::string(extra));
}

}  // namespace

TEST_CASE("unknown keys are errors everywhere", "[config][validate]") {
  TempDir dir;
  LoadResult r = dir.load(R"(colour = "blue"
[server]
worker = 2
[[listen]]
address = "127.0.0.1:8080"
tsl = true
[tls]
min-version = "1.2"
[[tls.certificate]]
chain = "x"
[upstream.app]
servers = ["127.0.0.1:9000"]
keep_alive = 3
[[route]]
upstream = "app"
prefix = "/"
[limits]
max_body = 1
[timeouts]
read = "1s"
[logging]
level = "info"
)");
  INFO(joinErrors(r));
  CHECK_FALSE(r.config);
  CHECK(hasError(r, "1:1", "unknown key colour", "expected one of: server, listen"));
  CHECK(hasError(r, "3:1", "unknown key server.worker", "expected one of: workers"));
  CHECK(hasError(r, "6:1", "unknown key listen[0].tsl", "address, tls, redirect_https"));
  CHECK(hasError(r, "8:1", "unknown key tls.min-version"));
  CHECK(hasError(r, "10:1", "unknown key tls.certificate[0].chain", "cert, key"));
  CHECK(hasError(r, "13:1", "unknown key upstream.app.keep_alive", "servers, keepalive"));
  CHECK(hasError(r, "16:1", "unknown key route[0].prefix", "host, path, upstream"));
  CHECK(hasError(r, "18:1", "unknown key limits.max_body"));
  CHECK(hasError(r, "20:1", "unknown key timeouts.read"));
  CHECK(hasError(r, "21:2", "unknown key logging"));
}

TEST_CASE("wrong types say what was expected", "[config][validate]") {
  TempDir dir;
  LoadResult r = dir.load(R"([server]
workers = "2"
[[listen]]
address = 8080
tls = "yes"
[tls]
min_version = 1.3
hsts = 31536000
[upstream.app]
servers = "127.0.0.1:9000"
[upstream.web]
servers = [9000]
[[route]]
upstream = ["app"]
[limits]
body_bytes = 1.5
[timeouts]
idle = 60
)");
  INFO(joinErrors(r));
  CHECK(hasError(r, "2:11", "server.workers", "expected an integer, got a string"));
  CHECK(hasError(r, "4:11", "listen[0].address", "expected a string, got an integer"));
  CHECK(hasError(r, "5:7", "listen[0].tls", "expected a boolean"));
  CHECK(hasError(r, "7:15", "tls.min_version", "expected a string, got a floating-point"));
  CHECK(hasError(r, "8:8", "tls.hsts", "expected a duration string such as \"10s\""));
  CHECK(hasError(r, "10:11", "upstream.app.servers", "expected an array"));
  CHECK(hasError(r, "12:12", "upstream.web.servers[0]", "expected a string", "got an integer"));
  CHECK(hasError(r, "14:12", "route[0].upstream", "expected a string, got an array"));
  CHECK(hasError(r, "16:14", "limits.body_bytes", "expected an integer"));
  CHECK(hasError(r, "18:8", "timeouts.idle", "expected a duration string"));
}

TEST_CASE("sections of the wrong shape are errors", "[config][validate]") {
  TempDir dir;
  LoadResult r = dir.load(R"(server = 1
tls = "on"
limits = []
timeouts = 5
upstream = "app"
[listen]
address = "127.0.0.1:8080"
[route]
upstream = "app"
)");
  INFO(joinErrors(r));
  CHECK(hasError(r, "1:10", "server", "expected a table ([server]), got an integer"));
  CHECK(hasError(r, "2:7", "tls", "expected a table ([tls]), got a string"));
  CHECK(hasError(r, "3:10", "limits", "expected a table ([limits]), got an array"));
  CHECK(hasError(r, "4:12", "timeouts", "expected a table"));
  CHECK(hasError(r, "5:12", "upstream", "expected a table of [upstream.NAME] tables"));
  CHECK(hasError(r, "6:1", "listen", "expected an array of tables ([[listen]]), got a table"));
  CHECK(hasError(r, "8:1", "route", "expected an array of tables ([[route]]), got a table"));

  LoadResult items = dir.load(R"(listen = [1]
route = [{ upstream = "app" }]
[upstream]
app = "127.0.0.1:9000"
)");
  INFO(joinErrors(items));
  CHECK(hasError(items, "1:11", "listen[0]", "expected a table, got an integer"));
  CHECK(hasError(items, "4:7", "upstream.app", "expected a table ([upstream.app]), got a string"));
  CHECK(hasError(items, "2:23", "route[0].upstream \"app\" is not defined",
                 "no [upstream.NAME] table is defined"));
}

TEST_CASE("missing required keys point at the table that lacks them", "[config][validate]") {
  TempDir dir;
  LoadResult r = dir.load(R"([[listen]]
tls = false
[tls]
[[tls.certificate]]
cert = "/dev/null"
[upstream.app]
keepalive = 1
[[route]]
path = "/"
)");
  INFO(joinErrors(r));
  CHECK(hasError(r, "1:1", "listen[0].address is missing", "host:port"));
  CHECK(hasError(r, "4:1", "tls.certificate[0].key is missing", "PEM private key"));
  CHECK(hasError(r, "6:1", "upstream.app.servers is missing", "host:port"));
  CHECK(hasError(r, "8:1", "route[0].upstream is missing", "[upstream.NAME]"));
}

TEST_CASE("at least one listener and one route", "[config][validate]") {
  TempDir dir;
  LoadResult r = dir.load("");
  INFO(joinErrors(r));
  CHECK(hasError(r, "1:1", "no [[listen]] table"));
  CHECK(hasError(r, "1:1", "no [[route]] table"));

  LoadResult empty_arrays = dir.load("listen = []\nroute = []\n");
  CHECK(hasError(empty_arrays, "1:1", "no [[listen]] table"));
  CHECK(hasError(empty_arrays, "1:1", "no [[route]] table"));
}

TEST_CASE("listen addresses must parse, resolve and be unique", "[config][validate]") {
  TempDir dir;
  struct Case {
    const char* address;
    const char* why;
  };
  const Case cases[] = {
      {"127.0.0.1", "port is missing"},
      {"127.0.0.1:0", "port 0"},
      {"127.0.0.1:70000", "above 65535"},
      {":8080", "host is empty"},
      {"[::1:8080", "no matching"},
      {"::1:8080", "needs brackets"},
      {"no-such-host.invalid:80", "cannot resolve"},
  };
  for (const Case& c : cases) {
    INFO(c.address);
    LoadResult r = dir.load("[[listen]]\naddress = \"" + std::string(c.address) + "\"\n" +
                            std::string(kMinimal.substr(kMinimal.find("[upstream"))));
    INFO(joinErrors(r));
    CHECK(hasError(r, "2:11", "listen[0].address \"" + std::string(c.address) + "\"",
                   "is not a usable address", c.why));
  }

  LoadResult dup = withMinimal(dir, "[[listen]]\naddress = \"127.0.0.1:08080\"\n");
  INFO(joinErrors(dup));
  CHECK(hasError(dup, "11:11",
                 "listen[1].address \"127.0.0.1:08080\" is the same as "
                 "listen[0].address \"127.0.0.1:8080\""));
}

TEST_CASE("TLS listeners need a certificate; redirects only on plain", "[config][validate]") {
  TempDir dir;
  LoadResult r = withMinimal(dir, R"([[listen]]
address = "127.0.0.1:8443"
tls = true
redirect_https = true
)");
  INFO(joinErrors(r));
  CHECK(hasError(r, "12:7", "listen[1].tls = true needs at least one [[tls.certificate]]"));
  CHECK(hasError(r, "13:18", "listen[1].redirect_https is only for plain listeners"));

  LoadResult plain = withMinimal(dir,
                                 "[[listen]]\naddress = \"127.0.0.1:8081\"\n"
                                 "redirect_https = true\n");
  INFO(joinErrors(plain));
  REQUIRE(plain.config);
  CHECK(plain.config->listeners[1].redirect_https);
}

TEST_CASE("routes must name a defined upstream", "[config][validate]") {
  TempDir dir;
  LoadResult r = dir.load(R"([[listen]]
address = "127.0.0.1:8080"
[upstream.app]
servers = ["127.0.0.1:9000"]
[upstream.static]
servers = ["127.0.0.1:9001"]
[[route]]
path = "/"
upstream = "app"
[[route]]
path = "/api/"
upstream = "api"
)");
  INFO(joinErrors(r));
  CHECK(hasError(r, "12:12",
                 "route[1].upstream \"api\" is not defined (defined: \"app\", \"static\")"));
}

TEST_CASE("route paths and hosts", "[config][validate]") {
  TempDir dir;
  LoadResult r = withMinimal(dir, R"([[route]]
path = "api/"
upstream = "app"
[[route]]
path = "/a b"
upstream = "app"
[[route]]
host = "app.example.com:443"
upstream = "app"
[[route]]
host = "*"
upstream = "app"
[[route]]
host = "a.*.example.com"
upstream = "app"
[[route]]
host = ""
upstream = "app"
)");
  INFO(joinErrors(r));
  CHECK(hasError(r, "11:8", "route[1].path \"api/\" must start with \"/\""));
  CHECK(hasError(r, "14:8", "route[2].path", "space or control character"));
  CHECK(hasError(r, "17:8", "route[3].host \"app.example.com:443\"", "without port"));
  CHECK(hasError(r, "20:8", "route[4].host \"*\"", "*.example.com"));
  CHECK(hasError(r, "23:8", "route[5].host \"a.*.example.com\""));
  CHECK(hasError(r, "26:8", "route[6].host \"\""));

  LoadResult ok = withMinimal(dir, R"([[route]]
host = "*.Example.COM"
path = "/static/"
upstream = "app"
)");
  INFO(joinErrors(ok));
  REQUIRE(ok.config);
  CHECK(ok.config->routes[1].host == "*.example.com");
}

TEST_CASE("duplicate routes are errors", "[config][validate]") {
  TempDir dir;
  LoadResult r = withMinimal(dir, R"([[route]]
host = "a.example.com"
upstream = "app"
[[route]]
path = "/"
upstream = "app"
[[route]]
host = "A.example.com"
path = "/"
upstream = "app"
)");
  INFO(joinErrors(r));
  CHECK(hasError(r, "13:1", "route[2] has the same host \"\" and path \"/\" as route[0]"));
  CHECK(hasError(r, "16:1", "route[3] has the same host \"a.example.com\"", "as route[1]"));
  CHECK(r.errors.size() == 2);
}

TEST_CASE("upstreams need servers that resolve", "[config][validate]") {
  TempDir dir;
  LoadResult r = dir.load(R"([[listen]]
address = "127.0.0.1:8080"
[upstream.app]
servers = []
[upstream.web]
servers = ["127.0.0.1:9000", "127.0.0.1", "[::1]:0"]
keepalive = 4097
[upstream.""]
servers = ["127.0.0.1:9000"]
[[route]]
upstream = "web"
)");
  INFO(joinErrors(r));
  CHECK(hasError(r, "4:11", "upstream.app.servers is empty"));
  CHECK(hasError(r, "6:30", "upstream.web.servers[1] \"127.0.0.1\"", "port is missing"));
  CHECK(hasError(r, "6:43", "upstream.web.servers[2] \"[::1]:0\"", "port 0"));
  CHECK(hasError(r, "7:13", "upstream.web.keepalive = 4097 is out of range (expected 0 to 4096)"));
  CHECK(hasError(r, "8:11", "upstream names must not be empty"));
}

TEST_CASE("numeric ranges", "[config][validate]") {
  TempDir dir;
  struct Case {
    const char* section;
    const char* line;
    const char* position;
    const char* message;
  };
  const Case cases[] = {
      {"server", "workers = 257", "11:11",
       "server.workers = 257 is out of range (expected 0 to 256)"},
      {"server", "workers = -1", "11:11", "server.workers = -1 is out of range"},
      {"limits", "header_bytes = 1023", "11:16",
       "limits.header_bytes = 1023 is out of range "
       "(expected 1024 to 1048576)"},
      {"limits", "header_bytes = 1048577", "11:16", "limits.header_bytes = 1048577"},
      {"limits", "header_count = 0", "11:16",
       "limits.header_count = 0 is out of range "
       "(expected 1 to 10000)"},
      {"limits", "header_count = 10001", "11:16", "limits.header_count = 10001"},
      {"limits", "body_bytes = -1", "11:14", "limits.body_bytes = -1 is out of range"},
  };
  for (const Case& c : cases) {
    INFO(c.line);
    LoadResult r = withMinimal(dir, "[" + std::string(c.section) + "]\n" + c.line + "\n");
    INFO(joinErrors(r));
    CHECK(hasError(r, c.position, c.message));
  }
  LoadResult edges = withMinimal(dir, R"([server]
workers = 256
[limits]
header_bytes = 1024
header_count = 10000
body_bytes = 9223372036854775807
)");
  INFO(joinErrors(edges));
  REQUIRE(edges.config);
  CHECK(edges.config->server.workers == 256);
  CHECK(edges.config->limits.body_bytes == 9223372036854775807ULL);
}

TEST_CASE("tls settings", "[config][validate]") {
  TempDir dir;
  LoadResult r = withMinimal(dir, R"([tls]
min_version = "1.1"
hsts = "1500ms"
)");
  INFO(joinErrors(r));
  CHECK(hasError(r, "11:15",
                 "tls.min_version \"1.1\" is not supported (expected \"1.2\" or "
                 "\"1.3\")"));
  CHECK(hasError(r, "12:8", "tls.hsts must be a whole number of seconds"));

  LoadResult zero = withMinimal(dir, "[tls]\nhsts = \"0s\"\n");
  INFO(joinErrors(zero));
  REQUIRE(zero.config);
  CHECK(zero.config->tls.hsts == Duration{0});

  LoadResult empty = withMinimal(dir, "[tls]\n[[tls.certificate]]\ncert = \"\"\nkey = \"\"\n");
  CHECK(hasError(empty, "12:8", "tls.certificate[0].cert is empty"));
  CHECK(hasError(empty, "13:7", "tls.certificate[0].key is empty"));
}

TEST_CASE("timeouts must be valid, non-zero durations", "[config][validate]") {
  TempDir dir;
  const char* keys[] = {"header",        "idle",        "upstream_connect",
                        "upstream_read", "tunnel_idle", "client_send"};
  for (const char* key : keys) {
    INFO(key);
    std::string k(key);
    std::string column = std::to_string(k.size() + 4);
    for (const char* bad : {"10", "-1s", "1.5s", "99999999999999999999d", "10 s"}) {
      LoadResult r = withMinimal(dir, "[timeouts]\n" + k + " = \"" + bad + "\"\n");
      INFO(joinErrors(r));
      CHECK(hasError(r, "11:" + column, "timeouts." + k, "is not a valid duration",
                     "such as \"10s\""));
    }
    LoadResult zero = withMinimal(dir, "[timeouts]\n" + k + " = \"0ms\"\n");
    CHECK(hasError(zero, "11:" + column, "timeouts." + k + " must be greater than zero"));
  }
}
