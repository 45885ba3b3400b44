// RedisStore against a real redis-server started by the test on a free
// loopback port: the shared Store contract, then the Redis layout, AUTH,
// SELECT, unix sockets, timeouts, reconnection, cancellation and bounds.
// Time comes from a ManualClock: command deadlines, connect timeouts and
// reconnect backoff pass when a test advances it, never by waiting.
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "../net/loop_helpers.h"
#include "../redis_server.h"
#include "sesame/base/c_handle.h"
#include "sesame/base/clock.h"
#include "sesame/session/cookie_codec.h"
#include "sesame/session/memory_store.h"
#include "sesame/session/redis_store.h"
#include "store_contract.h"

using sesame::EventBasePtr;
using sesame::EventPtr;
using sesame::ManualClock;
using sesame::session::CookieCodec;
using sesame::session::LoginInfo;
using sesame::session::MemoryStore;
using sesame::session::Millis;
using sesame::session::parseRedisAddress;
using sesame::session::RedisSettings;
using sesame::session::RedisStore;
using sesame::session::Session;
using sesame::session::SessionId;
using sesame::session::Store;
using sesame::session::StoreStatus;
using sesame::session::TicketPtr;
using sesame::session::Timeouts;
using sesame::session::TimePoint;
using sesame::session::Update;
using sesame::session::testing::contractHandle;
using sesame::session::testing::contractLogin;
using sesame::session::testing::contractSession;
using sesame::session::testing::runStoreContract;
using sesame::session::testing::StoreDriver;
using sesame::session::testing::StoreHarness;
using sesame::testing::freePort;
using sesame::testing::RedisServer;
using SteadyClock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

TimePoint wallNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Runs `loop` until `done` holds or `limit` passes; true if it held.
bool runUntil(event_base* loop, const std::function<bool()>& done,
              std::chrono::milliseconds limit = std::chrono::milliseconds(3000)) {
  const auto until = SteadyClock::now() + limit;
  EventPtr tick(evtimer_new(
      loop, [](int, short, void*) {}, nullptr));
  while (!done()) {
    if (SteadyClock::now() >= until) return false;
    timeval tv{0, 5000};
    evtimer_add(tick.get(), &tv);
    event_base_loop(loop, EVLOOP_ONCE);
  }
  return true;
}

RedisSettings settingsFor(const std::string& address, std::string prefix = "sesame:") {
  RedisSettings settings;
  settings.address = address;
  std::string error;
  auto addr = parseRedisAddress(address, &error);
  INFO(error);
  REQUIRE(addr);
  settings.addr = *addr;
  settings.key_prefix = std::move(prefix);
  settings.command_timeout = Millis(200);
  return settings;
}

Timeouts testTimeouts() {
  Timeouts t;
  t.idle = Millis(10'000);
  t.absolute = Millis(60'000);
  t.touch_interval = Millis(1'000);
  return t;
}

// What runs without a loop pass waiting: activated events and due timers.
void settle(event_base* loop) {
  for (int i = 0; i < 8; ++i) event_base_loop(loop, EVLOOP_NONBLOCK);
}

// The first reconnect backoff (redis::Connection::kFirstBackoff), doubling
// up to kMaxBackoff.
constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{5000};

// One loop and one manual clock, plus whichever store the test made last.
// The clock outlives every store (their timers are its).
struct Fixture {
  ManualClock clock;
  EventBasePtr loop{event_base_new()};
  RedisStore* current = nullptr;

  std::unique_ptr<RedisStore> make(const RedisSettings& settings,
                                   const Timeouts& timeouts = testTimeouts(),
                                   size_t max_pending = RedisStore::kDefaultMaxPending,
                                   bool wait = true) {
    auto store = std::make_unique<RedisStore>(loop.get(), clock, settings, timeouts, max_pending);
    current = store.get();
    if (wait) REQUIRE(runUntil(loop.get(), [&] { return store->connected(); }));
    return store;
  }
  StoreHarness harness() {
    StoreHarness h;
    h.drive = [this] {
      REQUIRE(runUntil(loop.get(), [this] { return current->inFlight() == 0; }));
    };
    h.touch_writes = [](Store& store) { return static_cast<RedisStore&>(store).touchWrites(); };
    h.sweep_removes = false;
    h.start = wallNow();
    return h;
  }
};

// Collects what sesame logs to stderr while it lives.
class StderrCapture {
 public:
  StderrCapture() : file_(std::tmpfile()), saved_(::dup(2)) {
    std::fflush(stderr);
    ::dup2(::fileno(file_), 2);
  }
  ~StderrCapture() {
    restore();
    std::fclose(file_);
  }
  std::string text() {
    std::fflush(stderr);
    std::rewind(file_);
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, file_)) > 0) out.append(buf, n);
    return out;
  }
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }

 private:
  std::FILE* file_;
  int saved_;
};

std::string storeKey() {
  return CookieCodec::storeKey(SessionId::random());
}

}  // namespace

TEST_CASE("RedisStore meets the Store contract", "[session][store][redis]") {
  static RedisServer server;
  static int made = 0;
  Fixture f;
  StoreHarness harness = f.harness();
  harness.make = [&f](const Timeouts& timeouts) -> std::unique_ptr<Store> {
    // A fresh prefix per section: the suite reuses its keys.
    return f.make(settingsFor(server.address(), "contract" + std::to_string(++made) + ":"),
                  timeouts);
  };
  runStoreContract(harness);
}

TEST_CASE("RedisStore keeps only store keys in Redis, with the documented layout",
          "[session][store][redis]") {
  RedisServer server;
  Fixture f;
  auto store = f.make(settingsFor(server.address(), "app1:"));
  StoreHarness h = f.harness();
  StoreDriver s(h, *store);
  const SessionId id = SessionId::random();
  const std::string key = CookieCodec::storeKey(id);
  const CookieCodec codec({std::string(40, 'k')});
  Session session = contractSession("alice");
  REQUIRE(s.create(key, session, h.start) == StoreStatus::kOk);

  auto keys = server.run({"KEYS", "*"});
  REQUIRE(keys->type == REDIS_REPLY_ARRAY);
  std::vector<std::string> names;
  for (size_t i = 0; i < keys->elements; ++i) names.emplace_back(keys->element[i]->str);
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"app1:s:" + key, "app1:u:alice"});
  const std::string cookie = codec.encode(id);
  auto all = server.run({"HGETALL", "app1:s:" + key});
  for (size_t i = 0; i < all->elements; ++i) {
    CHECK(std::string(all->element[i]->str).find(cookie) == std::string::npos);
  }
  CHECK(std::string(server.run({"HGET", "app1:s:" + key, "d:cart"})->str) == "3");
  CHECK(std::string(server.run({"HGET", "app1:s:" + key, "user"})->str) == "alice");
  CHECK(server.run({"PTTL", "app1:u:alice"})->integer > 59'000);

  SECTION("destroy removes the hash and its index entry") {
    REQUIRE(s.destroy(key) == StoreStatus::kOk);
    CHECK(server.run({"EXISTS", "app1:s:" + key})->integer == 0);
    CHECK(server.run({"EXISTS", "app1:u:alice"})->integer == 0);
  }
  SECTION("rotate moves the index entry") {
    const std::string next = storeKey();
    REQUIRE(s.rotate(key, next, h.start + 1) == StoreStatus::kOk);
    auto members = server.run({"SMEMBERS", "app1:u:alice"});
    REQUIRE(members->elements == 1);
    CHECK(std::string(members->element[0]->str) == next);
  }
}

