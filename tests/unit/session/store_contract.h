// The session::Store contract as one reusable Catch2 suite: the memory, Redis
// and cookie stores each run it from a TEST_CASE of their own.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "sesame/session/memory_store.h"
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
  StoreStatus claim(std::string_view name, Millis ttl, TimePoint now) {
    return await([&](Store::Done done) { return store_.claim(name, ttl, now, done); });
  }
  StoreStatus release(std::string_view name) {
    return await([&](Store::Done done) { return store_.release(name, done); });
  }
  StoreStatus destroyTagged(std::string_view tag) {
    return await([&](Store::Done done) { return store_.destroyTagged(tag, done); });
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
  return LoginInfo{std::move(user),
                   {"staff"},
                   "password",
                   contractHandle(handle_tag),
                   "192.0.2.7",
                   "Mozilla/5.0 (X11; Linux x86_64)",
                   {}};
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
    SECTION("claims and tags answer kUnavailable at once; so does a login with tags") {
      login("k1", "alice", '1', t0, t0);
      CHECK(s.claim("refresh:k1", Millis(10'000), t0) == StoreStatus::kUnavailable);
      CHECK(s.release("refresh:k1") == StoreStatus::kUnavailable);
      CHECK(s.destroyTagged("oidc-sid:p:s1") == StoreStatus::kUnavailable);
      LoginInfo tagged = contractLogin("alice", '2');
      tagged.tags = {"oidc-sid:p:s1"};
      CHECK(s.setIdentity("k1", tagged, t0 + 1) == StoreStatus::kUnavailable);
      CHECK(s.alive("k1", t0 + 2));
    }
    SECTION("sesame's own data fields are never put in a cookie") {
      REQUIRE(s.create("k1", contractSession(), t0) == StoreStatus::kOk);
      Update internal;
      internal.set = {{".oidc.state", "abc"}};
      CHECK(s.update("k1", internal, t0 + 1) == StoreStatus::kRejected);
      Session with_internal = contractSession();
      with_internal.data[".oidc.state"] = "abc";
      CHECK(s.create("k2", with_internal, t0) == StoreStatus::kRejected);
      CHECK(s.load("k1", t0 + 2).session->data == contractSession().data);
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

// Logs `key` in as `user` at `at`, recording `tags`.
inline StoreStatus tagLogin(StoreDriver& s, std::string_view key, std::string user, char handle,
                            std::vector<std::string> tags, TimePoint at) {
  REQUIRE(s.create(key, contractSession(), at) == StoreStatus::kOk);
  LoginInfo login = contractLogin(std::move(user), handle);
  login.tags = std::move(tags);
  return s.setIdentity(key, login, at);
}

// What OpenID Connect needs of a server-side store: claims (refresh lock,
// jti replay, one-use state), tags (back-channel logout by sid or sub) and
// room for sesame's own data fields.
inline void runOidcContract(StoreDriver& s, TimePoint t0) {
  const Millis minute(60'000);

  SECTION("claim: taken once, held until released or expired") {
    CHECK(s.claim("refresh:k1", minute, t0) == StoreStatus::kOk);
    CHECK(s.claim("refresh:k1", minute, t0 + 1) == StoreStatus::kRejected);
    CHECK(s.claim("refresh:k2", minute, t0 + 1) == StoreStatus::kOk);
    REQUIRE(s.release("refresh:k1") == StoreStatus::kOk);
    CHECK(s.claim("refresh:k1", minute, t0 + 2) == StoreStatus::kOk);
    CHECK(s.claim("refresh:k1", minute, t0 + 3) == StoreStatus::kRejected);
    // Releasing what nobody holds is no error.
    CHECK(s.release("refresh:nobody") == StoreStatus::kOk);
    CHECK(s.claim("refresh:k2", minute, t0 + 3) == StoreStatus::kRejected);
  }

  SECTION("claim: free again once its ttl has passed") {
    REQUIRE(s.claim("jti:abc", Millis(50), t0) == StoreStatus::kOk);
    CHECK(s.claim("jti:abc", Millis(50), t0 + 10) == StoreStatus::kRejected);
    // Redis judges by its own clock: let real time pass as well.
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    CHECK(s.claim("jti:abc", Millis(50), t0 + 150) == StoreStatus::kOk);
    CHECK(s.claim("jti:abc", Millis(50), t0 + 160) == StoreStatus::kRejected);
  }

  SECTION("claim: names are bounded, never cut") {
    const std::string longest(kMaxClaimNameBytes, 'n');
    CHECK(s.claim(longest, minute, t0) == StoreStatus::kOk);
    CHECK(s.claim(longest, minute, t0) == StoreStatus::kRejected);
    // One byte more is refused, not cut to the name above (which is held).
    CHECK(s.claim(longest + "x", minute, t0) == StoreStatus::kRejected);
    CHECK(s.claim("", minute, t0) == StoreStatus::kRejected);
    CHECK(s.claim(std::string("state:\0\xff\n", 9), minute, t0) == StoreStatus::kOk);
    CHECK(s.release(longest) == StoreStatus::kOk);
    CHECK(s.claim(longest, minute, t0) == StoreStatus::kOk);
  }

  SECTION("destroyTagged ends every session carrying the tag, only those") {
    REQUIRE(tagLogin(s, "a", "alice", '1', {"oidc-sid:p:s1", "oidc-sub:p:alice"}, t0) ==
            StoreStatus::kOk);
    REQUIRE(tagLogin(s, "b", "alice", '2', {"oidc-sid:p:s1"}, t0) == StoreStatus::kOk);
    REQUIRE(tagLogin(s, "c", "alice", '3', {"oidc-sid:p:s2", "oidc-sub:p:alice"}, t0) ==
            StoreStatus::kOk);
    REQUIRE(tagLogin(s, "d", "bob", '4', {}, t0) == StoreStatus::kOk);
    REQUIRE(s.create("anon", contractSession(), t0) == StoreStatus::kOk);

    REQUIRE(s.destroyTagged("oidc-sid:p:s1") == StoreStatus::kOk);
    CHECK_FALSE(s.alive("a", t0 + 1));
    CHECK_FALSE(s.alive("b", t0 + 1));
    for (const char* key : {"c", "d", "anon"}) CHECK(s.alive(key, t0 + 1));
    // Their handles and user index went with them.
    CHECK(s.handles("alice", t0 + 1) == std::vector<std::string>{contractHandle('3')});
    CHECK(s.destroyHandle(contractHandle('1')) == StoreStatus::kMissing);
    CHECK(s.destroyTagged("oidc-sid:p:s1") == StoreStatus::kOk);
    CHECK(s.destroyTagged("oidc-sid:p:none") == StoreStatus::kOk);
    CHECK(s.destroyTagged("") == StoreStatus::kOk);
    // By sub: every session of that subject left.
    REQUIRE(s.destroyTagged("oidc-sub:p:alice") == StoreStatus::kOk);
    CHECK_FALSE(s.alive("c", t0 + 2));
    CHECK(s.alive("d", t0 + 2));
  }

  SECTION("tags: recorded sorted and once; create() records none") {
    REQUIRE(tagLogin(s, "a", "alice", '1', {"t2", "t1", "t2"}, t0) == StoreStatus::kOk);
    CHECK(s.load("a", t0 + 1).session->tags == std::vector<std::string>{"t1", "t2"});
    Session tagged = contractSession("bob");
    tagged.tags = {"t1"};
    REQUIRE(s.create("b", tagged, t0) == StoreStatus::kOk);
    CHECK(s.load("b", t0 + 1).session->tags.empty());
    REQUIRE(s.destroyTagged("t1") == StoreStatus::kOk);
    CHECK_FALSE(s.alive("a", t0 + 2));
    CHECK(s.alive("b", t0 + 2));
  }

  SECTION("tags: a logout leaves nothing that disturbs a later destroyTagged") {
    REQUIRE(tagLogin(s, "a", "alice", '1', {"oidc-sub:p:alice"}, t0) == StoreStatus::kOk);
    REQUIRE(tagLogin(s, "b", "alice", '2', {"oidc-sub:p:alice"}, t0) == StoreStatus::kOk);
    REQUIRE(s.destroy("a") == StoreStatus::kOk);
    REQUIRE(s.destroyUser("alice") == StoreStatus::kOk);
    CHECK_FALSE(s.alive("b", t0 + 1));
    // The same key logged in again, anonymous then tagged anew.
    REQUIRE(tagLogin(s, "a", "alice", '3', {"oidc-sub:p:alice"}, t0 + 2) == StoreStatus::kOk);
    REQUIRE(s.create("b", contractSession(), t0 + 2) == StoreStatus::kOk);
    REQUIRE(s.destroyTagged("oidc-sub:p:alice") == StoreStatus::kOk);
    CHECK_FALSE(s.alive("a", t0 + 3));
    CHECK(s.alive("b", t0 + 3));  // an anonymous session under a key once tagged
  }

  SECTION("tags: a rotated session stays reachable by its tags") {
    REQUIRE(tagLogin(s, "a", "alice", '1', {"oidc-sid:p:s1"}, t0) == StoreStatus::kOk);
    REQUIRE(s.rotate("a", "a2", t0 + 1) == StoreStatus::kOk);
    CHECK(s.load("a2", t0 + 2).session->tags == std::vector<std::string>{"oidc-sid:p:s1"});
    REQUIRE(s.destroyTagged("oidc-sid:p:s1") == StoreStatus::kOk);
    CHECK_FALSE(s.alive("a2", t0 + 3));
    CHECK_FALSE(s.alive("a", t0 + 3));
  }

  SECTION("tags: a new login replaces them; another user's login keeps none") {
    REQUIRE(tagLogin(s, "a", "alice", '1', {"oidc-sid:p:s1", "oidc-sub:p:alice"}, t0) ==
            StoreStatus::kOk);
    LoginInfo bob = contractLogin("bob", '2');
    bob.tags = {"oidc-sub:p:bob"};
    REQUIRE(s.setIdentity("a", bob, t0 + 1) == StoreStatus::kOk);
    CHECK(s.load("a", t0 + 2).session->tags == std::vector<std::string>{"oidc-sub:p:bob"});
    REQUIRE(s.destroyTagged("oidc-sid:p:s1") == StoreStatus::kOk);
    REQUIRE(s.destroyTagged("oidc-sub:p:alice") == StoreStatus::kOk);
    REQUIRE(s.alive("a", t0 + 3));
    // The same user again, with fewer tags: the dropped one reaches nothing.
    LoginInfo again = contractLogin("bob", '3');
    again.tags = {"oidc-sid:p:s9"};
    REQUIRE(s.setIdentity("a", again, t0 + 4) == StoreStatus::kOk);
    REQUIRE(s.destroyTagged("oidc-sub:p:bob") == StoreStatus::kOk);
    REQUIRE(s.alive("a", t0 + 5));
    REQUIRE(s.destroyTagged("oidc-sid:p:s9") == StoreStatus::kOk);
    CHECK_FALSE(s.alive("a", t0 + 5));
  }

  SECTION("tags: too many or too long and the login is refused, changing nothing") {
    REQUIRE(s.create("a", contractSession(), t0) == StoreStatus::kOk);
    const auto refused = [&](std::vector<std::string> tags) {
      LoginInfo login = contractLogin("alice", '1');
      login.tags = std::move(tags);
      return s.setIdentity("a", login, t0 + 1) == StoreStatus::kRejected;
    };
    CHECK(refused({std::string(LoginInfo::kMaxTagBytes + 1, 't')}));
    CHECK(refused({""}));
    CHECK(refused(std::vector<std::string>(LoginInfo::kMaxTags + 1, "same")));
    std::vector<std::string> nine;
    for (size_t i = 0; i <= LoginInfo::kMaxTags; ++i) nine.push_back("t" + std::to_string(i));
    CHECK(refused(nine));
    CHECK(s.load("a", t0 + 2).session->user.empty());
    std::vector<std::string> most(nine.begin(), nine.end() - 1);
    most[0] = std::string(LoginInfo::kMaxTagBytes, 'x');
    REQUIRE(tagLogin(s, "b", "alice", '2', most, t0 + 3) == StoreStatus::kOk);
    CHECK(s.load("b", t0 + 4).session->tags.size() == LoginInfo::kMaxTags);
    REQUIRE(s.destroyTagged(most[0]) == StoreStatus::kOk);
    CHECK_FALSE(s.alive("b", t0 + 5));
  }

  SECTION("sesame's own data fields: stored, bounded apart from the application's") {
    REQUIRE(tagLogin(s, "a", "alice", '1', {}, t0) == StoreStatus::kOk);
    // The application filled its whole share first.
    const std::string big(MemoryStore::kMaxDataBytes / 2 - 16, 'v');
    Update app;
    app.set = {{"big1", big}, {"big2", big}};
    REQUIRE(s.update("a", app, t0 + 1) == StoreStatus::kOk);
    // An ID, an access and a refresh token of 4 KiB each still fit.
    const std::string token(4096, 'e');
    Update tokens;
    tokens.set = {{".oidc.id_token", token},
                  {".oidc.access_token", token},
                  {".oidc.refresh_token", token},
                  {".oidc.state", "st"}};
    REQUIRE(s.update("a", tokens, t0 + 2) == StoreStatus::kOk);
    const auto loaded = s.load("a", t0 + 3);
    REQUIRE(loaded.status == StoreStatus::kOk);
    CHECK(loaded.session->data.at(".oidc.refresh_token") == token);
    CHECK(loaded.session->data.at(".oidc.state") == "st");
    CHECK(loaded.session->data.at("big1") == big);
    // Beyond sesame's share: refused whole, never cut.
    Update over;
    over.set = {{".oidc.huge", std::string(MemoryStore::kMaxInternalBytes, 'h')}};
    CHECK(s.update("a", over, t0 + 4) == StoreStatus::kRejected);
    CHECK(s.load("a", t0 + 5).session->data.count(".oidc.huge") == 0);
    // And the application cannot spend sesame's share.
    Update more;
    more.set = {{"big3", big}};
    CHECK(s.update("a", more, t0 + 6) == StoreStatus::kRejected);
    // A rotation carries them.
    REQUIRE(s.rotate("a", "a2", t0 + 7) == StoreStatus::kOk);
    CHECK(s.load("a2", t0 + 8).session->data.at(".oidc.id_token") == token);
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
  if (harness.administers) runOidcContract(s, t0);
}

}  // namespace sesame::session::testing
