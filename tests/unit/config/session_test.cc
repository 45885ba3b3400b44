// [session], [redis], [identity] and route policies: the full round trip, then one
// failing case per rule asserting the position and the key.
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "oidc_keys.h"
#include "temp_config.h"

using namespace sesame::config;
using sesame::config::testing::hasError;
using sesame::config::testing::joinErrors;
using sesame::config::testing::kMinimal;
using sesame::config::testing::TempDir;
namespace session = sesame::session;

namespace {

constexpr std::string_view kSecret = "0123456789abcdef0123456789abcdef-one";
constexpr std::string_view kOldSecret = "fedcba9876543210fedcba9876543210-two";

// kMinimal is 9 lines; text appended after it starts on line 10.
LoadResult withMinimal(const TempDir& dir, std::string_view extra) {
  return dir.load(std::string(kMinimal) + std::string(extra));
}

// kMinimal plus a [session] table (lines 10-11) holding a valid secret;
// `extra` starts on line 12.
LoadResult withSession(const TempDir& dir, std::string_view extra) {
  return withMinimal(
      dir, "[session]\nsecrets = [\"" + std::string(kSecret) + "\"]\n" + std::string(extra));
}

constexpr std::string_view kFull = R"([[listen]]
address = "127.0.0.1:8080"

[upstream.app]
servers = ["127.0.0.1:9000"]

[session]
store = "memory"
cookie_name = "sid"
same_site = "Strict"
secure = false
domain = "example.com"
secrets = ["SECRET1", "SECRET2"]
idle_timeout = "15m"
absolute_timeout = "8h"
touch_interval = "30s"
login_url = "/auth/login?x=1"
csrf_origins = ["HTTPS://Admin.Example.com:443", "http://localhost:3000"]
max_sessions = 5000

[identity]
user_header = "X-User"
groups_header = "X-Groups"
data_prefix = "X-Data-"

[[route]]
path = "/"
upstream = "app"

[[route]]
path = "/admin/"
upstream = "app"
auth = "required"
groups = ["admin", "ops"]
accept_control = true
csrf = false

[[route]]
path = "/static/"
upstream = "app"
auth = "public"
)";

}  // namespace

TEST_CASE("a full [session], [identity] and route policy round-trip", "[config][session]") {
  TempDir dir;
  std::string text(kFull);
  text.replace(text.find("SECRET1"), 7, kSecret);
  text.replace(text.find("SECRET2"), 7, kOldSecret);
  LoadResult r = dir.load(text);
  INFO(joinErrors(r));
  REQUIRE(r.config);
  REQUIRE(r.config->session);
  const session::Settings& s = *r.config->session;
  CHECK(s.store == session::StoreKind::kMemory);
  CHECK(s.cookie_name == "sid");
  CHECK(s.same_site == "Strict");
  CHECK_FALSE(s.secure);
  CHECK(s.domain == "example.com");
  CHECK(s.secrets == std::vector<std::string>{std::string(kSecret), std::string(kOldSecret)});
  CHECK(s.timeouts.idle == session::Millis{15 * 60 * 1000});
  CHECK(s.timeouts.absolute == session::Millis{8 * 3600 * 1000});
  CHECK(s.timeouts.touch_interval == session::Millis{30 * 1000});
  CHECK(s.login_url == "/auth/login?x=1");
  CHECK(s.csrf_origins ==
        std::vector<std::string>{"https://admin.example.com", "http://localhost:3000"});
  CHECK(s.max_sessions == 5000);
  CHECK(s.identity.user_header == "X-User");
  CHECK(s.identity.groups_header == "X-Groups");
  CHECK(s.identity.data_prefix == "X-Data-");

  const auto& routes = r.config->routes;
  REQUIRE(routes.size() == 3);
  CHECK(routes[0].policy.auth == session::Auth::kSession);
  CHECK(routes[0].policy.groups.empty());
  CHECK_FALSE(routes[0].policy.accept_control);
  CHECK(routes[0].policy.csrf);
  CHECK(routes[1].policy.auth == session::Auth::kRequired);
  CHECK(routes[1].policy.groups == std::vector<std::string>{"admin", "ops"});
  CHECK(routes[1].policy.accept_control);
  CHECK_FALSE(routes[1].policy.csrf);
  CHECK(routes[2].policy.auth == session::Auth::kPublic);
}

