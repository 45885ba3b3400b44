// [server] trusted_proxies and [[listen]] proxy_protocol.
#include <catch2/catch.hpp>
#include <string>

#include "temp_config.h"

using namespace sesame::config;
using sesame::config::testing::hasError;
using sesame::config::testing::joinErrors;
using sesame::config::testing::kMinimal;
using sesame::config::testing::TempDir;

TEST_CASE("trusted_proxies defaults to nobody, proxy_protocol to off", "[config][trusted]") {
  TempDir dir;
  LoadResult r = dir.load(kMinimal);
  INFO(joinErrors(r));
  REQUIRE(r.config);
  CHECK(r.config->server.trusted_proxies.empty());
  CHECK_FALSE(r.config->listeners[0].proxy_protocol);
}

TEST_CASE("trusted_proxies takes IPv4 and IPv6 blocks and single addresses", "[config][trusted]") {
  TempDir dir;
  LoadResult r = dir.load(R"([server]
trusted_proxies = ["10.0.0.0/8", "::1", "192.0.2.7", "2001:db8::/32"]
[[listen]]
address = "127.0.0.1:8080"
proxy_protocol = true
[upstream.app]
servers = ["127.0.0.1:9000"]
[[route]]
upstream = "app"
)");
  INFO(joinErrors(r));
  REQUIRE(r.config);
  const auto& trusted = r.config->server.trusted_proxies;
  REQUIRE(trusted.size() == 4);
  CHECK(trusted[0].toString() == "10.0.0.0/8");
  CHECK(trusted[1].toString() == "::1/128");
  CHECK(trusted[2].toString() == "192.0.2.7/32");
  CHECK(trusted[3].toString() == "2001:db8::/32");
  CHECK(r.config->listeners[0].proxy_protocol);
}

TEST_CASE("bad trusted_proxies entries point at the entry and say why", "[config][trusted]") {
  TempDir dir;
  LoadResult r = dir.load(std::string(R"([server]
trusted_proxies = ["10.0.0.1/8", "proxy.example", 7, "::/200"]
)") + std::string(kMinimal));
  INFO(joinErrors(r));
  CHECK_FALSE(r.config);
  CHECK(hasError(r, "2:20", "server.trusted_proxies[0]", "\"10.0.0.1/8\"",
                 "did you mean 10.0.0.0/8"));
  CHECK(hasError(r, "2:34", "server.trusted_proxies[1]", "not a numeric IPv4 or IPv6 address"));
  CHECK(hasError(r, "2:51", "server.trusted_proxies[2]", "expected a string", "integer"));
  CHECK(hasError(r, "2:54", "server.trusted_proxies[3]", "longer than the 128 bits"));
  CHECK(r.errors.size() == 4);
}

TEST_CASE("trusted_proxies must be an array", "[config][trusted]") {
  TempDir dir;
  LoadResult r = dir.load("[server]\ntrusted_proxies = \"10.0.0.0/8\"\n" + std::string(kMinimal));
  INFO(joinErrors(r));
  CHECK(hasError(r, "2:19", "server.trusted_proxies", "an array of CIDR strings"));
}

TEST_CASE("proxy_protocol without trusted_proxies is an error", "[config][trusted]") {
  TempDir dir;
  LoadResult r = dir.load(R"([[listen]]
address = "127.0.0.1:8080"
proxy_protocol = true
[upstream.app]
servers = ["127.0.0.1:9000"]
[[route]]
upstream = "app"
)");
  INFO(joinErrors(r));
  CHECK_FALSE(r.config);
  CHECK(hasError(r, "3:18", "listen[0].proxy_protocol = true needs server.trusted_proxies"));
  CHECK(r.errors.size() == 1);

  LoadResult typed = dir.load(R"([server]
trusted_proxies = ["127.0.0.1"]
[[listen]]
address = "127.0.0.1:8080"
proxy_protocol = "yes"
[upstream.app]
servers = ["127.0.0.1:9000"]
[[route]]
upstream = "app"
)");
  CHECK(hasError(typed, "5:18", "listen[0].proxy_protocol", "boolean"));
}
