#include "sesame/net/proxy_protocol.h"

#include <catch2/catch.hpp>
#include <string>

using sesame::net::kProxyV1MaxLength;
using sesame::net::kProxyV2MaxLength;
using sesame::net::parseProxyHeader;
using sesame::net::ProxyHeader;
using Status = ProxyHeader::Status;

namespace {

const std::string kV2Sig("\r\n\r\n\0\r\nQUIT\n", 12);

std::string v2(uint8_t ver_cmd, uint8_t fam, const std::string& payload) {
  std::string h = kV2Sig;
  h.push_back(static_cast<char>(ver_cmd));
  h.push_back(static_cast<char>(fam));
  h.push_back(static_cast<char>(payload.size() >> 8));
  h.push_back(static_cast<char>(payload.size() & 0xff));
  return h + payload;
}

std::string bytes(std::initializer_list<int> list) {
  std::string out;
  for (int b : list) out.push_back(static_cast<char>(b));
  return out;
}

// Every proper prefix must ask for more (or already fail the same way), and
// the whole input must give `expected`.
ProxyHeader parseAllPrefixes(const std::string& input) {
  ProxyHeader full = parseProxyHeader(input);
  for (size_t n = 0; n < input.size(); ++n) {
    ProxyHeader part = parseProxyHeader(std::string_view(input).substr(0, n));
    if (part.status == Status::kNeedMore) continue;
    INFO("prefix of " << n << " bytes");
    CHECK(part.status == full.status);
    CHECK(part.length == full.length);
  }
  return full;
}

}  // namespace

TEST_CASE("PROXY v1 TCP4 and TCP6 name the client", "[net][proxy_protocol]") {
  std::string line = "PROXY TCP4 203.0.113.9 10.0.0.1 51234 443\r\nGET / HTTP/1.1\r\n";
  ProxyHeader h = parseAllPrefixes(line);
  REQUIRE(h.status == Status::kComplete);
  CHECK(h.length == 43);
  REQUIRE(h.source);
  CHECK(h.source->toString() == "203.0.113.9:51234");

  h = parseAllPrefixes("PROXY TCP6 2001:db8::7 ::1 65535 80\r\n");
  REQUIRE(h.status == Status::kComplete);
  REQUIRE(h.source);
  CHECK(h.source->toString() == "[2001:db8::7]:65535");
}

TEST_CASE("PROXY v1 UNKNOWN keeps the connection's own peer", "[net][proxy_protocol]") {
  for (const char* line : {"PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"}) {
    ProxyHeader h = parseAllPrefixes(line);
    REQUIRE(h.status == Status::kComplete);
    CHECK(h.length == std::string(line).size());
    CHECK_FALSE(h.source);
  }
}

TEST_CASE("PROXY v1 at the length limit", "[net][proxy_protocol]") {
  std::string longest =
      "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
      "65535 65535\r\n";
  REQUIRE(longest.size() == 104);
  CHECK(parseAllPrefixes(longest).status == Status::kComplete);
  std::string unknown = "PROXY UNKNOWN " + std::string(kProxyV1MaxLength - 16, 'x') + "\r\n";
  REQUIRE(unknown.size() == kProxyV1MaxLength);
  CHECK(parseAllPrefixes(unknown).status == Status::kComplete);
  std::string over = "PROXY UNKNOWN " + std::string(kProxyV1MaxLength - 15, 'x') + "\r\n";
  CHECK(parseAllPrefixes(over).status == Status::kError);
  // Never waits for more than the limit.
  CHECK(parseProxyHeader(std::string("PROXY ") + std::string(200, 'x')).status == Status::kError);
}

TEST_CASE("malformed PROXY v1 lines are refused", "[net][proxy_protocol]") {
  for (const char* line : {
           "PROXY TCP4 203.0.113.9 10.0.0.1 51234 443\n",
           "PROXY TCP4 203.0.113.9 10.0.0.1 51234 443\rX",
           "PROXY TCP4  203.0.113.9 10.0.0.1 51234 443\r\n",
           "PROXY TCP4 203.0.113.9 10.0.0.1 51234 443 \r\n",
           "PROXY TCP4 203.0.113.9 10.0.0.1 51234\r\n",
           "PROXY TCP4 203.0.113.9 10.0.0.1 51234 443 9\r\n",
           "PROXY TCP4 2001:db8::7 10.0.0.1 1 2\r\n",
           "PROXY TCP6 203.0.113.9 ::1 1 2\r\n",
           "PROXY TCP4 ::ffff:1.2.3.4 10.0.0.1 1 2\r\n",
           "PROXY TCP4 203.0.113.9 10.0.0.1 65536 443\r\n",
           "PROXY TCP4 203.0.113.9 10.0.0.1 0443 443\r\n",
           "PROXY TCP4 203.0.113.9 10.0.0.1 -1 443\r\n",
           "PROXY TCP4 host.example 10.0.0.1 1 2\r\n",
           "PROXY UDP4 203.0.113.9 10.0.0.1 1 2\r\n",
           "PROXY \r\n",
           "PROXY TCP4 203.0.113.9\t10.0.0.1 1 2\r\n",
           "PROXY tcp4 203.0.113.9 10.0.0.1 1 2\r\n",
           "PROXZ",
           "GET / HTTP/1.1\r\n",
           "\x16\x03\x01",
       }) {
    INFO(line);
    CHECK(parseAllPrefixes(line).status == Status::kError);
  }
}

