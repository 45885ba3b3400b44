#include <arpa/inet.h>
#include <netinet/in.h>

#include <catch2/catch.hpp>

#include "sesame/net/address.h"

using sesame::net::Address;
using sesame::net::HostPort;
using sesame::net::parseHostPort;

TEST_CASE("parseHostPort splits host and port", "[net][address]") {
  struct Case {
    const char* text;
    const char* host;
    uint16_t port;
  };
  const Case cases[] = {
      {"127.0.0.1:8080", "127.0.0.1", 8080},
      {"[::1]:443", "::1", 443},
      {"localhost:1", "localhost", 1},
      {"app.example.com:65535", "app.example.com", 65535},
      {"[fe80::1%eth0]:80", "fe80::1%eth0", 80},
      {"my_host-1:9000", "my_host-1", 9000},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    std::string error;
    auto hp = parseHostPort(c.text, &error);
    REQUIRE(hp.has_value());
    CHECK(hp->host == c.host);
    CHECK(hp->port == c.port);
    CHECK(error.empty());
  }
}

TEST_CASE("parseHostPort rejects malformed addresses and says why", "[net][address]") {
  struct Case {
    const char* text;
    const char* why;
  };
  const Case cases[] = {
      {"", "empty"},
      {"127.0.0.1", "port is missing"},
      {"127.0.0.1:", "port is missing"},
      {"127.0.0.1:0", "port 0"},
      {"127.0.0.1:65536", "above 65535"},
      {"127.0.0.1:99999999999999999999", "above 65535"},
      {"127.0.0.1:+80", "decimal"},
      {"127.0.0.1:8o", "decimal"},
      {":80", "host is empty"},
      {"[]:80", "host is empty"},
      {"[::1:80", "no matching"},
      {"::1]:80", "unbalanced"},
      {"[::1]", "port is missing"},
      {"[::1]80", "port is missing"},
      {"::1:80", "needs brackets"},
      {"::1", "needs brackets"},
      {"[127.0.0.1]:80", "not an IPv6"},
      {"[example.com]:80", "not an IPv6"},
      {"http://x:80", "needs brackets"},
      {"x/y:80", "not a valid host"},
      {"a b:80", "not a valid host"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    std::string error;
    CHECK_FALSE(parseHostPort(c.text, &error).has_value());
    CHECK_THAT(error, Catch::Contains(c.why));
  }
  CHECK_FALSE(parseHostPort("x", nullptr).has_value());
}

TEST_CASE("resolve takes numeric addresses without the resolver", "[net][address]") {
  std::string error;
  auto v4 = sesame::net::resolve(HostPort{"127.0.0.1", 8080}, &error);
  REQUIRE(v4.has_value());
  CHECK(v4->family() == AF_INET);
  CHECK(v4->length == sizeof(sockaddr_in));
  CHECK(v4->toString() == "127.0.0.1:8080");
  CHECK(v4->hostString() == "127.0.0.1");

  auto v6 = sesame::net::resolveNumeric(HostPort{"::1", 443}, &error);
  REQUIRE(v6.has_value());
  CHECK(v6->family() == AF_INET6);
  CHECK(v6->length == sizeof(sockaddr_in6));
  CHECK(v6->toString() == "[::1]:443");
  CHECK(v6->hostString() == "::1");

  auto any6 = sesame::net::resolve(HostPort{"0:0:0:0:0:0:0:0", 80}, &error);
  REQUIRE(any6.has_value());
  CHECK(any6->toString() == "[::]:80");
}

TEST_CASE("resolve looks names up; resolveNumeric refuses them", "[net][address]") {
  std::string error;
  auto local = sesame::net::resolve(HostPort{"localhost", 9000}, &error);
  REQUIRE(local.has_value());
  CHECK((local->toString() == "127.0.0.1:9000" || local->toString() == "[::1]:9000"));

  CHECK_FALSE(sesame::net::resolveNumeric(HostPort{"localhost", 9000}, &error).has_value());
  CHECK_THAT(error, Catch::Contains("not a numeric"));

  CHECK_FALSE(sesame::net::resolve(HostPort{"no-such-host.invalid", 80}, &error).has_value());
  CHECK_THAT(error, Catch::Contains("cannot resolve \"no-such-host.invalid\""));
}

TEST_CASE("fromSockaddr copies what the kernel gave", "[net][address]") {
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(8443);
  REQUIRE(inet_pton(AF_INET6, "2001:db8::7", &sin6.sin6_addr) == 1);
  Address a = sesame::net::fromSockaddr(reinterpret_cast<sockaddr*>(&sin6), sizeof sin6);
  CHECK(a.length == sizeof sin6);
  CHECK(a.toString() == "[2001:db8::7]:8443");
  CHECK(a.hostString() == "2001:db8::7");

  Address empty = sesame::net::fromSockaddr(nullptr, 0);
  CHECK(empty.length == 0);
  CHECK(empty.toString().empty());
  CHECK(empty.hostString().empty());

  sockaddr_storage big{};
  big.ss_family = AF_INET;
  Address clipped = sesame::net::fromSockaddr(reinterpret_cast<sockaddr*>(&big), sizeof big + 100);
  CHECK(clipped.length == sizeof big);
}