TEST_CASE("a [session] with only secrets keeps every default", "[config][session]") {
  TempDir dir;
  LoadResult r = withSession(dir, "");
  INFO(joinErrors(r));
  REQUIRE(r.config);
  REQUIRE(r.config->session);
  const session::Settings& s = *r.config->session;
  const session::Settings defaults;
  CHECK(s.cookie_name == "__Host-sesame");
  CHECK(s.same_site == "Lax");
  CHECK(s.secure);
  CHECK(s.domain.empty());
  CHECK(s.timeouts.idle == defaults.timeouts.idle);
  CHECK(s.timeouts.absolute == defaults.timeouts.absolute);
  CHECK(s.timeouts.touch_interval == defaults.timeouts.touch_interval);
  CHECK(s.login_url == "/login");
  CHECK(s.csrf_origins.empty());
  CHECK(s.max_sessions == 100000);
  CHECK(s.identity.user_header == "X-Remote-User");
  CHECK(s.identity.groups_header == "X-Remote-Groups");
  CHECK(s.identity.data_prefix == "X-Session-");
  REQUIRE(r.config->routes.size() == 1);
  CHECK(r.config->routes[0].policy.auth == session::Auth::kSession);
}

TEST_CASE("without [session] every route is public", "[config][session]") {
  TempDir dir;
  LoadResult r = withMinimal(dir, "[[route]]\npath = \"/b/\"\nupstream = \"app\"\ncsrf = false\n");
  INFO(joinErrors(r));
  REQUIRE(r.config);
  CHECK_FALSE(r.config->session);
  REQUIRE(r.config->routes.size() == 2);
  for (const RouteConfig& route : r.config->routes) {
    CHECK(route.policy.auth == session::Auth::kPublic);
  }
}

TEST_CASE("store: memory, redis or cookie", "[config][session]") {
  TempDir dir;
  LoadResult r = withSession(dir, "store = \"cookie\"\n");
  INFO(joinErrors(r));
  REQUIRE(r.config);
  CHECK(r.config->session->store == session::StoreKind::kCookie);
  r = withSession(dir, "store = \"disk\"\n");
  CHECK(hasError(r, "12:9", "session.store \"disk\" is not a store",
                 "expected \"memory\", \"redis\" or \"cookie\""));
  r = withSession(dir, "store = \"redis\"\n");
  INFO(joinErrors(r));
  REQUIRE(r.config);
  const session::Settings& s = *r.config->session;
  CHECK(s.store == session::StoreKind::kRedis);
  // No [redis] table: every default.
  const session::RedisSettings defaults;
  CHECK(s.redis.address == "127.0.0.1:6379");
  CHECK(s.redis.addr.toString() == "127.0.0.1:6379");
  CHECK(s.redis.username.empty());
  CHECK(s.redis.password.empty());
  CHECK(s.redis.database == 0);
  CHECK(s.redis.key_prefix == "sesame:");
  CHECK(s.redis.connect_timeout == session::Millis{1000});
  CHECK(s.redis.command_timeout == session::Millis{250});
  CHECK(s.redis.command_timeout == defaults.command_timeout);
  CHECK(s.redis.cache == session::Millis{0});
}

TEST_CASE("cookie settings are validated at their keys", "[config][session]") {
  TempDir dir;
  SECTION("__Host- without secure is refused even though TLS would force it on") {
    LoadResult r = withSession(dir, "secure = false\n");
    INFO(joinErrors(r));
    CHECK(hasError(r, "12:10", "session.cookie_name \"__Host-sesame\" requires secure = true"));
  }
  SECTION("__Host- with a domain") {
    LoadResult r = withSession(dir, "domain = \"example.com\"\n");
    CHECK(hasError(r, "12:10", "session.cookie_name \"__Host-sesame\" forbids a domain"));
  }
  SECTION("SameSite=None without secure") {
    LoadResult r =
        withSession(dir, "cookie_name = \"sid\"\nsame_site = \"None\"\nsecure = false\n");
    INFO(joinErrors(r));
    CHECK(hasError(r, "14:10", "session.same_site = \"None\" requires secure = true"));
  }
  SECTION("unknown same_site, bad name, bad domain") {
    LoadResult r =
        withSession(dir, "same_site = \"lax\"\ncookie_name = \"a b\"\ndomain = \"exa mple.com\"\n");
    INFO(joinErrors(r));
    CHECK(hasError(r, "12:13", "session.same_site \"lax\" is not one of"));
    CHECK(hasError(r, "13:15", "session.cookie_name \"a b\" is not a valid cookie name"));
    CHECK(hasError(r, "14:10", "session.domain \"exa mple.com\" is not a host name"));
  }
}

