#include "sesame/proxy/forwarding.h"

#include <catch2/catch.hpp>

using namespace sesame;

namespace {

http::RequestHead parseRequest(std::string_view text) {
  http::RequestParser parser;
  REQUIRE(parser.parse(text) == http::RequestParser::Status::kComplete);
  return parser.head();
}

http::ResponseHead parseResponse(std::string_view text, std::string_view method = "GET") {
  http::ResponseParser parser;
  REQUIRE(parser.parse(text, method) == http::ResponseParser::Status::kComplete);
  return parser.head();
}

}  // namespace

TEST_CASE("the upstream request is rebuilt with one Host and forwarding fields", "[forwarding]") {
  http::RequestHead req = parseRequest(
      "GET /a?b=1 HTTP/1.1\r\nHost: App.Example.com\r\nX-Forwarded-For: 10.0.0.1\r\n"
      "X-Forwarded-Proto: https\r\nX-Forwarded-Host: evil\r\nAccept: */*\r\n\r\n");
  std::string out;
  proxy::appendUpstreamRequest(out, req, {"192.0.2.7", false, "fallback"});
  CHECK(out ==
        "GET /a?b=1 HTTP/1.1\r\nHost: app.example.com\r\nAccept: */*\r\n"
        "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\n"
        "X-Forwarded-Host: app.example.com\r\nX-Real-IP: 192.0.2.7\r\n\r\n");
}

TEST_CASE("hop-by-hop request fields and Expect never reach the upstream", "[forwarding]") {
  http::RequestHead req = parseRequest(
      "POST /u HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\n"
      "Keep-Alive: 5\r\nTE: trailers\r\nProxy-Connection: x\r\nExpect: 100-continue\r\n"
      "Transfer-Encoding: chunked\r\n\r\n");
  std::string out;
  proxy::appendUpstreamRequest(out, req, {"127.0.0.1", true, ""});
  CHECK(out.find("X-Secret") == std::string::npos);
  CHECK(out.find("Keep-Alive") == std::string::npos);
  CHECK(out.find("TE:") == std::string::npos);
  CHECK(out.find("Proxy-Connection") == std::string::npos);
  CHECK(out.find("Expect") == std::string::npos);
  CHECK(out.find("Connection") == std::string::npos);
  CHECK(out.find("X-Forwarded-Proto: https\r\n") != std::string::npos);
  CHECK(out.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
}

TEST_CASE("an upgrade request keeps Upgrade and says Connection: upgrade", "[forwarding]") {
  http::RequestHead req = parseRequest(
      "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
  REQUIRE(req.upgrade);
  std::string out;
  proxy::appendUpstreamRequest(out, req, {"127.0.0.1", false, ""});
  CHECK(out.find("Upgrade: websocket\r\n") != std::string::npos);
  CHECK(out.find("Connection: upgrade\r\n") != std::string::npos);
}

TEST_CASE("an HTTP/1.0 request without Host gets the fallback host", "[forwarding]") {
  http::RequestHead req = parseRequest("GET / HTTP/1.0\r\n\r\n");
  std::string out;
  proxy::appendUpstreamRequest(out, req, {"127.0.0.1", false, "10.1.1.1:9000"});
  CHECK(out.starts_with("GET / HTTP/1.1\r\nHost: 10.1.1.1:9000\r\n"));
  CHECK(out.find("X-Forwarded-Host") == std::string::npos);
}

TEST_CASE("client responses lose hop-by-hop fields and gain framing", "[forwarding]") {
  http::ResponseHead resp = parseResponse(
      "HTTP/1.1 200 OK\r\nConnection: X-Internal\r\nX-Internal: 1\r\nKeep-Alive: t=5\r\n"
      "Transfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n");
  std::string out;
  proxy::ResponseForwarding fwd;
  fwd.chunked_out = true;
  fwd.extra_fields = "Strict-Transport-Security: max-age=60\r\n";
  proxy::appendClientResponse(out, resp, fwd);
  CHECK(out ==
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
        "Strict-Transport-Security: max-age=60\r\nTransfer-Encoding: chunked\r\n\r\n");
}

TEST_CASE("closing and HTTP/1.0 keep-alive are announced", "[forwarding]") {
  http::ResponseHead resp = parseResponse("HTTP/1.1 204 No Content\r\n\r\n");
  std::string closing;
  proxy::ResponseForwarding fwd;
  fwd.close = true;
  proxy::appendClientResponse(closing, resp, fwd);
  CHECK(closing == "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
  std::string kept;
  proxy::ResponseForwarding keep;
  keep.http10_keep_alive = true;
  proxy::appendClientResponse(kept, resp, keep);
  CHECK(kept == "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n");
}

TEST_CASE("generated errors have a short text body", "[forwarding]") {
  std::string out;
  proxy::appendErrorResponse(out, 404, false);
  CHECK(out ==
        "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Length: 10\r\n\r\nNot Found\n");
  std::string closing;
  proxy::appendErrorResponse(closing, 308, true, "Location: https://h/\r\n");
  std::string head;
  proxy::appendErrorResponse(head, 401, false, {}, true);
  CHECK(head.ends_with("Content-Length: 13\r\n\r\n"));
  CHECK(closing.find("Location: https://h/\r\nConnection: close\r\n\r\n") != std::string::npos);
}
