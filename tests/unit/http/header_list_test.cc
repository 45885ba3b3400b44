// HeaderList: ordered fields, case-insensitive lookup, hop-by-hop removal.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "sesame/http/header_list.h"

using sesame::http::appendFields;
using sesame::http::equalsIgnoreCase;
using sesame::http::forEachListElement;
using sesame::http::HeaderList;
using sesame::http::isProtectedFromConnection;

TEST_CASE("equalsIgnoreCase compares ASCII case-insensitively", "[http][headers]") {
  REQUIRE(equalsIgnoreCase("Content-Length", "content-LENGTH"));
  REQUIRE_FALSE(equalsIgnoreCase("Host", "Hosts"));
  REQUIRE_FALSE(equalsIgnoreCase("a-b", "a_b"));
  REQUIRE(equalsIgnoreCase("", ""));
}

TEST_CASE("HeaderList keeps order and finds case-insensitively", "[http][headers]") {
  HeaderList h;
  h.add("Accept", "text/html");
  h.add("X-Two", "1");
  h.add("x-two", "2");
  REQUIRE(h.size() == 3);
  REQUIRE(h.fields()[1].name == "X-Two");
  REQUIRE(h.find("X-TWO") != nullptr);
  REQUIRE(h.find("x-two")->value == "1");
  REQUIRE(h.find("missing") == nullptr);
  REQUIRE(h.count("X-Two") == 2);
  REQUIRE(h.remove("X-TWO") == 2);
  REQUIRE(h.size() == 1);
  REQUIRE(h.remove("X-TWO") == 0);
  h.clear();
  REQUIRE(h.size() == 0);
}

TEST_CASE("HeaderList::hasToken looks at every list element of every field", "[http][headers]") {
  HeaderList h;
  h.add("Connection", "keep-alive , Upgrade");
  h.add("connection", ",close,");
  REQUIRE(h.hasToken("connection", "upgrade"));
  REQUIRE(h.hasToken("Connection", "KEEP-ALIVE"));
  REQUIRE(h.hasToken("Connection", "close"));
  REQUIRE_FALSE(h.hasToken("Connection", "keep"));
  REQUIRE_FALSE(h.hasToken("Upgrade", "close"));
}

TEST_CASE("removeHopByHop drops the fixed list and fields named by Connection", "[http][headers]") {
  HeaderList h;
  h.add("Host-Like", "keep");
  h.add("Connection", "X-Secret, close");
  h.add("Keep-Alive", "timeout=5");
  h.add("Proxy-Connection", "keep-alive");
  h.add("TE", "trailers");
  h.add("Trailer", "X-Sum");
  h.add("Transfer-Encoding", "chunked");
  h.add("x-secret", "1");
  h.add("Upgrade", "websocket");
  h.add("Accept", "*/*");

  SECTION("without upgrade") {
    h.removeHopByHop(false);
    REQUIRE(h.size() == 2);
    REQUIRE(h.fields()[0].name == "Host-Like");
    REQUIRE(h.fields()[1].name == "Accept");
  }
  SECTION("keeping upgrade") {
    h.removeHopByHop(true);
    REQUIRE(h.size() == 3);
    REQUIRE(h.find("Upgrade") != nullptr);
    REQUIRE(h.find("Connection") == nullptr);
    REQUIRE(h.find("X-Secret") == nullptr);
  }
}

TEST_CASE("removeHopByHop keeps Upgrade when Connection names it and it is kept",
          "[http][headers]") {
  HeaderList h;
  h.add("Connection", "Upgrade");
  h.add("Upgrade", "websocket");
  h.removeHopByHop(true);
  REQUIRE(h.size() == 1);
  REQUIRE(h.fields()[0].name == "Upgrade");
}

TEST_CASE("removeHopByHop ignores Connection options naming framing and judged fields",
          "[http][headers]") {
  HeaderList h;
  h.add("Connection",
        "close, Content-Length, HOST, Cookie, Origin, Referer, Sec-Fetch-Site, "
        "X-Request-Id, X-Other");
  h.add("Content-Length", "12");
  h.add("Cookie", "a=1");
  h.add("Origin", "https://app");
  h.add("Referer", "https://app/");
  h.add("Sec-Fetch-Site", "same-origin");
  h.add("X-Request-Id", "r1");
  h.add("X-Other", "gone");
  h.removeHopByHop(false);
  REQUIRE(h.size() == 6);
  CHECK(h.find("X-Other") == nullptr);
  CHECK(h.find("Connection") == nullptr);
  CHECK(h.find("Content-Length") != nullptr);
  CHECK(isProtectedFromConnection("transfer-encoding"));
  CHECK_FALSE(isProtectedFromConnection("x-remote-user"));
}

TEST_CASE("forEachListElement trims and skips empty elements", "[http][headers]") {
  std::vector<std::string> seen;
  forEachListElement(" a ,, b\t,c,", [&](std::string_view e) { seen.emplace_back(e); });
  CHECK(seen == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("appendFields writes Name: value CRLF per field", "[http][headers]") {
  HeaderList h;
  h.add("A", "1");
  h.add("B-c", "");
  std::string out = "GET / HTTP/1.1\r\n";
  appendFields(out, h);
  REQUIRE(out == "GET / HTTP/1.1\r\nA: 1\r\nB-c: \r\n");
}