TEST_CASE("secrets: present, long enough, one source, never printed", "[config][session]") {
  TempDir dir;
  SECTION("missing") {
    LoadResult r = withMinimal(dir, "[session]\n");
    INFO(joinErrors(r));
    CHECK(hasError(r, "10:1", "session.secrets", "no session secret", "secrets_file"));
  }
  SECTION("too short, and its text never appears in any message") {
    LoadResult r = withMinimal(dir, "[session]\nsecrets = [\"" + std::string(kSecret) +
                                        "\", \"tooshort-SECRET-XYZ\"]\ncookie_name = \"x y\"\n");
    INFO(joinErrors(r));
    CHECK(hasError(r, "11:11", "session.secrets", "secret #2 is 19 bytes long"));
    REQUIRE_FALSE(r.errors.empty());
    for (const std::string& e : r.errors) {
      CHECK(e.find("tooshort") == std::string::npos);
      CHECK(e.find("SECRET-XYZ") == std::string::npos);
      CHECK(e.find(kSecret) == std::string::npos);
    }
  }
  SECTION("wrong element type") {
    LoadResult r = withMinimal(dir, "[session]\nsecrets = [\"" + std::string(kSecret) + "\", 7]\n");
    CHECK(hasError(r, "11:52", "session.secrets[1]: expected a string, got an integer"));
  }
  SECTION("both secrets and secrets_file") {
    LoadResult r = withSession(dir, "secrets_file = \"secrets\"\n");
    CHECK(hasError(r, "12:16", "session.secrets_file and session.secrets are both set"));
  }
}

TEST_CASE("secrets_file: relative to the config, comments and blanks skipped",
          "[config][session]") {
  TempDir dir;
  dir.write("keys/secrets", "# current first\n\n  " + std::string(kSecret) + "  \r\n" +
                                "   # retired soon\n" + std::string(kOldSecret) + "\n\n");
  LoadResult r = withMinimal(dir, "[session]\nsecrets_file = \"keys/secrets\"\n");
  INFO(joinErrors(r));
  REQUIRE(r.config);
  CHECK(r.config->session->secrets ==
        std::vector<std::string>{std::string(kSecret), std::string(kOldSecret)});

  SECTION("a short secret in the file is reported without its text") {
    dir.write("keys/secrets", std::string(kSecret) + "\ntooshort-SECRET-XYZ\n");
    LoadResult bad = withMinimal(dir, "[session]\nsecrets_file = \"keys/secrets\"\n");
    INFO(joinErrors(bad));
    CHECK(hasError(bad, "11:16", "session.secrets_file", "secret #2 is 19 bytes long"));
    for (const std::string& e : bad.errors) CHECK(e.find("SECRET-XYZ") == std::string::npos);
  }
  SECTION("a file of comments only has no secret") {
    dir.write("keys/secrets", "# nothing yet\n\n");
    LoadResult bad = withMinimal(dir, "[session]\nsecrets_file = \"keys/secrets\"\n");
    CHECK(hasError(bad, "11:16", "session.secrets_file", "no session secret"));
  }
  SECTION("a missing file is named") {
    LoadResult bad = withMinimal(dir, "[session]\nsecrets_file = \"nope\"\n");
    CHECK(hasError(bad, "11:16", "session.secrets_file", dir.path() + "/nope", "does not exist"));
  }
  SECTION("an unreadable file is named") {
    std::string path = dir.write("locked", std::string(kSecret) + "\n");
    REQUIRE(::chmod(path.c_str(), 0) == 0);
    if (::access(path.c_str(), R_OK) == 0) return;  // root reads anything
    LoadResult bad = withMinimal(dir, "[session]\nsecrets_file = \"locked\"\n");
    CHECK(hasError(bad, "11:16", "session.secrets_file: cannot read", path));
  }
}

