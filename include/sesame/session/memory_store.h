// The embedded session store: in-process, shared by every worker, bounded,
// lost on restart.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "sesame/session/store.h"

namespace sesame::session {

// Every call completes before it returns (the returned TicketPtr is null) and
// its callback runs with no lock held, so a callback may call the store again.
// Sessions are spread over shards by a hash of the key, one mutex each, so
// workers rarely wait for each other. Stored sessions are immutable snapshots
// (copy on write): a load hands out a reference, never a copy.
//
// Bounds: at most ceil(max_sessions / shards) sessions per shard. Creating
// or rotating into a full shard evicts the shard's least recently used
// anonymous session; logged-in sessions are never evicted to make room for
// an anonymous one, so a flood of cookieless clients (each write to a new
// anonymous session stores one) cannot log anybody out. When the shard
// holds only logged-in sessions, a new anonymous one is refused (kRejected:
// its data is not kept, the client stays anonymous), while a login (a
// create() of a session with a user, or a rotate(), which the request path
// uses only at login) evicts the least recently used logged-in session:
// refusing logins would lock out every new user until sessions expire.
// "Used" is the creation, a login, a rotation, or an idle-timeout refresh
// written by load() (at most one per touch_interval, so the order costs a
// load nothing in between). Evictions are counted (evictions()) and logged
// at most once a minute.
//
// A session's data may hold at most kMaxFields fields and kMaxDataBytes
// bytes of keys plus values set by the application, and apart from those
// kMaxInternalFields fields and kMaxInternalBytes bytes of sesame's own
// (isInternalDataKey: an OpenID Connect login keeps an ID, an access and a
// refresh token of up to 4 KiB each there), so that an application's data
// never crowds out a login's tokens: create() and update() refuse more
// with kRejected and change nothing.
//
// Logged-in sessions are indexed by user and, once they have a handle, by
// handle, for the admin calls, and by each of their tags (destroyTagged). Brute-force counters live
// apart from the sessions, in one table of at most `max_failure_keys` keys under its own mutex
// (logins are rare next to requests). Their keys come from clients (any user name, any address), so
// the table is bounded: a new key in a full table first drops the windows that have ended, then the
// window that ends first (the counter that would have protected least longer). Those evictions are
// counted (failureEvictions()) and logged, rate-limited.
//
// Claims (claim(), release()) live in a table of their own of at most
// `max_claims` names, under its own mutex. Unlike a brute-force counter, a
// live claim is never dropped to make room: that would let a logout token
// or an OIDC state be used twice, or two refreshes run at once. A claim
// in a table still full of live claims once the ended ones are gone
// answers kUnavailable (fail closed), counted (claimsRefused()) and
// logged at most once a minute.
class MemoryStore final : public Store {
 public:
  static constexpr size_t kDefaultShards = 16;
  static constexpr size_t kMaxFields = 256;
  static constexpr size_t kMaxDataBytes = 64 * 1024;
  static constexpr size_t kMaxInternalFields = 32;
  static constexpr size_t kMaxInternalBytes = 32 * 1024;
  static constexpr size_t kDefaultMaxFailureKeys = 100'000;
  static constexpr size_t kDefaultMaxClaims = 100'000;

  // `max_sessions` >= 1; `shards` >= 1 (tests use 1 to observe global order);
  // `max_failure_keys` >= 1; `max_claims` >= 1.
  MemoryStore(size_t max_sessions, Timeouts timeouts, size_t shards = kDefaultShards,
              size_t max_failure_keys = kDefaultMaxFailureKeys,
              size_t max_claims = kDefaultMaxClaims);
  ~MemoryStore() override;
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  [[nodiscard]] TicketPtr load(std::string_view key, TimePoint now, LoadDone done) override;
  [[nodiscard]] TicketPtr create(std::string_view key, const Session& session, TimePoint now,
                                 Done done) override;
  // Overwrites a session already under `new_key` (a 256-bit ID collision).
  // Counts as a login for eviction: it may evict a logged-in session.
  [[nodiscard]] TicketPtr rotate(std::string_view old_key, std::string_view new_key, TimePoint now,
                                 Done done) override;
  // Applies `set` in order, then `unset`; kMissing if the session is gone.
  [[nodiscard]] TicketPtr update(std::string_view key, const Update& update, TimePoint now,
                                 Done done) override;
  // Also refreshes `touched`: a login is activity.
  [[nodiscard]] TicketPtr setIdentity(std::string_view key, const LoginInfo& login, TimePoint now,
                                      Done done) override;
  // kOk whether or not the session existed (logging out twice is not an error).
  [[nodiscard]] TicketPtr destroy(std::string_view key, Done done) override;
  [[nodiscard]] TicketPtr destroyUser(std::string_view user, Done done) override;
  // Also drops the failure windows and the claims that have ended.
  void sweep(TimePoint now) override;

