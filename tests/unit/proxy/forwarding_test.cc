#include "sesame/proxy/forwarding.h"

#include <catch2/catch.hpp>

using namespace sesame;

namespace {

http::RequestHead parseRequest(std::string_view text) {
  http::RequestParser parser;
  REQUIRE(parser.parse(text) == http::RequestParser::Status::kComplete);
  return parser.head();
}

// As the connection has it when it builds the client's head: hop-by-hop
// fields already removed.
http::ResponseHead parseResponse(std::string_view text, std::string_view method = "GET") {
  http::ResponseParser parser;
  REQUIRE(parser.parse(text, method) == http::ResponseParser::Status::kComplete);
  http::ResponseHead head = parser.head();
  head.headers.removeHopByHop(head.status == 101);
  return head;
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
  proxy::cleanRequestFields(req, {"websocket"});
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
  proxy::cleanRequestFields(req, {"websocket"});
  REQUIRE(req.upgrade);
  std::string out;
  proxy::appendUpstreamRequest(out, req, {"127.0.0.1", false, ""});
  CHECK(out.find("Upgrade: websocket\r\n") != std::string::npos);
  CHECK(out.find("Connection: upgrade\r\n") != std::string::npos);
}

TEST_CASE("smuggling: Connection naming Content-Length keeps the body framed", "[forwarding]") {
  std::string body = "GET /admin HTTP/1.1\r\nHost: h\r\n\r\n";
  http::RequestHead req = parseRequest(
      "POST /u HTTP/1.1\r\nHost: h\r\nConnection: close, "
      "Content-Length, Host, Transfer-Encoding\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n");
  proxy::cleanRequestFields(req, {"websocket"});
  std::string out;
  proxy::appendUpstreamRequest(out, req, {"127.0.0.1", false, ""});
  CHECK(out.find("Content-Length: " + std::to_string(body.size()) + "\r\n") != std::string::npos);
  CHECK(out.starts_with("POST /u HTTP/1.1\r\nHost: h\r\n"));
  CHECK(out.find("Connection") == std::string::npos);
}

TEST_CASE("identity stripping: Connection options cannot remove what sesame adds", "[forwarding]") {
  http::RequestHead req = parseRequest(
      "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Remote-User, X-Remote-Groups, "
      "X-Forwarded-For, X-Request-Id, X-Session-Role\r\nX-Request-Id: abc\r\n\r\n");
  proxy::cleanRequestFields(req, {"websocket"});
  // What the session gate adds after the clean-up survives serialisation.
  req.headers.add("X-Remote-User", "alice");
  req.headers.add("X-Remote-Groups", "admin");
  req.headers.add("X-Session-Role", "restricted");
  std::string out;
  proxy::appendUpstreamRequest(out, req, {"192.0.2.1", false, "", "req-1"});
  CHECK(out.find("X-Remote-User: alice\r\n") != std::string::npos);
  CHECK(out.find("X-Remote-Groups: admin\r\n") != std::string::npos);
  CHECK(out.find("X-Session-Role: restricted\r\n") != std::string::npos);
  CHECK(out.find("X-Forwarded-For: 192.0.2.1\r\n") != std::string::npos);
  CHECK(out.find("X-Request-Id: req-1\r\n") != std::string::npos);
}

TEST_CASE("routing headers a framework would believe are removed", "[forwarding]") {
  http::RequestHead req = parseRequest(
      "GET /public HTTP/1.1\r\nHost: h\r\nX-Original-URL: /admin\r\nx-rewrite-url: /admin\r\n"
      "X-Original-Url: /admin\r\n\r\n");
  proxy::cleanRequestFields(req, {"websocket"});
  CHECK(req.headers.size() == 0);
}

TEST_CASE("h2c and unknown upgrades are not tunnelled", "[forwarding]") {
  SECTION("h2c alone: a plain request") {
    http::RequestHead req = parseRequest(
        "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
        "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n");
    REQUIRE(req.upgrade);
    proxy::cleanRequestFields(req, {"websocket"});
    CHECK_FALSE(req.upgrade);
    std::string out;
    proxy::appendUpstreamRequest(out, req, {"127.0.0.1", false, ""});
    CHECK(out.find("Upgrade") == std::string::npos);
    CHECK(out.find("HTTP2-Settings") == std::string::npos);
    CHECK(out.find("Connection") == std::string::npos);
  }
  SECTION("a list keeps only the allowed protocol") {
    http::RequestHead req = parseRequest(
        "GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: h2c, WebSocket, "
        "foo/2\r\n\r\n");
    proxy::cleanRequestFields(req, {"websocket"});
    REQUIRE(req.upgrade);
    REQUIRE(req.headers.find("Upgrade") != nullptr);
    CHECK(req.headers.find("Upgrade")->value == "WebSocket");
  }
  SECTION("an operator's list") {
    http::RequestHead req =
        parseRequest("GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: foo/2\r\n\r\n");
    proxy::cleanRequestFields(req, {"websocket", "foo"});
    CHECK(req.upgrade);
    CHECK(req.headers.find("Upgrade")->value == "foo/2");
  }
}

TEST_CASE("a 101 must switch to a protocol the request offered", "[forwarding]") {
  http::RequestHead req = parseRequest(
      "GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n");
  proxy::cleanRequestFields(req, {"websocket"});
  CHECK(proxy::upgradeAccepted(
      req, parseResponse("HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\n\r\n")));
  CHECK_FALSE(proxy::upgradeAccepted(
      req, parseResponse("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n")));
  CHECK_FALSE(
      proxy::upgradeAccepted(req, parseResponse("HTTP/1.1 101 Switching Protocols\r\n\r\n")));
  http::RequestHead plain = parseRequest("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  CHECK_FALSE(proxy::upgradeAccepted(
      plain, parseResponse("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")));
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

TEST_CASE("response smuggling: an upstream naming Content-Length in Connection keeps it",
          "[forwarding]") {
  http::ResponseHead resp = parseResponse(
      "HTTP/1.1 200 OK\r\nConnection: close, Content-Length, Transfer-Encoding\r\n"
      "Content-Length: 5\r\n\r\n");
  std::string out;
  proxy::appendClientResponse(out, resp, {});
  CHECK(out == "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
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
