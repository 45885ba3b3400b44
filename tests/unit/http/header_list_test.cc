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

namespace {

std::vector<std::string> lines(const HeaderList& h) {
  std::vector<std::string> out;
  for (const auto& f : h.fields()) out.push_back(f.name + ": " + f.value);
  return out;
}

}  // namespace

TEST_CASE("HeaderList reused after clear() holds exactly the new fields", "[http][headers]") {
  HeaderList h;
  const std::string long_value(300, 'v');
  for (int i = 0; i < 20; ++i) h.add("X-Long-" + std::to_string(i), long_value);
  const size_t storage = h.storageBytes();
  h.clear();
  CHECK(h.size() == 0);
  CHECK(h.fields().empty());
  CHECK(h.find("X-Long-0") == nullptr);
  CHECK(h.count("X-Long-1") == 0);
  std::string out;
  appendFields(out, h);
  CHECK(out.empty());
  h.add("A", "1");
  h.add("B", "");
  CHECK(lines(h) == std::vector<std::string>{"A: 1", "B: "});
  CHECK(h.find("X-Long-2") == nullptr);
  // The spare entries keep their capacity for the next long head.
  CHECK(h.storageBytes() == storage);
}

TEST_CASE("HeaderList removal keeps the order and never brings a removed field back",
          "[http][headers]") {
  HeaderList h;
  h.add("A", "1");
  h.add("Drop", "x");
  h.add("B", "2");
  h.add("drop", "y");
  h.add("C", "3");
  REQUIRE(h.remove("DROP") == 2);
  CHECK(lines(h) == std::vector<std::string>{"A: 1", "B: 2", "C: 3"});
  REQUIRE(h.removeIf([](const auto& f) { return f.name == "A"; }) == 1);
  CHECK(lines(h) == std::vector<std::string>{"B: 2", "C: 3"});
  h.add("D", "4");
  CHECK(lines(h) == std::vector<std::string>{"B: 2", "C: 3", "D: 4"});
  CHECK(h.find("Drop") == nullptr);
  CHECK(h.find("A") == nullptr);
}

TEST_CASE("HeaderList copies hold the live fields; a moved-from list is empty", "[http][headers]") {
  HeaderList h;
  h.add("A", "1");
  h.add("B", "2");
  h.add("C", "3");
  REQUIRE(h.remove("B") == 1);
  HeaderList copy(h);
  CHECK(lines(copy) == std::vector<std::string>{"A: 1", "C: 3"});
  HeaderList assigned;
  assigned.add("Old", "x");
  assigned = h;
  CHECK(lines(assigned) == std::vector<std::string>{"A: 1", "C: 3"});
  HeaderList moved(std::move(h));
  CHECK(lines(moved) == std::vector<std::string>{"A: 1", "C: 3"});
  CHECK(h.size() == 0);  // NOLINT(bugprone-use-after-move): moved-from state is the contract
  h.add("New", "1");
  CHECK(lines(h) == std::vector<std::string>{"New: 1"});
  assigned = std::move(moved);
  CHECK(lines(assigned) == std::vector<std::string>{"A: 1", "C: 3"});
  CHECK(moved.size() == 0);  // NOLINT(bugprone-use-after-move)
}

TEST_CASE("HeaderList::mutableFields edits a value in place", "[http][headers]") {
  HeaderList h;
  h.add("Cookie", "a=1");
  h.add("Accept", "*/*");
  for (auto& f : h.mutableFields()) {
    if (f.name == "Cookie") f.value = "b=2";
  }
  CHECK(lines(h) == std::vector<std::string>{"Cookie: b=2", "Accept: */*"});
}

TEST_CASE("removeHopByHop finds fields named by any Connection field, before or after it",
          "[http][headers]") {
  HeaderList h;
  h.add("X-Before", "1");
  h.add("Connection", "close, x-before");
  h.add("Keep", "1");
  h.add("connection", "X-After");
  h.add("X-After", "2");
  h.add("close", "a field named like the option");
  h.add("Keep-Alive", "timeout=5");
  h.removeHopByHop(false);
  CHECK(lines(h) == std::vector<std::string>{"Keep: 1"});
}

TEST_CASE("appendFieldsIf writes only the kept fields", "[http][headers]") {
  HeaderList h;
  h.add("A", "1");
  h.add("B", "2");
  h.add("C", "3");
  std::string out;
  sesame::http::appendFieldsIf(out, h, [](const auto& f) { return f.name != "B"; });
  CHECK(out == "A: 1\r\nC: 3\r\n");
}
