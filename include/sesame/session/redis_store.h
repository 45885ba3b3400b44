// The Redis session store: sessions shared by every sesame instance that
// points at the same Redis, surviving restarts, expired by Redis itself.
//
// Transport: one pipelined connection per worker, on the worker's loop.
// hiredis 0.14 serves only as the reply reader (redisReader*) and command
// formatter (redisFormatCommandArgv); the bytes travel over sesame's own
// net::Stream, because that lets TLS to Redis, Sentinel and Cluster come
// later without a second client, on the same edge-triggered transport as
// client and upstream traffic. hiredis's async API and libevent adapter are
// not used.
//
// Layout (P = key_prefix): a session is the hash P "s:" storeKey with fields
// user, groups, created, login, touched, the login details method, handle,
// address and agent (once a login recorded them) and "d:" + name per data
// field, and a TTL of min(idle left, absolute left). The set P "u:" user
// lists the store keys of that user's sessions (for destroyUser, listUser,
// trimUser); its TTL, refreshed on every addition, is the absolute timeout,
// so it never outlives every session it names; stale members are harmless,
// and a listing removes those whose session has gone. The string
// P "handle:" handle holds the store key of the logged-in session with that
// handle (for destroyHandle), written beside the user set's entry with the
// absolute timeout as its TTL, deleted with the session (destroy,
// destroyUser, destroyHandle, trimUser) or when a rotation or a new login
// retires the handle. A login's tags are fields "t:" tag (value "1") of the
// hash, and the set P "tag:" tag lists the store keys of the sessions
// carrying it (for destroyTagged), kept like the user set: its TTL, the
// absolute timeout, refreshed on every addition; members removed when
// their session ends through sesame or logs in again without the tag;
// stale ones harmless (destroyTagged ends a member only while its hash
// still holds the tag). A brute-force counter is the string P "f:" key: the
// count, with the rest of its window as TTL (set at the first failure), so
// windows follow Redis's clock, the same for every instance, and the `now`
// of failures() and addFailure() is not used. A claim is the string
// P "claim:" name, taken with SET NX PX: Redis alone decides, for every
// instance, who holds it and until when (the `now` of claim() is not used
// either).
//
// A load is one round trip, a plain HGETALL, when the stored times show the
// session live and no refresh due: measured on this project's bench, Redis
// spends 0.9 us on an HGETALL and 8.2 us on the same read inside EVALSHA,
// and this is every request's path. Otherwise (a refresh due, at most once
// per touch_interval, or the session past a timeout by the caller's `now`)
// a second round trip runs the load script, which reads the hash again,
// judges idle and absolute expiry by the stored times (deleting an expired
// session) and writes the touch, all in one atomic step.
// Every script touches one key, never two (Redis Cluster runs a script on
// the node that owns its key), so nothing uses RENAME: rotate is one script
// that takes (reads and deletes) the old hash, then a second that writes the
// new one. Between the two replies the session exists under neither key: a
// load of the old key is kMissing, as it must be after a login, and if the
// connection fails in between the session is lost (the user logs in again)
// rather than left under the old key. setIdentity, destroy, destroyUser,
// destroyHandle, trimUser and destroyTagged likewise touch the user set,
// the tag sets and the handle key in separate commands after the session's
// script; listUser and trimUser
// read the set, then each member's times and login details (HMGET,
// pipelined).
//
// Validation: every hash read back (load, the old key of a rotation, and
// the members listUser and trimUser read) must hold only what sesame itself
// could have written: a user, groups, data keys and values as the control
// headers accept them (sesame's own fields, which never leave it, only
// within their size bounds), login details and tags within LoginInfo's
// bounds, a handle as CookieCodec spells them, within the bounds the other
// stores keep (see
// unacceptable() in redis_record.cc). Other clients of the same Redis can
// write these hashes, and their values become header values upstream; a
// hash that fails is treated as no session (kMissing; listings skip it) and
// logged, at most once a minute per worker.
//
// Failure: a call whose command gets no reply within command_timeout, or
// whose connection fails, completes with kUnavailable (fail closed, never
// kMissing); the connection is then dropped and remade with backoff from
// 100 ms doubling to 5 s. While there is no connection, calls complete with
// kUnavailable at once. At most `max_pending` commands wait for replies;
// calls beyond that get kUnavailable.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sesame/base/clock.h"
#include "sesame/session/settings.h"
#include "sesame/session/store.h"

struct redisReply;

