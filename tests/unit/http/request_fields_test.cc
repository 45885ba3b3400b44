// RequestParser: field lines, Host, body framing and connection semantics.
#include <catch2/catch.hpp>

#include "parse_helpers.h"
#include "sesame/http/request_parser.h"

using sesame::http::BodyKind;
using sesame::http::RequestParser;
using sesame::http::test::get;
using sesame::http::test::requestStatus;
using Status = RequestParser::Status;

namespace {

RequestParser parsed(const std::string& req) {
  RequestParser p;
  REQUIRE(p.parse(req) == Status::kComplete);
  return p;
}

std::string post(std::string_view fields) {
  return "POST /upload HTTP/1.1\r\nHost: a.example\r\n" + std::string(fields) + "\r\n";
}

}  // namespace

TEST_CASE("field values are trimmed of SP and HTAB", "[http][request][fields]") {
  auto p = parsed(get("X-A: \t value with  inner \t \r\nX-Empty:\r\nX-Sp:   \r\n"));
  const auto& f = p.head().headers.fields();
  REQUIRE(f.size() == 3);
  REQUIRE(f[0].value == "value with  inner");
  REQUIRE(f[1].value.empty());
  REQUIRE(f[2].value.empty());
}

TEST_CASE("field values may hold HTAB and obs-text", "[http][request][fields]") {
  auto p = parsed(get("X-A: a\tb \xe9t\xc3\xa9\r\n"));
  REQUIRE(p.head().headers.find("x-a")->value == "a\tb \xe9t\xc3\xa9");
}

TEST_CASE("whitespace between field name and colon is refused", "[http][request][fields]") {
  REQUIRE(requestStatus(get("X-A : b\r\n")) == 400);
  REQUIRE(requestStatus(get("X-A\t: b\r\n")) == 400);
  REQUIRE(requestStatus("GET / HTTP/1.1\r\nHost : a\r\n\r\n") == 400);
}

TEST_CASE("obs-fold continuation lines are refused", "[http][request][fields]") {
  REQUIRE(requestStatus(get("X-A: b\r\n c\r\n")) == 400);
  REQUIRE(requestStatus(get("X-A: b\r\n\tc\r\n")) == 400);
  REQUIRE(requestStatus("GET / HTTP/1.1\r\n Host: a\r\n\r\n") == 400);
}

TEST_CASE("control bytes in field names are refused", "[http][request][fields]") {
  REQUIRE(requestStatus(get(std::string("X\0A: b\r\n", 9))) == 400);
  REQUIRE(requestStatus(get("X\x01"
                            "A: b\r\n")) == 400);
  REQUIRE(requestStatus(get("X\x7f"
                            "A: b\r\n")) == 400);
  REQUIRE(requestStatus(get("X(A): b\r\n")) == 400);
  REQUIRE(requestStatus(get("X\xe9: b\r\n")) == 400);
}

TEST_CASE("control bytes in field values are refused", "[http][request][fields]") {
  REQUIRE(requestStatus(get(std::string("X: a\0b\r\n", 9))) == 400);
  REQUIRE(requestStatus(get("X: a\x1b"
                            "b\r\n")) == 400);
  REQUIRE(requestStatus(get("X: a\x7f"
                            "b\r\n")) == 400);
}

TEST_CASE("empty field names and lines without colon are refused", "[http][request][fields]") {
  REQUIRE(requestStatus(get(": b\r\n")) == 400);
  REQUIRE(requestStatus(get("NoColon\r\n")) == 400);
}

TEST_CASE("HTTP/1.1 without Host gets 400", "[http][request][host]") {
  REQUIRE(requestStatus("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n") == 400);
}

TEST_CASE("more than one Host gets 400", "[http][request][host]") {
  REQUIRE(requestStatus("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n") == 400);
  REQUIRE(requestStatus("GET / HTTP/1.0\r\nhost: a\r\nHOST: b\r\n\r\n") == 400);
}