TEST_CASE("timeouts: durations, idle <= absolute, touch < idle", "[config][session]") {
  TempDir dir;
  LoadResult r = withSession(dir, "idle_timeout = \"13h\"\n");
  CHECK(hasError(r, "12:16", "session.idle_timeout must not be longer than"));
  r = withSession(dir, "touch_interval = \"30m\"\n");
  CHECK(hasError(r, "12:18", "session.touch_interval must be shorter than session.idle_timeout"));
  r = withSession(dir, "absolute_timeout = \"10m\"\n");
  CHECK(hasError(r, "12:20", "session.idle_timeout must not be longer"));
  r = withSession(dir, "idle_timeout = \"0s\"\nabsolute_timeout = \"soon\"\n");
  CHECK(hasError(r, "12:16", "session.idle_timeout must be greater than zero"));
  CHECK(hasError(r, "13:20", "session.absolute_timeout \"soon\" is not a valid duration"));
  r = withSession(dir, "touch_interval = \"0s\"\n");
  INFO(joinErrors(r));
  CHECK(r.config);
}

TEST_CASE("login_url, csrf_origins and max_sessions", "[config][session]") {
  TempDir dir;
  LoadResult r = withSession(dir,
                             "login_url = \"//evil.example/\"\n"
                             "csrf_origins = [\"https://ok.example\", \"https://a.example/\", "
                             "\"ftp://b.example\", 3]\n"
                             "max_sessions = 0\n");
  INFO(joinErrors(r));
  CHECK(hasError(r, "12:13", "session.login_url \"//evil.example/\"", "single \"/\""));
  CHECK(hasError(r, "13:39", "session.csrf_origins[1] \"https://a.example/\" is not an origin"));
  CHECK(hasError(r, "13:61", "session.csrf_origins[2] \"ftp://b.example\" is not an origin"));
  CHECK(hasError(r, "13:80", "session.csrf_origins[3]: expected a string"));
  CHECK(hasError(r, "14:16", "session.max_sessions = 0 is out of range", "1 to 100000000"));
  r = withSession(dir, "login_url = \"login\"\n");
  CHECK(hasError(r, "12:13", "session.login_url \"login\" must be a path"));
}

TEST_CASE("[identity] header names", "[config][session]") {
  TempDir dir;
  LoadResult r = withSession(dir,
                             "[identity]\n"
                             "user_header = \"X User\"\n"
                             "groups_header = \"Content-Length\"\n"
                             "data_prefix = \"X-Data\"\n");
  INFO(joinErrors(r));
  CHECK(hasError(r, "13:15", "identity.user_header \"X User\" is not a header name"));
  CHECK(hasError(r, "14:17", "identity.groups_header \"Content-Length\" would remove"));
  CHECK(hasError(r, "15:15", "identity.data_prefix \"X-Data\" must end with \"-\""));

  r = withSession(dir, "[identity]\ndata_prefix = \"Content-\"\n");
  CHECK(hasError(r, "13:15", "identity.data_prefix \"Content-\" would remove"));
  r = withSession(dir, "[identity]\nuser_header = \"X-Session-User\"\n");
  CHECK(hasError(r, "13:15", "identity.user_header \"X-Session-User\" starts with"));
  r = withSession(dir, "[identity]\nuser_header = \"X-Remote-Groups\"\n");
  CHECK(hasError(r, "12:1", "identity.user_header and identity.groups_header are the same"));
  r = withSession(dir, "[identity]\nuserheader = \"X-U\"\n");
  CHECK(hasError(r, "13:1", "unknown key identity.userheader"));
  r = withMinimal(dir, "[identity]\nuser_header = \"X-U\"\n");
  CHECK(hasError(r, "10:1", "[identity] has no effect without a [session] table"));
}

