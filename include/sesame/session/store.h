// The session store contract: what the memory, Redis and (later) cookie
// stores promise, so the request path can treat them alike.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sesame::session {

using Millis = std::chrono::milliseconds;
// Wall-clock milliseconds since the epoch (sessions outlive processes, and
// two sesame instances sharing Redis must agree on times).
using TimePoint = int64_t;

inline TimePoint wallClockNow() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Session data keys that begin with '.' (".oidc.state", ".oidc.access_token")
// are sesame's own: stored through update() like any field, but never
// forwarded upstream as headers, never shown by /.sesame/session, and out
// of reach of the upstream's control headers (whose keys are
// [A-Za-z0-9_-]). They hold provider tokens and one-use values that the
// application must neither read nor forge. The cookie store refuses them
// (kRejected): sesame's own state never travels in a client's cookie.
inline bool isInternalDataKey(std::string_view key) {
  return key.starts_with('.');
}

// claim() names: up to this many bytes (a logout token's jti or an OIDC
// state comes from outside; a longer name is refused, never cut, which
// could make two names one).
inline constexpr size_t kMaxClaimNameBytes = 512;

// What setIdentity records of a login. Every store cuts `method`, `address`
// and `agent` at their bounds and turns control characters in them into '?',
// so that a long or odd User-Agent never fails a login (and nothing read
// back can split a header or a log line).
struct LoginInfo {
  static constexpr size_t kMaxMethodBytes = 32;
  static constexpr size_t kMaxAddressBytes = 64;
  static constexpr size_t kMaxAgentBytes = 256;
  static constexpr size_t kMaxTags = 8;
  static constexpr size_t kMaxTagBytes = 300;

  std::string user;
  std::vector<std::string> groups;
  std::string method;   // "app" (X-Sesame-Login), "password" (sesame's form); later "oidc"
  std::string handle;   // CookieCodec::handle of the session's ID; "" with the cookie store
  std::string address;  // the client's address at login
  std::string agent;    // its User-Agent at login
  // Names by which destroyTagged() finds the session later, such as
  // "oidc-sid:<provider>:<sid>" and "oidc-sub:<provider>:<sub>" (OpenID
  // Connect Back-Channel Logout 1.0 §2.7 ends sessions by sid or sub). At
  // most kMaxTags of 1..kMaxTagBytes bytes each, any bytes; setIdentity
  // answers kRejected beyond that (a tag cut short could name other
  // people's sessions). Duplicates count once. They replace the tags of any
  // earlier login of the session.
  std::vector<std::string> tags;
};

struct Session {
  std::string user;  // empty: anonymous
  std::vector<std::string> groups;
  std::map<std::string, std::string> data;  // sorted: identity headers in a stable order
  TimePoint created = 0;                    // creation, reset by a login (absolute timeout)
  TimePoint login = 0;                      // 0: never logged in
  TimePoint touched = 0;                    // last idle-timeout refresh written
  // As recorded by the last setIdentity (LoginInfo); empty before a login.
  // A rotation clears `handle`: it named the old ID, and the login that
  // follows records the new one.
  std::string method;
  std::string handle;
  std::string address;
  std::string agent;
  // LoginInfo::tags of the last setIdentity, sorted, without duplicates; a
  // rotation keeps them (the same login under a new ID), create() stores
  // none. Not kept by the cookie store.
  std::vector<std::string> tags;
  // Cookie store only (others leave it empty): 22 random base64url
  // characters sealed with the session from its creation, renewed by a
  // rotation. What the login form's CSRF token binds to, since a
  // cookie-store session has no ID.
  std::string nonce;
};

// One of a user's sessions as the admin API lists it.
struct SessionSummary {
  std::string handle;
  TimePoint created = 0;
  TimePoint login = 0;
  TimePoint touched = 0;
  std::string method;
  std::string address;
  std::string agent;
};

// Brute-force counters: the highest failure count among the keys asked
// about, and how long that key's window still runs (0 when count is 0).
struct Failures {
  int64_t count = 0;
  Millis retry_after{0};
};

struct Timeouts {
  Millis idle{30 * 60 * 1000};        // since the last refresh (sliding)
  Millis absolute{12 * 3600 * 1000};  // since `created`
  Millis touch_interval{60 * 1000};   // at most one refresh write per interval
};

enum class StoreStatus {
  kOk,
  kMissing,      // no such session, or it expired (and is now gone)
  kUnavailable,  // the store did not answer in time or failed: fail closed, keep the cookie
  kRejected,     // refused as too large (a bounded store keeps its bounds); claim(): held
};

// One change applied atomically per field: parallel requests that set
// different keys never lose each other's writes. Sets apply in order, then
// the unsets.
struct Update {
  std::vector<std::pair<std::string, std::string>> set;
  std::vector<std::string> unset;
};

// Returned by every store call: null when the callback already ran (memory
// store). Destroying it before completion cancels the callback (the
// connection that asked has gone); the operation itself may still complete.
class Ticket {
 public:
  virtual ~Ticket() = default;
};
using TicketPtr = std::unique_ptr<Ticket>;

// Keys are CookieCodec::storeKey values (never raw session IDs). Every call
// completes exactly once through its callback, on the calling worker's loop:
// either before the call returns (memory store) or later (Redis). Callbacks
// must not destroy the store.
class Store {
 public:
  // `session` is valid only during the call.
  using LoadDone = std::function<void(StoreStatus, const Session* session)>;
  using Done = std::function<void(StoreStatus)>;
  // `sessions` is valid only during the call (null unless kOk).
  using ListDone = std::function<void(StoreStatus, const std::vector<SessionSummary>* sessions)>;
  using CountDone = std::function<void(StoreStatus, Failures)>;

