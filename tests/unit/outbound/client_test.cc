#include "sesame/outbound/client.h"

#include <event2/event.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include "test_server.h"

using namespace std::chrono_literals;
using sesame::outbound::Client;
using sesame::outbound::FetchHandle;
using sesame::outbound::LookupResult;
using sesame::outbound::Options;
using sesame::outbound::Request;
using sesame::outbound::Result;
using sesame::outbound::testing::closedPort;
using sesame::outbound::testing::Loop;
using sesame::outbound::testing::okResponse;
using sesame::outbound::testing::Pki;
using sesame::outbound::testing::Reply;
using sesame::outbound::testing::TestServer;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

Options trusting(const Pki& pki) {
  Options options;
  options.ca_file = pki.ca_file;
  return options;
}

std::string url(const TestServer& server, const std::string& path = "/",
                const std::string& host = "127.0.0.1") {
  return "https://" + host + ":" + std::to_string(server.port()) + path;
}

Request get(const std::string& target) {
  Request request;
  request.url = target;
  return request;
}

// Runs one fetch to completion.
Result fetchNow(Loop& loop, Client& client, Request request) {
  std::optional<Result> got;
  FetchHandle handle = client.fetch(std::move(request), [&](Result r) { got = std::move(r); });
  REQUIRE(loop.runUntil([&] { return got.has_value(); }));
  return std::move(*got);
}

Reply keepAlive(const std::string& body) {
  return Reply{okResponse(body), Reply::Then::kKeepAlive};
}

}  // namespace

TEST_CASE("outbound: a GET works and the next GET reuses the connection", "[outbound]") {
  Loop loop;
  Pki pki;
  TestServer server(pki.serverContext(), [](const std::string&, int index) {
    return keepAlive("{\"n\":" + std::to_string(index) + "}");
  });
  Client client(loop.base(), loop.mailbox(), trusting(pki));
  REQUIRE(client.setupError().empty());

  Result first = fetchNow(loop, client, get(url(server, "/.well-known/openid-configuration")));
  INFO(first.error);
  REQUIRE(first.ok);
  CHECK(first.status == 200);
  CHECK(first.body == "{\"n\":0}");
  REQUIRE(first.headers.find("Content-Type") != nullptr);
  CHECK(first.headers.find("Content-Type")->value == "application/json");
  CHECK(client.idleConnections() == 1);

  Result second = fetchNow(loop, client, get(url(server, "/jwks")));
  REQUIRE(second.ok);
  CHECK(second.body == "{\"n\":1}");
  CHECK(server.accepted() == 1);

  const std::vector<std::string> requests = server.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].starts_with("GET /.well-known/openid-configuration HTTP/1.1\r\n"));
  CHECK(contains(requests[0], "\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"));
  CHECK(contains(requests[0], "\r\nUser-Agent: sesame\r\n"));
  CHECK(contains(requests[0], "\r\nAccept-Encoding: identity\r\n"));
  CHECK_FALSE(contains(requests[0], "Content-Length"));
}

TEST_CASE("outbound: a POST with a form body arrives intact", "[outbound]") {
  Loop loop;
  Pki pki;
  TestServer server(pki.serverContext(),
                    [](const std::string&, int) { return keepAlive("{\"access_token\":\"t\"}"); });
  Client client(loop.base(), loop.mailbox(), trusting(pki));
  Request request;
  request.method = "POST";
  request.url = url(server, "/token");
  request.content_type = "application/x-www-form-urlencoded";
  request.headers.push_back({"Authorization", "Basic c2VzYW1lOnNlY3JldA=="});
  request.body = "grant_type=authorization_code&code=abc%2Fdef&redirect_uri=https%3A%2F%2Fapp";
  const std::string sent = request.body;
  Result result = fetchNow(loop, client, request);
  REQUIRE(result.ok);
  CHECK(result.body == "{\"access_token\":\"t\"}");
  const std::vector<std::string> requests = server.requests();
  REQUIRE(requests.size() == 1);
  const std::string& got = requests[0];
  CHECK(got.starts_with("POST /token HTTP/1.1\r\n"));
  CHECK(contains(got, "\r\nContent-Type: application/x-www-form-urlencoded\r\n"));
  CHECK(contains(got, "\r\nContent-Length: " + std::to_string(sent.size()) + "\r\n"));
  CHECK(contains(got, "\r\nAuthorization: Basic c2VzYW1lOnNlY3JldA==\r\n"));
  CHECK(got.ends_with("\r\n\r\n" + sent));
}