TEST_CASE("route auth, groups, accept_control, csrf", "[config][session]") {
  TempDir dir;
  SECTION("session routes need [session]") {
    LoadResult r =
        withMinimal(dir,
                    "[[route]]\npath = \"/a/\"\nupstream = \"app\"\nauth = \"required\"\n"
                    "[[route]]\npath = \"/b/\"\nupstream = \"app\"\nauth = \"session\"\n");
    INFO(joinErrors(r));
    CHECK(hasError(r, "13:8", "route[1].auth = \"required\" needs a [session] table", "secrets"));
    CHECK(hasError(r, "17:8", "route[2].auth = \"session\" needs a [session] table"));
  }
  SECTION("bad values and types") {
    LoadResult r = withSession(dir,
                               "[[route]]\npath = \"/a/\"\nupstream = \"app\"\n"
                               "auth = \"private\"\naccept_control = 1\ncsrf = \"no\"\n");
    INFO(joinErrors(r));
    CHECK(hasError(r, "15:8", "route[1].auth \"private\" is not one of"));
    CHECK(hasError(r, "16:18", "route[1].accept_control: expected a boolean"));
    CHECK(hasError(r, "17:8", "route[1].csrf: expected a boolean"));
  }
  SECTION("groups only with required") {
    LoadResult r =
        withSession(dir,
                    "[[route]]\npath = \"/a/\"\nupstream = \"app\"\ngroups = [\"x\"]\n"
                    "[[route]]\npath = \"/b/\"\nupstream = \"app\"\nauth = \"required\"\n"
                    "groups = [\"ok\", \"a,b\", \"\", 4]\n");
    INFO(joinErrors(r));
    CHECK(hasError(r, "15:10", "route[1].groups only applies with auth = \"required\""));
    CHECK(hasError(r, "20:17", "route[2].groups[1] \"a,b\" must be a non-empty name"));
    CHECK(hasError(r, "20:24", "route[2].groups[2] \"\" must be a non-empty name"));
    CHECK(hasError(r, "20:28", "route[2].groups[3]: expected a string"));
  }
}

TEST_CASE("session errors are all collected in one pass", "[config][session]") {
  TempDir dir;
  LoadResult r = withMinimal(dir,
                             "[session]\n"
                             "store = \"disk\"\n"
                             "same_site = \"none\"\n"
                             "idle_timeout = \"1x\"\n"
                             "login_url = \"x\"\n"
                             "max_sessions = -1\n");
  INFO(joinErrors(r));
  CHECK_FALSE(r.config);
  CHECK(r.errors.size() == 6);
  CHECK(hasError(r, "10:1", "no session secret"));
  CHECK(hasError(r, "11:9", "session.store"));
  CHECK(hasError(r, "12:13", "session.same_site"));
  CHECK(hasError(r, "13:16", "session.idle_timeout"));
  CHECK(hasError(r, "14:13", "session.login_url"));
  CHECK(hasError(r, "15:16", "session.max_sessions"));
}

