// The session::Store contract as one reusable Catch2 suite: the memory, Redis
// and cookie stores each run it from a TEST_CASE of their own.
#pragma once

#include <catch2/catch.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sesame/session/store.h"

namespace sesame::session::testing {

struct StoreHarness {
  // A fresh store with these timeouts, holding no session the suite uses.
  std::function<std::unique_ptr<Store>(const Timeouts&)> make;
  // Runs the store's loop until every pending callback has run (memory: none).
  std::function<void()> drive = [] {};
  // Refresh writes made so far; empty when the store cannot count them.
  std::function<size_t(Store&)> touch_writes;
  // False when sweep() is a no-op because the store expires sessions itself
  // on its own clock (Redis TTLs).
  bool sweep_removes = true;
  // The suite's first `now`; a store whose native expiry follows the real
  // clock passes the wall clock.
  TimePoint start = 1'700'000'000'000;
};

// Runs each store call to completion through the harness.
class StoreDriver {
 public:
  struct Loaded {
    StoreStatus status = StoreStatus::kUnavailable;
    std::optional<Session> session;
  };

  StoreDriver(const StoreHarness& harness, Store& store) : harness_(harness), store_(store) {}

  Loaded load(std::string_view key, TimePoint now) {
    Loaded loaded;
    bool called = false;
    TicketPtr ticket = store_.load(key, now, [&](StoreStatus status, const Session* session) {
      called = true;
      loaded.status = status;
      if (session != nullptr) loaded.session = *session;
    });
    harness_.drive();
    REQUIRE(called);
    REQUIRE((loaded.status == StoreStatus::kOk) == loaded.session.has_value());
    return loaded;
  }
  StoreStatus create(std::string_view key, const Session& session, TimePoint now) {
    return await([&](Store::Done done) { return store_.create(key, session, now, done); });
  }
  StoreStatus rotate(std::string_view old_key, std::string_view new_key, TimePoint now) {
    return await([&](Store::Done done) { return store_.rotate(old_key, new_key, now, done); });
  }
  StoreStatus update(std::string_view key, const Update& update, TimePoint now) {
    return await([&](Store::Done done) { return store_.update(key, update, now, done); });
  }
  StoreStatus setIdentity(std::string_view key, std::string_view user,
                          const std::vector<std::string>& groups, TimePoint now) {
    return await(
        [&](Store::Done done) { return store_.setIdentity(key, user, groups, now, done); });
  }
  StoreStatus destroy(std::string_view key) {
    return await([&](Store::Done done) { return store_.destroy(key, done); });
  }
  StoreStatus destroyUser(std::string_view user) {
    return await([&](Store::Done done) { return store_.destroyUser(user, done); });
  }
  bool alive(std::string_view key, TimePoint now) {
    return load(key, now).status == StoreStatus::kOk;
  }

 private:
  template <typename Call>
  StoreStatus await(Call call) {
    std::optional<StoreStatus> result;
    TicketPtr ticket = call([&result](StoreStatus status) { result = status; });
    harness_.drive();
    REQUIRE(result.has_value());
    return *result;
  }

