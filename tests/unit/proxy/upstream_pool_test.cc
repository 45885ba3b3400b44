// proxy::UpstreamPool against loopback listeners on a real loop, with time
// from a ManualClock: fresh connects and their timeout, reuse, round robin,
// idle connections the server closes, and the keepalive limit with its
// delayed trim of a burst's surplus.
#include "sesame/proxy/upstream_pool.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "../net/loop_helpers.h"
#include "sesame/base/clock.h"
#include "sesame/proxy/graveyard.h"

using namespace sesame;
using namespace sesame::net::testing;
using net::StreamEvent;
using proxy::UpstreamConn;

namespace {

// The clock and listeners first and the pool last, so the pool's
// connections (and their timers) close before the loop, the clock and the
// sockets they point at go away.
struct Fixture {
  explicit Fixture(size_t servers, unsigned keepalive = 32) {
    cfg.name = "backend";
    cfg.keepalive = keepalive;
    for (size_t i = 0; i < servers; ++i) {
      listeners.push_back(listenLoopback());
      REQUIRE(listeners.back().fd.get() >= 0);
      cfg.servers.push_back({listeners.back().addr.toString(), listeners.back().addr});
    }
    pool = std::make_unique<proxy::UpstreamPool>(loop.base(), clock, graveyard, cfg, timeouts);
  }

  // acquire(attempt), waits for kConnected and accepts the server side.
  std::unique_ptr<UpstreamConn> connect(size_t attempt, UniqueFd* server_side) {
    auto conn = pool->acquire(attempt, first_server);
    REQUIRE(conn != nullptr);
    REQUIRE_FALSE(conn->reused);
    conn->stream->setHandler(&handler);
    handler.events.clear();
    REQUIRE(loop.runUntil([&] { return !handler.events.empty(); }));
    REQUIRE(handler.events[0] == StreamEvent::kConnected);
    *server_side = acceptOne(listeners[conn->server], loop);
    REQUIRE(server_side->get() >= 0);
    return conn;
  }

  ManualClock clock;
  Loop loop;
  proxy::Graveyard graveyard{loop.base()};
  std::vector<Listener> listeners;
  config::UpstreamConfig cfg;
  config::TimeoutsConfig timeouts;
  RecordingHandler handler;
  std::unique_ptr<proxy::UpstreamPool> pool;
  size_t first_server = 0;  // set by acquire(0), passed back on retries
};

// True once the server side of a connection reads end of stream.
bool closedByPool(Loop& loop, const UniqueFd& server_side) {
  std::string junk;
  return loop.runUntil([&] { return readAvailable(server_side.get(), junk); }, 500ms) &&
         junk.empty();
}

}  // namespace

TEST_CASE("pool: acquire on an empty pool connects", "[proxy][upstream_pool]") {
  Fixture f(1);
  CHECK(f.pool->serverCount() == 1);
  CHECK(f.pool->idleCount() == 0);
  UniqueFd server;
  auto conn = f.connect(0, &server);
  CHECK(conn->server == 0);
  CHECK(conn->pool == f.pool.get());

  add(conn->stream->output(), "GET / HTTP/1.1\r\n\r\n");
  std::string got;
  REQUIRE(f.loop.runUntil([&] {
    readAvailable(server.get(), got);
    return got.size() >= 18;
  }));
  CHECK(got == "GET / HTTP/1.1\r\n\r\n");
}

TEST_CASE("pool: a released connection is reused", "[proxy][upstream_pool]") {
  Fixture f(1);
  UniqueFd server;
  auto conn = f.connect(0, &server);
  net::Stream* stream = conn->stream.get();
  f.pool->release(std::move(conn));
  CHECK(f.pool->idleCount() == 1);
  f.loop.settle();
  CHECK(f.pool->idleCount() == 1);

  auto again = f.pool->acquire(0, f.first_server);
  REQUIRE(again != nullptr);
  CHECK(again->reused);
  CHECK(again->stream.get() == stream);
  CHECK(f.pool->idleCount() == 0);

  // The new owner's handler gets its bytes; the pool no longer listens.
  again->stream->setHandler(&f.handler);
  f.handler.reads = 0;
  REQUIRE(writeSome(server.get(), "HTTP/1.1 200 OK\r\n") == 17);
  REQUIRE(f.loop.runUntil([&] { return f.handler.reads > 0; }));
  CHECK(drain(again->stream->input()) == "HTTP/1.1 200 OK\r\n");
}

