// proxy::ServerConnection over a socketpair, with an upstream the test plays
// on a loopback listener and time from a ManualClock: the header timeout
// (408, also for a head trickled byte by byte), the idle keep-alive close
// and the upstream read timeout (504), each asserted to the millisecond
// without waiting.
#include "sesame/proxy/server_connection.h"

#include <netinet/in.h>
#include <poll.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "../net/loop_helpers.h"
#include "sesame/base/clock.h"
#include "sesame/config/config.h"
#include "sesame/proxy/context.h"
#include "sesame/proxy/metrics.h"

using namespace sesame;
using namespace sesame::net::testing;

namespace {

// The clock, loop and upstream listener first, the context last: it owns
// the connections, whose streams use all three.
struct Fixture {
  // `backlog` 0: the listener's queue is filled, so connects to it hang.
  explicit Fixture(int backlog = 16) {
    upstream = listenLoopback(backlog);
    REQUIRE(upstream.fd.get() >= 0);
    if (backlog == 0) {
      // Linux drops a SYN while the accept queue is full.
      for (int i = 0; i < 2; ++i) {
        fillers.emplace_back(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        (void)::connect(fillers.back().get(), upstream.addr.sa(), upstream.addr.length);
      }
      pollfd first{fillers[0].get(), POLLOUT, 0};
      REQUIRE(::poll(&first, 1, 1000) == 1);  // the one the queue holds
    }
    const std::string text = R"([[listen]]
address = "127.0.0.1:8080"

[upstream.app]
servers = [")" + upstream.addr.toString() +
                             R"("]

[[route]]
path = "/"
upstream = "app"

[timeouts]
header = "10s"
idle = "60s"
upstream_read = "30s"
)";
    config::LoadResult loaded = config::parse(text, "/nonexistent/sesame.toml");
    INFO((loaded.errors.empty() ? "" : loaded.errors[0]));
    REQUIRE(loaded.config != nullptr);
    config = loaded.config;
    ctx = std::make_unique<proxy::Context>(loop.base(), clock, config, nullptr, nullptr, metrics);
  }

