// ResponseParser: status line, field lines, RFC 9112 §6.3 framing, limits.
#include <catch2/catch.hpp>

#include <string>

#include "sesame/http/response_parser.h"

using sesame::http::BodyKind;
using sesame::http::reasonPhrase;
using sesame::http::ResponseParser;
using Status = ResponseParser::Status;

namespace {

Status parseOnce(std::string_view bytes, std::string_view method = "GET") {
  ResponseParser p;
  return p.parse(bytes, method);
}

ResponseParser parsed(std::string_view bytes, std::string_view method = "GET") {
  ResponseParser p;
  REQUIRE(p.parse(bytes, method) == Status::kComplete);
  return p;
}

std::string ok(std::string_view fields) {
  return "HTTP/1.1 200 OK\r\n" + std::string(fields) + "\r\n";
}

}  // namespace

TEST_CASE("a response with Content-Length parses", "[http][response]") {
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\n";
  ResponseParser p;
  REQUIRE(p.parse(head + "hello", "GET") == Status::kComplete);
  REQUIRE(p.consumed() == head.size());
  REQUIRE(p.head().version_minor == 1);
  REQUIRE(p.head().status == 200);
  REQUIRE(p.head().reason == "OK");
  REQUIRE(p.head().headers.size() == 2);
  REQUIRE(p.head().body == BodyKind::kLength);
  REQUIRE(p.head().content_length == 5);
  REQUIRE(p.head().keep_alive);
}

TEST_CASE("an incomplete response head asks for more", "[http][response]") {
  REQUIRE(parseOnce("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n") == Status::kNeedMore);
}

TEST_CASE("byte-at-a-time response parsing equals one-shot", "[http][response]") {
  const std::string head = "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n";
  ResponseParser p;
  Status s = Status::kNeedMore;
  for (size_t i = 1; i <= head.size() && s == Status::kNeedMore; ++i) {
    s = p.parse(std::string_view(head).substr(0, i), "GET");
  }
  REQUIRE(s == Status::kComplete);
  REQUIRE(p.consumed() == head.size());
  REQUIRE(p.head().reason == "Not Found");
  REQUIRE(p.head().body == BodyKind::kChunked);
}

TEST_CASE("the reason phrase may be empty, with or without its SP", "[http][response]") {
  REQUIRE(parsed("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n").head().reason.empty());
  REQUIRE(parsed("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n").head().status == 200);
  REQUIRE(parsed("HTTP/1.1 500 Very  Bad\tThing\r\n\r\n").head().reason == "Very  Bad\tThing");
}

TEST_CASE("malformed status lines are errors", "[http][response]") {
  for (const char* line : {"HTTP/1.1  200 OK", "HTTP/1.1 20 OK", "HTTP/1.1 2000 OK",
                           "HTTP/1.1 2x0 OK", "http/1.1 200 OK", "HTTP/1.1", "HTTP/1.1 200OK",
                           "HTTP/1.1\t200 OK", "HTTP/1.10 200 OK", "HTTP/1.1 200 O\x01K"}) {
    INFO(line);
    REQUIRE(parseOnce(std::string(line) + "\r\n\r\n") == Status::kError);
  }
}

TEST_CASE("response versions other than 1.0 and 1.1 are errors", "[http][response]") {
  REQUIRE(parseOnce("HTTP/2.0 200 OK\r\n\r\n") == Status::kError);
  REQUIRE(parseOnce("HTTP/1.2 200 OK\r\n\r\n") == Status::kError);
  REQUIRE(parseOnce("HTTP/0.9 200 OK\r\n\r\n") == Status::kError);
}

TEST_CASE("status codes outside 100..599 are errors", "[http][response]") {
  REQUIRE(parseOnce("HTTP/1.1 099 X\r\n\r\n") == Status::kError);
  REQUIRE(parseOnce("HTTP/1.1 600 X\r\n\r\n") == Status::kError);
  REQUIRE(parsed("HTTP/1.1 599 X\r\n\r\n").head().status == 599);
}