TEST_CASE("conf/sesame.toml's commented session keys load once uncommented",
          "[config][session][conf]") {
  std::filesystem::path conf =
      std::filesystem::exists("conf/sesame.toml")
          ? std::filesystem::path("conf/sesame.toml")
          : std::filesystem::path(__FILE__).parent_path() / "../../../conf/sesame.toml";
  std::ifstream in(conf);
  REQUIRE(in);
  // "#key = value" and "#[table]" are settings; "# text" is prose. Only one
  // of secrets and secrets_file (password and password_file, the three
  // client credentials of [oidc]) may be set, groups needs auth = required,
  // and token_file names a file not here.
  std::string text;
  size_t uncommented = 0;
  for (std::string line; std::getline(in, line);) {
    bool setting = line.size() > 1 && line[0] == '#' && line[1] != ' ';
    if (setting && !line.starts_with("#secrets_file") && !line.starts_with("#groups =") &&
        !line.starts_with("#password_file") && !line.starts_with("#token_file") &&
        !line.starts_with("#client_secret =") && !line.starts_with("#client_key_")) {
      line.erase(0, 1);
      ++uncommented;
    }
    text += line + "\n";
  }
  const std::string placeholder = "\"NEW-SECRET...\", \"OLD-SECRET...\"";
  REQUIRE(text.find(placeholder) != std::string::npos);
  text.replace(text.find(placeholder), placeholder.size(),
               "\"" + std::string(kSecret) + "\", \"" + std::string(kOldSecret) + "\"");
  TempDir dir;
  for (std::string name :
       {"tls/example.pem", "tls/example.key", "tls/static.example.pem", "tls/static.example.key"}) {
    dir.write(name, "x");
  }
  dir.write("users", "# nobody yet\n");
  std::filesystem::permissions(dir.write("admin-token", std::string(40, 't') + "\n"),
                               std::filesystem::perms::owner_read);
  testing::writeWithMode(dir, "oidc-secret", "s3cr3t\n");
  testing::writeKey(dir, "assertion-new.key", testing::makeEd25519Key().get());
  testing::writeKey(dir, "assertion-old.key", testing::makeEcKey("P-256").get());
  LoadResult r = dir.load(text);
  INFO(joinErrors(r));
  REQUIRE(r.config);
  REQUIRE(r.config->session);
  CHECK(uncommented >= 19);
  CHECK(r.config->session->secrets.size() == 2);
  CHECK(r.config->routes.front().policy.auth == session::Auth::kSession);
  CHECK(r.config->routes.back().policy.auth == session::Auth::kPublic);
  CHECK(r.config->oidc.size() == 1);
  CHECK(r.config->session->assertion.keys.size() == 2);

  SECTION("and with store = \"redis\" the [redis] example is used") {
    const std::string memory = "store = \"memory\"";
    REQUIRE(text.find(memory) != std::string::npos);
    text.replace(text.find(memory), memory.size(), "store = \"redis\"");
    LoadResult redis = dir.load(text);
    INFO(joinErrors(redis));
    REQUIRE(redis.config);
    const session::RedisSettings& settings = redis.config->session->redis;
    CHECK(redis.config->session->store == session::StoreKind::kRedis);
    CHECK(settings.addr.toString() == "127.0.0.1:6379");
    CHECK(settings.key_prefix == "sesame:");
    CHECK(settings.command_timeout == session::Millis{250});
  }
}

TEST_CASE("[redis]: every key round-trips with store = \"redis\"", "[config][session][redis]") {
  TempDir dir;
  LoadResult r = withSession(dir,
                             "store = \"redis\"\n"
                             "[redis]\n"
                             "address = \"[::1]:6380\"\n"
                             "username = \"sesame\"\n"
                             "password = \"pw-XYZ\"\n"
                             "database = 42\n"
                             "key_prefix = \"\"\n"
                             "connect_timeout = \"2s\"\n"
                             "command_timeout = \"100ms\"\n"
                             "cache = \"1500ms\"\n");
  INFO(joinErrors(r));
  REQUIRE(r.config);
  const session::RedisSettings& s = r.config->session->redis;
  CHECK(s.cache == session::Millis{1500});
  CHECK(s.address == "[::1]:6380");
  CHECK(s.addr.toString() == "[::1]:6380");
  CHECK(s.username == "sesame");
  CHECK(s.password == "pw-XYZ");
  CHECK(s.database == 42);
  CHECK(s.key_prefix.empty());
  CHECK(s.connect_timeout == session::Millis{2000});
  CHECK(s.command_timeout == session::Millis{100});

  r = withSession(dir, "store = \"redis\"\n[redis]\naddress = \"unix:/run/redis/redis.sock\"\n");
  INFO(joinErrors(r));
  REQUIRE(r.config);
  CHECK(r.config->session->redis.addr.family() == AF_UNIX);
  CHECK(r.config->session->redis.address == "unix:/run/redis/redis.sock");
}