  // A new client connection, as the worker accepts it; returns the client's end.
  UniqueFd open() {
    FdPair fds = socketPair();
    REQUIRE(fds.mine.get() >= 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    auto conn = std::make_unique<proxy::ServerConnection>(
        *ctx, config->listeners[0],
        net::Stream::accept(loop.base(), clock, fds.mine.release(), nullptr),
        net::fromSockaddr(reinterpret_cast<sockaddr*>(&sin), sizeof sin));
    proxy::ServerConnection* raw = conn.get();
    ctx->adopt(std::move(conn));
    raw->start();
    return std::move(fds.peer);
  }

  // Runs the loop until the client's end reads end of stream; what came before it.
  std::string readToClose(const UniqueFd& client) {
    std::string got;
    REQUIRE(loop.runUntil([&] { return readAvailable(client.get(), got); }));
    return got;
  }

  // Nothing arrives and the connection stays open, once the loop has run
  // whatever is ready.
  bool quiet(const UniqueFd& client) {
    loop.settle();
    std::string got;
    return !readAvailable(client.get(), got) && got.empty();
  }

  ManualClock clock;
  Loop loop;
  Listener upstream;
  std::vector<UniqueFd> fillers;
  std::shared_ptr<const config::Config> config;
  proxy::WorkerMetrics metrics;
  std::unique_ptr<proxy::Context> ctx;
};

constexpr std::string_view kRequest = "GET /x HTTP/1.1\r\nHost: app.test\r\n\r\n";

// Plays the upstream for one request: accepts, reads the head, returns the socket.
UniqueFd serveHead(Fixture& f) {
  UniqueFd server = acceptOne(f.upstream, f.loop);
  REQUIRE(server.get() >= 0);
  std::string head;
  REQUIRE(f.loop.runUntil([&] {
    readAvailable(server.get(), head);
    return head.find("\r\n\r\n") != std::string::npos;
  }));
  CHECK(head.starts_with("GET /x HTTP/1.1\r\n"));
  return server;
}

}  // namespace

TEST_CASE("server connection: a client that says nothing gets 408 at the header timeout",
          "[proxy][server_connection]") {
  Fixture f;
  UniqueFd client = f.open();
  f.clock.advance(9999ms);
  CHECK(f.quiet(client));
  f.clock.advance(1ms);
  CHECK(f.readToClose(client).starts_with("HTTP/1.1 408 "));
}

// Slowloris: one byte of the head at a time, each just before any
// per-read timeout would pass, must not keep a connection (and its
// buffers) forever; the header timeout runs from the accept.
TEST_CASE(
    "server connection: slowloris, a head trickled byte by byte, gets 408 at the header "
    "timeout",
    "[proxy][server_connection]") {
  Fixture f;
  UniqueFd client = f.open();
  const std::string_view head = "GET /x HTTP/1.1\r\nHost: ab";
  REQUIRE(head.size() == 25);
  for (char c : head) {
    REQUIRE(writeSome(client.get(), std::string_view(&c, 1)) == 1);
    f.loop.settle();
    f.clock.advance(300ms);  // 25 bytes: 7.5 s
  }
  f.clock.advance(2499ms);
  CHECK(f.quiet(client));
  f.clock.advance(1ms);
  CHECK(f.readToClose(client).starts_with("HTTP/1.1 408 "));
}

TEST_CASE("server connection: an idle keep-alive connection closes at the idle timeout, silently",
          "[proxy][server_connection]") {
  Fixture f;
  UniqueFd client = f.open();
  REQUIRE(writeSome(client.get(), kRequest) == kRequest.size());
  UniqueFd server = serveHead(f);
  REQUIRE(writeSome(server.get(), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") > 0);
  std::string got;
  REQUIRE(f.loop.runUntil([&] {
    readAvailable(client.get(), got);
    return got.ends_with("\r\n\r\nok");
  }));
  CHECK(got.starts_with("HTTP/1.1 200 OK\r\n"));

  // Idle between requests: past the header timeout nothing happens (no
  // 408 to a client that sent no byte of a next request) ...
  f.clock.advance(59'999ms);
  CHECK(f.quiet(client));
  // ... and at the idle timeout the connection closes without an answer.
  f.clock.advance(1ms);
  CHECK(f.readToClose(client).empty());
}

TEST_CASE("server connection: a request that starts after an idle wait gets a fresh header timeout",
          "[proxy][server_connection]") {
  Fixture f;
  UniqueFd client = f.open();
  REQUIRE(writeSome(client.get(), kRequest) == kRequest.size());
  UniqueFd server = serveHead(f);
  REQUIRE(writeSome(server.get(), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") > 0);
  std::string got;
  REQUIRE(f.loop.runUntil([&] {
    readAvailable(client.get(), got);
    return got.ends_with("ok");
  }));
  f.clock.advance(50s);
  REQUIRE(writeSome(client.get(), "GET /y HTTP/1.1\r\n") > 0);
  f.loop.settle();
  // The idle timer (60 s) no longer applies: the head has its 10 s from
  // its first byte.
  f.clock.advance(9999ms);
  CHECK(f.quiet(client));
  f.clock.advance(1ms);
  CHECK(f.readToClose(client).starts_with("HTTP/1.1 408 "));
}

TEST_CASE("server connection: an upstream silent past upstream_read gives 504",
          "[proxy][server_connection]") {
  Fixture f;
  UniqueFd client = f.open();
  REQUIRE(writeSome(client.get(), kRequest) == kRequest.size());
  UniqueFd server = serveHead(f);
  f.clock.advance(29'999ms);
  CHECK(f.quiet(client));
  f.clock.advance(1ms);
  std::string got;
  REQUIRE(f.loop.runUntil([&] {
    readAvailable(client.get(), got);
    return got.find("\r\n\r\n") != std::string::npos;
  }));
  CHECK(got.starts_with("HTTP/1.1 504 "));
}

// One server: its connect is tried twice (a retry goes to the next server,
// here the same one), each for upstream_connect (3 s by default).
TEST_CASE("server connection: an upstream connect that hangs gives 502 after upstream_connect",
          "[proxy][server_connection]") {
  Fixture f(0);
  UniqueFd client = f.open();
  REQUIRE(writeSome(client.get(), kRequest) == kRequest.size());
  f.loop.settle();
  f.clock.advance(5999ms);
  CHECK(f.quiet(client));
  f.clock.advance(1ms);
  std::string got;
  REQUIRE(f.loop.runUntil([&] {
    readAvailable(client.get(), got);
    return got.find("\r\n\r\n") != std::string::npos;
  }));
  CHECK(got.starts_with("HTTP/1.1 502 "));
}

// A client that stops reading is the client's fault: the upstream, whose
// reads sesame paused meanwhile, is not "silent" for upstream_read, and
// the connection closes at client_send.
TEST_CASE(
    "server connection: a client that stops reading a response is closed at client_send, "
    "not blamed on the upstream",
    "[proxy][server_connection]") {
  Fixture f;
  UniqueFd client = f.open();
  REQUIRE(writeSome(client.get(), kRequest) == kRequest.size());
  UniqueFd server = serveHead(f);
  const std::string body(8 << 20, 'b');
  const std::string response =
      "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  size_t sent = 0;
  // The upstream writes until nothing moves: the client reads nothing, so
  // the client socket, sesame's buffers and the upstream socket fill.
  for (int pass = 0; pass < 10'000; ++pass) {
    const size_t before = sent;
    sent += writeSome(server.get(), std::string_view(response).substr(sent));
    f.loop.settle();
    if (sent == before) break;
  }
  REQUIRE(sent < response.size());
  std::string ignored;
  f.clock.advance(30s);  // upstream_read: no effect, the upstream is not silent
  f.loop.settle();
  CHECK_FALSE(readAvailable(server.get(), ignored));
  f.clock.advance(29'999ms);
  f.loop.settle();
  CHECK_FALSE(readAvailable(server.get(), ignored));
  f.clock.advance(1ms);  // client_send (60 s) since the client's last read
  // The client connection closes, and with it the upstream connection.
  REQUIRE(f.loop.runUntil([&] { return readAvailable(server.get(), ignored); }));
}

namespace {

// The field names of a head, in order (the request or status line and any
// body left out).
std::vector<std::string> fieldNames(std::string_view head) {
  std::vector<std::string> names;
  head = head.substr(0, head.find("\r\n\r\n"));
  size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos) {
    head.remove_prefix(pos + 2);
    pos = head.find("\r\n");
    std::string_view line = head.substr(0, pos);
    names.emplace_back(line.substr(0, line.find(':')));
  }
  return names;
}

// Runs the loop until `fd` has sent a whole head (and, with `body`, that
// body after it); returns what arrived.
std::string readHead(Fixture& f, int fd, std::string_view body = {}) {
  std::string got;
  REQUIRE(f.loop.runUntil([&] {
    readAvailable(fd, got);
    const size_t end = got.find("\r\n\r\n");
    return end != std::string::npos && got.size() >= end + 4 + body.size();
  }));
  return got;
}

}  // namespace

// The exchange of a connection gone idle is kept by the worker and taken by
// the next request on another connection: that request, upstream and back,
// must carry nothing of the one before (its fields, its response's fields).
TEST_CASE("server connection: a reused exchange carries nothing over to another connection",
          "[proxy][server_connection]") {
  Fixture f;
  UniqueFd first = f.open();
  std::string long_head = "GET /x HTTP/1.1\r\nHost: app.test\r\n";
  for (int i = 0; i < 40; ++i) {
    long_head += "X-Long-" + std::to_string(i) + ": " +
                 std::string(60, static_cast<char>('a' + i % 26)) + "\r\n";
  }
  long_head += "Cookie: a=1; b=2\r\nX-Forwarded-For: 192.0.2.9\r\n\r\n";
  REQUIRE(writeSome(first.get(), long_head) == long_head.size());
  UniqueFd server = serveHead(f);
  const std::string long_response =
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Resp-Long: " + std::string(500, 'r') +
      "\r\nSet-Cookie: s=1\r\n\r\nok";
  REQUIRE(writeSome(server.get(), long_response) == long_response.size());
  CHECK(fieldNames(readHead(f, first.get(), "ok")) ==
        std::vector<std::string>{"Content-Length", "X-Resp-Long", "Set-Cookie", "X-Request-Id"});
  // The first connection is idle: it holds no exchange, the worker keeps it.
  CHECK(f.ctx->spareExchanges() == 1);

  UniqueFd second = f.open();
  constexpr std::string_view kShort = "GET /x HTTP/1.1\r\nHost: app.test\r\nX-Short: 1\r\n\r\n";
  REQUIRE(writeSome(second.get(), kShort) == kShort.size());
  // The pooled upstream connection gets the second request.
  const std::string upstream_head = readHead(f, server.get());
  CHECK(f.ctx->spareExchanges() == 0);
  CHECK(upstream_head.starts_with("GET /x HTTP/1.1\r\n"));
  CHECK(fieldNames(upstream_head) ==
        std::vector<std::string>{"Host", "X-Short", "X-Forwarded-For", "X-Forwarded-Proto",
                                 "X-Forwarded-Host", "X-Real-IP", "X-Request-Id"});
  CHECK(upstream_head.find("X-Forwarded-For: 127.0.0.1\r\n") != std::string::npos);
  REQUIRE(writeSome(server.get(), "HTTP/1.1 204 No Content\r\n\r\n") > 0);
  const std::string response = readHead(f, second.get());
  CHECK(response.starts_with("HTTP/1.1 204 No Content\r\n"));
  CHECK(fieldNames(response) == std::vector<std::string>{"X-Request-Id"});
}