TEST_CASE("pool: a retry skips the idle pool and connects afresh", "[proxy][upstream_pool]") {
  Fixture f(1);
  UniqueFd server;
  auto conn = f.connect(0, &server);
  f.pool->release(std::move(conn));
  UniqueFd server2;
  auto retry = f.connect(1, &server2);
  CHECK(f.pool->idleCount() == 1);
}

TEST_CASE("pool: fresh connects go round robin across servers", "[proxy][upstream_pool]") {
  Fixture f(2);
  CHECK(f.pool->serverCount() == 2);
  std::vector<size_t> servers;
  std::vector<std::unique_ptr<UpstreamConn>> conns;
  std::vector<UniqueFd> sides;
  for (int i = 0; i < 4; ++i) {
    UniqueFd side;
    conns.push_back(f.connect(0, &side));  // acceptOne() checks the right listener got it
    servers.push_back(conns.back()->server);
    sides.push_back(std::move(side));
  }
  CHECK(servers == std::vector<size_t>{0, 1, 0, 1});
}

TEST_CASE("pool: an idle connection the server closes leaves the pool", "[proxy][upstream_pool]") {
  Fixture f(1);
  UniqueFd server;
  auto conn = f.connect(0, &server);
  f.pool->release(std::move(conn));
  REQUIRE(f.pool->idleCount() == 1);
  SECTION("close") {
    server.reset();
  }
  SECTION("stray bytes") {
    REQUIRE(writeSome(server.get(), "HTTP/1.1 408 Timeout\r\n") > 0);
  }
  REQUIRE(f.loop.runUntil([&] { return f.pool->idleCount() == 0; }));

  // The next request connects afresh.
  UniqueFd server2;
  auto fresh = f.connect(0, &server2);
  CHECK(f.pool->idleCount() == 0);
}

TEST_CASE("pool: keepalive 0 closes a connection on release", "[proxy][upstream_pool]") {
  Fixture f(1, 0);
  UniqueFd server;
  auto conn = f.connect(0, &server);
  f.pool->release(std::move(conn));
  CHECK(f.pool->idleCount() == 0);
  CHECK(closedByPool(f.loop, server));
}

TEST_CASE("pool: a surplus above keepalive is kept, then trimmed after a second",
          "[proxy][upstream_pool]") {
  Fixture f(1, 1);
  std::vector<std::unique_ptr<UpstreamConn>> conns;
  std::vector<UniqueFd> sides(3);
  for (UniqueFd& side : sides) conns.push_back(f.connect(0, &side));
  net::Stream* newest = conns.back()->stream.get();
  for (auto& conn : conns) f.pool->release(std::move(conn));
  CHECK(f.pool->idleCount() == 3);
  CHECK(f.clock.armedTimers() == 1);  // one trim timer, no per-connection timers

  f.clock.advance(proxy::UpstreamPool::kTrimAfter - 1ms);
  CHECK(f.pool->idleCount() == 3);
  f.clock.advance(1ms);
  CHECK(f.pool->idleCount() == 1);
  CHECK(f.clock.armedTimers() == 0);

  // The least recently released go; the most recent one stays.
  CHECK(closedByPool(f.loop, sides[0]));
  CHECK(closedByPool(f.loop, sides[1]));
  auto kept = f.pool->acquire(0, f.first_server);
  REQUIRE(kept != nullptr);
  CHECK(kept->reused);
  CHECK(kept->stream.get() == newest);
}

