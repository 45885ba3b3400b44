// ReadinessProber against real peers: loopback listeners, closed ports and
// a real redis-server.
#include "sesame/admin/readiness.h"

#include <poll.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <optional>

#include "../net/loop_helpers.h"
#include "admin_helpers.h"
#include "sesame/base/clock.h"

using namespace sesame;
using admin::Readiness;
using admin::ReadinessProber;
using admin::testing::RedisServer;
using admin::testing::upstreamConfig;
using admin::testing::useRedis;
using net::testing::listenLoopback;
using net::testing::Loop;
using sesame::ManualClock;
using namespace std::chrono_literals;

namespace {

uint16_t portOf(const net::testing::Listener& l) {
  return ntohs(reinterpret_cast<const sockaddr_in*>(&l.addr.storage)->sin_port);
}

// A port nobody listens on: bound without listen(), so a connect is refused
// and nothing else can take the port while the test runs.
struct ClosedPort {
  net::testing::Listener socket = listenLoopback(-1);
  [[nodiscard]] uint16_t port() const { return portOf(socket); }
};

std::string joined(const Readiness& r) {
  std::string out;
  for (const std::string& reason : r.reasons) out += reason + "\n";
  return out;
}

Readiness checkOnce(Loop& loop, ReadinessProber& prober, std::shared_ptr<const config::Config> cfg,
                    std::chrono::milliseconds limit = 3000ms) {
  std::optional<Readiness> got;
  prober.check(std::move(cfg), [&](const Readiness& r) { got = r; });
  REQUIRE(loop.runUntil([&] { return got.has_value(); }, limit));
  return *got;
}

}  // namespace

TEST_CASE("an upstream is ready when one of its servers accepts", "[admin][readiness]") {
  Loop loop;
  ReadinessProber prober(loop.base(), loop.clock(), 1000ms, 0ms);
  auto live = listenLoopback();
  ClosedPort closed;

  SECTION("one live server") {
    Readiness r = checkOnce(loop, prober, upstreamConfig({{"app", {portOf(live)}}}));
    INFO(joined(r));
    CHECK(r.ready);
    CHECK(r.reasons.empty());
  }
  SECTION("a closed port makes the upstream unready, with the reason") {
    Readiness r = checkOnce(loop, prober,
                            upstreamConfig({{"app", {portOf(live)}}, {"api", {closed.port()}}}));
    CHECK_FALSE(r.ready);
    REQUIRE(r.reasons.size() == 1);
    CHECK(r.reasons[0] == "upstream api: no server reachable (127.0.0.1:" +
                              std::to_string(closed.port()) + ": Connection refused)");
  }
  SECTION("one live server of two is enough") {
    Readiness r = checkOnce(loop, prober, upstreamConfig({{"app", {closed.port(), portOf(live)}}}));
    INFO(joined(r));
    CHECK(r.ready);
  }
  SECTION("no configured upstream at all is ready") {
    Readiness r = checkOnce(loop, prober, upstreamConfig({}));
    CHECK(r.ready);
  }
}