  virtual ~Store() = default;

  // The session under `key` if it has not expired (idle or absolute timeout
  // judged against the stored times and `now`, not only a native TTL; an
  // expired one is deleted); when `now - touched` reaches
  // touch_interval the refresh is written in the same step.
  [[nodiscard]] virtual TicketPtr load(std::string_view key, TimePoint now, LoadDone done) = 0;
  // Stores a new session (created, touched = now).
  [[nodiscard]] virtual TicketPtr create(std::string_view key, const Session& session,
                                         TimePoint now, Done done) = 0;
  // Moves a session to a new key, contents unchanged; the old key stops
  // working at once (login: no session fixation). kMissing if `old_key` is gone.
  [[nodiscard]] virtual TicketPtr rotate(std::string_view old_key, std::string_view new_key,
                                         TimePoint now, Done done) = 0;
  // Sets and removes data fields, each atomically.
  [[nodiscard]] virtual TicketPtr update(std::string_view key, const Update& update, TimePoint now,
                                         Done done) = 0;
  // Records a login: user, groups and the rest of `login`, login = created =
  // now. With a user and a handle, the session becomes reachable by
  // listUser, destroyHandle and trimUser (a previous handle stops working).
  [[nodiscard]] virtual TicketPtr setIdentity(std::string_view key, const LoginInfo& login,
                                              TimePoint now, Done done) = 0;
  // kOk also when the key is already gone: logging out twice is no error.
  [[nodiscard]] virtual TicketPtr destroy(std::string_view key, Done done) = 0;
  // Every session whose user is `user` ("log out everywhere").
  [[nodiscard]] virtual TicketPtr destroyUser(std::string_view user, Done done) = 0;
  // Drops expired sessions (stores without native expiry call it periodically).
  virtual void sweep(TimePoint now) = 0;

  // Session administration (the admin API, [session] max_per_user). The
  // cookie store keeps no server-side state and answers kUnavailable at once.
  //
  // The user's live sessions, oldest login first (ties by handle).
  [[nodiscard]] virtual TicketPtr listUser(std::string_view user, TimePoint now, ListDone done) = 0;
  // Ends the logged-in session with that handle; kMissing when there is none.
  [[nodiscard]] virtual TicketPtr destroyHandle(std::string_view handle, Done done) = 0;
  // Ends the user's oldest logins beyond the `keep` newest (keep 0: all of
  // them; callers skip the call for an unlimited max_per_user). kOk also
  // when nothing had to go.
  [[nodiscard]] virtual TicketPtr trimUser(std::string_view user, size_t keep, TimePoint now,
                                           Done done) = 0;

  // Brute-force counters under caller-chosen keys ("u:alice",
  // "a:192.0.2.1"), each with a fixed window that starts at its first
  // failure; the memory store or Redis, so that instances sharing Redis
  // share them. The cookie store answers kUnavailable at once.
  //
  // The counts now (Failures above); keys without a live window count 0.
  [[nodiscard]] virtual TicketPtr failures(const std::vector<std::string>& keys, TimePoint now,
                                           CountDone done) = 0;
  // Counts one failure under each key (a key without a live window starts
  // one of `window`), then answers as failures() would.
  [[nodiscard]] virtual TicketPtr addFailure(const std::vector<std::string>& keys, Millis window,
                                             TimePoint now, CountDone done) = 0;
  // Takes back one failure under each key (a counter at one goes); a
  // sign-in counts its attempt before the password is checked, so that
  // parallel guesses cannot all pass the limit, and forgives it when the
  // password was right. Answers as failures() would.
  [[nodiscard]] virtual TicketPtr forgiveFailure(const std::vector<std::string>& keys,
                                                 TimePoint now, CountDone done) = 0;
  // Forgets the key's failures (a successful login). kOk also when none.
  [[nodiscard]] virtual TicketPtr clearFailures(std::string_view key, Done done) = 0;

  // Named claims under caller-chosen names, shared by every worker and,
  // with Redis, by every instance sharing the store: the single-flight
  // lock of a token refresh, a logout token's jti that must not be
  // replayed, an OIDC state that is good for one use. The cookie store
  // answers kUnavailable at once.
  //
  // Takes `name` for `ttl` (at least 1 ms) if no live claim holds it: kOk
  // when this call took it, kRejected when a live claim holds it or the
  // name is empty or longer than kMaxClaimNameBytes, kUnavailable when the
  // store failed or is full (fail closed: treat it as held).
  [[nodiscard]] virtual TicketPtr claim(std::string_view name, Millis ttl, TimePoint now,
                                        Done done) = 0;
  // Ends the claim on `name` at once; kOk also when none holds it. A claim
  // has no owner: release only what this caller took, well within its ttl
  // (after that, the name may be someone else's).
  [[nodiscard]] virtual TicketPtr release(std::string_view name, Done done) = 0;

  // Ends every logged-in session whose last setIdentity recorded `tag`
  // (LoginInfo::tags), wherever it was made; kOk also when none. The
  // cookie store answers kUnavailable at once.
  [[nodiscard]] virtual TicketPtr destroyTagged(std::string_view tag, Done done) = 0;
};

}  // namespace sesame::session