TEST_CASE("outbound: chunked and until-close bodies", "[outbound]") {
  Loop loop;
  Pki pki;
  TestServer server(pki.serverContext(), [](const std::string& request, int) {
    if (request.starts_with("GET /chunked ")) {
      return Reply{
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
          "5;ext=1\r\n{\"key\r\n3\r\ns\":\r\n2\r\n[]\r\n1\r\n}\r\n0\r\nX-T: 1\r\n\r\n",
          Reply::Then::kKeepAlive};
    }
    if (request.starts_with("GET /close-notify ")) {
      return Reply{"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end",
                   Reply::Then::kCloseNotify};
    }
    // Until-close without close_notify: the end of the body cannot be told from a truncation.
    return Reply{"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\ncut", Reply::Then::kClose};
  });
  Client client(loop.base(), loop.mailbox(), trusting(pki));

  Result chunked = fetchNow(loop, client, get(url(server, "/chunked")));
  INFO(chunked.error);
  REQUIRE(chunked.ok);
  CHECK(chunked.body == "{\"keys\":[]}");
  CHECK(client.idleConnections() == 1);

  Result closed = fetchNow(loop, client, get(url(server, "/close-notify")));
  INFO(closed.error);
  REQUIRE(closed.ok);
  CHECK(closed.body == "until the end");

  Result truncated = fetchNow(loop, client, get(url(server, "/truncated")));
  CHECK_FALSE(truncated.ok);
  CHECK(contains(truncated.error, "close_notify"));
}

TEST_CASE("outbound: bodies over max_body are refused", "[outbound]") {
  Loop loop;
  Pki pki;
  TestServer server(pki.serverContext(), [](const std::string& request, int) {
    const std::string big(5000, 'x');
    if (request.starts_with("GET /length ")) return keepAlive(big);
    if (request.starts_with("GET /chunked ")) {
      std::string chunks = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
      for (int i = 0; i < 10; ++i) chunks += "200\r\n" + std::string(512, 'y') + "\r\n";
      return Reply{chunks + "0\r\n\r\n", Reply::Then::kKeepAlive};
    }
    return Reply{"HTTP/1.1 200 OK\r\n\r\n" + big, Reply::Then::kCloseNotify};
  });
  Options options = trusting(pki);
  options.max_body = 1000;
  Client client(loop.base(), loop.mailbox(), options);
  for (const char* path : {"/length", "/chunked", "/until-close"}) {
    INFO(path);
    Result result = fetchNow(loop, client, get(url(server, path)));
    CHECK_FALSE(result.ok);
    CHECK(contains(result.error, "response body over 1000 bytes"));
    CHECK(result.body.empty());
  }
  CHECK(client.idleConnections() == 0);
}

TEST_CASE("outbound: a hung server times out without blocking the loop", "[outbound]") {
  Loop loop;
  Pki pki;
  TestServer server(pki.serverContext(), [](const std::string&, int) {
    return Reply{"", Reply::Then::kHang};
  });
  Options options = trusting(pki);
  options.request_timeout = 300ms;
  Client client(loop.base(), loop.mailbox(), options);
  const auto start = std::chrono::steady_clock::now();
  Result result = fetchNow(loop, client, get(url(server, "/slow?secret=1")));
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK_FALSE(result.ok);
  CHECK(contains(result.error, "timed out after 300ms waiting for the response"));
  CHECK(contains(result.error, "GET https://127.0.0.1:" + std::to_string(server.port()) + "/slow"));
  CHECK_FALSE(contains(result.error, "secret"));
  CHECK(took >= 290ms);
  CHECK(took < 2s);
}