  // Expired sessions met on the way are dropped, as load() drops them.
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
  // Judged by `now`: a claim whose ttl has passed is free.
  [[nodiscard]] TicketPtr claim(std::string_view name, Millis ttl, TimePoint now,
                                Done done) override;
  [[nodiscard]] TicketPtr release(std::string_view name, Done done) override;
  [[nodiscard]] TicketPtr destroyTagged(std::string_view tag, Done done) override;

  size_t size() const;
  // A reload: the new bounds and timeouts apply to every call from now on,
  // to the sessions already stored too. A smaller max_sessions evicts on
  // the next create into a full shard, not at once. Thread-safe.
  void reconfigure(size_t max_sessions, Timeouts timeouts);
  // Idle-timeout refreshes written by load() (touch throttling is observable).
  size_t touchWrites() const { return touch_writes_.load(std::memory_order_relaxed); }
  // Sessions dropped to respect max_sessions, in all and of them logged in;
  // and new anonymous sessions refused because their shard held only
  // logged-in ones. Totals since the store was made (it survives reloads).
  size_t evictions() const { return evictedAnonymous() + evictedLoggedIn(); }
  size_t evictedAnonymous() const { return evicted_anonymous_.load(std::memory_order_relaxed); }
  size_t evictedLoggedIn() const { return evicted_logged_in_.load(std::memory_order_relaxed); }
  size_t refusedAnonymous() const { return refused_.load(std::memory_order_relaxed); }
  // Failure keys held now, and live windows dropped to respect max_failure_keys.
  size_t failureKeys() const;
  size_t failureEvictions() const { return failure_evictions_.load(std::memory_order_relaxed); }
  // Names claimed now (ended claims not yet swept included), and claims
  // refused because the table was full of live ones.
  size_t claims() const;
  size_t claimsRefused() const { return claims_refused_.load(std::memory_order_relaxed); }

 private:
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
  };
  using KeySet = std::unordered_set<std::string, KeyHash, std::equal_to<>>;