namespace sesame::session {

namespace redis {
class Connection;
struct Script;
}  // namespace redis

// One per worker, used and destroyed on that worker's loop thread (destroy
// it after the loop has stopped: pending callbacks are then dropped, never
// run). Callbacks always run from the loop, never inside the call that
// issued them, and may call the store again. Every call returns a ticket;
// destroying it before the callback has run cancels the callback (the
// command still completes, and a rotation still writes its new key).
//
// Bounds: create() and update() refuse data beyond MemoryStore's bounds
// (withinDataBounds: kMaxFields and kMaxDataBytes for the application's
// fields, kMaxInternalFields and kMaxInternalBytes for sesame's own) with
// kRejected, checked atomically by the update script against the stored
// fields; create() and setIdentity() also refuse a session that load()
// would not read back (see Validation above).
class RedisStore final : public Store {
 public:
  static constexpr size_t kDefaultMaxPending = 10000;

  // Starts connecting at once. `settings.addr` must be filled
  // (parseRedisAddress); `timeouts` are the [session] ones. Sockets are
  // watched on `loop`; command deadlines and reconnect backoff run on
  // `clock`, which must outlive the store.
  RedisStore(event_base* loop, Clock& clock, const RedisSettings& settings,
             const Timeouts& timeouts, size_t max_pending = kDefaultMaxPending);
  ~RedisStore() override;
  RedisStore(const RedisStore&) = delete;
  RedisStore& operator=(const RedisStore&) = delete;

  // With [redis] cache, a session this store loaded less than `cache` ago
  // (by `now`) is answered again from memory, before load() returns, while
  // its timeouts have not passed and no write of this store touched it
  // since. Sessions holding sesame's own fields (an OpenID sign-in's tokens
  // and state, which a refresh must read fresh) are never kept.
  [[nodiscard]] TicketPtr load(std::string_view key, TimePoint now, LoadDone done) override;
  [[nodiscard]] TicketPtr create(std::string_view key, const Session& session, TimePoint now,
                                 Done done) override;
  [[nodiscard]] TicketPtr rotate(std::string_view old_key, std::string_view new_key, TimePoint now,
                                 Done done) override;
  [[nodiscard]] TicketPtr update(std::string_view key, const Update& update, TimePoint now,
                                 Done done) override;
  // Also refreshes `touched` and the TTL: a login is activity.
  [[nodiscard]] TicketPtr setIdentity(std::string_view key, const LoginInfo& login, TimePoint now,
                                      Done done) override;
  [[nodiscard]] TicketPtr destroy(std::string_view key, Done done) override;
  [[nodiscard]] TicketPtr destroyUser(std::string_view user, Done done) override;
  // Nothing to do: Redis expires keys itself.
  void sweep(TimePoint) override {}

  [[nodiscard]] TicketPtr listUser(std::string_view user, TimePoint now, ListDone done) override;
  [[nodiscard]] TicketPtr destroyHandle(std::string_view handle, Done done) override;
  [[nodiscard]] TicketPtr trimUser(std::string_view user, size_t keep, TimePoint now,
                                   Done done) override;
  [[nodiscard]] TicketPtr failures(const std::vector<std::string>& keys, TimePoint now,
                                   CountDone done) override;
  [[nodiscard]] TicketPtr addFailure(const std::vector<std::string>& keys, Millis window,
                                     TimePoint now, CountDone done) override;
  [[nodiscard]] TicketPtr forgiveFailure(const std::vector<std::string>& keys, TimePoint now,
                                         CountDone done) override;
  [[nodiscard]] TicketPtr clearFailures(std::string_view key, Done done) override;
  [[nodiscard]] TicketPtr claim(std::string_view name, Millis ttl, TimePoint now,
                                Done done) override;
  [[nodiscard]] TicketPtr release(std::string_view name, Done done) override;
  [[nodiscard]] TicketPtr destroyTagged(std::string_view tag, Done done) override;

  // Connected and past AUTH, SELECT and SCRIPT LOAD (for readiness checks).
  [[nodiscard]] bool connected() const;
  // Calls whose callbacks (cancelled or not) have not been settled yet.
  [[nodiscard]] size_t inFlight() const { return in_flight_; }
  // Idle-timeout refreshes written by load() (touch throttling is observable).
  [[nodiscard]] size_t touchWrites() const { return touch_writes_; }

  struct Call;  // one store call's callback and cancellation state