TEST_CASE("outbound: a server closing in the middle of the body is an error", "[outbound]") {
  Loop loop;
  Pki pki;
  TestServer server(pki.serverContext(), [](const std::string&, int) {
    return Reply{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..", Reply::Then::kClose};
  });
  Client client(loop.base(), loop.mailbox(), trusting(pki));
  Result result = fetchNow(loop, client, get(url(server)));
  CHECK_FALSE(result.ok);
  CHECK(contains(result.error, "connection closed before the end of the response body"));
}

TEST_CASE("outbound: a refused connect names host and port", "[outbound]") {
  Loop loop;
  Pki pki;
  Client client(loop.base(), loop.mailbox(), trusting(pki));
  const uint16_t port = closedPort();
  Result result = fetchNow(loop, client, get("https://127.0.0.1:" + std::to_string(port) + "/"));
  CHECK_FALSE(result.ok);
  CHECK(contains(result.error, "connect to 127.0.0.1:" + std::to_string(port) + ": "));
  CHECK(contains(result.error, "refused"));
}

TEST_CASE("outbound: a certificate for another name is refused", "[outbound]") {
  Loop loop;
  Pki pki("DNS:example.org");
  TestServer server(pki.serverContext(), [](const std::string&, int) { return keepAlive("{}"); });
  Client client(loop.base(), loop.mailbox(), trusting(pki));

  Result by_ip = fetchNow(loop, client, get(url(server)));
  CHECK_FALSE(by_ip.ok);
  CHECK(contains(by_ip.error, "TLS: certificate verify failed: IP address mismatch"));

  Result by_name = fetchNow(loop, client, get(url(server, "/", "localhost")));
  CHECK_FALSE(by_name.ok);
  CHECK(contains(by_name.error, "TLS: certificate verify failed: hostname mismatch"));
  CHECK(contains(by_name.error, "connect to localhost:" + std::to_string(server.port())));
  CHECK(server.requests().empty());
}

TEST_CASE("outbound: a certificate from an untrusted CA is refused", "[outbound]") {
  Loop loop;
  Pki pki;
  Pki other;
  TestServer server(pki.serverContext(), [](const std::string&, int) { return keepAlive("{}"); });
  Client client(loop.base(), loop.mailbox(), trusting(other));
  Result result = fetchNow(loop, client, get(url(server)));
  CHECK_FALSE(result.ok);
  CHECK(contains(result.error, "TLS: certificate verify failed: unable to get local issuer"));
  CHECK(server.requests().empty());
}

TEST_CASE("outbound: an unreadable CA file is a setup error", "[outbound]") {
  Loop loop;
  Options options;
  options.ca_file = "/nonexistent/ca.pem";
  Client client(loop.base(), loop.mailbox(), options);
  CHECK(contains(client.setupError(), "ca_file /nonexistent/ca.pem"));
  Result result = fetchNow(loop, client, get("https://127.0.0.1/"));
  CHECK_FALSE(result.ok);
  CHECK(result.error == client.setupError());
}

TEST_CASE("outbound: a cancelled fetch never calls back", "[outbound]") {
  Loop loop;
  Pki pki;
  TestServer server(pki.serverContext(), [](const std::string& request, int) {
    if (request.starts_with("GET /hang ")) return Reply{"", Reply::Then::kHang};
    return keepAlive("{}");
  });
  Options options = trusting(pki);
  options.request_timeout = 200ms;
  Client client(loop.base(), loop.mailbox(), options);
  int calls = 0;
  FetchHandle waiting = client.fetch(get(url(server, "/hang")), [&](Result) { ++calls; });
  REQUIRE(loop.runUntil([&] { return server.requests().size() == 1; }));
  waiting.reset();
  // Cancelled at once, and with its (failed) result already queued.
  client.fetch(get(url(server, "/")), [&](Result) { ++calls; }).reset();
  client.fetch(get("https://bad host/"), [&](Result) { ++calls; }).reset();
  // Cancelled by another fetch's callback that runs just before it.
  FetchHandle second;
  int first_calls = 0;
  FetchHandle first = client.fetch(get("https://bad host/"), [&](Result) {
    ++first_calls;
    second.reset();
  });
  second = client.fetch(get("https://bad host/"), [&](Result) { ++calls; });
  loop.runFor(400ms);
  CHECK(first_calls == 1);
  CHECK(server.requests().size() <= 2);
  CHECK(calls == 0);
}

TEST_CASE("outbound: callbacks run later from the loop, never inside fetch", "[outbound]") {
  Loop loop;
  Client client(loop.base(), loop.mailbox(), Options{});
  std::optional<Result> got;
  Request request = get("https://id.example.com/a b");
  FetchHandle handle = client.fetch(request, [&](Result r) { got = std::move(r); });
  CHECK_FALSE(got);
  REQUIRE(loop.runUntil([&] { return got.has_value(); }));
  CHECK_FALSE(got->ok);
  CHECK(contains(got->error, "URL \"https://id.example.com/a b\": character not allowed"));

  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"X-A", "1\r\nHost: evil"}, {"Content-Length", "5"}, {"bad name", "1"}}) {
    Request bad = get("https://id.example.com/");
    bad.headers.push_back({name, value});
    got.reset();
    handle = client.fetch(bad, [&](Result r) { got = std::move(r); });
    CHECK_FALSE(got);
    REQUIRE(loop.runUntil([&] { return got.has_value(); }));
    CHECK_FALSE(got->ok);
  }
  got.reset();
  handle = client.fetch(get("http://id.example.com/"), [&](Result r) { got = std::move(r); });
  REQUIRE(loop.runUntil([&] { return got.has_value(); }));
  CHECK(contains(got->error, "plain http is not allowed"));
}