TEST_CASE("RedisStore TTL is min(idle left, absolute left) and touches are throttled",
          "[session][store][redis]") {
  RedisServer server;
  Fixture f;
  auto store = f.make(settingsFor(server.address()));
  StoreHarness h = f.harness();
  StoreDriver s(h, *store);
  const std::string key = storeKey();
  const std::string hash = "sesame:s:" + key;
  const TimePoint t0 = h.start;
  REQUIRE(s.create(key, contractSession(), t0) == StoreStatus::kOk);
  auto pttl = [&] { return server.run({"PTTL", hash})->integer; };
  CHECK(pttl() > 9'000);
  CHECK(pttl() <= 10'000);
  // Within touch_interval: nothing written, the TTL keeps running down.
  server.run({"PEXPIRE", hash, "7000"});
  REQUIRE(s.load(key, t0 + 500).status == StoreStatus::kOk);
  CHECK(pttl() <= 7'000);
  CHECK(store->touchWrites() == 0);
  CHECK(std::string(server.run({"HGET", hash, "touched"})->str) == std::to_string(t0));
  // Past it: touched and the idle TTL written.
  REQUIRE(s.load(key, t0 + 1'000).status == StoreStatus::kOk);
  CHECK(pttl() > 9'000);
  CHECK(store->touchWrites() == 1);
  CHECK(std::string(server.run({"HGET", hash, "touched"})->str) == std::to_string(t0 + 1'000));
  // Near the absolute end the absolute limit wins.
  REQUIRE(s.load(key, t0 + 9'000).status == StoreStatus::kOk);
  REQUIRE(s.load(key, t0 + 17'000).status == StoreStatus::kOk);
  REQUIRE(s.load(key, t0 + 25'000).status == StoreStatus::kOk);
  REQUIRE(s.load(key, t0 + 33'000).status == StoreStatus::kOk);
  REQUIRE(s.load(key, t0 + 41'000).status == StoreStatus::kOk);
  REQUIRE(s.load(key, t0 + 49'000).status == StoreStatus::kOk);
  REQUIRE(s.load(key, t0 + 56'000).status == StoreStatus::kOk);
  CHECK(pttl() <= 4'000);
  CHECK(pttl() > 3'000);
}

TEST_CASE("RedisStore bounds data like the memory store", "[session][store][redis]") {
  RedisServer server;
  Fixture f;
  auto store = f.make(settingsFor(server.address()));
  StoreHarness h = f.harness();
  StoreDriver s(h, *store);
  const TimePoint t0 = h.start;
  REQUIRE(s.create("k", Session{}, t0) == StoreStatus::kOk);
  const std::string value(MemoryStore::kMaxDataBytes / 2 - 1, 'v');
  REQUIRE(s.update("k", Update{{{"a", value}, {"b", value}}, {}}, t0) == StoreStatus::kOk);
  REQUIRE(s.update("k", Update{{{"c", ""}}, {}}, t0) == StoreStatus::kRejected);
  REQUIRE(s.update("k", Update{{{"c", ""}}, {"a"}}, t0) == StoreStatus::kOk);
  REQUIRE(s.load("k", t0).session->data ==
          std::map<std::string, std::string>{{"b", value}, {"c", ""}});
  Update fill;
  for (size_t i = 0; i < MemoryStore::kMaxFields; ++i) fill.set.emplace_back(std::to_string(i), "");
  REQUIRE(s.update("k", fill, t0) == StoreStatus::kRejected);
  Session big;
  big.data["x"] = std::string(MemoryStore::kMaxDataBytes + 1, 'x');
  REQUIRE(s.create("big", big, t0) == StoreStatus::kRejected);
  REQUIRE_FALSE(s.alive("big", t0));
  // The length-prefixed group encoding needs no escaping.
  Session odd;
  odd.user = "alice";
  odd.groups = {"a:b", "3:x", "12", ":"};
  odd.data = {{"k", "1:2:3"}};
  REQUIRE(s.create("odd", odd, t0) == StoreStatus::kOk);
  auto loaded = s.load("odd", t0);
  REQUIRE(loaded.status == StoreStatus::kOk);
  CHECK(loaded.session->groups == odd.groups);
  CHECK(loaded.session->data == odd.data);
  // What could never be read back as header values is not written either.
  Session bad;
  bad.groups = {"with,comma"};
  REQUIRE(s.create("bad", bad, t0) == StoreStatus::kRejected);
  bad.groups.clear();
  bad.data = {{"k", std::string("\0\r\n", 3)}};
  REQUIRE(s.create("bad", bad, t0) == StoreStatus::kRejected);
  REQUIRE_FALSE(s.alive("bad", t0));
}

TEST_CASE("RedisStore AUTH with a password or an ACL user, SELECT, unix socket",
          "[session][store][redis]") {
  Fixture f;
  SECTION("password only") {
    RedisServer server({"--requirepass", "s3cret-pw"});
    RedisSettings settings = settingsFor(server.address());
    settings.password = "s3cret-pw";
    auto store = f.make(settings);
    StoreHarness h = f.harness();
    REQUIRE(StoreDriver(h, *store).create("k", Session{}, h.start) == StoreStatus::kOk);
  }
  SECTION("ACL user") {
    RedisServer server({"--user", "alice", "on", ">alice-pw", "~*", "&*", "+@all"});
    RedisSettings settings = settingsFor(server.address());
    settings.username = "alice";
    settings.password = "alice-pw";
    auto store = f.make(settings);
    StoreHarness h = f.harness();
    REQUIRE(StoreDriver(h, *store).create("k", Session{}, h.start) == StoreStatus::kOk);
  }
  SECTION("a wrong password fails closed with one clear log line, without the password") {
    RedisServer server({"--requirepass", "s3cret-pw"});
    RedisSettings settings = settingsFor(server.address());
    settings.password = "wrong-pw-XYZ";
    StderrCapture log;
    auto store = f.make(settings, testTimeouts(), 100, false);
    // Three attempts: a call made while one connects waits for it and
    // fails with it; then the clock passes exactly the backoff to the next
    // (advancing further would also pass the next attempt's connect_timeout
    // while its replies wait for a loop pass).
    std::chrono::milliseconds backoff = kFirstBackoff;
    for (int attempt = 0; attempt < 3; ++attempt) {
      std::optional<StoreStatus> status;
      TicketPtr ticket =
          store->load("k", wallNow(), [&](StoreStatus st, const Session*) { status = st; });
      REQUIRE(runUntil(f.loop.get(), [&] { return status.has_value(); }));
      CHECK(*status == StoreStatus::kUnavailable);
      f.clock.advance(backoff);
      backoff *= 2;
    }
    REQUIRE_FALSE(store->connected());
    StoreHarness h = f.harness();
    StoreDriver s(h, *store);
    CHECK(s.load("k", h.start).status == StoreStatus::kUnavailable);
    CHECK(s.create("k", Session{}, h.start) == StoreStatus::kUnavailable);
    const std::string text = log.text();
    log.restore();
    INFO(text);
    CHECK(text.find("redis " + server.address() + ": AUTH failed: WRONGPASS") != std::string::npos);
    CHECK(text.find("check [redis] username and password") != std::string::npos);
    CHECK(text.find("wrong-pw-XYZ") == std::string::npos);
    // Several attempts, one line.
    CHECK(text.find("AUTH failed") == text.rfind("AUTH failed"));
  }
  SECTION("no password where one is required") {
    RedisServer server({"--requirepass", "s3cret-pw"});
    StderrCapture log;
    auto store = f.make(settingsFor(server.address()), testTimeouts(), 100, false);
    REQUIRE(runUntil(f.loop.get(), [&] { return log.text().find("NOAUTH") != std::string::npos; }));
    const std::string text = log.text();
    log.restore();
    INFO(text);
    REQUIRE_FALSE(store->connected());
    CHECK(text.find("NOAUTH") != std::string::npos);
    CHECK(text.find("set [redis] password") != std::string::npos);
  }
  SECTION("SELECT database") {
    RedisServer server;
    RedisSettings settings = settingsFor(server.address());
    settings.database = 3;
    auto store = f.make(settings);
    StoreHarness h = f.harness();
    REQUIRE(StoreDriver(h, *store).create("k", Session{}, h.start) == StoreStatus::kOk);
    CHECK(server.run({"EXISTS", "sesame:s:k"})->integer == 0);
    CHECK(server.run({"EXISTS", "sesame:s:k"}, {"SELECT", "3"})->integer == 1);
  }
  SECTION("unix socket") {
    const std::string path = "/tmp/sesame-redis-test-" + std::to_string(::getpid()) + ".sock";
    RedisServer server({"--unixsocket", path, "--unixsocketperm", "700"});
    auto store = f.make(settingsFor("unix:" + path));
    StoreHarness h = f.harness();
    StoreDriver s(h, *store);
    REQUIRE(s.create("k", contractSession(), h.start) == StoreStatus::kOk);
    REQUIRE(s.alive("k", h.start + 1));
    CHECK(server.run({"EXISTS", "sesame:s:k"})->integer == 1);
  }
}

TEST_CASE("RedisStore fails closed on a stalled server and recovers", "[session][store][redis]") {
  RedisServer server;
  Fixture f;
  StderrCapture log;
  auto store = f.make(settingsFor(server.address()));
  StoreHarness h = f.harness();
  StoreDriver s(h, *store);
  REQUIRE(s.create("k", contractSession(), h.start) == StoreStatus::kOk);

  REQUIRE(::kill(server.pid(), SIGSTOP) == 0);
  std::optional<StoreStatus> status;
  TicketPtr ticket =
      store->load("k", h.start + 1, [&](StoreStatus st, const Session*) { status = st; });
  settle(f.loop.get());
  f.clock.advance(199ms);  // command_timeout is 200 ms
  settle(f.loop.get());
  CHECK_FALSE(status);
  CHECK(store->connected());
  f.clock.advance(1ms);
  settle(f.loop.get());
  CHECK(status == StoreStatus::kUnavailable);
  CHECK_FALSE(store->connected());
  // While down: kUnavailable from the next loop pass, with no time passing;
  // never kMissing.
  status.reset();
  ticket = store->load("k", h.start + 2, [&](StoreStatus st, const Session*) { status = st; });
  settle(f.loop.get());
  CHECK(status == StoreStatus::kUnavailable);

  REQUIRE(::kill(server.pid(), SIGCONT) == 0);
  f.clock.advance(kFirstBackoff);
  REQUIRE(runUntil(f.loop.get(), [&] { return store->connected(); }));
  CHECK(s.alive("k", h.start + 3));
  const std::string text = log.text();
  log.restore();
  INFO(text);
  CHECK(text.find("connection lost: no reply within command_timeout (200 ms)") !=
        std::string::npos);
  CHECK(text.find("connection back after 0.1 s") != std::string::npos);
}

TEST_CASE("RedisStore reconnects with backoff after a restart", "[session][store][redis]") {
  RedisServer server;
  Fixture f;
  StderrCapture log;
  auto store = f.make(settingsFor(server.address()));
  StoreHarness h = f.harness();
  StoreDriver s(h, *store);
  REQUIRE(s.create("k", contractSession(), h.start) == StoreStatus::kOk);
  server.stop();
  CHECK(s.load("k", h.start + 1).status == StoreStatus::kUnavailable);
  // Refused reconnects, each started by the backoff timer: a call made
  // while one is in flight fails with it.
  for (auto backoff : {kFirstBackoff, 2 * kFirstBackoff, 4 * kFirstBackoff}) {
    f.clock.advance(backoff);
    std::optional<StoreStatus> status;
    TicketPtr ticket =
        store->load("k", h.start + 1, [&](StoreStatus st, const Session*) { status = st; });
    REQUIRE(runUntil(f.loop.get(), [&] { return status.has_value(); }));
    CHECK(*status == StoreStatus::kUnavailable);
  }
  server.start();
  f.clock.advance(8 * kFirstBackoff);
  REQUIRE(runUntil(f.loop.get(), [&] { return store->connected(); }));
  // The restarted server kept nothing (no persistence): a clean kMissing.
  CHECK(s.load("k", h.start + 2).status == StoreStatus::kMissing);
  REQUIRE(s.create("k", contractSession(), h.start) == StoreStatus::kOk);
  CHECK(s.alive("k", h.start + 3));
  const std::string text = log.text();
  log.restore();
  INFO(text);
  // One line for the loss and one for the refused reconnects, however many.
  CHECK(text.find("connection lost") == text.rfind("connection lost"));
  CHECK(text.find("Connection refused") == text.rfind("Connection refused"));
}

// A server that accepts and never answers: the handshake's connect_timeout
// fails each attempt, and the attempts back off 100, 200, 400 ms ... 5 s.
TEST_CASE("RedisStore: a silent server fails each attempt at connect_timeout, with backoff",
          "[session][store][redis]") {
  using namespace sesame::net::testing;
  Listener silent = listenLoopback();
  REQUIRE(silent.fd.get() >= 0);
  Fixture f;
  StderrCapture log;
  RedisSettings settings = settingsFor(silent.addr.toString());
  settings.connect_timeout = 1000ms;
  auto store = f.make(settings, testTimeouts(), 100, false);
  std::vector<UniqueFd> accepted;
  auto attempt = [&] {
    UniqueFd fd;
    bool ok = runUntil(f.loop.get(), [&] {
      fd.reset(::accept4(silent.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
      return fd.get() >= 0;
    });
    accepted.push_back(std::move(fd));
    return ok;
  };
  auto noAttempt = [&] {
    settle(f.loop.get());
    UniqueFd fd(::accept4(silent.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    return fd.get() < 0;
  };

  REQUIRE(attempt());  // the first, at construction
  std::chrono::milliseconds backoff = kFirstBackoff;
  for (int i = 0; i < 8; ++i) {
    INFO("attempt " << i + 2 << ", backoff " << backoff.count() << " ms");
    f.clock.advance(999ms);
    CHECK(noAttempt());
    CHECK(f.clock.armedTimers() == 1);  // the handshake deadline
    f.clock.advance(1ms);               // connect_timeout: the attempt fails
    CHECK_FALSE(store->connected());
    f.clock.advance(backoff - 1ms);
    CHECK(noAttempt());
    f.clock.advance(1ms);
    REQUIRE(attempt());
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
  const std::string text = log.text();
  log.restore();
  INFO(text);
  const std::string line = "no connection within connect_timeout (1000 ms)";
  CHECK(text.find(line) != std::string::npos);
  CHECK(text.find(line) == text.rfind(line));
}

TEST_CASE("RedisStore cancellation, callbacks from the loop, bounded queue",
          "[session][store][redis]") {
  RedisServer server;
  Fixture f;
  StoreHarness h = f.harness();
  const TimePoint t0 = h.start;

  SECTION("a cancelled rotate still moves the session") {
    auto store = f.make(settingsFor(server.address()));
    StoreDriver s(h, *store);
    REQUIRE(s.create("old", contractSession("alice"), t0) == StoreStatus::kOk);
    bool called = false;
    TicketPtr ticket = store->rotate("old", "new", t0 + 1, [&](StoreStatus) { called = true; });
    REQUIRE(ticket != nullptr);
    ticket.reset();
    h.drive();
    CHECK_FALSE(called);
    CHECK_FALSE(s.alive("old", t0 + 2));
    CHECK(s.alive("new", t0 + 2));
  }
  SECTION("callbacks never run inside the call, connected or not") {
    auto store = f.make(settingsFor(server.address()));
    bool called = false;
    TicketPtr ticket = store->load("k", t0, [&](StoreStatus, const Session*) { called = true; });
    CHECK_FALSE(called);
    h.drive();
    CHECK(called);
    server.stop();
    auto down = f.make(settingsFor(server.address()), testTimeouts(), 100, false);
    // The first connect is refused; the next waits for the clock.
    std::optional<StoreStatus> first;
    ticket = down->load("k", t0, [&](StoreStatus st, const Session*) { first = st; });
    REQUIRE(runUntil(f.loop.get(), [&] { return first.has_value(); }));
    std::optional<StoreStatus> status;
    ticket = down->destroy("k", [&](StoreStatus st) { status = st; });
    CHECK_FALSE(status);
    h.drive();
    CHECK(status == StoreStatus::kUnavailable);
  }
  SECTION("beyond max_pending commands, calls get kUnavailable") {
    auto store = f.make(settingsFor(server.address()), testTimeouts(), 4);
    std::vector<std::optional<StoreStatus>> results(10);
    std::vector<TicketPtr> tickets;
    for (auto& result : results) {
      tickets.push_back(
          store->load("k", t0, [&result](StoreStatus st, const Session*) { result = st; }));
    }
    h.drive();
    size_t missing = 0;
    size_t unavailable = 0;
    for (auto& result : results) {
      REQUIRE(result);
      missing += *result == StoreStatus::kMissing;
      unavailable += *result == StoreStatus::kUnavailable;
    }
    CHECK(missing == 4);
    CHECK(unavailable == 6);
    // Once drained, calls go through again.
    CHECK(StoreDriver(h, *store).load("k", t0).status == StoreStatus::kMissing);
  }
}

TEST_CASE("RedisStore holds calls made while connecting and survives SCRIPT FLUSH",
          "[session][store][redis]") {
  RedisServer server;
  Fixture f;
  StoreHarness h = f.harness();
  auto store =
      f.make(settingsFor(server.address()), testTimeouts(), RedisStore::kDefaultMaxPending, false);
  REQUIRE_FALSE(store->connected());
  StoreDriver s(h, *store);
  // Issued before the handshake finished: sent once it has.
  REQUIRE(s.create("k", contractSession("alice"), h.start) == StoreStatus::kOk);
  REQUIRE(store->connected());
  // The server forgot every script: EVALSHA gets NOSCRIPT, the call is
  // resent as EVAL and still succeeds.
  REQUIRE(server.run({"SCRIPT", "FLUSH"})->type == REDIS_REPLY_STATUS);
  REQUIRE(s.update("k", Update{{{"x", "1"}}, {}}, h.start + 1) == StoreStatus::kOk);
  auto loaded = s.load("k", h.start + 2);
  REQUIRE(loaded.status == StoreStatus::kOk);
  CHECK(loaded.session->data.at("x") == "1");
  CHECK(store->connected());
}

TEST_CASE("parseRedisAddress", "[session][store][redis]") {
  std::string error;
  auto tcp = parseRedisAddress("127.0.0.1:6379", &error);
  REQUIRE(tcp);
  CHECK(tcp->toString() == "127.0.0.1:6379");
  CHECK(parseRedisAddress("[::1]:6380", &error)->toString() == "[::1]:6380");
  CHECK(parseRedisAddress("localhost:6379", &error)->toString() == "127.0.0.1:6379");
  auto unix = parseRedisAddress("unix:/run/redis/redis.sock", &error);
  REQUIRE(unix);
  CHECK(unix->family() == AF_UNIX);
  CHECK_FALSE(parseRedisAddress("unix:relative.sock", &error));
  CHECK(error.find("absolute path") != std::string::npos);
  CHECK_FALSE(parseRedisAddress("unix:/" + std::string(200, 'x'), &error));
  CHECK(error.find("longer than") != std::string::npos);
  CHECK_FALSE(parseRedisAddress("redis.example:6379", &error));
  CHECK(error.find("not a numeric") != std::string::npos);
  CHECK_FALSE(parseRedisAddress("127.0.0.1", &error));
}

TEST_CASE("RedisStore: a poisoned Redis record is treated as no session and logged",
          "[session][store][redis]") {
  RedisServer server;
  Fixture f;
  auto store = f.make(settingsFor(server.address()));
  StoreHarness h = f.harness();
  StoreDriver s(h, *store);
  const TimePoint t0 = h.start;
  const std::string t = std::to_string(t0);
  // What another Redis client could write under a session key.
  auto write = [&](const std::string& key, std::vector<std::string> fields) {
    std::vector<std::string> argv{"HSET", "sesame:s:" + key, "created", t, "login",
                                  t,      "touched",         t};
    argv.insert(argv.end(), fields.begin(), fields.end());
    server.run(argv);
    server.run({"PEXPIRE", "sesame:s:" + key, "10000"});
  };
  const std::string good = storeKey();
  write(good, {"user", "alice", "groups", "5:staff", "d:cart", "3"});
  REQUIRE(s.load(good, t0).status == StoreStatus::kOk);

  const std::vector<std::pair<const char*, std::vector<std::string>>> poisoned{
      {"user with CR LF", {"user", "alice\r\nX-Remote-Groups: admins"}},
      {"user with NUL", {"user", std::string("alice\0x", 7)}},
      {"user too long", {"user", std::string(257, 'a')}},
      {"group with a comma", {"user", "alice", "groups", "10:staff,root"}},
      {"group with a control", {"user", "alice", "groups", "6:admin\t"}},
      {"group with a space", {"user", "alice", "groups", "7:a admin"}},
      {"empty group", {"user", "alice", "groups", "0:"}},
      {"groups that do not decode", {"user", "alice", "groups", "9:x"}},
      {"data key off the pattern", {"d:Cart Items", "3"}},
      {"data key not canonical", {"d:Cart_Items", "3"}},
      {"empty data key", {"d:", "3"}},
      {"data value with CR LF", {"d:cart", "3\r\nX-Remote-User: admin"}},
      {"oversized data value", {"d:cart", std::string(MemoryStore::kMaxDataBytes, 'x')}},
      {"negative time", {"login", "-1"}},
      {"agent with LF", {"user", "alice", "agent", "Mozilla\nX-Remote-User: admin"}},
      {"agent too long", {"user", "alice", "agent", std::string(257, 'a')}},
      {"method too long", {"user", "alice", "method", std::string(33, 'm')}},
      {"address with a control", {"user", "alice", "address", "192.0.2.1\x7f"}},
      {"handle not as sesame spells them", {"user", "alice", "handle", "../../etc"}},
  };
  StderrCapture captured;
  for (const auto& [what, fields] : poisoned) {
    INFO(what);
    const std::string key = storeKey();
    write(key, fields);
    auto loaded = s.load(key, t0);
    CHECK(loaded.status == StoreStatus::kMissing);
    CHECK_FALSE(loaded.session);
    // A rotation (a login) does not carry it to a new key either.
    CHECK(s.rotate(key, storeKey(), t0 + 1) == StoreStatus::kMissing);
  }
  // Also on the scripted path (a touch due): still absent.
  const std::string due = storeKey();
  write(due, {"user", "bob\r\n"});
  CHECK(s.load(due, t0 + 2'000).status == StoreStatus::kMissing);
  const std::string text = captured.text();
  captured.restore();
  // One line a minute, naming the key and the reason, never the value.
  CHECK(text.find("treated as no session") != std::string::npos);
  CHECK(text.find("a user name that X-Sesame-Login refuses") != std::string::npos);
  CHECK(std::count(text.begin(), text.end(), '\n') == 1);
  CHECK(text.find("X-Remote-Groups: admins") == std::string::npos);
  // The good one is still fine.
  CHECK(s.load(good, t0 + 3).status == StoreStatus::kOk);
}

TEST_CASE("RedisStore files handles and login details as documented", "[session][store][redis]") {
  RedisServer server;
  Fixture f;
  auto store = f.make(settingsFor(server.address(), "app1:"));
  StoreHarness h = f.harness();
  StoreDriver s(h, *store);
  const TimePoint t0 = h.start;
  const std::string key = storeKey();
  const std::string hash = "app1:s:" + key;
  const auto get = [&](const std::vector<std::string>& argv) {
    auto reply = server.run(argv);
    return reply->type == REDIS_REPLY_STRING ? std::string(reply->str, reply->len) : "(nil)";
  };
  const auto members = [&](const std::string& user) {
    auto reply = server.run({"SMEMBERS", "app1:u:" + user});
    std::vector<std::string> out;
    for (size_t i = 0; i < reply->elements; ++i) out.emplace_back(reply->element[i]->str);
    return out;
  };
  REQUIRE(s.create(key, contractSession(), t0) == StoreStatus::kOk);
  // Anonymous sessions carry no login details.
  CHECK(server.run({"HEXISTS", hash, "method"})->integer == 0);
  REQUIRE(s.setIdentity(key, contractLogin("alice", '1'), t0 + 1) == StoreStatus::kOk);
  CHECK(get({"HGET", hash, "method"}) == "password");
  CHECK(get({"HGET", hash, "handle"}) == contractHandle('1'));
  CHECK(get({"HGET", hash, "address"}) == "192.0.2.7");
  CHECK(get({"HGET", hash, "agent"}) == "Mozilla/5.0 (X11; Linux x86_64)");
  CHECK(get({"GET", "app1:handle:" + contractHandle('1')}) == key);
  const auto pttl = server.run({"PTTL", "app1:handle:" + contractHandle('1')})->integer;
  CHECK(pttl > 59'000);
  CHECK(pttl <= 60'000);

  SECTION("a rotation retires the handle key and clears the hash's handle") {
    const std::string next = storeKey();
    REQUIRE(s.rotate(key, next, t0 + 2) == StoreStatus::kOk);
    CHECK(server.run({"EXISTS", "app1:handle:" + contractHandle('1')})->integer == 0);
    CHECK(server.run({"HEXISTS", "app1:s:" + next, "handle"})->integer == 0);
    CHECK(get({"HGET", "app1:s:" + next, "agent"}) == "Mozilla/5.0 (X11; Linux x86_64)");
    CHECK(members("alice") == std::vector<std::string>{next});
    REQUIRE(s.setIdentity(next, contractLogin("alice", '2'), t0 + 3) == StoreStatus::kOk);
    CHECK(get({"GET", "app1:handle:" + contractHandle('2')}) == next);
    REQUIRE(s.destroy(next) == StoreStatus::kOk);
    CHECK(server.run({"EXISTS", "app1:handle:" + contractHandle('2')})->integer == 0);
    CHECK(server.run({"EXISTS", "app1:u:alice"})->integer == 0);
  }

  SECTION("a login as someone else moves the set entry and retires the old handle") {
    REQUIRE(s.setIdentity(key, contractLogin("bob", '2'), t0 + 2) == StoreStatus::kOk);
    CHECK(server.run({"EXISTS", "app1:handle:" + contractHandle('1')})->integer == 0);
    CHECK(get({"GET", "app1:handle:" + contractHandle('2')}) == key);
    CHECK(members("alice").empty());
    CHECK(members("bob") == std::vector<std::string>{key});
  }

  SECTION("destroyUser and trimUser delete the handle keys too") {
    const std::string other = storeKey();
    REQUIRE(s.create(other, contractSession(), t0) == StoreStatus::kOk);
    REQUIRE(s.setIdentity(other, contractLogin("alice", '2'), t0 + 2) == StoreStatus::kOk);
    REQUIRE(s.trimUser("alice", 1, t0 + 3) == StoreStatus::kOk);
    CHECK(server.run({"EXISTS", "app1:handle:" + contractHandle('1')})->integer == 0);
    CHECK(members("alice") == std::vector<std::string>{other});
    REQUIRE(s.destroyUser("alice") == StoreStatus::kOk);
    CHECK(server.run({"EXISTS", "app1:handle:" + contractHandle('2')})->integer == 0);
    CHECK(server.run({"EXISTS", "app1:s:" + other})->integer == 0);
  }

  SECTION("destroyHandle of a stale entry removes it and answers kMissing") {
    server.run({"SET", "app1:handle:" + contractHandle('9'), key});
    CHECK(s.destroyHandle(contractHandle('9')) == StoreStatus::kMissing);
    CHECK(server.run({"EXISTS", "app1:handle:" + contractHandle('9')})->integer == 0);
    REQUIRE(s.alive(key, t0 + 2));  // its handle is another
    CHECK(s.destroyHandle("no such spelling") == StoreStatus::kMissing);
  }

  SECTION("what load() would refuse is not written") {
    LoginInfo bad = contractLogin("alice", '3');
    bad.handle = "not a handle";
    CHECK(s.setIdentity(key, bad, t0 + 2) == StoreStatus::kRejected);
    bad = contractLogin("eve\r\n", '3');
    CHECK(s.setIdentity(key, bad, t0 + 2) == StoreStatus::kRejected);
    CHECK(get({"HGET", hash, "handle"}) == contractHandle('1'));
    CHECK(server.run({"EXISTS", "app1:handle:" + contractHandle('3')})->integer == 0);
  }
}

TEST_CASE("RedisStore listings drop gone members and skip bad records", "[session][store][redis]") {
  RedisServer server;
  Fixture f;
  auto store = f.make(settingsFor(server.address()));
  StoreHarness h = f.harness();
  StoreDriver s(h, *store);
  const TimePoint t0 = h.start;
  std::vector<std::string> keys;
  for (char tag : {'1', '2', '3'}) {
    keys.push_back(storeKey());
    REQUIRE(s.create(keys.back(), contractSession(), t0) == StoreStatus::kOk);
    REQUIRE(s.setIdentity(keys.back(), contractLogin("alice", tag), t0 + (tag - '0')) ==
            StoreStatus::kOk);
  }
  // Gone without its set entry (a failure between a destroy's commands).
  server.run({"DEL", "sesame:s:" + keys[0]});
  // Rewritten by another client.
  server.run({"HSET", "sesame:s:" + keys[1], "agent", "bad\r\nagent"});
  StderrCapture captured;
  CHECK(s.handles("alice", t0 + 4) == std::vector<std::string>{contractHandle('3')});
  const std::string text = captured.text();
  captured.restore();
  CHECK(text.find("sesame:s:" + keys[1]) != std::string::npos);
  CHECK(text.find("bad\r\nagent") == std::string::npos);
  auto members = server.run({"SMEMBERS", "sesame:u:alice"});
  std::vector<std::string> left;
  for (size_t i = 0; i < members->elements; ++i) left.emplace_back(members->element[i]->str);
  std::sort(left.begin(), left.end());
  std::vector<std::string> expected{keys[1], keys[2]};
  std::sort(expected.begin(), expected.end());
  CHECK(left == expected);
  // trimUser counts only what it can read: the bad record is no login of alice's.
  REQUIRE(s.trimUser("alice", 1, t0 + 5) == StoreStatus::kOk);
  CHECK(s.alive(keys[2], t0 + 5));
}

TEST_CASE("Two RedisStores on one Redis share counters, listings and trims",
          "[session][store][redis]") {
  // Two sesame instances (or workers): each its own loop and connection.
  RedisServer server;
  Fixture fa;
  Fixture fb;
  auto a = fa.make(settingsFor(server.address()));
  auto b = fb.make(settingsFor(server.address()));
  const StoreHarness ha = fa.harness();
  const StoreHarness hb = fb.harness();
  StoreDriver sa(ha, *a);
  StoreDriver sb(hb, *b);
  const TimePoint t0 = ha.start;
  const Millis window(60'000);

  SECTION("brute-force counters") {
    REQUIRE(sa.addFailure({"u:alice", "a:192.0.2.7"}, window, t0).failures.count == 1);
    REQUIRE(sb.addFailure({"u:alice", "a:192.0.2.8"}, window, t0).failures.count == 2);
    REQUIRE(sa.addFailure({"u:alice"}, window, t0).failures.count == 3);
    CHECK(sb.failures({"u:alice"}, t0).failures.count == 3);
    CHECK(sb.failures({"a:192.0.2.7"}, t0).failures.count == 1);
    REQUIRE(sb.clearFailures("u:alice") == StoreStatus::kOk);
    CHECK(sa.failures({"u:alice", "a:192.0.2.8"}, t0).failures.count == 1);
  }

  SECTION("max_per_user: a login on one instance trims those of another") {
    std::vector<std::string> keys;
    for (int i = 0; i < 3; ++i) {
      StoreDriver& s = i < 2 ? sa : sb;
      keys.push_back(storeKey());
      REQUIRE(s.create(keys.back(), contractSession(), t0) == StoreStatus::kOk);
      REQUIRE(s.setIdentity(keys.back(), contractLogin("alice", static_cast<char>('1' + i)),
                            t0 + 1 + i) == StoreStatus::kOk);
    }
    REQUIRE(sb.trimUser("alice", 2, t0 + 4) == StoreStatus::kOk);
    CHECK_FALSE(sa.alive(keys[0], t0 + 5));
    CHECK(sa.alive(keys[1], t0 + 5));
    CHECK(sb.alive(keys[2], t0 + 5));
    CHECK(sa.handles("alice", t0 + 5) ==
          std::vector<std::string>{contractHandle('2'), contractHandle('3')});
    // A revocation through one instance ends a login made through the other.
    REQUIRE(sa.destroyHandle(contractHandle('3')) == StoreStatus::kOk);
    CHECK_FALSE(sb.alive(keys[2], t0 + 6));
    CHECK(sb.handles("alice", t0 + 6) == std::vector<std::string>{contractHandle('2')});
  }
}

TEST_CASE("RedisStore counters: Redis's TTL is the window", "[session][store][redis]") {
  RedisServer server;
  Fixture f;
  auto store = f.make(settingsFor(server.address()));
  StoreHarness h = f.harness();
  StoreDriver s(h, *store);
  const TimePoint t0 = h.start;
  const Millis window(60'000);
  const std::string counter = "sesame:f:u:alice";
  REQUIRE(s.addFailure({"u:alice"}, window, t0).failures.count == 1);
  REQUIRE(s.addFailure({"u:alice"}, window, t0).failures.count == 2);
  CHECK(std::string(server.run({"GET", counter})->str) == "2");
  CHECK(server.run({"PTTL", counter})->integer > 59'000);
  // The rest of the window is what Redis says, not what the caller thinks.
  server.run({"PEXPIRE", counter, "1234"});
  auto counted = s.failures({"u:alice"}, t0 + 50'000);
  CHECK(counted.failures.count == 2);
  CHECK(counted.failures.retry_after <= Millis(1234));
  CHECK(counted.failures.retry_after > Millis(1000));
  counted = s.addFailure({"u:alice"}, window, t0);
  CHECK(counted.failures.count == 3);
  CHECK(counted.failures.retry_after <= Millis(1234));
  // The window ends (an expiry time in the past deletes the key at once).
  server.run({"PEXPIREAT", counter, "1"});
  CHECK(s.failures({"u:alice"}, t0).failures.count == 0);
  counted = s.addFailure({"u:alice"}, window, t0);
  CHECK(counted.failures.count == 1);
  CHECK(counted.failures.retry_after == window);

  SECTION("what is not a counter counts as none, and the next failure replaces it") {
    server.run({"SET", "sesame:f:u:text", "lots", "PX", "60000"});
    server.run({"SET", "sesame:f:u:forever", "7"});
    server.run({"SET", "sesame:f:u:float", "2.5", "PX", "60000"});
    server.run({"HSET", "sesame:f:u:hash", "count", "9"});
    for (const char* key : {"u:text", "u:forever", "u:float", "u:hash"}) {
      INFO(key);
      const auto none = s.failures({key}, t0);
      REQUIRE(none.status == StoreStatus::kOk);
      CHECK(none.failures.count == 0);
      const auto added = s.addFailure({key}, window, t0);
      REQUIRE(added.status == StoreStatus::kOk);
      CHECK(added.failures.count == 1);
      CHECK(server.run({"PTTL", std::string("sesame:f:") + key})->integer > 59'000);
    }
  }
}

TEST_CASE("RedisStore files tags and claims as documented", "[session][store][redis]") {
  RedisServer server;
  Fixture f;
  auto store = f.make(settingsFor(server.address(), "app1:"));
  StoreHarness h = f.harness();
  StoreDriver s(h, *store);
  const std::string key = storeKey();
  const std::string tag = "oidc-sid:p:s1";
  REQUIRE(s.create(key, contractSession(), h.start) == StoreStatus::kOk);
  LoginInfo login = contractLogin("alice", '1');
  login.tags = {tag};
  REQUIRE(s.setIdentity(key, login, h.start) == StoreStatus::kOk);

  CHECK(std::string(server.run({"HGET", "app1:s:" + key, "t:" + tag})->str) == "1");
  auto members = server.run({"SMEMBERS", "app1:tag:" + tag});
  REQUIRE(members->elements == 1);
  CHECK(std::string(members->element[0]->str) == key);
  CHECK(server.run({"PTTL", "app1:tag:" + tag})->integer > 59'000);

  SECTION("a claim is a string with the ttl as its TTL") {
    REQUIRE(s.claim("refresh:" + key, Millis(5'000), h.start) == StoreStatus::kOk);
    CHECK(std::string(server.run({"GET", "app1:claim:refresh:" + key})->str) == "1");
    const long long ttl = server.run({"PTTL", "app1:claim:refresh:" + key})->integer;
    CHECK(ttl > 4'000);
    CHECK(ttl <= 5'000);
    REQUIRE(s.release("refresh:" + key) == StoreStatus::kOk);
    CHECK(server.run({"EXISTS", "app1:claim:refresh:" + key})->integer == 0);
  }
  SECTION("destroy and a login without the tag take the entry out of the tag's set") {
    LoginInfo untagged = contractLogin("alice", '2');
    REQUIRE(s.setIdentity(key, untagged, h.start + 1) == StoreStatus::kOk);
    CHECK(server.run({"EXISTS", "app1:tag:" + tag})->integer == 0);
    CHECK(server.run({"HEXISTS", "app1:s:" + key, "t:" + tag})->integer == 0);
    REQUIRE(s.setIdentity(key, login, h.start + 2) == StoreStatus::kOk);
    REQUIRE(s.destroy(key) == StoreStatus::kOk);
    CHECK(server.run({"EXISTS", "app1:tag:" + tag})->integer == 0);
  }
  SECTION("a rotation moves the entry") {
    const std::string next = storeKey();
    REQUIRE(s.rotate(key, next, h.start + 1) == StoreStatus::kOk);
    members = server.run({"SMEMBERS", "app1:tag:" + tag});
    REQUIRE(members->elements == 1);
    CHECK(std::string(members->element[0]->str) == next);
  }
  SECTION("stale members are skipped and cleared, never a reason to end a session") {
    const std::string anonymous = storeKey();
    REQUIRE(s.create(anonymous, contractSession(), h.start) == StoreStatus::kOk);
    server.run({"SADD", "app1:tag:" + tag, anonymous, storeKey()});
    REQUIRE(s.destroyTagged(tag) == StoreStatus::kOk);
    CHECK_FALSE(s.alive(key, h.start + 1));
    CHECK(s.alive(anonymous, h.start + 1));
    CHECK(server.run({"EXISTS", "app1:tag:" + tag})->integer == 0);
  }
  SECTION("a tag field sesame never writes makes the hash no session") {
    server.run({"HSET", "app1:s:" + key, "t:forged", "yes"});
    CHECK(s.load(key, h.start + 1).status == StoreStatus::kMissing);
  }
  SECTION("sesame's own fields may hold any bytes; the application's may not") {
    server.run({"HSET", "app1:s:" + key, "d:.oidc.blob", std::string("a\r\nb\0c", 6)});
    const auto loaded = s.load(key, h.start + 1);
    REQUIRE(loaded.status == StoreStatus::kOk);
    CHECK(loaded.session->data.at(".oidc.blob") == std::string("a\r\nb\0c", 6));
    server.run({"HSET", "app1:s:" + key, "d:cart", "a\r\nb"});
    CHECK(s.load(key, h.start + 2).status == StoreStatus::kMissing);
  }
}

TEST_CASE("Two RedisStores on one Redis share claims and back-channel logouts",
          "[session][store][redis]") {
  RedisServer server;
  Fixture fa;
  Fixture fb;
  auto a = fa.make(settingsFor(server.address()));
  auto b = fb.make(settingsFor(server.address()));
  const StoreHarness ha = fa.harness();
  const StoreHarness hb = fb.harness();
  StoreDriver sa(ha, *a);
  StoreDriver sb(hb, *b);
  const TimePoint t0 = ha.start;

  SECTION("two instances claiming one name at once: exactly one takes it") {
    constexpr int kNames = 50;
    std::vector<std::optional<StoreStatus>> got_a(kNames);
    std::vector<std::optional<StoreStatus>> got_b(kNames);
    std::vector<TicketPtr> tickets;
    for (int i = 0; i < kNames; ++i) {
      const std::string name = "refresh:" + std::to_string(i);
      tickets.push_back(
          a->claim(name, Millis(60'000), t0, [&got_a, i](StoreStatus s) { got_a[i] = s; }));
      tickets.push_back(
          b->claim(name, Millis(60'000), t0, [&got_b, i](StoreStatus s) { got_b[i] = s; }));
    }
    // Both loops in turn, so that the two connections' commands interleave.
    const auto until = SteadyClock::now() + 3s;
    while (a->inFlight() + b->inFlight() != 0 && SteadyClock::now() < until) {
      event_base_loop(fa.loop.get(), EVLOOP_NONBLOCK);
      event_base_loop(fb.loop.get(), EVLOOP_NONBLOCK);
    }
    REQUIRE(a->inFlight() + b->inFlight() == 0);
    int won_a = 0;
    for (int i = 0; i < kNames; ++i) {
      REQUIRE(got_a[i].has_value());
      REQUIRE(got_b[i].has_value());
      const bool ok_a = *got_a[i] == StoreStatus::kOk;
      const bool ok_b = *got_b[i] == StoreStatus::kOk;
      REQUIRE(ok_a != ok_b);
      CHECK((ok_a ? *got_b[i] : *got_a[i]) == StoreStatus::kRejected);
      won_a += ok_a;
    }
    INFO("instance a won " << won_a << " of " << kNames);
    // A release through one instance frees the name for the other.
    REQUIRE(sa.release("refresh:0") == StoreStatus::kOk);
    CHECK(sb.claim("refresh:0", Millis(60'000), t0) == StoreStatus::kOk);
    CHECK(sa.claim("refresh:0", Millis(60'000), t0) == StoreStatus::kRejected);
  }

  SECTION("a back-channel logout through one instance ends the sid's sessions made on both") {
    std::vector<std::string> keys;
    const std::vector<std::vector<std::string>> tags{
        {"oidc-sid:p:s1"}, {"oidc-sid:p:s1", "oidc-sub:p:alice"}, {"oidc-sid:p:s2"}};
    for (size_t i = 0; i < tags.size(); ++i) {
      StoreDriver& s = i == 0 ? sa : sb;
      keys.push_back(storeKey());
      REQUIRE(s.create(keys.back(), contractSession(), t0) == StoreStatus::kOk);
      LoginInfo login = contractLogin("alice", static_cast<char>('1' + i));
      login.tags = tags[i];
      REQUIRE(s.setIdentity(keys.back(), login, t0 + 1) == StoreStatus::kOk);
    }
    REQUIRE(sa.destroyTagged("oidc-sid:p:s1") == StoreStatus::kOk);
    CHECK_FALSE(sb.alive(keys[0], t0 + 2));
    CHECK_FALSE(sb.alive(keys[1], t0 + 2));
    CHECK(sa.alive(keys[2], t0 + 2));
    CHECK(sb.handles("alice", t0 + 2) == std::vector<std::string>{contractHandle('3')});
    CHECK(server.run({"EXISTS", "sesame:tag:oidc-sid:p:s1"})->integer == 0);
    CHECK(server.run({"EXISTS", "sesame:tag:oidc-sub:p:alice"})->integer == 0);
  }
}

TEST_CASE("RedisStore with [redis] cache: bounded staleness, own writes seen at once",
          "[session][store][redis][cache]") {
  RedisServer server;
  Fixture f;
  RedisSettings settings = settingsFor(server.address());
  settings.cache = Millis(1000);
  auto store = f.make(settings);
  StoreHarness h = f.harness();
  StoreDriver s(h, *store);
  const TimePoint t0 = h.start;
  const std::string key = storeKey();
  const std::string hash = "sesame:s:" + key;
  REQUIRE(s.create(key, contractSession(), t0) == StoreStatus::kOk);
  REQUIRE(s.load(key, t0 + 10).session->data.at("cart") == "3");
  // Another instance changes the session: this worker sees it only once
  // its copy is a cache period old.
  server.run({"HSET", hash, "d:cart", "9"});
  CHECK(s.load(key, t0 + 500).session->data.at("cart") == "3");
  CHECK(s.load(key, t0 + 999).session->data.at("cart") == "3");
  CHECK(s.load(key, t0 + 1'010).session->data.at("cart") == "9");

  SECTION("a hit answers before load() returns, without Redis") {
    bool answered = false;
    TicketPtr ticket = store->load(key, t0 + 1'100, [&](StoreStatus status, const Session* got) {
      answered = status == StoreStatus::kOk && got != nullptr;
    });
    CHECK(answered);
    CHECK(ticket == nullptr);
    CHECK(store->inFlight() == 0);
  }
  SECTION("another instance's logout is seen after the cache period") {
    server.run({"DEL", hash});
    CHECK(s.load(key, t0 + 1'500).status == StoreStatus::kOk);
    CHECK(s.load(key, t0 + 2'010).status == StoreStatus::kMissing);
  }
  SECTION("this store's own writes are seen at once") {
    REQUIRE(s.update(key, {{{"cart", "4"}}, {}}, t0 + 1'100) == StoreStatus::kOk);
    CHECK(s.load(key, t0 + 1'101).session->data.at("cart") == "4");
    REQUIRE(s.destroy(key) == StoreStatus::kOk);
    CHECK(s.load(key, t0 + 1'102).status == StoreStatus::kMissing);
  }
  SECTION("a rotation: the old key stops at once") {
    const std::string next = storeKey();
    REQUIRE(s.rotate(key, next, t0 + 1'100) == StoreStatus::kOk);
    CHECK(s.load(key, t0 + 1'101).status == StoreStatus::kMissing);
    CHECK(s.load(next, t0 + 1'102).status == StoreStatus::kOk);
  }
  SECTION("a user's logout everywhere drops every kept session") {
    const std::string other = storeKey();
    REQUIRE(s.create(other, contractSession(), t0 + 1'100) == StoreStatus::kOk);
    REQUIRE(s.load(other, t0 + 1'101).status == StoreStatus::kOk);
    server.run({"DEL", "sesame:s:" + other});
    REQUIRE(s.destroyUser("nobody") == StoreStatus::kOk);
    CHECK(s.load(other, t0 + 1'102).status == StoreStatus::kMissing);
  }
  SECTION("a load in flight when a write is issued is not kept") {
    REQUIRE(s.destroyUser("nobody") == StoreStatus::kOk);  // empties the cache
    std::optional<std::string> cart;
    StoreStatus status = StoreStatus::kUnavailable;
    TicketPtr loading = store->load(key, t0 + 1'100, [&](StoreStatus st, const Session* got) {
      status = st;
      if (got != nullptr) cart = got->data.at("cart");
    });
    REQUIRE(loading != nullptr);
    TicketPtr writing = store->update(key, {{{"cart", "5"}}, {}}, t0 + 1'100, [](StoreStatus) {});
    h.drive();
    REQUIRE(status == StoreStatus::kOk);
    REQUIRE(cart == "9");  // read before the write, in pipeline order
    server.run({"HSET", hash, "d:cart", "6"});
    CHECK(s.load(key, t0 + 1'101).session->data.at("cart") == "6");
  }
  SECTION("sessions with sesame's own fields are never kept") {
    REQUIRE(s.update(key, {{{".oidc.state", "x"}}, {}}, t0 + 1'100) == StoreStatus::kOk);
    REQUIRE(s.load(key, t0 + 1'101).status == StoreStatus::kOk);
    server.run({"HSET", hash, "d:cart", "7"});
    CHECK(s.load(key, t0 + 1'102).session->data.at("cart") == "7");
  }
}

TEST_CASE("RedisStore with [redis] cache still refreshes and expires on time",
          "[session][store][redis][cache]") {
  RedisServer server;
  Fixture f;
  RedisSettings settings = settingsFor(server.address());
  settings.cache = Millis(10'000);
  Timeouts timeouts = testTimeouts();
  timeouts.touch_interval = Millis(300);
  timeouts.idle = Millis(2'000);
  auto store = f.make(settings, timeouts);
  StoreHarness h = f.harness();
  StoreDriver s(h, *store);
  const TimePoint t0 = h.start;
  const std::string key = storeKey();
  REQUIRE(s.create(key, contractSession(), t0) == StoreStatus::kOk);
  REQUIRE(s.load(key, t0 + 10).status == StoreStatus::kOk);
  server.run({"HSET", "sesame:s:" + key, "d:cart", "8"});
  CHECK(s.load(key, t0 + 200).session->data.at("cart") == "3");
  // The idle-timeout refresh is due: Redis is read, and touched.
  const size_t touches = store->touchWrites();
  CHECK(s.load(key, t0 + 310).session->data.at("cart") == "8");
  CHECK(store->touchWrites() == touches + 1);
  // The kept copy's idle timeout passes long before the cache period.
  server.run({"PERSIST", "sesame:s:" + key});
  CHECK(s.load(key, t0 + 310 + 2'000).status == StoreStatus::kMissing);
}
