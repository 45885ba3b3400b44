// MemoryStore: the shared Store contract, then its own bounds, eviction and
// thread safety.
#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

#include "sesame/session/memory_store.h"
#include "store_contract.h"

using sesame::session::LoginInfo;
using sesame::session::MemoryStore;
using sesame::session::Millis;
using sesame::session::Session;
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

namespace {

constexpr TimePoint kT0 = 1'700'000'000'000;

StoreHarness memoryHarness(size_t max_sessions = 1000, size_t shards = 16) {
  StoreHarness harness;
  harness.make = [max_sessions, shards](const Timeouts& timeouts) {
    return std::make_unique<MemoryStore>(max_sessions, timeouts, shards);
  };
  harness.touch_writes = [](Store& store) {
    return static_cast<MemoryStore&>(store).touchWrites();
  };
  return harness;
}

std::string key(int thread, int i) {
  return "t" + std::to_string(thread) + "-" + std::to_string(i);
}

}  // namespace

TEST_CASE("MemoryStore meets the Store contract", "[session][store][memory]") {
  runStoreContract(memoryHarness());
}

TEST_CASE("MemoryStore meets the Store contract with one shard", "[session][store][memory]") {
  runStoreContract(memoryHarness(1000, 1));
}

TEST_CASE("MemoryStore evicts the least recently used anonymous session when full",
          "[session][store][memory]") {
  const StoreHarness harness = memoryHarness();

  SECTION("one shard: anonymous sessions go first, by last use") {
    Timeouts timeouts;
    timeouts.touch_interval = Millis(1'000);
    MemoryStore store(3, timeouts, 1);
    StoreDriver s(harness, store);
    REQUIRE(s.create("a", contractSession("alice"), kT0) == StoreStatus::kOk);
    REQUIRE(s.create("b", contractSession(), kT0 + 1) == StoreStatus::kOk);
    REQUIRE(s.create("c", contractSession(), kT0 + 2) == StoreStatus::kOk);
    REQUIRE(s.create("d", contractSession(), kT0 + 3) == StoreStatus::kOk);
    REQUIRE(store.size() == 3);
    REQUIRE(store.evictions() == 1);
    REQUIRE(store.evictedAnonymous() == 1);
    REQUIRE_FALSE(s.alive("b", kT0 + 4));  // the oldest anonymous, not alice's older one
    // A load that writes the idle refresh counts as use: c is now newer than d.
    REQUIRE(s.load("c", kT0 + 1'500).status == StoreStatus::kOk);
    REQUIRE(s.create("e", contractSession(), kT0 + 1'501) == StoreStatus::kOk);
    REQUIRE_FALSE(s.alive("d", kT0 + 1'502));
    for (const char* k : {"a", "c", "e"}) REQUIRE(s.alive(k, kT0 + 1'502));
    REQUIRE(store.evictedLoggedIn() == 0);
  }

  SECTION("a login moves a session to the logged-in side") {
    MemoryStore store(2, Timeouts{}, 1);
    StoreDriver s(harness, store);
    REQUIRE(s.create("a", contractSession(), kT0) == StoreStatus::kOk);
    REQUIRE(s.create("b", contractSession(), kT0 + 1) == StoreStatus::kOk);
    REQUIRE(s.setIdentity("a", "alice", {}, kT0 + 2) == StoreStatus::kOk);
    REQUIRE(s.create("c", contractSession(), kT0 + 3) == StoreStatus::kOk);
    REQUIRE(s.alive("a", kT0 + 4));
    REQUIRE_FALSE(s.alive("b", kT0 + 4));
  }

  SECTION("full of logged-in sessions: anonymous refused, a login evicts the idlest user") {
    MemoryStore store(2, Timeouts{}, 1);
    StoreDriver s(harness, store);
    REQUIRE(s.create("u1", contractSession("alice"), kT0) == StoreStatus::kOk);
    REQUIRE(s.create("u2", contractSession("bob"), kT0 + 1) == StoreStatus::kOk);
    REQUIRE(s.create("x", contractSession(), kT0 + 2) == StoreStatus::kRejected);
    REQUIRE_FALSE(s.alive("x", kT0 + 3));
    REQUIRE(store.refusedAnonymous() == 1);
    REQUIRE(store.evictions() == 0);
    REQUIRE(s.alive("u1", kT0 + 3));
    REQUIRE(s.alive("u2", kT0 + 3));
    // A new login (created logged in) takes the least recently used one's place.
    REQUIRE(s.create("u3", contractSession("carol"), kT0 + 4) == StoreStatus::kOk);
    REQUIRE(store.evictedLoggedIn() == 1);
    REQUIRE_FALSE(s.alive("u1", kT0 + 5));
    REQUIRE(s.alive("u2", kT0 + 5));
    // The evicted session left the user index too.
    REQUIRE(s.destroyUser("alice") == StoreStatus::kOk);
    REQUIRE(store.size() == 2);
    // A rotation (a login) into a full shard is never refused.
    REQUIRE(s.rotate("u2", "u2b", kT0 + 6) == StoreStatus::kOk);
    REQUIRE(s.alive("u2b", kT0 + 7));
  }

  SECTION("eviction flood: 300 anonymous sessions with data never log anybody out") {
    MemoryStore store(50, Timeouts{});
    StoreDriver s(harness, store);
    const std::vector<std::string> users{"alice", "bob", "carol", "dave", "erin"};
    for (const std::string& user : users) {
      REQUIRE(s.create("user-" + user, contractSession(user), kT0) == StoreStatus::kOk);
    }
    size_t stored = 0;
    for (int i = 0; i < 300; ++i) {
      Session flood;
      flood.data = {{"junk", std::string(100, 'x')}};
      if (s.create(key(1, i), flood, kT0 + 1 + i) == StoreStatus::kOk) ++stored;
      REQUIRE(store.size() <= 16 * ((50 + 15) / 16));
    }
    for (const std::string& user : users) {
      INFO(user);
      auto loaded = s.load("user-" + user, kT0 + 400);
      REQUIRE(loaded.status == StoreStatus::kOk);
      REQUIRE(loaded.session->user == user);
    }
    REQUIRE(store.evictedLoggedIn() == 0);
    REQUIRE(store.evictedAnonymous() == stored - (store.size() - users.size()));
    REQUIRE(stored + store.refusedAnonymous() == 300);
  }

  SECTION("sixteen shards: never more than the bound, the newest always kept") {
    MemoryStore store(64, Timeouts{});
    StoreDriver s(harness, store);
    for (int i = 0; i < 1000; ++i) {
      REQUIRE(s.create(key(0, i), contractSession(), kT0 + i) == StoreStatus::kOk);
      REQUIRE(store.size() <= 64);
      REQUIRE(s.alive(key(0, i), kT0 + i));
    }
    REQUIRE(store.size() >= 32);
    REQUIRE(store.evictions() == 1000 - store.size());
  }
}

TEST_CASE("MemoryStore bounds a session's data", "[session][store][memory]") {
  const StoreHarness harness = memoryHarness();
  MemoryStore store(100, Timeouts{});
  StoreDriver s(harness, store);
  REQUIRE(s.create("k", Session{}, kT0) == StoreStatus::kOk);

  SECTION("64 KiB of keys and values") {
    const std::string value(MemoryStore::kMaxDataBytes / 2 - 1, 'v');
    REQUIRE(s.update("k", Update{{{"a", value}, {"b", value}}, {}}, kT0) == StoreStatus::kOk);
    REQUIRE(s.update("k", Update{{{"c", ""}}, {}}, kT0) == StoreStatus::kRejected);
    REQUIRE(s.load("k", kT0).session->data.size() == 2);
    // Replacing a value with a shorter one, or removing one, fits again.
    REQUIRE(s.update("k", Update{{{"c", ""}}, {"a"}}, kT0) == StoreStatus::kOk);
    Session big;
    big.data["x"] = std::string(MemoryStore::kMaxDataBytes, 'x');
    REQUIRE(s.create("big", big, kT0) == StoreStatus::kRejected);
    REQUIRE_FALSE(s.alive("big", kT0));
  }

  SECTION("256 fields") {
    Update fill;
    for (size_t i = 0; i < MemoryStore::kMaxFields; ++i)
      fill.set.emplace_back(std::to_string(i), "");
    REQUIRE(s.update("k", fill, kT0) == StoreStatus::kOk);
    REQUIRE(s.update("k", Update{{{"one-more", ""}}, {}}, kT0) == StoreStatus::kRejected);
    REQUIRE(s.update("k", Update{{{"0", "changed"}}, {}}, kT0) == StoreStatus::kOk);
    REQUIRE(s.load("k", kT0).session->data.size() == MemoryStore::kMaxFields);
    REQUIRE(s.load("k", kT0).session->data.at("0") == "changed");
  }
}

TEST_CASE("MemoryStore size counts live and not yet swept sessions", "[session][store][memory]") {
  const StoreHarness harness = memoryHarness();
  Timeouts timeouts;
  timeouts.idle = Millis(1'000);
  MemoryStore store(100, timeouts);
  StoreDriver s(harness, store);
  REQUIRE(store.size() == 0);
  for (int i = 0; i < 10; ++i) REQUIRE(s.create(key(0, i), Session{}, kT0) == StoreStatus::kOk);
  REQUIRE(store.size() == 10);
  REQUIRE(s.destroy(key(0, 0)) == StoreStatus::kOk);
  REQUIRE(store.size() == 9);
  REQUIRE(s.create(key(0, 1), Session{}, kT0 + 500) == StoreStatus::kOk);  // replaces
  REQUIRE(store.size() == 9);
  store.sweep(kT0 + 1'000);
  REQUIRE(store.size() == 1);
  store.sweep(kT0 + 1'500);
  REQUIRE(store.size() == 0);
}

TEST_CASE("MemoryStore loses no field written from many threads", "[session][store][memory]") {
  MemoryStore store(100, Timeouts{});
  const StoreHarness harness = memoryHarness();
  REQUIRE(StoreDriver(harness, store).create("shared", Session{}, kT0) == StoreStatus::kOk);
  constexpr int kThreads = 8;
  constexpr int kUpdates = 1000;
  constexpr int kFieldsPerThread = 30;  // 240 fields: within kMaxFields
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, &failures, t] {
      for (int i = 0; i < kUpdates; ++i) {
        Update update{{{key(t, i % kFieldsPerThread), std::to_string(i)}}, {}};
        TicketPtr ticket = store.update("shared", update, kT0, [&](StoreStatus status) {
          if (status != StoreStatus::kOk) ++failures[t];
        });
      }
    });
  }
  for (auto& thread : threads) thread.join();
  REQUIRE(failures == std::vector<int>(kThreads, 0));
  auto loaded = StoreDriver(harness, store).load("shared", kT0);
  REQUIRE(loaded.session->data.size() == kThreads * kFieldsPerThread);
  for (int t = 0; t < kThreads; ++t) {
    for (int f = 0; f < kFieldsPerThread; ++f) {
      const int last = kUpdates - 1 - ((kUpdates - 1 - f) % kFieldsPerThread);
      REQUIRE(loaded.session->data.at(key(t, f)) == std::to_string(last));
    }
  }
}

TEST_CASE("MemoryStore survives parallel create, rotate, load and destroy",
          "[session][store][memory]") {
  MemoryStore store(100'000, Timeouts{});
  constexpr int kThreads = 8;
  constexpr int kSessions = 1000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, t] {
      const std::string user = "user" + std::to_string(t % 2);
      for (int i = 0; i < kSessions; ++i) {
        TicketPtr ticket =
            store.create(key(t, i), contractSession(i % 3 == 0 ? user : ""), kT0, [](auto) {});
        if (i % 2 == 1) ticket = store.destroy(key(t, i), [](auto) {});
        if (i % 4 == 2) ticket = store.rotate(key(t, i), key(t, i) + "r", kT0 + 1, [](auto) {});
        ticket = store.load(key(t, i - 1), kT0 + 2, [](auto, auto) {});
      }
    });
  }
  for (auto& thread : threads) thread.join();
  REQUIRE(store.size() == kThreads * kSessions / 2);
  const StoreHarness harness = memoryHarness();
  StoreDriver s(harness, store);
  REQUIRE(s.alive(key(3, 2) + "r", kT0 + 3));
  REQUIRE_FALSE(s.alive(key(3, 2), kT0 + 3));
  REQUIRE_FALSE(s.alive(key(3, 3), kT0 + 3));

  // "Log out everywhere" for one user while other threads work on the rest.
  std::thread logout([&store] { TicketPtr t = store.destroyUser("user0", [](auto) {}); });
  threads.clear();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < kSessions; i += 2) {
        TicketPtr ticket = store.update(key(t, i), Update{{{"x", "1"}}, {}}, kT0 + 4, [](auto) {});
      }
    });
  }
  logout.join();
  for (auto& thread : threads) thread.join();
  // user0 (even threads) had a session at every i divisible by 6 (i % 3 == 0,
  // kept by i % 2 == 0); i % 4 == 2 ones were rotated, so check i % 12 == 0.
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kSessions; i += 12) {
      INFO(key(t, i));
      REQUIRE(s.alive(key(t, i), kT0 + 5) == (t % 2 == 1));
    }
  }
}

TEST_CASE("MemoryStore::reconfigure applies new timeouts and bounds to stored sessions",
          "[session][store][memory]") {
  const StoreHarness harness = memoryHarness();
  Timeouts generous{Millis(60'000), Millis(3'600'000), Millis(1'000)};
  MemoryStore store(4, generous, 1);
  StoreDriver s(harness, store);
  REQUIRE(s.create("a", contractSession("alice"), kT0) == StoreStatus::kOk);
  REQUIRE(s.create("b", contractSession(), kT0) == StoreStatus::kOk);
  REQUIRE(s.alive("a", kT0 + 30'000));

  SECTION("a shorter idle timeout expires a session that was live") {
    store.reconfigure(4, Timeouts{Millis(10'000), Millis(3'600'000), Millis(1'000)});
    CHECK_FALSE(s.alive("b", kT0 + 20'000));
    CHECK(s.alive("a", kT0 + 35'000));  // refreshed at +30 s by the load above
  }

  SECTION("a smaller bound evicts on the next create, anonymous first") {
    store.reconfigure(2, generous);
    CHECK(store.size() == 2);
    REQUIRE(s.create("c", contractSession(), kT0 + 1) == StoreStatus::kOk);
    CHECK(store.size() == 2);
    CHECK_FALSE(s.alive("b", kT0 + 2));
    CHECK(s.alive("a", kT0 + 2));
    CHECK(s.alive("c", kT0 + 2));
  }
}

TEST_CASE("MemoryStore failure windows run on the caller's clock", "[session][store][memory]") {
  const StoreHarness harness = memoryHarness();
  MemoryStore store(100, Timeouts{});
  StoreDriver s(harness, store);
  const Millis window(15 * 60'000);
  const TimePoint ends = kT0 + window.count();

  REQUIRE(s.addFailure({"u:alice", "a:192.0.2.7"}, window, kT0).failures.retry_after == window);
  REQUIRE(s.addFailure({"u:alice"}, window, kT0 + 60'000).failures.count == 2);
  // Fixed from the first failure: the second did not extend it.
  auto counted = s.failures({"u:alice"}, kT0 + 60'000);
  CHECK(counted.failures.count == 2);
  CHECK(counted.failures.retry_after == Millis(ends - (kT0 + 60'000)));
  counted = s.failures({"u:alice", "a:192.0.2.7"}, ends - 1);
  CHECK(counted.failures.count == 2);
  CHECK(counted.failures.retry_after == Millis(1));
  // The window's end is its first instant without.
  counted = s.failures({"u:alice", "a:192.0.2.7"}, ends);
  CHECK(counted.failures.count == 0);
  CHECK(counted.failures.retry_after == Millis(0));
  CHECK(store.failureKeys() == 0);  // ended windows were dropped
  // The next failure starts a new window.
  counted = s.addFailure({"u:alice"}, window, ends + 5);
  CHECK(counted.failures.count == 1);
  CHECK(counted.failures.retry_after == window);

  SECTION("equal counts: the window that runs longer answers") {
    REQUIRE(s.addFailure({"a:192.0.2.8"}, window, ends + 1'000).failures.count == 1);
    counted = s.failures({"u:alice", "a:192.0.2.8"}, ends + 2'000);
    CHECK(counted.failures.count == 1);
    CHECK(counted.failures.retry_after == Millis(window.count() - 1'000));
  }

  SECTION("sweep drops the windows that have ended") {
    REQUIRE(s.addFailure({"a:192.0.2.8"}, Millis(1'000), ends + 10).failures.count == 1);
    CHECK(store.failureKeys() == 2);
    store.sweep(ends + 1'010);
    CHECK(store.failureKeys() == 1);
    CHECK(s.failures({"u:alice"}, ends + 1'010).failures.count == 1);
  }
}

TEST_CASE("MemoryStore bounds the failure table, dropping ended windows first",
          "[session][store][memory]") {
  const StoreHarness harness = memoryHarness();
  MemoryStore store(100, Timeouts{}, 4, 3);
  StoreDriver s(harness, store);
  const Millis window(60'000);
  REQUIRE(s.addFailure({"u:a"}, window, kT0).failures.count == 1);
  REQUIRE(s.addFailure({"u:b"}, window, kT0 + 1).failures.count == 1);
  REQUIRE(s.addFailure({"u:c"}, Millis(10), kT0 + 2).failures.count == 1);
  REQUIRE(s.addFailure({"u:b"}, window, kT0 + 3).failures.count == 2);
  REQUIRE(store.failureKeys() == 3);

  // u:c's window has ended: it makes the room, nothing live is lost.
  REQUIRE(s.addFailure({"u:d"}, window, kT0 + 100).failures.count == 1);
  CHECK(store.failureKeys() == 3);
  CHECK(store.failureEvictions() == 0);
  // Then the live window that ends first (u:a's) goes.
  REQUIRE(s.addFailure({"u:e"}, window, kT0 + 200).failures.count == 1);
  CHECK(store.failureKeys() == 3);
  CHECK(store.failureEvictions() == 1);
  CHECK(s.failures({"u:a"}, kT0 + 201).failures.count == 0);
  CHECK(s.failures({"u:b"}, kT0 + 201).failures.count == 2);
  CHECK(s.failures({"u:d", "u:e"}, kT0 + 201).failures.count == 1);

  SECTION("a flood of new keys keeps the bound") {
    for (int i = 0; i < 1000; ++i) {
      REQUIRE(s.addFailure({"a:" + std::to_string(i)}, window, kT0 + 300 + i).failures.count == 1);
      REQUIRE(store.failureKeys() <= 3);
    }
    CHECK(store.failureEvictions() == 1001);
  }
}

TEST_CASE("MemoryStore counts failures from many threads exactly", "[session][store][memory]") {
  MemoryStore store(100, Timeouts{}, MemoryStore::kDefaultShards, 64);
  constexpr int kThreads = 8;
  constexpr int kFailures = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < kFailures; ++i) {
        // One key every thread shares and one of its own.
        const std::vector<std::string> keys{"u:alice", "a:" + std::to_string(t)};
        TicketPtr ticket = store.addFailure(keys, Millis(60'000), kT0, [](auto, auto) {});
        ticket = store.failures({"u:alice"}, kT0, [](auto, auto) {});
        if (i % 50 == 0) ticket = store.clearFailures("a:" + std::to_string(t), [](auto) {});
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const StoreHarness harness = memoryHarness();
  StoreDriver s(harness, store);
  CHECK(s.failures({"u:alice"}, kT0).failures.count == kThreads * kFailures);
  for (int t = 0; t < kThreads; ++t)
    CHECK(s.failures({"a:" + std::to_string(t)}, kT0).failures.count == 49);
}

TEST_CASE("MemoryStore's handle index follows evictions and parallel logins",
          "[session][store][memory]") {
  const StoreHarness harness = memoryHarness();

  SECTION("an evicted session's handle reaches nothing") {
    MemoryStore store(1, Timeouts{}, 1);
    StoreDriver s(harness, store);
    REQUIRE(s.create("a", contractSession(), kT0) == StoreStatus::kOk);
    REQUIRE(s.setIdentity("a", contractLogin("alice", '1'), kT0 + 1) == StoreStatus::kOk);
    REQUIRE(s.create("b", contractSession("bob"), kT0 + 2) == StoreStatus::kOk);  // evicts a
    REQUIRE(store.evictedLoggedIn() == 1);
    CHECK(s.destroyHandle(contractHandle('1')) == StoreStatus::kMissing);
    CHECK(s.listUser("alice", kT0 + 3).sessions.empty());
  }

  SECTION("a session created logged in with a handle is indexed at once") {
    MemoryStore store(10, Timeouts{});
    StoreDriver s(harness, store);
    Session session = contractSession("alice");
    session.handle = contractHandle('c');
    session.nonce = "not kept by this store";
    REQUIRE(s.create("c", session, kT0) == StoreStatus::kOk);
    CHECK(s.load("c", kT0).session->nonce.empty());
    CHECK(s.handles("alice", kT0) == std::vector<std::string>{contractHandle('c')});
    CHECK(s.destroyHandle(contractHandle('c')) == StoreStatus::kOk);
  }

  SECTION("logins, listings, trims and revocations from many threads") {
    MemoryStore store(100'000, Timeouts{});
    constexpr int kThreads = 8;
    constexpr int kLogins = 300;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&store, t] {
        for (int i = 0; i < kLogins; ++i) {
          const std::string k = key(t, i);
          LoginInfo login = contractLogin("user" + std::to_string(t % 2), 'x');
          login.handle = "h" + std::to_string(t) + "-" + std::to_string(i);
          TicketPtr ticket = store.create(k, Session{}, kT0, [](auto) {});
          ticket = store.setIdentity(k, login, kT0 + i, [](auto) {});
          if (i % 3 == 0) ticket = store.destroyHandle(login.handle, [](auto) {});
          if (i % 10 == 0) ticket = store.trimUser(login.user, 20, kT0 + i, [](auto) {});
          ticket = store.listUser(login.user, kT0 + i, [](auto, auto) {});
        }
      });
    }
    for (auto& thread : threads) thread.join();
    StoreDriver s(harness, store);
    for (const char* user : {"user0", "user1"}) {
      REQUIRE(s.trimUser(user, 20, kT0 + kLogins) == StoreStatus::kOk);
      const auto listed = s.listUser(user, kT0 + kLogins);
      REQUIRE(listed.sessions.size() == 20);
      for (size_t i = 1; i < listed.sessions.size(); ++i) {
        REQUIRE(listed.sessions[i - 1].login <= listed.sessions[i].login);
      }
      // The newest logins were kept: every thread's last ones (i % 3 != 0).
      CHECK(listed.sessions.back().login == kT0 + kLogins - 1);
      for (const auto& summary : listed.sessions) {
        REQUIRE(s.destroyHandle(summary.handle) == StoreStatus::kOk);
      }
      CHECK(s.listUser(user, kT0 + kLogins).sessions.empty());
    }
  }
}

TEST_CASE("MemoryStore bounds the claim table and never drops a live claim",
          "[session][store][memory]") {
  const StoreHarness harness = memoryHarness();
  MemoryStore store(100, Timeouts{}, 4, 3, 3);
  StoreDriver s(harness, store);
  const Millis minute(60'000);
  REQUIRE(s.claim("a", minute, kT0) == StoreStatus::kOk);
  REQUIRE(s.claim("b", minute, kT0) == StoreStatus::kOk);
  REQUIRE(s.claim("c", Millis(10), kT0) == StoreStatus::kOk);
  // c has ended: it makes the room.
  REQUIRE(s.claim("d", minute, kT0 + 100) == StoreStatus::kOk);
  CHECK(store.claims() == 3);
  // Full of live claims: refused, fail closed, and the held ones stay held.
  CHECK(s.claim("e", minute, kT0 + 200) == StoreStatus::kUnavailable);
  CHECK(store.claimsRefused() == 1);
  CHECK(s.claim("a", minute, kT0 + 200) == StoreStatus::kRejected);
  REQUIRE(s.release("a") == StoreStatus::kOk);
  CHECK(s.claim("e", minute, kT0 + 300) == StoreStatus::kOk);
  store.sweep(kT0 + 300 + minute.count());
  CHECK(store.claims() == 0);
  CHECK(s.claim("b", minute, kT0 + 300 + minute.count()) == StoreStatus::kOk);
}

TEST_CASE("MemoryStore gives each claim to exactly one of many threads",
          "[session][store][memory]") {
  MemoryStore store(100, Timeouts{});
  constexpr int kThreads = 8;
  constexpr int kNames = 500;
  std::vector<std::vector<int>> won(kThreads, std::vector<int>(kNames, 0));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, &won, t] {
      for (int i = 0; i < kNames; ++i) {
        TicketPtr ticket =
            store.claim("refresh:" + std::to_string(i), Millis(60'000), kT0,
                        [&won, t, i](StoreStatus s) { won[t][i] = s == StoreStatus::kOk; });
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int i = 0; i < kNames; ++i) {
    int winners = 0;
    for (int t = 0; t < kThreads; ++t) winners += won[t][i];
    REQUIRE(winners == 1);
  }
}

TEST_CASE("MemoryStore's tag index follows evictions, expiry and parallel logins",
          "[session][store][memory]") {
  const StoreHarness harness = memoryHarness();
  const auto tagged = [](std::string user, std::vector<std::string> tags) {
    LoginInfo login = contractLogin(std::move(user), '1');
    login.tags = std::move(tags);
    return login;
  };

  SECTION("an evicted or expired session leaves nothing a destroyTagged trips on") {
    Timeouts timeouts;
    timeouts.idle = Millis(10'000);
    MemoryStore store(1, timeouts, 1);
    StoreDriver s(harness, store);
    REQUIRE(s.create("a", contractSession(), kT0) == StoreStatus::kOk);
    REQUIRE(s.setIdentity("a", tagged("alice", {"sid:1"}), kT0) == StoreStatus::kOk);
    REQUIRE(s.create("b", contractSession("bob"), kT0 + 1) == StoreStatus::kOk);  // evicts a
    REQUIRE(store.evictedLoggedIn() == 1);
    REQUIRE(s.create("a", contractSession("carol"), kT0 + 2) == StoreStatus::kOk);  // evicts b
    CHECK(s.destroyTagged("sid:1") == StoreStatus::kOk);
    CHECK(s.alive("a", kT0 + 3));  // the same key, not carrying the tag
    REQUIRE(s.setIdentity("a", tagged("carol", {"sid:2"}), kT0 + 4) == StoreStatus::kOk);
    store.sweep(kT0 + 4 + timeouts.idle.count());
    CHECK(store.size() == 0);
    CHECK(s.destroyTagged("sid:2") == StoreStatus::kOk);
  }

  SECTION("tagged logins, rotations and back-channel logouts from many threads") {
    MemoryStore store(100'000, Timeouts{});
    constexpr int kThreads = 8;
    constexpr int kLogins = 300;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&store, &tagged, t] {
        const std::string sub = "sub:" + std::to_string(t);
        for (int i = 0; i < kLogins; ++i) {
          const std::string k = key(t, i);
          const std::string sid = "sid:" + std::to_string(t) + "-" + std::to_string(i / 2);
          TicketPtr ticket = store.create(k, Session{}, kT0, [](auto) {});
          ticket = store.setIdentity(k, tagged("user" + std::to_string(t), {sid, sub}), kT0 + i,
                                     [](auto) {});
          if (i % 2 == 1) ticket = store.rotate(k, k + "r", kT0 + i, [](auto) {});
          if (i % 4 == 3) ticket = store.destroyTagged(sid, [](auto) {});
        }
      });
    }
    for (auto& thread : threads) thread.join();
    // Logins 4k+2 and 4k+3 share a sid whose logout ended both.
    CHECK(store.size() == kThreads * kLogins / 2);
    StoreDriver s(harness, store);
    for (int t = 0; t < kThreads; ++t) {
      REQUIRE(s.destroyTagged("sub:" + std::to_string(t)) == StoreStatus::kOk);
    }
    CHECK(store.size() == 0);
  }
}