TEST_CASE("outbound: an idle connection the server closed is not a failed GET", "[outbound]") {
  Loop loop;
  Pki pki;
  SECTION("the server closes right after its keep-alive response") {
    TestServer server(pki.serverContext(), [](const std::string&, int) {
      return Reply{okResponse("{}"), Reply::Then::kClose};
    });
    Client client(loop.base(), loop.mailbox(), trusting(pki));
    REQUIRE(fetchNow(loop, client, get(url(server))).ok);
    loop.runFor(50ms);
    CHECK(client.idleConnections() == 0);  // the close was noticed while idle
    Result again = fetchNow(loop, client, get(url(server)));
    INFO(again.error);
    CHECK(again.ok);
    CHECK(server.accepted() == 2);
  }
  SECTION("the server drops the second request unanswered: a GET is retried once") {
    TestServer server(pki.serverContext(), [](const std::string&, int index) {
      return index == 0 ? keepAlive("{}") : Reply{"", Reply::Then::kClose};
    });
    Client client(loop.base(), loop.mailbox(), trusting(pki));
    REQUIRE(fetchNow(loop, client, get(url(server))).ok);
    Result again = fetchNow(loop, client, get(url(server)));
    INFO(again.error);
    CHECK(again.ok);
    CHECK(server.accepted() == 2);
    CHECK(server.requests().size() == 3);

    Request post = get(url(server, "/token"));
    post.method = "POST";
    post.body = "code=once";
    Result posted = fetchNow(loop, client, post);
    CHECK_FALSE(posted.ok);
    CHECK(contains(posted.error, "connection closed before any response"));
    CHECK(server.accepted() == 2);
  }
}

TEST_CASE("outbound: idle connections close after idle_timeout", "[outbound]") {
  Loop loop;
  Pki pki;
  TestServer server(pki.serverContext(), [](const std::string&, int) { return keepAlive("{}"); });
  Options options = trusting(pki);
  options.idle_timeout = 100ms;
  Client client(loop.base(), loop.mailbox(), options);
  REQUIRE(fetchNow(loop, client, get(url(server))).ok);
  CHECK(client.idleConnections() == 1);
  loop.runFor(250ms);
  CHECK(client.idleConnections() == 0);
}

TEST_CASE("outbound: localhost is looked up off the loop", "[outbound]") {
  Loop loop;
  Pki pki;
  TestServer server(pki.serverContext(), [](const std::string&, int) { return keepAlive("ok"); });
  Client client(loop.base(), loop.mailbox(), trusting(pki));
  Result result = fetchNow(loop, client, get(url(server, "/", "localhost")));
  INFO(result.error);
  REQUIRE(result.ok);
  CHECK(result.body == "ok");
  CHECK(contains(server.requests().at(0), "\r\nHost: localhost:"));
}

