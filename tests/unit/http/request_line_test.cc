// RequestParser: request line, target forms, line endings and size limits.
#include <catch2/catch.hpp>

#include "parse_helpers.h"
#include "sesame/http/request_parser.h"

using sesame::http::BodyKind;
using sesame::http::RequestLimits;
using sesame::http::RequestParser;
using sesame::http::test::requestStatus;
using sesame::http::test::trickle;
using Status = RequestParser::Status;

TEST_CASE("a simple GET parses into the head", "[http][request]") {
  RequestParser p;
  const std::string req =
      "GET /index.html?x=1 HTTP/1.1\r\nHost: WWW.Example.com\r\nAccept: */*\r\n\r\n";
  REQUIRE(p.parse(req + "NEXT") == Status::kComplete);
  const auto& h = p.head();
  REQUIRE(h.method == "GET");
  REQUIRE(h.target == "/index.html?x=1");
  REQUIRE(h.host == "www.example.com");
  REQUIRE(h.version_minor == 1);
  REQUIRE(h.headers.size() == 1);
  REQUIRE(h.headers.fields()[0].name == "Accept");
  REQUIRE(h.body == BodyKind::kNone);
  REQUIRE(h.keep_alive);
  REQUIRE_FALSE(h.expect_continue);
  REQUIRE_FALSE(h.upgrade);
  REQUIRE(p.consumed() == req.size());
  // Further calls keep answering the same.
  REQUIRE(p.parse(req + "NEXT") == Status::kComplete);
}

TEST_CASE("an incomplete head asks for more", "[http][request]") {
  REQUIRE(requestStatus("") == 0);
  REQUIRE(requestStatus("GET / HTTP/1.1\r\nHost: a\r\n") == 0);
  REQUIRE(requestStatus("GET / HTTP/1.1\r\nHost: a\r\n\r") == 0);
}

TEST_CASE("byte-at-a-time parsing equals one-shot parsing", "[http][request]") {
  const std::string req =
      "\r\nPOST http://Api.Example:8080?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
      "Connection: keep-alive\r\nX-A:  b \r\n\r\nhello";
  RequestParser slow;
  RequestParser fast;
  REQUIRE(trickle(slow, req) == Status::kComplete);
  REQUIRE(fast.parse(req) == Status::kComplete);
  REQUIRE(slow.consumed() == req.size() - 5);
  REQUIRE(slow.consumed() == fast.consumed());
  REQUIRE(slow.head().target == "/?q=1");
  REQUIRE(slow.head().host == "api.example:8080");
  REQUIRE(slow.head().body == BodyKind::kLength);
  REQUIRE(slow.head().content_length == 5);
  REQUIRE(slow.head().headers.fields().back().value == "b");
}