TEST_CASE("[redis]: each mistake at its key, the password never shown",
          "[config][session][redis]") {
  TempDir dir;
  LoadResult r = withSession(dir,
                             "store = \"redis\"\n"
                             "[redis]\n"
                             "address = \"no-such-host.invalid:6379\"\n"
                             "database = -1\n"
                             "connect_timeout = \"0s\"\n"
                             "command_timeout = \"fast\"\n"
                             "key_prefix = 7\n"
                             "passwd = \"x\"\n");
  INFO(joinErrors(r));
  CHECK_FALSE(r.config);
  CHECK(r.errors.size() == 6);
  CHECK(hasError(r, "14:11", "redis.address \"no-such-host.invalid:6379\" is not usable",
                 "cannot resolve"));
  CHECK(hasError(r, "15:12", "redis.database = -1 is out of range"));
  CHECK(hasError(r, "16:19", "redis.connect_timeout must be greater than zero"));
  CHECK(hasError(r, "17:19", "redis.command_timeout \"fast\" is not a valid duration"));
  CHECK(hasError(r, "18:14", "redis.key_prefix: expected a string"));
  CHECK(hasError(r, "19:1", "unknown key redis.passwd", "password_file"));

  r = withSession(dir, "[redis]\ncache = \"11s\"\n");
  CHECK(hasError(r, "13:9", "redis.cache is longer than 10s", "logout"));
  r = withSession(dir, "store = \"redis\"\n[redis]\ncache = \"0s\"\n");
  REQUIRE(r.config);
  CHECK(r.config->session->redis.cache == session::Millis{0});
  r = withSession(dir, "[redis]\naddress = \"unix:run/redis.sock\"\n");
  CHECK(hasError(r, "13:11", "redis.address", "absolute path"));
  r = withSession(dir, "[redis]\nkey_prefix = \"" + std::string(300, 'p') + "\"\n");
  CHECK(hasError(r, "13:14", "redis.key_prefix is longer than 256 bytes"));
  r = withSession(dir, "[redis]\npassword = 12345\n");
  CHECK(hasError(r, "13:12", "redis.password: expected a string, got an integer"));
  for (const std::string& e : r.errors) CHECK(e.find("12345") == std::string::npos);
  r = withSession(dir, "[redis]\npassword = \"pw-XYZ\"\npassword_file = \"pw\"\n");
  CHECK(hasError(r, "14:17", "redis.password_file and redis.password are both set"));
  for (const std::string& e : r.errors) CHECK(e.find("pw-XYZ") == std::string::npos);
  r = withMinimal(dir, "[redis]\ntimeout = \"1s\"\n");
  CHECK(hasError(r, "11:1", "unknown key redis.timeout"));
}

TEST_CASE("[redis] password_file: first line, relative to the config", "[config][session][redis]") {
  TempDir dir;
  const std::string head = "store = \"redis\"\n[redis]\n";
  dir.write("keys/redis-pw", "p@ss word-XYZ\r\nsecond line\n");
  LoadResult r = withSession(dir, head + "password_file = \"keys/redis-pw\"\n");
  INFO(joinErrors(r));
  REQUIRE(r.config);
  CHECK(r.config->session->redis.password == "p@ss word-XYZ");

  r = withSession(dir, head + "password_file = \"nope\"\n");
  CHECK(hasError(r, "14:17", "redis.password_file", dir.path() + "/nope", "does not exist"));
  dir.write("empty", "\nXYZ-secret\n");
  r = withSession(dir, head + "password_file = \"empty\"\n");
  CHECK(hasError(r, "14:17", "redis.password_file", "empty first line"));
  for (const std::string& e : r.errors) CHECK(e.find("XYZ-secret") == std::string::npos);
  r = withSession(dir, head + "password_file = \"\"\n");
  CHECK(hasError(r, "14:17", "redis.password_file is empty"));
  dir.write("big", std::string(70'000, 'x'));
  r = withSession(dir, head + "password_file = \"big\"\n");
  CHECK(hasError(r, "14:17", "larger than 64 KiB"));
}

TEST_CASE("[redis] without store = \"redis\" loads with a warning and is not used",
          "[config][session][redis]") {
  TempDir dir;
  std::FILE* capture = std::tmpfile();
  const int saved = ::dup(2);
  std::fflush(stderr);
  ::dup2(::fileno(capture), 2);
  LoadResult r = withSession(dir, "[redis]\naddress = \"10.0.0.1:6379\"\n");
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::rewind(capture);
  char buf[1024] = {};
  std::string log(buf, std::fread(buf, 1, sizeof buf - 1, capture));
  std::fclose(capture);
  INFO(joinErrors(r));
  INFO(log);
  REQUIRE(r.config);
  CHECK(r.config->session->store == session::StoreKind::kMemory);
  CHECK(r.config->session->redis.address == "127.0.0.1:6379");
  CHECK(log.find("sesame.toml:12:1: [redis] is not used: session.store is not \"redis\"") !=
        std::string::npos);
}
