#include "sesame/net/cidr.h"

#include <catch2/catch.hpp>

using sesame::net::Cidr;
using sesame::net::containsAny;
using sesame::net::IpAddress;
using sesame::net::parseCidr;
using sesame::net::parseIp;

namespace {

IpAddress ip(const char* text) {
  auto parsed = parseIp(text);
  REQUIRE(parsed.has_value());
  return *parsed;
}

Cidr cidr(const char* text) {
  std::string error;
  auto parsed = parseCidr(text, &error);
  INFO(error);
  REQUIRE(parsed.has_value());
  return *parsed;
}

}  // namespace

TEST_CASE("parseIp accepts numeric literals only", "[net][cidr]") {
  CHECK(ip("10.1.2.3").toString() == "10.1.2.3");
  CHECK(ip("2001:DB8::1").toString() == "2001:db8::1");
  CHECK(ip("::1").v6);
  // A dual-stack socket reports IPv4 peers in mapped form: the same address.
  CHECK(ip("::ffff:10.0.0.1") == ip("10.0.0.1"));
  CHECK_FALSE(ip("::ffff:10.0.0.1").v6);
  for (const char* bad :
       {"", "10.0.0", "10.0.0.256", "010.0.0.1", " 10.0.0.1", "10.0.0.1 ", "[::1]", "10.0.0.1:80",
        "fe80::1%eth0", "localhost", "unknown", "1.2.3.4.5", "0x7f.0.0.1", "::1::2"}) {
    INFO(bad);
    CHECK_FALSE(parseIp(bad).has_value());
  }
}

TEST_CASE("parseCidr reads blocks and single addresses", "[net][cidr]") {
  CHECK(cidr("10.0.0.0/8").toString() == "10.0.0.0/8");
  CHECK(cidr("192.0.2.7").toString() == "192.0.2.7/32");
  CHECK(cidr("::1").toString() == "::1/128");
  CHECK(cidr("2001:db8::/32").toString() == "2001:db8::/32");
  CHECK(cidr("0.0.0.0/0").prefix == 0);
  CHECK(cidr("::/0").prefix == 0);
  CHECK(cidr("10.0.0.0/9").prefix == 9);
}

TEST_CASE("parseCidr says what is wrong", "[net][cidr]") {
  struct Case {
    const char* text;
    const char* says;
  };
  const Case cases[] = {
      {"10.0.0.1/8", "did you mean 10.0.0.0/8, or the single address 10.0.0.1?"},
      {"2001:db8::1/32", "did you mean 2001:db8::/32"},
      {"10.0.0.0/33", "longer than the 32 bits"},
      {"::/129", "longer than the 128 bits"},
      {"10.0.0.0/", "prefix length"},
      {"10.0.0.0/+8", "decimal digits"},
      {"10.0.0.0/08x", "decimal digits"},
      {"10.0.0.0/0008", "prefix length"},
      {"10.0.0/8", "the address before \"/\""},
      {"example.com", "not a numeric IPv4 or IPv6 address"},
      {"::ffff:10.0.0.0/104", "IPv4 form"},
      {"", "not a numeric"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    std::string error;
    CHECK_FALSE(parseCidr(c.text, &error).has_value());
    CHECK_THAT(error, Catch::Contains(c.says));
  }
}

TEST_CASE("Cidr::contains matches by prefix and family", "[net][cidr]") {
  CHECK(cidr("10.0.0.0/8").contains(ip("10.255.1.2")));
  CHECK_FALSE(cidr("10.0.0.0/8").contains(ip("11.0.0.0")));
  CHECK(cidr("10.0.0.0/9").contains(ip("10.127.0.1")));
  CHECK_FALSE(cidr("10.0.0.0/9").contains(ip("10.128.0.1")));
  CHECK(cidr("0.0.0.0/0").contains(ip("203.0.113.9")));
  CHECK_FALSE(cidr("0.0.0.0/0").contains(ip("::1")));
  CHECK(cidr("::/0").contains(ip("2001:db8::5")));
  CHECK_FALSE(cidr("::/0").contains(ip("10.0.0.1")));
  CHECK(cidr("::1").contains(ip("::1")));
  CHECK_FALSE(cidr("::1").contains(ip("::2")));
  CHECK(cidr("2001:db8::/33").contains(ip("2001:db8:7fff::1")));
  CHECK_FALSE(cidr("2001:db8::/33").contains(ip("2001:db8:8000::1")));
  CHECK(cidr("127.0.0.1").contains(ip("::ffff:127.0.0.1")));
  CHECK(containsAny({cidr("10.0.0.0/8"), cidr("::1")}, ip("::1")));
  CHECK_FALSE(containsAny({}, ip("::1")));
}
