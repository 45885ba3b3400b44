#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "temp_config.h"

using namespace sesame::config;
using sesame::config::testing::hasError;
using sesame::config::testing::joinErrors;
using sesame::config::testing::kMinimal;
using sesame::config::testing::TempDir;

namespace {

// The repository file `name`, found from the working directory or, when the
// tests run elsewhere, from this source file's path.
std::string repoFile(const std::string& name) {
  if (std::filesystem::exists(name)) return name;
  std::filesystem::path here(__FILE__);
  return (here.parent_path() / "../../.." / name).lexically_normal().string();
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

constexpr std::string_view kFull = R"(
[server]
workers = 4

[[listen]]
address = "127.0.0.1:8443"
tls = true

[[listen]]
address = "[::1]:8080"
redirect_https = true

[tls]
min_version = "1.3"
hsts = "365d"
ciphers = "ECDHE-RSA-AES128-GCM-SHA256"
ciphersuites = "TLS_AES_128_GCM_SHA256"

[[tls.certificate]]
cert = "tls/example.pem"
key = "tls/example.key"

[[tls.certificate]]
cert = "CERT2"
key = "tls/../tls/other.key"

[upstream.zeta]
servers = ["127.0.0.1:9000", "[::1]:9001"]
keepalive = 0

[upstream.alpha]
servers = ["localhost:9100"]

[[route]]
host = "App.Example.com"
path = "/"
upstream = "zeta"

[[route]]
host = "*.example.com"
path = "/static/"
upstream = "alpha"

[[route]]
upstream = "alpha"

[limits]
header_bytes = 8192
header_count = 50
body_bytes = 1048576

[timeouts]
header = "5s"
idle = "2m"
upstream_connect = "250ms"
upstream_read = "1h"
tunnel_idle = "1d"
client_send = "30s"
)";

}  // namespace