TEST_CASE("response field lines are as strict as request ones", "[http][response]") {
  REQUIRE(parseOnce(ok("X : a\r\n")) == Status::kError);
  REQUIRE(parseOnce(ok("X: a\r\n b\r\n")) == Status::kError);
  REQUIRE(parseOnce(ok("X: a\x01\r\n")) == Status::kError);
  REQUIRE(parseOnce(ok(": a\r\n")) == Status::kError);
  REQUIRE(parseOnce(ok("X: a\rb\r\n")) == Status::kError);
  REQUIRE(parseOnce("HTTP/1.1 200 OK\nX: a\r\n\r\n") == Status::kError);
  REQUIRE(parseOnce("HTTP/1.1 200 OK\r\nX: a\n\r\n") == Status::kError);
}

TEST_CASE("no empty lines are skipped before a status line", "[http][response]") {
  REQUIRE(parseOnce("\r\nHTTP/1.1 200 OK\r\n\r\n") == Status::kError);
}

TEST_CASE("responses to HEAD have no body", "[http][response][framing]") {
  auto p = parsed(ok("Content-Length: 100\r\n"), "HEAD");
  REQUIRE(p.head().body == BodyKind::kNone);
  REQUIRE(p.head().keep_alive);
  REQUIRE(parsed(ok("Transfer-Encoding: chunked\r\n"), "HEAD").head().body == BodyKind::kNone);
}

TEST_CASE("1xx, 204 and 304 responses have no body", "[http][response][framing]") {
  REQUIRE(parsed("HTTP/1.1 100 Continue\r\n\r\n").head().body == BodyKind::kNone);
  REQUIRE(parsed("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n").head().body ==
          BodyKind::kNone);
  REQUIRE(parsed("HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n").head().body ==
          BodyKind::kNone);
  auto nm = parsed("HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n");
  REQUIRE(nm.head().body == BodyKind::kNone);
  REQUIRE(nm.head().keep_alive);
}

TEST_CASE("2xx to CONNECT has no body, other answers do", "[http][response][framing]") {
  REQUIRE(parsed("HTTP/1.1 200 Connection Established\r\n\r\n", "CONNECT").head().body ==
          BodyKind::kNone);
  REQUIRE(parsed("HTTP/1.1 407 Auth\r\nContent-Length: 3\r\n\r\n", "CONNECT").head().body ==
          BodyKind::kLength);
}

TEST_CASE("Transfer-Encoding with Content-Length is an error", "[http][response][framing]") {
  REQUIRE(parseOnce(ok("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")) == Status::kError);
  REQUIRE(parseOnce(ok("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n")) == Status::kError);
}

TEST_CASE("Transfer-Encoding without a final chunked is an error", "[http][response][framing]") {
  REQUIRE(parseOnce(ok("Transfer-Encoding: gzip\r\n")) == Status::kError);
  REQUIRE(parseOnce(ok("Transfer-Encoding: chunked, gzip\r\n")) == Status::kError);
  REQUIRE(parseOnce(ok("Transfer-Encoding: chunked, chunked\r\n")) == Status::kError);
  REQUIRE(parseOnce(ok("Transfer-Encoding:\r\n")) == Status::kError);
}

TEST_CASE("codings other than chunked are errors even before chunked",
          "[http][response][framing]") {
  // The proxy strips Transfer-Encoding as hop-by-hop, so it cannot pass a
  // gzip transfer coding through to the client.
  REQUIRE(parseOnce(ok("Transfer-Encoding: gzip, chunked\r\n")) == Status::kError);
}

TEST_CASE("Transfer-Encoding in an HTTP/1.0 response is an error", "[http][response][framing]") {
  REQUIRE(parseOnce("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") == Status::kError);
}

TEST_CASE("duplicate or invalid Content-Length is an error", "[http][response][framing]") {
  REQUIRE(parseOnce(ok("Content-Length: 5\r\nContent-Length: 5\r\n")) == Status::kError);
  REQUIRE(parseOnce(ok("Content-Length: 5, 5\r\n")) == Status::kError);
  REQUIRE(parseOnce(ok("Content-Length: -1\r\n")) == Status::kError);
  REQUIRE(parseOnce(ok("Content-Length: 18446744073709551616\r\n")) == Status::kError);
}

TEST_CASE("chunked responses are framed as chunked", "[http][response][framing]") {
  auto p = parsed(ok("Transfer-Encoding: Chunked\r\n"));
  REQUIRE(p.head().body == BodyKind::kChunked);
  REQUIRE(p.head().keep_alive);
}

