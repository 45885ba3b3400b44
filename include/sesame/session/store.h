// The session store contract: what the memory, Redis and (later) cookie
// stores promise, so the request path can treat them alike.
#pragma once

#include <chrono>
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

struct Session {
  std::string user;  // empty: anonymous
  std::vector<std::string> groups;
  std::map<std::string, std::string> data;  // sorted: identity headers in a stable order
  TimePoint created = 0;                    // creation, reset by a login (absolute timeout)
  TimePoint login = 0;                      // 0: never logged in
  TimePoint touched = 0;                    // last idle-timeout refresh written
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
  kRejected,     // refused as too large (a bounded store keeps its bounds)
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
  // Records a login: user, groups, login = created = now.
  [[nodiscard]] virtual TicketPtr setIdentity(std::string_view key, std::string_view user,
                                              const std::vector<std::string>& groups, TimePoint now,
                                              Done done) = 0;
  // kOk also when the key is already gone: logging out twice is no error.
  [[nodiscard]] virtual TicketPtr destroy(std::string_view key, Done done) = 0;
  // Every session whose user is `user` ("log out everywhere").
  [[nodiscard]] virtual TicketPtr destroyUser(std::string_view user, Done done) = 0;
  // Drops expired sessions (stores without native expiry call it periodically).
  virtual void sweep(TimePoint now) = 0;
};

}  // namespace sesame::session