TEST_CASE("pool: a surplus connection reused meanwhile gets its full second again",
          "[proxy][upstream_pool]") {
  Fixture f(1, 1);
  std::vector<std::unique_ptr<UpstreamConn>> conns;
  std::vector<UniqueFd> sides(2);
  for (UniqueFd& side : sides) conns.push_back(f.connect(0, &side));
  for (auto& conn : conns) f.pool->release(std::move(conn));  // the trim timer starts

  // Both taken for requests and released again 700 ms later: at the trim
  // timer's first firing they have been idle for 300 ms only.
  f.clock.advance(100ms);
  conns.clear();
  conns.push_back(f.pool->acquire(0, f.first_server));
  conns.push_back(f.pool->acquire(0, f.first_server));
  REQUIRE(conns[0]->reused);
  REQUIRE(conns[1]->reused);
  f.clock.advance(600ms);
  for (auto& conn : conns) f.pool->release(std::move(conn));
  f.clock.advance(300ms);  // the timer fires, nothing is old enough
  CHECK(f.pool->idleCount() == 2);
  f.clock.advance(700ms);  // a second after the release, not yet at the next check
  CHECK(f.pool->idleCount() == 2);
  f.clock.advance(300ms);  // the re-armed timer: one second after its first firing
  CHECK(f.pool->idleCount() == 1);
}

TEST_CASE("pool: idle connections within keepalive are never trimmed", "[proxy][upstream_pool]") {
  Fixture f(1, 2);
  std::vector<std::unique_ptr<UpstreamConn>> conns;
  std::vector<UniqueFd> sides(2);
  for (UniqueFd& side : sides) conns.push_back(f.connect(0, &side));
  for (auto& conn : conns) f.pool->release(std::move(conn));
  CHECK(f.clock.armedTimers() == 0);
  f.clock.advance(std::chrono::hours(1));
  CHECK(f.pool->idleCount() == 2);
}

// Linux drops a SYN while the listener's accept queue is full, so the
// connect stays pending until upstream_connect passes.
TEST_CASE("pool: a connect that hangs times out after upstream_connect", "[proxy][upstream_pool]") {
  Fixture f(1);
  Listener full = listenLoopback(0);
  REQUIRE(full.fd.get() >= 0);
  std::vector<UniqueFd> fillers;
  for (int i = 0; i < 3; ++i) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    (void)::connect(fd.get(), full.addr.sa(), full.addr.length);
    fillers.push_back(std::move(fd));
  }
  f.cfg.servers[0] = {full.addr.toString(), full.addr};
  f.timeouts.upstream_connect = 3000ms;
  auto conn = f.pool->acquire(0, f.first_server);
  REQUIRE(conn != nullptr);
  conn->stream->setHandler(&f.handler);
  f.loop.settle();  // a connect that completed would be reported here
  REQUIRE(f.handler.events.empty());

  f.clock.advance(2999ms);
  CHECK(f.handler.events.empty());
  f.clock.advance(1ms);
  REQUIRE(f.handler.events.size() == 1);
  CHECK(f.handler.events[0] == StreamEvent::kWriteTimeout);
}

TEST_CASE("pool: a retry goes to the server after the one the first attempt used",
          "[proxy][upstream_pool]") {
  size_t servers = GENERATE(size_t{2}, size_t{3});
  Fixture f(servers);
  for (int request = 0; request < 3; ++request) {
    auto first = f.pool->acquire(0, f.first_server);
    REQUIRE(first != nullptr);
    std::vector<size_t> tried{first->server};
    for (size_t attempt = 1; attempt < servers; ++attempt) {
      auto retry = f.pool->acquire(attempt, f.first_server);
      REQUIRE(retry != nullptr);
      CHECK(retry->server == (first->server + attempt) % servers);
      tried.push_back(retry->server);
    }
    std::sort(tried.begin(), tried.end());
    CHECK(std::unique(tried.begin(), tried.end()) == tried.end());  // every server once
  }
}