TEST_CASE("invalid Host values get 400", "[http][request][host]") {
  for (const char* host : {"a b", "user@a", "a/b", "a:", "a:x", "a:123456", "a:70000", "", "[::1",
                           "[]", "[::1]x", "a,b", "a\\b"}) {
    INFO(host);
    REQUIRE(requestStatus(std::string("GET / HTTP/1.1\r\nHost: ") + host + "\r\n\r\n") == 400);
  }
}

TEST_CASE("valid Host values are lower-cased and kept out of the headers",
          "[http][request][host]") {
  auto p = parsed("GET / HTTP/1.1\r\nX: 1\r\nHost: WWW.Example.COM:8443\r\n\r\n");
  REQUIRE(p.head().host == "www.example.com:8443");
  REQUIRE(p.head().headers.size() == 1);
  REQUIRE(p.head().headers.find("host") == nullptr);
  auto v6 = parsed("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
  REQUIRE(v6.head().host == "[::1]:8080");
  auto ip = parsed("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  REQUIRE(ip.head().host == "127.0.0.1");
}

TEST_CASE("HTTP/1.0 may omit Host", "[http][request][host]") {
  auto p = parsed("GET / HTTP/1.0\r\n\r\n");
  REQUIRE(p.head().host.empty());
  REQUIRE(p.head().version_minor == 0);
}

TEST_CASE("Content-Length sets a length body", "[http][request][framing]") {
  auto p = parsed(post("Content-Length: 1234\r\n"));
  REQUIRE(p.head().body == BodyKind::kLength);
  REQUIRE(p.head().content_length == 1234);
  REQUIRE(p.head().headers.find("Content-Length")->value == "1234");
  auto max = parsed(post("Content-Length: 9223372036854775807\r\n"));
  REQUIRE(max.head().content_length == 9223372036854775807ULL);
}

TEST_CASE("Content-Length: 0 means no body", "[http][request][framing]") {
  auto p = parsed(post("Content-Length: 0\r\n"));
  REQUIRE(p.head().body == BodyKind::kNone);
  REQUIRE(p.head().content_length == 0);
}

TEST_CASE("malformed Content-Length gets 400", "[http][request][framing]") {
  for (const char* v : {"+5", "-5", "5a", "0x5", "", "5 5", "1.0", "9223372036854775808",
                        "99999999999999999999999"}) {
    INFO(v);
    REQUIRE(requestStatus(post(std::string("Content-Length: ") + v + "\r\n")) == 400);
  }
}

TEST_CASE("several Content-Length values get 400 even when equal", "[http][request][framing]") {
  REQUIRE(requestStatus(post("Content-Length: 5\r\nContent-Length: 5\r\n")) == 400);
  REQUIRE(requestStatus(post("Content-Length: 5, 5\r\n")) == 400);
  REQUIRE(requestStatus(post("Content-Length: 5,\r\n")) == 400);
}

TEST_CASE("Content-Length with Transfer-Encoding gets 400", "[http][request][framing]") {
  REQUIRE(requestStatus(post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n")) == 400);
  REQUIRE(requestStatus(post("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")) == 400);
}

TEST_CASE("Transfer-Encoding on HTTP/1.0 gets 400", "[http][request][framing]") {
  REQUIRE(requestStatus("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n") == 400);
}

TEST_CASE("chunked Transfer-Encoding sets a chunked body", "[http][request][framing]") {
  auto p = parsed(post("Transfer-Encoding: chunked\r\n"));
  REQUIRE(p.head().body == BodyKind::kChunked);
  REQUIRE(p.head().headers.find("transfer-encoding") != nullptr);
  REQUIRE(parsed(post("Transfer-Encoding: ChUnKeD\r\n")).head().body == BodyKind::kChunked);
  REQUIRE(parsed(post("Transfer-Encoding: , chunked ,\r\n")).head().body == BodyKind::kChunked);
}

TEST_CASE("chunked twice or not last gets 400", "[http][request][framing]") {
  REQUIRE(requestStatus(post("Transfer-Encoding: chunked, chunked\r\n")) == 400);
  REQUIRE(requestStatus(post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")) ==
          400);
  REQUIRE(requestStatus(post("Transfer-Encoding: chunked, gzip\r\n")) == 400);
  REQUIRE(requestStatus(post("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n")) == 400);
}

TEST_CASE("unknown transfer codings get 501", "[http][request][framing]") {
  REQUIRE(requestStatus(post("Transfer-Encoding: gzip\r\n")) == 501);
  REQUIRE(requestStatus(post("Transfer-Encoding: x-foo\r\n")) == 501);
  REQUIRE(requestStatus(post("Transfer-Encoding: gzip, chunked\r\n")) == 501);
  REQUIRE(requestStatus(post("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n")) == 501);
}

TEST_CASE("malformed Transfer-Encoding gets 400", "[http][request][framing]") {
  REQUIRE(requestStatus(post("Transfer-Encoding:\r\n")) == 400);
  REQUIRE(requestStatus(post("Transfer-Encoding: , \r\n")) == 400);
  REQUIRE(requestStatus(post("Transfer-Encoding: chunked;q=1\r\n")) == 400);
  REQUIRE(requestStatus(post("Transfer-Encoding: \"chunked\"\r\n")) == 400);
}

TEST_CASE("keep_alive follows version and Connection", "[http][request][connection]") {
  REQUIRE(parsed(get("")).head().keep_alive);
  REQUIRE_FALSE(parsed(get("Connection: close\r\n")).head().keep_alive);
  REQUIRE_FALSE(parsed(get("Connection: Keep-Alive, CLOSE\r\n")).head().keep_alive);
  REQUIRE_FALSE(parsed("GET / HTTP/1.0\r\n\r\n").head().keep_alive);
  REQUIRE(parsed("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").head().keep_alive);
  REQUIRE_FALSE(parsed("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n")
                    .head()
                    .keep_alive);
}

TEST_CASE("Connection elements must be tokens", "[http][request][connection]") {
  REQUIRE(requestStatus(get("Connection: close, \"x\"\r\n")) == 400);
}

TEST_CASE("Expect: 100-continue is recognised on HTTP/1.1 only", "[http][request][connection]") {
  REQUIRE(parsed(post("Expect: 100-Continue\r\nContent-Length: 3\r\n")).head().expect_continue);
  REQUIRE_FALSE(parsed(post("Expect: 200-ok\r\n")).head().expect_continue);
  REQUIRE_FALSE(parsed("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").head().expect_continue);
}

TEST_CASE("upgrade needs both Connection: upgrade and an Upgrade field",
          "[http][request][connection]") {
  REQUIRE(parsed(get("Connection: Upgrade\r\nUpgrade: websocket\r\n")).head().upgrade);
  REQUIRE_FALSE(parsed(get("Upgrade: websocket\r\n")).head().upgrade);
  REQUIRE_FALSE(parsed(get("Connection: upgrade\r\n")).head().upgrade);
  REQUIRE_FALSE(
      parsed("GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n").head().upgrade);
}

TEST_CASE("route bypass by a Host with empty labels gets 400", "[http][request][host]") {
  for (const char* host :
       {".admin.example.com", "admin..example.com", "admin.example.com..", "..", ".", "a..:80"}) {
    INFO(host);
    REQUIRE(requestStatus(std::string("GET / HTTP/1.1\r\nHost: ") + host + "\r\n\r\n") == 400);
    REQUIRE(requestStatus(std::string("GET http://") + host + "/ HTTP/1.1\r\nHost: a\r\n\r\n") ==
            400);
  }
  // One trailing dot is a fully qualified name, routed as the name without it.
  auto fqdn = parsed("GET / HTTP/1.1\r\nHost: Admin.Example.com.:443\r\n\r\n");
  REQUIRE(fqdn.head().host == "admin.example.com.:443");
}