TEST_CASE("request line needs single spaces between three parts", "[http][request]") {
  REQUIRE(requestStatus("GET  / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  REQUIRE(requestStatus("GET /  HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  REQUIRE(requestStatus(" GET / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  REQUIRE(requestStatus("GET / HTTP/1.1 \r\nHost: a\r\n\r\n") == 400);
  REQUIRE(requestStatus("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  REQUIRE(requestStatus("GET /\tHTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  REQUIRE(requestStatus("GET /\r\nHost: a\r\n\r\n") == 400);
  REQUIRE(requestStatus("GET\r\nHost: a\r\n\r\n") == 400);
}

TEST_CASE("method must be a token", "[http][request]") {
  REQUIRE(requestStatus("GE(T / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  REQUIRE(requestStatus("G\x01T / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  REQUIRE(requestStatus("M-SEARCH / HTTP/1.1\r\nHost: a\r\n\r\n") == 200);
}

TEST_CASE("target rejects control bytes, DEL, non-ASCII and fragments", "[http][request]") {
  REQUIRE(requestStatus("GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  REQUIRE(requestStatus("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  REQUIRE(requestStatus("GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  REQUIRE(requestStatus("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  REQUIRE(requestStatus("GET /a%20b?c=|d HTTP/1.1\r\nHost: a\r\n\r\n") == 200);
}

TEST_CASE("unsupported HTTP versions get 505", "[http][request]") {
  REQUIRE(requestStatus("GET / HTTP/2.0\r\nHost: a\r\n\r\n") == 505);
  REQUIRE(requestStatus("GET / HTTP/1.2\r\nHost: a\r\n\r\n") == 505);
  REQUIRE(requestStatus("GET / HTTP/0.9\r\nHost: a\r\n\r\n") == 505);
  REQUIRE(requestStatus("GET / HTTP/1.0\r\n\r\n") == 200);
}

TEST_CASE("malformed HTTP versions get 400", "[http][request]") {
  REQUIRE(requestStatus("GET / http/1.1\r\nHost: a\r\n\r\n") == 400);
  REQUIRE(requestStatus("GET / HTTP/1.10\r\nHost: a\r\n\r\n") == 400);
  REQUIRE(requestStatus("GET / HTTP/1\r\nHost: a\r\n\r\n") == 400);
  REQUIRE(requestStatus("GET / HTTP/1,1\r\nHost: a\r\n\r\n") == 400);
  REQUIRE(requestStatus("GET / HTTPS/1.1\r\nHost: a\r\n\r\n") == 400);
}

TEST_CASE("origin-form targets must start with a slash", "[http][request]") {
  REQUIRE(requestStatus("GET index.html HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  REQUIRE(requestStatus("GET ?q HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
}

TEST_CASE("asterisk-form is only for OPTIONS", "[http][request]") {
  RequestParser p;
  REQUIRE(p.parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n") == Status::kComplete);
  REQUIRE(p.head().target == "*");
  REQUIRE(requestStatus("GET * HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
}

TEST_CASE("authority-form is only for CONNECT and needs a port", "[http][request]") {
  RequestParser p;
  REQUIRE(p.parse("CONNECT db.example:5432 HTTP/1.1\r\nHost: db.example:5432\r\n\r\n") ==
          Status::kComplete);
  REQUIRE(p.head().method == "CONNECT");
  REQUIRE(p.head().target == "db.example:5432");
  REQUIRE(requestStatus("CONNECT db.example HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  REQUIRE(requestStatus("CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  REQUIRE(requestStatus("GET db.example:5432 HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
}

TEST_CASE("absolute-form is reduced to origin-form and its authority wins", "[http][request]") {
  RequestParser p;
  REQUIRE(p.parse("GET http://A.Example:8080/p?q HTTP/1.1\r\nHost: other.example\r\n\r\n") ==
          Status::kComplete);
  REQUIRE(p.head().target == "/p?q");
  REQUIRE(p.head().host == "a.example:8080");
  REQUIRE(p.head().headers.find("Host") == nullptr);

  p.reset();
  REQUIRE(p.parse("GET HTTPS://b.example HTTP/1.1\r\nHost: b.example\r\n\r\n") ==
          Status::kComplete);
  REQUIRE(p.head().target == "/");
  REQUIRE(p.head().host == "b.example");

  p.reset();
  REQUIRE(p.parse("GET http://c.example?x=1 HTTP/1.0\r\n\r\n") == Status::kComplete);
  REQUIRE(p.head().target == "/?x=1");
  REQUIRE(p.head().host == "c.example");
}

TEST_CASE("absolute-form rejects userinfo, other schemes and bad authorities", "[http][request]") {
  REQUIRE(requestStatus("GET http://user@a.example/ HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  REQUIRE(requestStatus("GET ftp://a.example/ HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  REQUIRE(requestStatus("GET http:///p HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  REQUIRE(requestStatus("GET http://a.example:x/ HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  REQUIRE(requestStatus("GET http:// HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
}

TEST_CASE("absolute-form still needs a valid Host field on HTTP/1.1", "[http][request]") {
  REQUIRE(requestStatus("GET http://a.example/ HTTP/1.1\r\n\r\n") == 400);
  REQUIRE(requestStatus("GET http://a.example/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == 400);
}

TEST_CASE("leading empty lines are skipped and counted as consumed", "[http][request]") {
  RequestParser p;
  const std::string req = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
  REQUIRE(p.parse(req) == Status::kComplete);
  REQUIRE(p.consumed() == req.size());
  REQUIRE(p.head().method == "GET");
}

TEST_CASE("too many leading empty lines are refused", "[http][request]") {
  std::string req;
  for (size_t i = 0; i <= RequestParser::kMaxEmptyLines; ++i) req += "\r\n";
  REQUIRE(requestStatus(req) == 400);
}

TEST_CASE("bare CR anywhere in the head is refused", "[http][request]") {
  REQUIRE(requestStatus("GET /\r HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  REQUIRE(requestStatus("GET / HTTP/1.1\r\r\nHost: a\r\n\r\n") == 400);
  REQUIRE(requestStatus("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n") == 400);
  REQUIRE(requestStatus("GET / HTTP/1.1\r\nHost: a\r\nX\r: b\r\n\r\n") == 400);
  REQUIRE(requestStatus("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n") == 400);
}

TEST_CASE("bare LF anywhere in the head is refused", "[http][request]") {
  REQUIRE(requestStatus("GET / HTTP/1.1\nHost: a\r\n\r\n") == 400);
  REQUIRE(requestStatus("GET / HTTP/1.1\r\nHost: a\n\r\n") == 400);
  REQUIRE(requestStatus("GET / HTTP/1.1\r\nHost: a\r\n\n") == 400);
  REQUIRE(requestStatus("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
}

TEST_CASE("an overlong request line gets 414 before its CRLF arrives", "[http][request]") {
  RequestLimits limits;
  limits.header_bytes = 64;
  const std::string line = "GET /" + std::string(100, 'a');
  REQUIRE(requestStatus(line.substr(0, 63), limits) == 0);
  REQUIRE(requestStatus(line.substr(0, 64), limits) == 414);
  RequestParser p(limits);
  REQUIRE(trickle(p, line) == Status::kError);
  REQUIRE(p.errorStatus() == 414);
}

TEST_CASE("a head larger than header_bytes gets 431 before it ends", "[http][request]") {
  RequestLimits limits;
  limits.header_bytes = 64;
  std::string req = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(100, 'b');
  REQUIRE(requestStatus(req, limits) == 431);
  RequestParser p(limits);
  REQUIRE(trickle(p, req) == Status::kError);
  REQUIRE(p.errorStatus() == 431);
}

TEST_CASE("a head of exactly header_bytes fits", "[http][request]") {
  std::string req = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  RequestLimits limits;
  limits.header_bytes = req.size();
  REQUIRE(requestStatus(req, limits) == 200);
  limits.header_bytes = req.size() - 1;
  REQUIRE(requestStatus(req, limits) == 431);
}

TEST_CASE("leading empty lines do not count against header_bytes", "[http][request]") {
  const std::string req = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  RequestLimits limits;
  limits.header_bytes = req.size();
  REQUIRE(requestStatus("\r\n\r\n" + req, limits) == 200);
}

TEST_CASE("more than header_count fields gets 431 without waiting", "[http][request]") {
  RequestLimits limits;
  limits.header_count = 3;
  REQUIRE(requestStatus("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", limits) == 200);
  REQUIRE(requestStatus("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n", limits) == 431);
}

TEST_CASE("errorReason is a short static text that never echoes the request", "[http][request]") {
  RequestParser p;
  REQUIRE(p.parse("GET / HTTP/1.1\r\nHost: a\r\nEVIL<script> : x\r\n\r\n") == Status::kError);
  REQUIRE(p.errorStatus() == 400);
  REQUIRE_FALSE(p.errorReason().empty());
  REQUIRE(p.errorReason().size() < 64);
  REQUIRE(p.errorReason().find("EVIL") == std::string_view::npos);
}

TEST_CASE("reset parses the next pipelined request", "[http][request]") {
  const std::string two = "GET /1 HTTP/1.1\r\nHost: a\r\nX: 1\r\n\r\nGET /2 HTTP/1.0\r\n\r\n";
  RequestParser p;
  REQUIRE(p.parse(two) == Status::kComplete);
  REQUIRE(p.head().target == "/1");
  const size_t first = p.consumed();
  p.reset();
  REQUIRE(p.head().headers.size() == 0);
  REQUIRE(p.parse(std::string_view(two).substr(first)) == Status::kComplete);
  REQUIRE(p.head().target == "/2");
  REQUIRE(p.head().version_minor == 0);
  REQUIRE(p.head().host.empty());
  REQUIRE(first + p.consumed() == two.size());
}

TEST_CASE("a typical browser request head parses", "[http][request][perf]") {
  const std::string req =
      "GET /static/app.js?v=3 HTTP/1.1\r\n"
      "Host: www.example.com\r\n"
      "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0\r\n"
      "Accept: */*\r\n"
      "Accept-Language: en-US,en;q=0.5\r\n"
      "Accept-Encoding: gzip, deflate, br\r\n"
      "Referer: https://www.example.com/\r\n"
      "Connection: keep-alive\r\n"
      "Cookie: sesame=abcdefghijklmnopqrstuvwxyz0123456789; theme=dark\r\n"
      "Sec-Fetch-Dest: script\r\n"
      "Sec-Fetch-Mode: no-cors\r\n"
      "Sec-Fetch-Site: same-origin\r\n"
      "\r\n";
  REQUIRE(req.size() > 350);
  RequestParser p;
  for (int i = 0; i < 1000; ++i) {
    p.reset();
    REQUIRE(p.parse(req) == Status::kComplete);
  }
  REQUIRE(p.consumed() == req.size());
  REQUIRE(p.head().headers.size() == 10);
  REQUIRE(p.head().headers.find("cookie")->value ==
          "sesame=abcdefghijklmnopqrstuvwxyz0123456789; theme=dark");
}

TEST_CASE("a bare CR is reported before the line ends", "[http][request]") {
  REQUIRE(requestStatus("GET / HTTP/1.1\r\nHost: a\rX") == 400);
  REQUIRE(requestStatus("GET /\rX") == 400);
  REQUIRE(requestStatus("GET / HTTP/1.1\r\nHost: a\r") == 0);
  RequestParser p;
  REQUIRE(trickle(p, "GET / HTTP/1.1\r\nHost: a\rX") == Status::kError);
  REQUIRE(p.errorStatus() == 400);
  REQUIRE(p.errorReason() == "bare CR");
}

// Regression (fuzzer): the verdict on a bare CR must not depend on how the
// bytes were split into reads.
TEST_CASE("bare CR verdicts do not depend on read boundaries", "[http][request][regression]") {
  RequestLimits limits;
  limits.header_count = 1;
  for (const std::string& req :
       {std::string("GET / HTTP/1.0\r\n\r!\n"), std::string("GET /\rX HTTP/1.1\r\n"),
        std::string("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n")}) {
    INFO(req);
    RequestParser whole(limits);
    RequestParser slow(limits);
    REQUIRE(whole.parse(req) == Status::kError);
    REQUIRE(trickle(slow, req) == Status::kError);
    REQUIRE(whole.errorStatus() == 400);
    REQUIRE(slow.errorStatus() == 400);
    REQUIRE(whole.errorReason() == "bare CR");
    REQUIRE(slow.errorReason() == "bare CR");
  }
}