TEST_CASE("PROXY v2 PROXY over TCP4 and TCP6 names the client", "[net][proxy_protocol]") {
  std::string tcp4 = v2(0x21, 0x11, bytes({203, 0, 113, 9, 10, 0, 0, 1, 0xc8, 0x22, 1, 0xbb}));
  ProxyHeader h = parseAllPrefixes(tcp4 + "\x16\x03\x01");
  REQUIRE(h.status == Status::kComplete);
  CHECK(h.length == 28);
  REQUIRE(h.source);
  CHECK(h.source->toString() == "203.0.113.9:51234");

  std::string addr6 = bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7});
  std::string tcp6 =
      v2(0x21, 0x21, addr6 + std::string(15, '\0') + "\x01" + bytes({0, 80, 1, 187}));
  h = parseAllPrefixes(tcp6);
  REQUIRE(h.status == Status::kComplete);
  CHECK(h.length == 16 + 36);
  REQUIRE(h.source);
  CHECK(h.source->toString() == "[2001:db8::7]:80");
}

TEST_CASE("PROXY v2 TLVs are skipped", "[net][proxy_protocol]") {
  // PP2_TYPE_ALPN "h2" and a NOOP padding TLV after the addresses.
  std::string payload = bytes({192, 0, 2, 1, 10, 0, 0, 1, 0, 1, 0, 2}) +
                        bytes({0x01, 0, 2, 'h', '2', 0x04, 0, 3, 0, 0, 0});
  ProxyHeader h = parseAllPrefixes(v2(0x21, 0x11, payload) + "GET");
  REQUIRE(h.status == Status::kComplete);
  CHECK(h.length == 16 + payload.size());
  CHECK(h.source->toString() == "192.0.2.1:1");
}

TEST_CASE("PROXY v2 LOCAL, UNSPEC and UNIX keep the connection's own peer",
          "[net][proxy_protocol]") {
  for (const std::string& header :
       {v2(0x20, 0x00, ""), v2(0x20, 0x11, bytes({1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2})),
        v2(0x20, 0x11, ""), v2(0x21, 0x00, "abc"), v2(0x21, 0x31, std::string(216, '\0'))}) {
    ProxyHeader h = parseAllPrefixes(header);
    REQUIRE(h.status == Status::kComplete);
    CHECK(h.length == header.size());
    CHECK_FALSE(h.source);
  }
}

TEST_CASE("malformed or oversized PROXY v2 headers are refused", "[net][proxy_protocol]") {
  std::string addr4 = bytes({1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2});
  for (const std::string& header : {
           v2(0x11, 0x11, addr4),                // version 1 in a v2 header
           v2(0x22, 0x11, addr4),                // command 2
           v2(0x21, 0x12, addr4),                // DGRAM
           v2(0x21, 0x41, addr4),                // family 4
           v2(0x21, 0x13, addr4),                // transport 3
           v2(0x21, 0x11, addr4.substr(0, 11)),  // short address block
           v2(0x21, 0x21, addr4),                // INET6 with an INET block
           v2(0x21, 0x31, "x"),                  // UNIX without its 216 bytes
           v2(0x21, 0x11, addr4 + std::string(kProxyV2MaxLength, 'T')),
           kV2Sig.substr(0, 5) + "X",
       }) {
    CHECK(parseAllPrefixes(header).status == Status::kError);
  }
  // The length alone decides: nothing beyond the limit is ever waited for.
  std::string huge = v2(0x21, 0x11, addr4).substr(0, 14) + "\xff\xff";
  CHECK(parseProxyHeader(huge).status == Status::kError);
  // At the limit exactly: accepted.
  std::string most = v2(0x21, 0x11, addr4 + std::string(kProxyV2MaxLength - 16 - 12, '\0'));
  REQUIRE(most.size() == kProxyV2MaxLength);
  CHECK(parseAllPrefixes(most).status == Status::kComplete);
}

TEST_CASE("nothing yet, and the signatures' prefixes, need more", "[net][proxy_protocol]") {
  CHECK(parseProxyHeader("").status == Status::kNeedMore);
  CHECK(parseProxyHeader("PROX").status == Status::kNeedMore);
  CHECK(parseProxyHeader(std::string_view(kV2Sig).substr(0, 7)).status == Status::kNeedMore);
  CHECK(parseProxyHeader("PROXY TCP4 1.2.3.4").status == Status::kNeedMore);
}