TEST_CASE("a server that never answers the connect times out", "[admin][readiness]") {
  ManualClock clock;
  Loop loop;
  ReadinessProber prober(loop.base(), clock, 200ms, 0ms);
  // A backlog of 0 that two unaccepted connections fill: further SYNs are
  // dropped, so a connect neither succeeds nor is refused.
  auto full = listenLoopback(0);
  std::vector<net::testing::UniqueFd> fillers;
  for (int i = 0; i < 2; ++i) {
    fillers.emplace_back(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    (void)::connect(fillers.back().get(), full.addr.sa(), full.addr.length);
  }
  pollfd first{fillers[0].get(), POLLOUT, 0};
  REQUIRE(::poll(&first, 1, 1000) == 1);  // the one the accept queue holds
  std::optional<Readiness> got;
  prober.check(upstreamConfig({{"slow", {portOf(full)}}}), [&](const Readiness& r) { got = r; });
  loop.settle();
  clock.advance(199ms);
  loop.settle();
  CHECK_FALSE(got);
  clock.advance(1ms);
  REQUIRE(loop.runUntil([&] { return got.has_value(); }));
  CHECK_FALSE(got->ready);
  REQUIRE(got->reasons.size() == 1);
  CHECK(got->reasons[0] == "upstream slow: no server reachable (127.0.0.1:" +
                               std::to_string(portOf(full)) + ": no connection within 200 ms)");
}

TEST_CASE("a cached answer serves for cache_for, then a new round probes", "[admin][readiness]") {
  ManualClock clock;
  Loop loop;
  auto live = listenLoopback();
  auto cfg = upstreamConfig({{"app", {portOf(live)}}});
  ReadinessProber prober(loop.base(), clock, 1000ms, 5000ms);
  CHECK(checkOnce(loop, prober, cfg).ready);
  bool cached = false;
  clock.advance(4999ms);
  prober.check(cfg, [&](const Readiness&) { cached = true; });
  CHECK(cached);  // answered inside check()
  CHECK(prober.rounds() == 1);
  clock.advance(1ms);
  bool probed = false;
  prober.check(cfg, [&](const Readiness&) { probed = true; });
  CHECK_FALSE(probed);
  CHECK(prober.rounds() == 2);
  REQUIRE(loop.runUntil([&] { return probed; }));
}

TEST_CASE("answers are cached and rounds are shared", "[admin][readiness]") {
  Loop loop;
  auto live = listenLoopback();
  auto cfg = upstreamConfig({{"app", {portOf(live)}}});

  SECTION("a fresh answer is given at once, without probing") {
    ReadinessProber prober(loop.base(), loop.clock(), 1000ms, 60'000ms);
    CHECK(checkOnce(loop, prober, cfg).ready);
    bool inline_answer = false;
    prober.check(cfg, [&](const Readiness& r) { inline_answer = r.ready; });
    CHECK(inline_answer);
    CHECK(prober.rounds() == 1);
    // Another configuration snapshot is probed anew.
    CHECK(checkOnce(loop, prober, upstreamConfig({{"app", {portOf(live)}}})).ready);
    CHECK(prober.rounds() == 2);
  }
  SECTION("without caching every check probes, but concurrent ones share a round") {
    ReadinessProber prober(loop.base(), loop.clock(), 1000ms, 0ms);
    int answers = 0;
    prober.check(cfg, [&](const Readiness&) { ++answers; });
    prober.check(cfg, [&](const Readiness&) { ++answers; });
    CHECK(answers == 0);  // never inside check() without a cached answer
    REQUIRE(loop.runUntil([&] { return answers == 2; }));
    CHECK(prober.rounds() == 1);
    CHECK(checkOnce(loop, prober, cfg).ready);
    CHECK(prober.rounds() == 2);
  }
}

TEST_CASE("the Redis store must answer PING", "[admin][readiness][redis]") {
  Loop loop;
  ReadinessProber prober(loop.base(), loop.clock(), 1000ms, 0ms);
  auto live = listenLoopback();
  auto cfg = upstreamConfig({{"app", {portOf(live)}}});

  SECTION("a live server, over TCP and over its unix socket") {
    std::string socket = "/tmp/sesame-readiness-" + std::to_string(::getpid()) + ".sock";
    RedisServer redis({"--unixsocket", socket});
    useRedis(*cfg, redis.address());
    Readiness r = checkOnce(loop, prober, cfg);
    INFO(joined(r));
    CHECK(r.ready);
    auto over_unix = upstreamConfig({{"app", {portOf(live)}}});
    useRedis(*over_unix, "unix:" + socket);
    r = checkOnce(loop, prober, over_unix);
    INFO(joined(r));
    CHECK(r.ready);
    ::unlink(socket.c_str());
  }
  SECTION("the right password") {
    RedisServer redis({"--requirepass", "s3cret"});
    useRedis(*cfg, redis.address(), "s3cret");
    Readiness r = checkOnce(loop, prober, cfg);
    INFO(joined(r));
    CHECK(r.ready);
  }
  SECTION("a wrong password is not ready, and says so") {
    RedisServer redis({"--requirepass", "s3cret"});
    useRedis(*cfg, redis.address(), "wrong");
    Readiness r = checkOnce(loop, prober, cfg);
    CHECK_FALSE(r.ready);
    REQUIRE(r.reasons.size() == 1);
    CHECK_THAT(r.reasons[0], Catch::StartsWith("session store: redis " + redis.address() +
                                               ": AUTH failed: WRONGPASS"));
    CHECK_THAT(r.reasons[0], Catch::Contains("check [redis] username and password"));
  }
  SECTION("no password where one is required") {
    RedisServer redis({"--requirepass", "s3cret"});
    useRedis(*cfg, redis.address());
    Readiness r = checkOnce(loop, prober, cfg);
    CHECK_FALSE(r.ready);
    REQUIRE(r.reasons.size() == 1);
    CHECK_THAT(r.reasons[0], Catch::Contains("NOAUTH"));
    CHECK_THAT(r.reasons[0], Catch::Contains("set [redis] password"));
  }
  SECTION("no server: refused, reported with the upstream's own reason") {
    ClosedPort closed;
    useRedis(*cfg, "127.0.0.1:" + std::to_string(closed.port()));
    auto both = cfg;
    both->upstreams[0].servers[0] = {"127.0.0.1:" + std::to_string(closed.port()),
                                     closed.socket.addr};
    Readiness r = checkOnce(loop, prober, both);
    CHECK_FALSE(r.ready);
    REQUIRE(r.reasons.size() == 2);
    CHECK_THAT(r.reasons[0], Catch::StartsWith("upstream app: no server reachable"));
    CHECK(r.reasons[1] == "session store: redis 127.0.0.1:" + std::to_string(closed.port()) +
                              ": cannot connect: Connection refused");
  }
  SECTION("memory and cookie stores need no probe") {
    useRedis(*cfg, "127.0.0.1:1");
    cfg->session->store = session::StoreKind::kMemory;
    CHECK(checkOnce(loop, prober, cfg).ready);
    cfg->session->store = session::StoreKind::kCookie;
    CHECK(checkOnce(loop, prober, cfg).ready);
  }
}

TEST_CASE("ready_requires leaves out what it does not name", "[admin][readiness]") {
  Loop loop;
  ReadinessProber prober(loop.base(), loop.clock(), 1000ms, 0ms);
  ClosedPort closed;
  auto cfg = upstreamConfig({{"app", {closed.port()}}});
  // A Redis nobody listens on.
  useRedis(*cfg, "127.0.0.1:" + std::to_string(ClosedPort().port()));
  cfg->admin = config::AdminConfig{"127.0.0.1:9901", admin::testing::loopback(9901), {}, "", ""};

  SECTION("by default both count") {
    Readiness r = checkOnce(loop, prober, cfg);
    CHECK_FALSE(r.ready);
    CHECK(r.reasons.size() == 2);
  }
  SECTION("without upstreams, only the store") {
    cfg->admin->ready.upstreams = false;
    Readiness r = checkOnce(loop, prober, cfg);
    CHECK_FALSE(r.ready);
    REQUIRE(r.reasons.size() == 1);
    CHECK_THAT(r.reasons[0], Catch::StartsWith("session store: redis"));
  }
  SECTION("without the store, only the upstreams") {
    cfg->admin->ready.store = false;
    Readiness r = checkOnce(loop, prober, cfg);
    CHECK_FALSE(r.ready);
    REQUIRE(r.reasons.size() == 1);
    CHECK_THAT(r.reasons[0], Catch::StartsWith("upstream app: no server reachable"));
  }
  SECTION("neither: ready, nothing probed") {
    cfg->admin->ready.store = false;
    cfg->admin->ready.upstreams = false;
    CHECK(checkOnce(loop, prober, cfg).ready);
  }
}