  struct Entry {
    std::shared_ptr<const Session> session;
    uint64_t used;  // last use, the key of this session in its shard's LRU map
  };
  using Lru = std::map<uint64_t, std::string>;  // last use -> key; first: least recent
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, Entry, KeyHash, std::equal_to<>> sessions;
    Lru anonymous;  // sessions without a user, evicted first
    Lru logged_in;
  };
  // user -> keys of that user's sessions, sharded by user. Lock order: a
  // session shard first, then a user shard; never the other way round.
  struct UserShard {
    std::mutex mutex;
    std::unordered_map<std::string, KeySet, KeyHash, std::equal_to<>> keys;
  };
  using SessionMap = decltype(Shard::sessions);
  // handle -> key of a logged-in session, sharded by handle. Lock order: a
  // session shard, then a user shard, then a handle shard.
  struct HandleShard {
    std::mutex mutex;
    std::unordered_map<std::string, std::string, KeyHash, std::equal_to<>> keys;
  };
  // tag -> keys of the logged-in sessions carrying it, sharded by tag. Lock
  // order: a session shard, then a tag shard (never with a user or handle
  // shard held).
  struct TagShard {
    std::mutex mutex;
    std::unordered_map<std::string, KeySet, KeyHash, std::equal_to<>> keys;
  };
  // Claimed names and when each claim ends; `ends` files them by that time.
  struct ClaimTable {
    mutable std::mutex mutex;
    // Node-based: the views in `ends` point at these names.
    std::unordered_map<std::string, std::multimap<TimePoint, std::string_view>::iterator, KeyHash,
                       std::equal_to<>>
        names;
    std::multimap<TimePoint, std::string_view> ends;  // first: ends first
  };
  // One brute-force key's window; `at` files it in `windows` by its end.
  struct Counter {
    int64_t count = 0;
    TimePoint ends = 0;
    std::multimap<TimePoint, std::string_view>::iterator at;
  };
  struct FailureTable {
    mutable std::mutex mutex;
    // Node-based: the views in `windows` point at these keys.
    std::unordered_map<std::string, Counter, KeyHash, std::equal_to<>> counters;
    std::multimap<TimePoint, std::string_view> windows;  // end -> key; first: ends first
  };
  // A listed session: what trimUser needs to find it again and order it.
  struct Listed {
    std::string key;
    SessionSummary summary;
  };

  Shard& shardFor(std::string_view key) { return shards_[KeyHash{}(key) % shards_.size()]; }
  UserShard& userShardFor(std::string_view user) {
    return user_shards_[KeyHash{}(user) % user_shards_.size()];
  }
  bool expired(const Session& session, TimePoint now) const;
  HandleShard& handleShardFor(std::string_view handle) {
    return handle_shards_[KeyHash{}(handle) % handle_shards_.size()];
  }
  void indexUser(std::string_view user, std::string_view key);
  void unindexUser(std::string_view user, std::string_view key);
  // Both no-ops for an anonymous session or one without a handle.
  void indexHandle(const Session& session, std::string_view key);
  void unindexHandle(const Session& session, std::string_view key);
  // Both no-ops for an anonymous session.
  void indexTags(const Session& session, std::string_view key);
  void unindexTags(const Session& session, std::string_view key);
  TagShard& tagShardFor(std::string_view tag) {
    return tag_shards_[KeyHash{}(tag) % tag_shards_.size()];
  }
  // Drops the claims that have ended by `now`; the table's lock is held.
  void sweepClaimsLocked(TimePoint now);
  // The user's live sessions, oldest login first (ties by handle).
  std::vector<Listed> listLive(std::string_view user, TimePoint now);
  // The live window under `key`, dropping it if it has ended; the table's
  // lock is held.
  Counter* liveCounterLocked(std::string_view key, TimePoint now);
  void eraseCounterLocked(decltype(FailureTable::counters)::iterator it);
  // The highest count among `keys` and its window's rest; the lock is held.
  Failures highestLocked(const std::vector<std::string>& keys, TimePoint now);
  static Lru& lruOf(Shard& shard, const Session& session) {
    return session.user.empty() ? shard.anonymous : shard.logged_in;
  }
  // Files `entry` (of `key`) as used now; it must not be filed already.
  void markUsedLocked(Shard& shard, std::string_view key, Entry& entry);
  // Takes `entry` out of its LRU map.
  void unmarkLocked(Shard& shard, const Entry& entry) {
    lruOf(shard, *entry.session).erase(entry.used);
  }
  // Removes an entry and its index entries; the shard's lock is held.
  void eraseLocked(Shard& shard, SessionMap::iterator it);
  // Makes room for one more session, anonymous ones going first; a
  // logged-in one goes only `for_login`. False when the shard is full and
  // nothing may go. The shard's lock is held.
  [[nodiscard]] bool makeRoomLocked(Shard& shard, bool for_login);
  // The once-a-minute warning about evictions and refusals.
  void reportFull(TimePoint now);
  // Looks `key` up, dropping it if expired; the shard's lock is held.
  Entry* findLiveLocked(Shard& shard, std::string_view key, TimePoint now);

  std::vector<Shard> shards_;
  std::vector<UserShard> user_shards_;
  std::vector<HandleShard> handle_shards_;
  std::vector<TagShard> tag_shards_;
  FailureTable failure_table_;
  const size_t max_failure_keys_;
  std::atomic<size_t> failure_evictions_{0};
  ClaimTable claim_table_;
  const size_t max_claims_;
  std::atomic<size_t> claims_refused_{0};
  std::atomic<TimePoint> claims_full_logged_at_{0};
  // Atomics only so that reconfigure() may run while workers use the store.
  std::atomic<int64_t> idle_ms_{0};
  std::atomic<int64_t> absolute_ms_{0};
  std::atomic<int64_t> touch_ms_{0};
  std::atomic<size_t> max_sessions_{1};
  std::atomic<size_t> max_per_shard_{1};
  std::atomic<uint64_t> next_use_{0};
  std::atomic<size_t> touch_writes_{0};
  std::atomic<size_t> evicted_anonymous_{0};
  std::atomic<size_t> evicted_logged_in_{0};
  std::atomic<size_t> refused_{0};
  std::atomic<TimePoint> full_logged_at_{0};
};

// Whether `data` stays within MemoryStore::kMaxFields and kMaxDataBytes for
// the application's fields and kMaxInternalFields and kMaxInternalBytes for
// sesame's own (isInternalDataKey).
bool withinDataBounds(const std::map<std::string, std::string>& data);

}  // namespace sesame::session