  const StoreHarness& harness_;
  Store& store_;
};

inline Session contractSession(std::string user = {}) {
  Session session;
  session.user = std::move(user);
  if (!session.user.empty()) session.groups = {"staff", "ops"};
  session.data = {{"cart", "3"}, {"lang", "de"}};
  return session;
}

// Call from inside a TEST_CASE: each SECTION runs on a fresh store.
inline void runStoreContract(const StoreHarness& harness) {
  Timeouts timeouts;
  timeouts.idle = Millis(10'000);
  timeouts.absolute = Millis(60'000);
  timeouts.touch_interval = Millis(1'000);
  std::unique_ptr<Store> store = harness.make(timeouts);
  REQUIRE(store);
  StoreDriver s(harness, *store);
  const TimePoint t0 = harness.start;

  SECTION("load of a missing key is kMissing") {
    REQUIRE(s.load("missing", t0).status == StoreStatus::kMissing);
  }

  SECTION("create then load returns the same contents") {
    REQUIRE(s.create("k1", contractSession("alice"), t0) == StoreStatus::kOk);
    auto loaded = s.load("k1", t0 + 1);
    REQUIRE(loaded.status == StoreStatus::kOk);
    CHECK(loaded.session->user == "alice");
    CHECK(loaded.session->groups == std::vector<std::string>{"staff", "ops"});
    CHECK(loaded.session->data == contractSession().data);
    CHECK(loaded.session->created == t0);
    CHECK(loaded.session->touched == t0);
    CHECK(loaded.session->login == 0);
  }

  SECTION("update sets and unsets single fields, keeping the others") {
    REQUIRE(s.create("k1", contractSession(), t0) == StoreStatus::kOk);
    REQUIRE(s.update("k1", Update{{{"theme", "dark"}}, {"cart"}}, t0 + 1) == StoreStatus::kOk);
    REQUIRE(s.load("k1", t0 + 2).session->data ==
            std::map<std::string, std::string>{{"lang", "de"}, {"theme", "dark"}});
    REQUIRE(s.update("k1", Update{{{"lang", "fr"}}, {}}, t0 + 3) == StoreStatus::kOk);
    REQUIRE(s.load("k1", t0 + 4).session->data ==
            std::map<std::string, std::string>{{"lang", "fr"}, {"theme", "dark"}});
  }

  SECTION("update of a missing session is kMissing and creates nothing") {
    REQUIRE(s.update("nope", Update{{{"a", "1"}}, {}}, t0) == StoreStatus::kMissing);
    REQUIRE_FALSE(s.alive("nope", t0));
  }

  SECTION("two updates in flight together both survive") {
    REQUIRE(s.create("k1", contractSession(), t0) == StoreStatus::kOk);
    std::optional<StoreStatus> first;
    std::optional<StoreStatus> second;
    Update a{{{"a", "1"}}, {}};
    Update b{{{"b", "2"}}, {"cart"}};
    TicketPtr ta = store->update("k1", a, t0 + 1, [&](StoreStatus st) { first = st; });
    TicketPtr tb = store->update("k1", b, t0 + 1, [&](StoreStatus st) { second = st; });
    harness.drive();
    REQUIRE(first == StoreStatus::kOk);
    REQUIRE(second == StoreStatus::kOk);
    REQUIRE(s.load("k1", t0 + 2).session->data ==
            std::map<std::string, std::string>{{"a", "1"}, {"b", "2"}, {"lang", "de"}});
  }

  SECTION("setIdentity records user, groups and login and restarts the absolute timeout") {
    REQUIRE(s.create("k1", contractSession(), t0) == StoreStatus::kOk);
    const TimePoint login = t0 + 5'000;
    REQUIRE(s.setIdentity("k1", "bob", {"admins"}, login) == StoreStatus::kOk);
    auto loaded = s.load("k1", login + 1);
    REQUIRE(loaded.status == StoreStatus::kOk);
    CHECK(loaded.session->user == "bob");
    CHECK(loaded.session->groups == std::vector<std::string>{"admins"});
    CHECK(loaded.session->login == login);
    CHECK(loaded.session->created == login);
    CHECK(loaded.session->data == contractSession().data);
    // Past the original creation's absolute timeout, still within the login's.
    for (TimePoint now = login + 5'000; now < login + 60'000; now += 5'000) {
      INFO("now - login = " << now - login);
      REQUIRE(s.alive("k1", now));
    }
    REQUIRE_FALSE(s.alive("k1", login + 60'000));
    REQUIRE(s.setIdentity("gone", "bob", {}, login) == StoreStatus::kMissing);
  }

  SECTION("rotate moves the contents; the old key stops working") {
    REQUIRE(s.create("old", contractSession("alice"), t0) == StoreStatus::kOk);
    REQUIRE(s.rotate("old", "new", t0 + 1) == StoreStatus::kOk);
    REQUIRE_FALSE(s.alive("old", t0 + 2));
    auto loaded = s.load("new", t0 + 2);
    REQUIRE(loaded.status == StoreStatus::kOk);
    CHECK(loaded.session->user == "alice");
    CHECK(loaded.session->data == contractSession().data);
    CHECK(loaded.session->created == t0);
    REQUIRE(s.rotate("old", "newer", t0 + 3) == StoreStatus::kMissing);
    REQUIRE_FALSE(s.alive("newer", t0 + 3));
  }

  SECTION("rotate of a missing or expired session is kMissing") {
    REQUIRE(s.rotate("missing", "new", t0) == StoreStatus::kMissing);
    REQUIRE(s.create("k1", contractSession(), t0) == StoreStatus::kOk);
    REQUIRE(s.rotate("k1", "new", t0 + 10'000) == StoreStatus::kMissing);
    REQUIRE_FALSE(s.alive("new", t0 + 10'000));
  }

  SECTION("destroy removes the session; destroying again is fine") {
    REQUIRE(s.create("k1", contractSession(), t0) == StoreStatus::kOk);
    REQUIRE(s.create("k2", contractSession(), t0) == StoreStatus::kOk);
    REQUIRE(s.destroy("k1") == StoreStatus::kOk);
    REQUIRE_FALSE(s.alive("k1", t0 + 1));
    REQUIRE(s.alive("k2", t0 + 1));
    REQUIRE(s.destroy("k1") == StoreStatus::kOk);
  }

  SECTION("destroyUser removes every session of that user and only those") {
    REQUIRE(s.create("a1", contractSession("alice"), t0) == StoreStatus::kOk);
    REQUIRE(s.create("a2", contractSession("alice"), t0) == StoreStatus::kOk);
    REQUIRE(s.create("b1", contractSession("bob"), t0) == StoreStatus::kOk);
    REQUIRE(s.create("anon", contractSession(), t0) == StoreStatus::kOk);
    REQUIRE(s.create("a3", contractSession(), t0) == StoreStatus::kOk);
    REQUIRE(s.setIdentity("a3", "alice", {}, t0 + 1) == StoreStatus::kOk);
    REQUIRE(s.create("a4", contractSession("alice"), t0) == StoreStatus::kOk);
    REQUIRE(s.rotate("a4", "a4-rotated", t0 + 1) == StoreStatus::kOk);
    // Was alice's, now bob's: stays.
    REQUIRE(s.create("switched", contractSession("alice"), t0) == StoreStatus::kOk);
    REQUIRE(s.setIdentity("switched", "bob", {}, t0 + 1) == StoreStatus::kOk);

    REQUIRE(s.destroyUser("alice") == StoreStatus::kOk);
    for (const char* key : {"a1", "a2", "a3", "a4", "a4-rotated"}) {
      INFO(key);
      REQUIRE_FALSE(s.alive(key, t0 + 2));
    }
    for (const char* key : {"b1", "anon", "switched"}) {
      INFO(key);
      REQUIRE(s.alive(key, t0 + 2));
    }
    REQUIRE(s.destroyUser("nobody") == StoreStatus::kOk);
    REQUIRE(s.destroyUser("bob") == StoreStatus::kOk);
    REQUIRE_FALSE(s.alive("switched", t0 + 3));
    REQUIRE(s.alive("anon", t0 + 3));
  }

  SECTION("idle expiry: a session not refreshed for idle_timeout is gone") {
    REQUIRE(s.create("k1", contractSession(), t0) == StoreStatus::kOk);
    REQUIRE(s.alive("k1", t0 + 9'999));  // refreshes: touched = t0 + 9'999
    REQUIRE(s.alive("k1", t0 + 19'998));
    REQUIRE_FALSE(s.alive("k1", t0 + 29'998));
    // Deleted, not just hidden: it stays gone even at a time it was fresh.
    REQUIRE_FALSE(s.alive("k1", t0 + 20'000));
  }

  SECTION("absolute expiry even when refreshed regularly") {
    REQUIRE(s.create("k1", contractSession(), t0) == StoreStatus::kOk);
    for (TimePoint now = t0 + 5'000; now < t0 + 60'000; now += 5'000) {
      INFO("now - t0 = " << now - t0);
      REQUIRE(s.alive("k1", now));
    }
    REQUIRE_FALSE(s.alive("k1", t0 + 60'000));
    REQUIRE_FALSE(s.alive("k1", t0 + 55'001));
  }

  SECTION("touch throttling: at most one refresh per touch_interval") {
    REQUIRE(s.create("k1", contractSession(), t0) == StoreStatus::kOk);
    const auto writes = [&] { return harness.touch_writes ? harness.touch_writes(*store) : 0; };
    const size_t before = writes();
    for (TimePoint dt : {100, 500, 999}) REQUIRE(s.load("k1", t0 + dt).session->touched == t0);
    REQUIRE(writes() == before);
    REQUIRE(s.load("k1", t0 + 1'000).session->touched == t0 + 1'000);
    if (harness.touch_writes) REQUIRE(writes() == before + 1);
    for (TimePoint dt : {1'500, 1'999}) {
      REQUIRE(s.load("k1", t0 + dt).session->touched == t0 + 1'000);
    }
    if (harness.touch_writes) REQUIRE(writes() == before + 1);
    REQUIRE(s.load("k1", t0 + 2'500).session->touched == t0 + 2'500);
    if (harness.touch_writes) REQUIRE(writes() == before + 2);
  }

  SECTION("sweep removes expired sessions and keeps live ones") {
    REQUIRE(s.create("old", contractSession("alice"), t0) == StoreStatus::kOk);
    REQUIRE(s.create("young", contractSession("alice"), t0 + 5'000) == StoreStatus::kOk);
    store->sweep(t0 + 10'000);
    REQUIRE(s.alive("young", t0 + 10'000));
    if (harness.sweep_removes) REQUIRE_FALSE(s.alive("old", t0 + 1));
    REQUIRE_FALSE(s.alive("old", t0 + 10'000));
    REQUIRE(s.destroyUser("alice") == StoreStatus::kOk);
    REQUIRE_FALSE(s.alive("young", t0 + 10'001));
  }

  SECTION("a ticket destroyed before completion never calls back") {
    REQUIRE(s.create("k1", contractSession(), t0) == StoreStatus::kOk);
    bool called = false;
    TicketPtr ticket =
        store->load("k1", t0 + 1, [&called](StoreStatus, const Session*) { called = true; });
    const bool pending = ticket != nullptr;
    ticket.reset();
    harness.drive();
    // A store that completes inline has run the callback before returning.
    REQUIRE(called == !pending);
    // The store still works after a cancellation.
    REQUIRE(s.alive("k1", t0 + 2));
  }
}

}  // namespace sesame::session::testing