 private:
  struct Batch;  // a call spread over several commands
  // [redis] cache: what load() may answer without asking Redis (see there).
  static constexpr size_t kMaxCached = 4096;
  struct Cached {
    std::shared_ptr<const Session> session;
    TimePoint fetched = 0;
  };
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
  };
  // Keeps what a load read, unless a write of this store was issued since
  // the load was (`generation`).
  void remember(std::string_view key, const Session& session, TimePoint now, uint64_t generation);
  // Called as each write is issued: the key's entry goes, and loads still
  // in flight (which may have read the value before the write) are not kept.
  void forget(std::string_view key);
  void forgetAll();
  std::string sessionKey(std::string_view key) const;
  // sessionKey(key) built in a buffer the store keeps, valid until the
  // next call: load(), every request's call, then allocates nothing for it.
  std::string_view sessionKeyInPlace(std::string_view key);
  std::string userKey(std::string_view user) const;
  std::string handleKey(std::string_view handle) const;
  std::string failureKey(std::string_view key) const;
  std::string tagKey(std::string_view tag) const;
  std::string claimKey(std::string_view name) const;
  std::shared_ptr<Call> begin(Done done, LoadDone load_done, TicketPtr& ticket);
  // Marks `call` done; false if it was already.
  bool settle(const std::shared_ptr<Call>& call);
  // Runs the call's callback (a failure for list and count calls).
  void finish(const std::shared_ptr<Call>& call, StoreStatus status, const Session* session);
  void finishList(const std::shared_ptr<Call>& call, const std::vector<SessionSummary>& sessions);
  void finishCount(const std::shared_ptr<Call>& call, Failures failures);
  // Fails the call from the loop when the connection has no room.
  bool admitted(const std::shared_ptr<Call>& call);
  std::vector<std::string> expiryArgs(TimePoint now) const;
  // The atomic check-and-refresh of load(), for when the plain read found
  // a refresh due or a timeout passed.
  void loadScripted(const std::shared_ptr<Call>& call, std::string_view key, TimePoint now,
                    uint64_t generation);
  // A handler that settles one command of `batch`.
  std::function<void(const redisReply*)> step(const std::shared_ptr<Batch>& batch);
  // The handler of a destroy-if script on `key`: counts what it deleted and
  // removes its index entries.
  std::function<void(const redisReply*)> destroyStep(const std::shared_ptr<Batch>& batch,
                                                     std::string key);
  // Finishes `batch`'s call once its last command has replied.
  void complete(const std::shared_ptr<Batch>& batch);
  // Files `key` under its user, under each tag and, with a handle, the
  // handle under it.
  void indexUser(std::string_view user, std::string_view key, std::string_view handle,
                 const std::vector<std::string>& tags, const std::shared_ptr<Batch>& batch);
  // Removes those entries (each only when its name is not empty).
  void unindex(std::string_view user, std::string_view key, std::string_view handle,
               const std::vector<std::string>& tags, const std::shared_ptr<Batch>& batch);
  // A user's live sessions, oldest login first: members of the user set
  // read with HMGET. Gone ones are removed from the set; bad records are
  // logged and skipped. `then` runs with them, unless a command failed
  // (the call then completes with kUnavailable).
  struct Listed;
  void listLive(const std::shared_ptr<Call>& call, std::string_view user, TimePoint now,
                std::function<void(std::vector<Listed>&)> then);
  // failures() and addFailure(): one script per key, the highest count wins.
  TicketPtr count(const std::vector<std::string>& keys, const redis::Script& script,
                  const std::vector<std::string>& args, CountDone done);
  void onTaken(const std::shared_ptr<Call>& call, const std::string& old_key,
               const std::string& new_key, TimePoint now, const redisReply* reply);
  // Logs an unexpected reply once per distinct text (not once per request).
  void reportError(std::string_view what, const redisReply* reply);
  // Completes `call` with kMissing for a hash sesame cannot have written
  // (`why`), with a warning at most once a minute (noteBadRecord).
  void badRecord(const std::shared_ptr<Call>& call, std::string_view key, const char* why,
                 TimePoint now);
  void noteBadRecord(std::string_view key, const char* why, TimePoint now);

  const RedisSettings settings_;
  const Timeouts timeouts_;
  std::unordered_map<std::string, Cached, KeyHash, std::equal_to<>> cache_;
  uint64_t cache_generation_ = 0;
  std::vector<redis::Script> scripts_;
  std::unique_ptr<redis::Connection> connection_;
  size_t in_flight_ = 0;
  size_t touch_writes_ = 0;
  std::string last_error_;
  std::string key_buffer_;  // sessionKeyInPlace()
  static constexpr TimePoint kBadRecordLogInterval = 60'000;
  TimePoint bad_records_logged_at_ = 0;
  size_t bad_records_unlogged_ = 0;
};

}  // namespace sesame::session