TEST_CASE("outbound: a slow lookup does not block the loop and is shared and cached",
          "[outbound]") {
  Loop loop;
  Pki pki;
  TestServer server(pki.serverContext(), [](const std::string&, int) { return keepAlive("ok"); });
  auto lookups = std::make_shared<std::atomic<int>>(0);
  Options options = trusting(pki);
  options.lookup = [lookups](const std::string& host) {
    ++*lookups;
    std::this_thread::sleep_for(300ms);
    LookupResult result;
    if (host == "localhost") {
      // Nothing listens on 127.0.0.2: refused, and the next address is tried.
      result.addresses.push_back(*sesame::net::resolveNumeric({"127.0.0.2", 0}, nullptr));
      result.addresses.push_back(*sesame::net::resolveNumeric({"127.0.0.1", 0}, nullptr));
    }
    return result;
  };
  Client client(loop.base(), loop.mailbox(), options);

  int ticks = 0;
  sesame::EventPtr tick(event_new(
      loop.base(), -1, EV_PERSIST, [](int, short, void* arg) { ++*static_cast<int*>(arg); },
      &ticks));
  const timeval every{0, 10000};
  event_add(tick.get(), &every);

  std::optional<Result> a;
  std::optional<Result> b;
  FetchHandle ha = client.fetch(get(url(server, "/a", "localhost")), [&](Result r) { a = r; });
  FetchHandle hb = client.fetch(get(url(server, "/b", "localhost")), [&](Result r) { b = r; });
  REQUIRE(loop.runUntil([&] { return a && b; }));
  CHECK(a->ok);
  CHECK(b->ok);
  CHECK(ticks >= 10);  // 300 ms of lookup, a tick every 10 ms
  CHECK(*lookups == 1);

  Result cached = fetchNow(loop, client, get(url(server, "/c", "localhost")));
  CHECK(cached.ok);
  CHECK(*lookups == 1);

  Result nothing = fetchNow(loop, client, get("https://nowhere.example/"));
  CHECK_FALSE(nothing.ok);
  CHECK(contains(nothing.error, "nowhere.example resolves to no address"));
  CHECK(*lookups == 2);
}

TEST_CASE("outbound: the client may be destroyed inside a callback or with fetches pending",
          "[outbound]") {
  Loop loop;
  Pki pki;
  TestServer server(pki.serverContext(), [](const std::string& request, int) {
    if (request.starts_with("GET /hang ")) return Reply{"", Reply::Then::kHang};
    return keepAlive("{}");
  });
  auto client = std::make_unique<Client>(loop.base(), loop.mailbox(), trusting(pki));
  int late_calls = 0;
  FetchHandle pending = client->fetch(get(url(server, "/hang")), [&](Result) { ++late_calls; });
  bool destroyed = false;
  FetchHandle first = client->fetch(get(url(server, "/")), [&](Result r) {
    CHECK(r.ok);
    client.reset();
    destroyed = true;
  });
  REQUIRE(loop.runUntil([&] { return destroyed; }));
  loop.runFor(100ms);
  pending.reset();  // after its Client: nothing to cancel any more
  first.reset();
  CHECK(late_calls == 0);
}

TEST_CASE("outbound: plain http for tests", "[outbound]") {
  Loop loop;
  TestServer server(nullptr, [](const std::string&, int) { return keepAlive("plain"); });
  Options options;
  options.allow_plain_http = true;
  Client client(loop.base(), loop.mailbox(), options);
  Result result =
      fetchNow(loop, client, get("http://127.0.0.1:" + std::to_string(server.port()) + "/"));
  REQUIRE(result.ok);
  CHECK(result.body == "plain");
}

TEST_CASE("outbound: a server that never completes the handshake hits connect_timeout",
          "[outbound]") {
  Loop loop;
  Pki pki;
  // Listening but never accepting: the kernel completes TCP, nobody answers the ClientHello.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0);
  REQUIRE(::listen(fd, 4) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  const std::string port = std::to_string(ntohs(addr.sin_port));
  Options options = trusting(pki);
  options.connect_timeout = 200ms;
  {
    Client client(loop.base(), loop.mailbox(), options);
    Result result = fetchNow(loop, client, get("https://127.0.0.1:" + port + "/"));
    CHECK_FALSE(result.ok);
    CHECK(contains(result.error, "connect to 127.0.0.1:" + port + ": timed out after 200ms"));
  }
  ::close(fd);
}

TEST_CASE("outbound: interim responses are skipped, malformed ones refused", "[outbound]") {
  Loop loop;
  Pki pki;
  TestServer server(pki.serverContext(), [](const std::string& request, int) {
    if (request.starts_with("GET /hints ")) {
      return Reply{"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + okResponse("final"),
                   Reply::Then::kKeepAlive};
    }
    return Reply{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
                 Reply::Then::kKeepAlive};
  });
  Client client(loop.base(), loop.mailbox(), trusting(pki));
  Result hinted = fetchNow(loop, client, get(url(server, "/hints")));
  REQUIRE(hinted.ok);
  CHECK(hinted.status == 200);
  CHECK(hinted.body == "final");
  CHECK(hinted.headers.find("Link") == nullptr);

  Result smuggled = fetchNow(loop, client, get(url(server, "/double-length")));
  CHECK_FALSE(smuggled.ok);
  CHECK(contains(smuggled.error, "invalid response: "));
  CHECK(client.idleConnections() == 0);
}
