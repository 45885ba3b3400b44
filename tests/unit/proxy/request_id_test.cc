#include "sesame/proxy/request_id.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "sesame/proxy/forwarding.h"

using namespace sesame;
using proxy::RequestId;
using proxy::RequestIdSource;

TEST_CASE("request IDs: 1..128 characters of [A-Za-z0-9._:-]", "[request_id]") {
  for (std::string ok : {std::string("a"), std::string(128, 'Z'),
                         std::string("550e8400-e29b-41d4-a716-446655440000"),
                         std::string("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
                         std::string("req.42_x:y-z")}) {
    INFO(ok);
    CHECK(proxy::validRequestId(ok));
  }
  for (std::string bad :
       {std::string(), std::string(129, 'a'), std::string("a b"), std::string("a\"b"),
        std::string("a,b"), std::string("a\x01"), std::string("caf\xc3\xa9"), std::string("a/b"),
        std::string("a=b"), std::string("a\\b"), std::string("a\r\nX-Evil: 1")}) {
    INFO(bad);
    CHECK_FALSE(proxy::validRequestId(bad));
  }
}

TEST_CASE("generated request IDs are 32 hex digits, unique, one prefix per source",
          "[request_id]") {
  RequestIdSource a;
  RequestIdSource b;
  std::set<std::string> seen;
  RequestId id;
  for (int i = 0; i < 10000; ++i) {
    a.next(id);
    REQUIRE(id.view().size() == RequestIdSource::kLength);
    REQUIRE(id.view().find_first_not_of("0123456789abcdef") == std::string_view::npos);
    REQUIRE(proxy::validRequestId(id.view()));
    seen.emplace(id.view());
  }
  CHECK(seen.size() == 10000);
  a.next(id);
  std::string from_a(id.view());
  b.next(id);
  std::string from_b(id.view());
  // Two workers (or two starts) draw their own random prefix.
  CHECK(from_a.substr(0, 16) != from_b.substr(0, 16));
  CHECK(from_a.substr(0, 16) == seen.begin()->substr(0, 16));
}

TEST_CASE("the client's X-Request-Id is kept only when it is one valid field", "[request_id]") {
  RequestIdSource source;
  RequestId id;
  http::HeaderList headers;
  headers.add("Accept", "*/*");

  SECTION("none: generated") {
    proxy::chooseRequestId(headers, source, id);
    CHECK(id.view().size() == 32);
  }
  SECTION("valid: kept, whatever the name's case") {
    headers.add("x-request-id", "abc-123");
    proxy::chooseRequestId(headers, source, id);
    CHECK(id.view() == "abc-123");
  }
  SECTION("invalid: replaced") {
    headers.add("X-Request-Id", "has space");
    proxy::chooseRequestId(headers, source, id);
    CHECK(id.view().size() == 32);
    CHECK(id.view() != "has space");
  }
  SECTION("two fields, both valid: ambiguous, replaced") {
    headers.add("X-Request-Id", "one");
    headers.add("X-Request-Id", "two");
    proxy::chooseRequestId(headers, source, id);
    CHECK(id.view().size() == 32);
  }
  SECTION("the longest valid one") {
    headers.add("X-Request-Id", std::string(128, '7'));
    proxy::chooseRequestId(headers, source, id);
    CHECK(id.view() == std::string(128, '7'));
  }
}

TEST_CASE("the request ID replaces every X-Request-Id upstream and towards the client",
          "[request_id][forwarding]") {
  http::RequestParser parser;
  REQUIRE(parser.parse("GET / HTTP/1.1\r\nHost: h\r\nX-Request-Id: a\r\nx-request-id: b\r\n\r\n") ==
          http::RequestParser::Status::kComplete);
  std::string up;
  proxy::RequestForwarding fwd{"192.0.2.1", false, "h", "0123abcd"};
  proxy::appendUpstreamRequest(up, parser.head(), fwd);
  CHECK(up.find("X-Request-Id: a") == std::string::npos);
  CHECK(up.find("x-request-id: b") == std::string::npos);
  CHECK(up.find("\r\nX-Request-Id: 0123abcd\r\n") != std::string::npos);

  http::ResponseParser response;
  REQUIRE(response.parse("HTTP/1.1 200 OK\r\nX-Request-Id: theirs\r\nContent-Length: 0\r\n\r\n",
                         "GET") == http::ResponseParser::Status::kComplete);
  std::string down;
  proxy::ResponseForwarding out;
  out.request_id = "0123abcd";
  proxy::appendClientResponse(down, response.head(), out);
  CHECK(down.find("theirs") == std::string::npos);
  CHECK(down.find("\r\nX-Request-Id: 0123abcd\r\n") != std::string::npos);

  SECTION("without an ID (unit callers), the fields pass unchanged") {
    std::string plain;
    proxy::appendUpstreamRequest(plain, parser.head(), {"192.0.2.1", false, "h"});
    CHECK(plain.find("X-Request-Id: a\r\nx-request-id: b\r\n") != std::string::npos);
  }
}