TEST_CASE("a full configuration fills every typed slice", "[config][load]") {
  TempDir dir;
  dir.write("tls/example.pem", "x");
  dir.write("tls/example.key", "x");
  dir.write("tls/other.key", "x");
  std::string cert2 = dir.write("elsewhere/two.pem", "x");
  std::string text(kFull);
  text.replace(text.find("CERT2"), 5, cert2);

  LoadResult r = dir.load(text);
  INFO(joinErrors(r));
  REQUIRE(r.errors.empty());
  REQUIRE(r.config);
  const Config& c = *r.config;
  CHECK(c.path == dir.path() + "/sesame.toml");
  CHECK(c.server.workers == 4);

  REQUIRE(c.listeners.size() == 2);
  CHECK(c.listeners[0].address == "127.0.0.1:8443");
  CHECK(c.listeners[0].addr.toString() == "127.0.0.1:8443");
  CHECK(c.listeners[0].tls);
  CHECK_FALSE(c.listeners[0].redirect_https);
  CHECK(c.listeners[1].addr.toString() == "[::1]:8080");
  CHECK_FALSE(c.listeners[1].tls);
  CHECK(c.listeners[1].redirect_https);

  CHECK(c.tls.min_version == "1.3");
  REQUIRE(c.tls.hsts.has_value());
  CHECK(c.tls.hsts->count() == 365LL * 86400 * 1000);
  CHECK(c.tls.ciphers == "ECDHE-RSA-AES128-GCM-SHA256");
  CHECK(c.tls.ciphersuites == "TLS_AES_128_GCM_SHA256");
  REQUIRE(c.tls.certificates.size() == 2);
  CHECK(c.tls.certificates[0].cert == dir.path() + "/tls/example.pem");
  CHECK(c.tls.certificates[0].key == dir.path() + "/tls/example.key");
  CHECK(c.tls.certificates[1].cert == cert2);
  CHECK(c.tls.certificates[1].key == dir.path() + "/tls/other.key");

  // File order, not toml++'s sorted key order.
  REQUIRE(c.upstreams.size() == 2);
  CHECK(c.upstreams[0].name == "zeta");
  CHECK(c.upstreams[0].keepalive == 0);
  REQUIRE(c.upstreams[0].servers.size() == 2);
  CHECK(c.upstreams[0].servers[0].address == "127.0.0.1:9000");
  CHECK(c.upstreams[0].servers[1].addr.toString() == "[::1]:9001");
  CHECK(c.upstreams[1].name == "alpha");
  CHECK(c.upstreams[1].keepalive == 32);
  REQUIRE(c.upstreams[1].servers.size() == 1);
  CHECK(c.upstreams[1].servers[0].address == "localhost:9100");

  REQUIRE(c.routes.size() == 3);
  CHECK(c.routes[0].host == "app.example.com");
  CHECK(c.routes[0].path == "/");
  CHECK(c.routes[0].upstream == "zeta");
  CHECK(c.routes[0].upstream_index == 0);
  CHECK(c.routes[1].host == "*.example.com");
  CHECK(c.routes[1].path == "/static/");
  CHECK(c.routes[1].upstream_index == 1);
  CHECK(c.routes[2].host.empty());
  CHECK(c.routes[2].path == "/");
  CHECK(c.routes[2].upstream_index == 1);

  CHECK(c.limits.head.header_bytes == 8192);
  CHECK(c.limits.head.header_count == 50);
  CHECK(c.limits.body_bytes == 1048576);

  CHECK(c.timeouts.header == Duration{5000});
  CHECK(c.timeouts.idle == Duration{120'000});
  CHECK(c.timeouts.upstream_connect == Duration{250});
  CHECK(c.timeouts.upstream_read == Duration{3'600'000});
  CHECK(c.timeouts.tunnel_idle == Duration{86'400'000});
  CHECK(c.timeouts.client_send == Duration{30'000});
}

TEST_CASE("absent sections keep their defaults", "[config][load]") {
  TempDir dir;
  LoadResult r = dir.load(kMinimal);
  INFO(joinErrors(r));
  REQUIRE(r.config);
  const Config& c = *r.config;
  CHECK(c.server.workers == 1);
  CHECK(c.tls.min_version == "1.2");
  CHECK_FALSE(c.tls.hsts.has_value());
  CHECK(c.tls.certificates.empty());
  CHECK(c.upstreams[0].keepalive == 32);
  CHECK(c.limits.head.header_bytes == 16384);
  CHECK(c.limits.head.header_count == 100);
  CHECK(c.limits.body_bytes == 0);
  CHECK(c.timeouts.header == Duration{10'000});
  CHECK(c.timeouts.idle == Duration{60'000});
  CHECK(c.timeouts.upstream_connect == Duration{3'000});
  CHECK(c.timeouts.upstream_read == Duration{60'000});
  CHECK(c.timeouts.tunnel_idle == Duration{300'000});
  CHECK(c.timeouts.client_send == Duration{60'000});
}

TEST_CASE("workers = 0 means one per CPU, never 0", "[config][load]") {
  TempDir dir;
  LoadResult r = dir.load("[server]\nworkers = 0\n" + std::string(kMinimal));
  REQUIRE(r.config);
  CHECK(r.config->server.workers == std::max(1u, std::thread::hardware_concurrency()));
}

TEST_CASE("conf/sesame-minimal.toml loads as shipped", "[config][load][conf]") {
  LoadResult r = load(repoFile("conf/sesame-minimal.toml"));
  INFO(joinErrors(r));
  REQUIRE(r.config);
  REQUIRE(r.config->listeners.size() == 1);
  CHECK(r.config->listeners[0].addr.toString() == "127.0.0.1:8080");
  CHECK_FALSE(r.config->listeners[0].tls);
  REQUIRE(r.config->upstreams.size() == 1);
  CHECK(r.config->upstreams[0].servers[0].addr.toString() == "127.0.0.1:9000");
  REQUIRE(r.config->routes.size() == 1);
}

TEST_CASE("conf/sesame.toml loads once its certificate files exist", "[config][load][conf]") {
  std::string text = readFile(repoFile("conf/sesame.toml"));
  REQUIRE_FALSE(text.empty());
  TempDir dir;
  // The example names its certificates relative to itself, so creating them
  // beside the copy is all it takes.
  size_t made = 0;
  for (size_t at = text.find("cert = \""); at != std::string::npos;
       at = text.find("cert = \"", at + 1)) {
    size_t start = at + 8;
    dir.write(text.substr(start, text.find('"', start) - start), "x");
    ++made;
  }
  for (size_t at = text.find("key = \""); at != std::string::npos;
       at = text.find("key = \"", at + 1)) {
    size_t start = at + 7;
    dir.write(text.substr(start, text.find('"', start) - start), "x");
  }
  CHECK(made >= 1);
  LoadResult r = dir.load(text);
  INFO(joinErrors(r));
  REQUIRE(r.config);
  CHECK(r.config->tls.certificates.size() == made);
  CHECK(r.config->tls.hsts.has_value());
  CHECK_FALSE(r.config->upstreams.empty());
  CHECK_FALSE(r.config->routes.empty());

  SECTION("and without them, only the file checks fail") {
    TempDir empty;
    LoadResult missing = empty.load(text);
    REQUIRE_FALSE(missing.errors.empty());
    for (const std::string& e : missing.errors) {
      INFO(e);
      CHECK(e.find("does not exist") != std::string::npos);
    }
  }
}

TEST_CASE("certificate paths resolve against the config file's directory", "[config][load]") {
  TempDir dir;
  dir.write("certs/a.pem", "x");
  dir.write("a.key", "x");
  std::string tls = R"([tls]
[[tls.certificate]]
cert = "./certs/../certs/a.pem"
key = "a.key"
)";
  LoadResult r = dir.load(tls + std::string(kMinimal));
  INFO(joinErrors(r));
  REQUIRE(r.config);
  CHECK(r.config->tls.certificates[0].cert == dir.path() + "/certs/a.pem");
  CHECK(r.config->tls.certificates[0].key == dir.path() + "/a.key");

  SECTION("not against the working directory") {
    std::string old = std::filesystem::current_path().string();
    std::filesystem::current_path("/");
    LoadResult again = load(dir.path() + "/sesame.toml");
    std::filesystem::current_path(old);
    REQUIRE(again.config);
    CHECK(again.config->tls.certificates[0].key == dir.path() + "/a.key");
  }
}

TEST_CASE("certificate files that cannot be used are named with their key", "[config][load]") {
  TempDir dir;
  dir.write("dir/placeholder", "");
  std::string tls = R"([tls]
[[tls.certificate]]
cert = "missing.pem"
key = "dir"
)";
  LoadResult r = dir.load(tls + std::string(kMinimal));
  CHECK_FALSE(r.config);
  CHECK(
      hasError(r, "3:8", "tls.certificate[0].cert", dir.path() + "/missing.pem", "does not exist"));
  CHECK(hasError(r, "4:7", "tls.certificate[0].key", dir.path() + "/dir", "not a regular file"));

  if (::geteuid() != 0) {
    std::string key = dir.write("secret.key", "x");
    ::chmod(key.c_str(), 0);
    LoadResult r2 = dir.load(R"([tls]
[[tls.certificate]]
cert = "dir/placeholder"
key = "secret.key"
)" + std::string(kMinimal));
    CHECK(hasError(r2, "4:7", "tls.certificate[0].key", "cannot read", "Permission denied"));
  }
}

TEST_CASE("every error is reported, in file order", "[config][load]") {
  TempDir dir;
  LoadResult r = dir.load(R"([server]
workers = "two"
[[listen]]
address = "127.0.0.1"
[upstream.app]
servers = ["127.0.0.1:9000"]
keepalive = 5000
[[route]]
upstream = "api"
[timeouts]
idle = "forever"
)");
  INFO(joinErrors(r));
  CHECK_FALSE(r.config);
  REQUIRE(r.errors.size() == 5);
  CHECK(r.errors[0].find("sesame.toml:2:11: server.workers") != std::string::npos);
  CHECK(r.errors[1].find("sesame.toml:4:11: listen[0].address") != std::string::npos);
  CHECK(r.errors[2].find("sesame.toml:7:13: upstream.app.keepalive") != std::string::npos);
  CHECK(r.errors[3].find("sesame.toml:9:12: route[0].upstream \"api\" is not defined "
                         "(defined: \"app\")") != std::string::npos);
  CHECK(r.errors[4].find("sesame.toml:11:8: timeouts.idle") != std::string::npos);
}

TEST_CASE("a TOML syntax error reports the parser's position", "[config][load]") {
  TempDir dir;
  LoadResult r = dir.load("[server]\nworkers = = 1\n");
  REQUIRE(r.errors.size() == 1);
  CHECK_FALSE(r.config);
  CHECK(hasError(r, "2:11", "TOML syntax error"));

  LoadResult dup = dir.load("[server]\nworkers = 1\nworkers = 2\n");
  REQUIRE(dup.errors.size() == 1);
  CHECK_THAT(dup.errors[0], Catch::Contains("sesame.toml:3:") && Catch::Contains("workers"));
}

TEST_CASE("load reports files it cannot read", "[config][load]") {
  TempDir dir;
  LoadResult missing = load(dir.path() + "/nope.toml");
  REQUIRE(missing.errors.size() == 1);
  CHECK_THAT(missing.errors[0], Catch::Contains("nope.toml: cannot read the configuration file: "
                                                "No such file or directory"));
  LoadResult directory = load(dir.path());
  REQUIRE(directory.errors.size() == 1);
  CHECK_THAT(directory.errors[0], Catch::Contains("not a regular file"));
}

TEST_CASE("parse works on text in memory", "[config][load]") {
  LoadResult r = parse(kMinimal, "/etc/sesame/inline.toml");
  INFO(joinErrors(r));
  REQUIRE(r.config);
  CHECK(r.config->path == "/etc/sesame/inline.toml");

  LoadResult bad = parse("[[listen]]\naddress = \"localhost:80\"\n", "/x/inline.toml",
                         LoadOptions{.resolve_names = false});
  CHECK_THAT(joinErrors(bad), Catch::Contains("/x/inline.toml:2:11: listen[0].address "
                                              "\"localhost:80\" is not a usable address: "
                                              "\"localhost\" is not a numeric"));
}
