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
  // False for the cookie store: no handles, no listing, no counters (those
  // calls answer kUnavailable).
  bool administers = true;
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
  StoreStatus setIdentity(std::string_view key, const LoginInfo& login, TimePoint now) {
    return await([&](Store::Done done) { return store_.setIdentity(key, login, now, done); });
  }
  StoreStatus setIdentity(std::string_view key, std::string_view user,
                          const std::vector<std::string>& groups, TimePoint now) {
    LoginInfo login;
    login.user = user;
    login.groups = groups;
    return setIdentity(key, login, now);
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
  struct Listed {
    StoreStatus status = StoreStatus::kMissing;
    std::vector<SessionSummary> sessions;
  };
  Listed listUser(std::string_view user, TimePoint now) {
    Listed listed;
    bool called = false;
    TicketPtr ticket = store_.listUser(
        user, now, [&](StoreStatus status, const std::vector<SessionSummary>* sessions) {
          called = true;
          listed.status = status;
          REQUIRE((status == StoreStatus::kOk) == (sessions != nullptr));
          if (sessions != nullptr) listed.sessions = *sessions;
        });
    harness_.drive();
    REQUIRE(called);
    return listed;
  }
  // The handles listUser shows, oldest login first.
  std::vector<std::string> handles(std::string_view user, TimePoint now) {
    Listed listed = listUser(user, now);
    REQUIRE(listed.status == StoreStatus::kOk);
    std::vector<std::string> out;
    for (const SessionSummary& summary : listed.sessions) out.push_back(summary.handle);
    return out;
  }
  StoreStatus destroyHandle(std::string_view handle) {
    return await([&](Store::Done done) { return store_.destroyHandle(handle, done); });
  }
  StoreStatus trimUser(std::string_view user, size_t keep, TimePoint now) {
    return await([&](Store::Done done) { return store_.trimUser(user, keep, now, done); });
  }
  struct Counted {
    StoreStatus status = StoreStatus::kUnavailable;
    Failures failures;
  };
  Counted failures(const std::vector<std::string>& keys, TimePoint now) {
    return count([&](Store::CountDone done) { return store_.failures(keys, now, done); });
  }
  Counted addFailure(const std::vector<std::string>& keys, Millis window, TimePoint now) {
    return count([&](Store::CountDone done) { return store_.addFailure(keys, window, now, done); });
  }
  Counted forgiveFailure(const std::vector<std::string>& keys, TimePoint now) {
    return count([&](Store::CountDone done) { return store_.forgiveFailure(keys, now, done); });
  }
  StoreStatus clearFailures(std::string_view key) {
    return await([&](Store::Done done) { return store_.clearFailures(key, done); });
  }

 private:
  template <typename Call>
  Counted count(Call call) {
    std::optional<Counted> result;
    TicketPtr ticket = call([&result](StoreStatus status, Failures failures) {
      result = {status, failures};
    });
    harness_.drive();
    REQUIRE(result.has_value());
    return *result;
  }

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

// A handle as CookieCodec::handle spells them (12 base64url characters).
inline std::string contractHandle(char tag) {
  return "handle-test" + std::string(1, tag);
}

inline LoginInfo contractLogin(std::string user, char handle_tag) {
  return LoginInfo{std::move(user), {"staff"},
                   "password",      contractHandle(handle_tag),
                   "192.0.2.7",     "Mozilla/5.0 (X11; Linux x86_64)"};
}

// The session administration half of the contract: listing, revoking by
// handle, trimming, brute-force counters.
inline void runAdminContract(const StoreHarness& harness, StoreDriver& s, TimePoint t0) {
  // An anonymous session under `key` created at `created`, then logged in
  // at `at` with the handle tagged `tag`.
  const auto login = [&](std::string_view key, std::string user, char tag, TimePoint created,
                         TimePoint at) {
    REQUIRE(s.create(key, contractSession(), created) == StoreStatus::kOk);
    REQUIRE(s.setIdentity(key, contractLogin(std::move(user), tag), at) == StoreStatus::kOk);
  };
  const auto h = contractHandle;

  if (!harness.administers) {
    SECTION("the admin calls and the counters answer kUnavailable at once") {
      login("k1", "alice", '1', t0, t0);
      CHECK(s.listUser("alice", t0).status == StoreStatus::kUnavailable);
      CHECK(s.destroyHandle(h('1')) == StoreStatus::kUnavailable);
      CHECK(s.trimUser("alice", 0, t0) == StoreStatus::kUnavailable);
      CHECK(s.failures({"u:alice"}, t0).status == StoreStatus::kUnavailable);
      CHECK(s.addFailure({"u:alice"}, Millis(60'000), t0).status == StoreStatus::kUnavailable);
      CHECK(s.clearFailures("u:alice") == StoreStatus::kUnavailable);
      CHECK(s.alive("k1", t0 + 1));
    }
    return;
  }

  SECTION("listUser: the user's live sessions, oldest login first, with their details") {
    login("a2", "alice", '2', t0, t0 + 2);
    login("a1", "alice", '1', t0, t0 + 1);
    login("b1", "bob", 'b', t0, t0 + 1);
    REQUIRE(s.create("anon", contractSession(), t0) == StoreStatus::kOk);
    login("a3", "alice", '3', t0, t0 + 3);
    login("moved", "alice", 'm', t0, t0 + 3);  // now bob's: not listed for alice
    REQUIRE(s.setIdentity("moved", contractLogin("bob", 'n'), t0 + 4) == StoreStatus::kOk);

    const StoreDriver::Listed listed = s.listUser("alice", t0 + 5);
    REQUIRE(listed.status == StoreStatus::kOk);
    REQUIRE(listed.sessions.size() == 3);
    CHECK(s.handles("alice", t0 + 5) == std::vector<std::string>{h('1'), h('2'), h('3')});
    const SessionSummary& first = listed.sessions[0];
    CHECK(first.created == t0 + 1);  // a login restarts the absolute timeout
    CHECK(first.login == t0 + 1);
    CHECK(first.touched == t0 + 1);
    CHECK(first.method == "password");
    CHECK(first.address == "192.0.2.7");
    CHECK(first.agent == "Mozilla/5.0 (X11; Linux x86_64)");
    CHECK(s.handles("bob", t0 + 5) == std::vector<std::string>{h('b'), h('n')});
    CHECK(s.handles("nobody", t0 + 5).empty());

    REQUIRE(s.destroy("a2") == StoreStatus::kOk);
    CHECK(s.handles("alice", t0 + 6) == std::vector<std::string>{h('1'), h('3')});
    // Past a1's idle timeout (10 s) by the caller's clock; a3 refreshed.
    REQUIRE(s.alive("a3", t0 + 9'000));
    CHECK(s.handles("alice", t0 + 10'002) == std::vector<std::string>{h('3')});
  }

  SECTION("setIdentity keeps the login details bounded and printable") {
    REQUIRE(s.create("k1", contractSession(), t0) == StoreStatus::kOk);
    LoginInfo odd = contractLogin("alice", '1');
    odd.method = std::string(40, 'm');
    odd.address = "2001:db8::1\n";
    odd.agent = "tab	here " + std::string(400, 'a');
    REQUIRE(s.setIdentity("k1", odd, t0 + 1) == StoreStatus::kOk);
    const auto loaded = s.load("k1", t0 + 2);
    REQUIRE(loaded.status == StoreStatus::kOk);
    CHECK(loaded.session->method == std::string(LoginInfo::kMaxMethodBytes, 'm'));
    CHECK(loaded.session->address == "2001:db8::1?");
    CHECK(loaded.session->agent.size() == LoginInfo::kMaxAgentBytes);
    CHECK(loaded.session->agent.starts_with("tab?here aaa"));
    CHECK(loaded.session->handle == h('1'));
    CHECK(loaded.session->nonce.empty());
    const StoreDriver::Listed listed = s.listUser("alice", t0 + 2);
    REQUIRE(listed.sessions.size() == 1);
    CHECK(listed.sessions[0].agent == loaded.session->agent);
  }

  SECTION("destroyHandle ends that session only; a rotation retires the handle") {
    login("a1", "alice", '1', t0, t0 + 1);
    login("a2", "alice", '2', t0, t0 + 2);
    REQUIRE(s.destroyHandle(h('1')) == StoreStatus::kOk);
    REQUIRE_FALSE(s.alive("a1", t0 + 3));
    REQUIRE(s.alive("a2", t0 + 3));
    CHECK(s.destroyHandle(h('1')) == StoreStatus::kMissing);
    CHECK(s.destroyHandle(h('x')) == StoreStatus::kMissing);
    CHECK(s.handles("alice", t0 + 3) == std::vector<std::string>{h('2')});

    // The handle named the old ID: after a rotation it reaches nothing
    // until the login that follows records the new one.
    REQUIRE(s.rotate("a2", "a2-rotated", t0 + 4) == StoreStatus::kOk);
    CHECK(s.load("a2-rotated", t0 + 4).session->handle.empty());
    CHECK(s.destroyHandle(h('2')) == StoreStatus::kMissing);
    REQUIRE(s.alive("a2-rotated", t0 + 5));
    REQUIRE(s.setIdentity("a2-rotated", contractLogin("alice", '3'), t0 + 5) == StoreStatus::kOk);
    // A second login on the same key replaces the handle.
    REQUIRE(s.setIdentity("a2-rotated", contractLogin("alice", '4'), t0 + 6) == StoreStatus::kOk);
    CHECK(s.destroyHandle(h('3')) == StoreStatus::kMissing);
    REQUIRE(s.alive("a2-rotated", t0 + 7));
    CHECK(s.destroyHandle(h('4')) == StoreStatus::kOk);
    REQUIRE_FALSE(s.alive("a2-rotated", t0 + 7));
    CHECK(s.handles("alice", t0 + 7).empty());
  }

  SECTION("destroy and destroyUser retire the handles too") {
    login("a1", "alice", '1', t0, t0 + 1);
    login("a2", "alice", '2', t0, t0 + 2);
    REQUIRE(s.destroy("a1") == StoreStatus::kOk);
    CHECK(s.destroyHandle(h('1')) == StoreStatus::kMissing);
    REQUIRE(s.destroyUser("alice") == StoreStatus::kOk);
    CHECK(s.destroyHandle(h('2')) == StoreStatus::kMissing);
  }

  SECTION("trimUser ends the oldest logins beyond the newest N") {
    // Created in one order, logged in in another: the login time counts.
    login("a3", "alice", '3', t0, t0 + 3);
    login("a1", "alice", '1', t0 + 1, t0 + 1);
    login("a4", "alice", '4', t0, t0 + 4);
    login("a2", "alice", '2', t0 + 2, t0 + 2);
    login("b1", "bob", 'b', t0, t0 + 1);
    REQUIRE(s.trimUser("alice", 2, t0 + 5) == StoreStatus::kOk);
    CHECK(s.handles("alice", t0 + 5) == std::vector<std::string>{h('3'), h('4')});
    for (const char* key : {"a1", "a2"}) REQUIRE_FALSE(s.alive(key, t0 + 5));
    for (const char* key : {"a3", "a4", "b1"}) REQUIRE(s.alive(key, t0 + 5));
    REQUIRE(s.trimUser("alice", 2, t0 + 6) == StoreStatus::kOk);
    REQUIRE(s.trimUser("alice", 5, t0 + 6) == StoreStatus::kOk);
    CHECK(s.handles("alice", t0 + 6).size() == 2);
    REQUIRE(s.trimUser("nobody", 1, t0 + 6) == StoreStatus::kOk);
    REQUIRE(s.trimUser("alice", 0, t0 + 6) == StoreStatus::kOk);
    CHECK(s.handles("alice", t0 + 6).empty());
    REQUIRE(s.alive("b1", t0 + 6));
  }

  SECTION("failure counters: per key, the highest wins, cleared on success") {
    const Millis window(60'000);
    const auto within = [&](Millis rest) {
      return rest <= window && rest > window - Millis(5'000);
    };
    const auto none = s.failures({"u:alice", "a:192.0.2.7"}, t0);
    REQUIRE(none.status == StoreStatus::kOk);
    CHECK(none.failures.count == 0);
    CHECK(none.failures.retry_after == Millis(0));

    auto added = s.addFailure({"u:alice", "a:192.0.2.7"}, window, t0);
    REQUIRE(added.status == StoreStatus::kOk);
    CHECK(added.failures.count == 1);
    CHECK(within(added.failures.retry_after));
    REQUIRE(s.addFailure({"u:alice"}, window, t0 + 1).failures.count == 2);
    added = s.addFailure({"u:alice", "a:192.0.2.8"}, window, t0 + 2);
    CHECK(added.failures.count == 3);
    CHECK(within(added.failures.retry_after));

    CHECK(s.failures({"u:alice", "a:192.0.2.7"}, t0 + 3).failures.count == 3);
    CHECK(s.failures({"a:192.0.2.7"}, t0 + 3).failures.count == 1);
    CHECK(s.failures({"u:bob", "a:192.0.2.8"}, t0 + 3).failures.count == 1);
    CHECK(s.failures({}, t0 + 3).failures.count == 0);

    REQUIRE(s.clearFailures("u:alice") == StoreStatus::kOk);
    const auto cleared = s.failures({"u:alice", "a:192.0.2.7"}, t0 + 4);
    CHECK(cleared.failures.count == 1);
    CHECK(within(cleared.failures.retry_after));
    REQUIRE(s.clearFailures("u:nobody") == StoreStatus::kOk);
    // A forgiven attempt is taken back; a counter at one goes.
    CHECK(s.addFailure({"a:192.0.2.9"}, window, t0 + 4).failures.count == 1);
    CHECK(s.addFailure({"a:192.0.2.9"}, window, t0 + 4).failures.count == 2);
    const auto forgiven = s.forgiveFailure({"a:192.0.2.9", "u:nobody"}, t0 + 4);
    CHECK(forgiven.status == StoreStatus::kOk);
    CHECK(forgiven.failures.count == 1);
    CHECK(s.forgiveFailure({"a:192.0.2.9"}, t0 + 4).failures.count == 0);
    CHECK(s.failures({"a:192.0.2.9"}, t0 + 4).failures.count == 0);
    // A cleared key starts a new window at its next failure.
    CHECK(s.addFailure({"u:alice"}, window, t0 + 5).failures.count == 1);
  }
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

  runAdminContract(harness, s, t0);
}

}  // namespace sesame::session::testing