TEST_CASE("a response with Content-Length: 0 has no body", "[http][response][framing]") {
  auto p = parsed(ok("Content-Length: 0\r\n"));
  REQUIRE(p.head().body == BodyKind::kNone);
  REQUIRE(p.head().keep_alive);
}

TEST_CASE("unframed responses are read until close and end the connection",
          "[http][response][framing]") {
  auto p = parsed(ok("X: 1\r\n"));
  REQUIRE(p.head().body == BodyKind::kUntilClose);
  REQUIRE_FALSE(p.head().keep_alive);
}

TEST_CASE("response keep_alive follows Connection and version", "[http][response]") {
  REQUIRE_FALSE(parsed(ok("Content-Length: 1\r\nConnection: close\r\n")).head().keep_alive);
  REQUIRE_FALSE(parsed("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n").head().keep_alive);
  REQUIRE(parsed("HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: Keep-Alive\r\n\r\n")
              .head()
              .keep_alive);
  REQUIRE_FALSE(parsed("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n").head().keep_alive);
}

TEST_CASE("a response head over max_head_bytes fails before it ends", "[http][response]") {
  ResponseParser p(64, 200);
  const std::string head = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(100, 'x');
  REQUIRE(p.parse(head, "GET") == Status::kError);
  REQUIRE_FALSE(p.errorReason().empty());
}

TEST_CASE("more than max_fields fields fail before the head ends", "[http][response]") {
  ResponseParser p(65536, 2);
  REQUIRE(p.parse("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n", "GET") == Status::kError);
  ResponseParser q(65536, 2);
  REQUIRE(q.parse("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n", "GET") == Status::kComplete);
}

TEST_CASE("reset parses the next response on the connection", "[http][response]") {
  const std::string two =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
  ResponseParser p;
  REQUIRE(p.parse(two, "POST") == Status::kComplete);
  REQUIRE(p.head().status == 100);
  const size_t first = p.consumed();
  p.reset();
  REQUIRE(p.parse(std::string_view(two).substr(first), "POST") == Status::kComplete);
  REQUIRE(p.head().status == 201);
  REQUIRE(first + p.consumed() == two.size());
}

TEST_CASE("reasonPhrase knows the RFC 9110 codes", "[http][response]") {
  REQUIRE(reasonPhrase(100) == "Continue");
  REQUIRE(reasonPhrase(200) == "OK");
  REQUIRE(reasonPhrase(304) == "Not Modified");
  REQUIRE(reasonPhrase(404) == "Not Found");
  REQUIRE(reasonPhrase(413) == "Content Too Large");
  REQUIRE(reasonPhrase(431) == "Request Header Fields Too Large");
  REQUIRE(reasonPhrase(502) == "Bad Gateway");
  REQUIRE(reasonPhrase(505) == "HTTP Version Not Supported");
  REQUIRE(reasonPhrase(511) == "Network Authentication Required");
  REQUIRE(reasonPhrase(418) == "Unknown");
  REQUIRE(reasonPhrase(0) == "Unknown");
}

TEST_CASE("a bare CR in a response head fails before the line ends", "[http][response]") {
  ResponseParser p;
  REQUIRE(p.parse("HTTP/1.1 200 OK\r\nX: a\rb", "GET") == Status::kError);
  REQUIRE(p.errorReason() == "bare CR");
}

// Regression (fuzzer): "\r\r\x01...\n" after the fields was "bare LF" in one
// read but "bare CR" when split; both must say bare CR.
TEST_CASE("response bare CR verdicts do not depend on read boundaries",
          "[http][response][regression]") {
  const std::string head = "HTTP/1.1 200 OK\r\nX: a\r\n\r\r\x01\n";
  ResponseParser whole;
  REQUIRE(whole.parse(head, "GET") == Status::kError);
  ResponseParser slow;
  Status s = Status::kNeedMore;
  for (size_t i = 1; i <= head.size() && s == Status::kNeedMore; ++i)
    s = slow.parse(std::string_view(head).substr(0, i), "GET");
  REQUIRE(s == Status::kError);
  REQUIRE(whole.errorReason() == "bare CR");
  REQUIRE(slow.errorReason() == "bare CR");
}
