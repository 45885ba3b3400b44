#include "sesame/session/memory_store.h"

#include <utility>

#include "sesame/base/log.h"

namespace sesame::session {
namespace {

constexpr TimePoint kFullLogInterval = 60'000;

}  // namespace

bool withinDataBounds(const std::map<std::string, std::string>& data) {
  if (data.size() > MemoryStore::kMaxFields) return false;
  size_t bytes = 0;
  for (const auto& [name, value] : data) bytes += name.size() + value.size();
  return bytes <= MemoryStore::kMaxDataBytes;
}

MemoryStore::MemoryStore(size_t max_sessions, Timeouts timeouts, size_t shards)
    : shards_(shards), user_shards_(shards) {
  reconfigure(max_sessions, timeouts);
}

MemoryStore::~MemoryStore() = default;

void MemoryStore::reconfigure(size_t max_sessions, Timeouts timeouts) {
  idle_ms_.store(timeouts.idle.count(), std::memory_order_relaxed);
  absolute_ms_.store(timeouts.absolute.count(), std::memory_order_relaxed);
  touch_ms_.store(timeouts.touch_interval.count(), std::memory_order_relaxed);
  max_sessions_.store(max_sessions, std::memory_order_relaxed);
  max_per_shard_.store((max_sessions + shards_.size() - 1) / shards_.size(),
                       std::memory_order_relaxed);
}

bool MemoryStore::expired(const Session& session, TimePoint now) const {
  return now - session.touched >= idle_ms_.load(std::memory_order_relaxed) ||
         now - session.created >= absolute_ms_.load(std::memory_order_relaxed);
}

void MemoryStore::indexUser(std::string_view user, std::string_view key) {
  if (user.empty()) return;
  UserShard& shard = userShardFor(user);
  std::lock_guard lock(shard.mutex);
  auto it = shard.keys.find(user);
  if (it == shard.keys.end()) it = shard.keys.emplace(std::string(user), KeySet{}).first;
  it->second.emplace(key);
}

void MemoryStore::unindexUser(std::string_view user, std::string_view key) {
  if (user.empty()) return;
  UserShard& shard = userShardFor(user);
  std::lock_guard lock(shard.mutex);
  auto it = shard.keys.find(user);
  if (it == shard.keys.end()) return;
  if (auto k = it->second.find(key); k != it->second.end()) it->second.erase(k);
  if (it->second.empty()) shard.keys.erase(it);
}

void MemoryStore::markUsedLocked(Shard& shard, std::string_view key, Entry& entry) {
  entry.used = next_use_.fetch_add(1, std::memory_order_relaxed);
  lruOf(shard, *entry.session).emplace(entry.used, std::string(key));
}

void MemoryStore::eraseLocked(Shard& shard, SessionMap::iterator it) {
  unindexUser(it->second.session->user, it->first);
  unmarkLocked(shard, it->second);
  shard.sessions.erase(it);
}

bool MemoryStore::makeRoomLocked(Shard& shard, bool for_login) {
  while (shard.sessions.size() >= max_per_shard_.load(std::memory_order_relaxed)) {
    const bool anonymous = !shard.anonymous.empty();
    if (!anonymous && (!for_login || shard.logged_in.empty())) {
      if (!for_login) refused_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    Lru& lru = anonymous ? shard.anonymous : shard.logged_in;
    eraseLocked(shard, shard.sessions.find(lru.begin()->second));
    (anonymous ? evicted_anonymous_ : evicted_logged_in_).fetch_add(1, std::memory_order_relaxed);
  }
  return true;
}

void MemoryStore::reportFull(TimePoint now) {
  TimePoint last = full_logged_at_.load(std::memory_order_relaxed);
  if (last != 0 && now - last < kFullLogInterval) return;
  // One thread of those that get here logs.
  if (!full_logged_at_.compare_exchange_strong(last, now, std::memory_order_relaxed)) return;
  LOG_WARN(
      "memory session store full (max_sessions = %zu): %zu anonymous and %zu logged-in sessions "
      "evicted so far, least recently used first, and %zu new anonymous sessions refused (their "
      "shard held only logged-in ones); raise [session] max_sessions (logged at most once a "
      "minute)",
      max_sessions_.load(std::memory_order_relaxed), evictedAnonymous(), evictedLoggedIn(),
      refusedAnonymous());
}

MemoryStore::Entry* MemoryStore::findLiveLocked(Shard& shard, std::string_view key, TimePoint now) {
  auto it = shard.sessions.find(key);
  if (it == shard.sessions.end()) return nullptr;
  if (expired(*it->second.session, now)) {
    eraseLocked(shard, it);
    return nullptr;
  }
  return &it->second;
}

TicketPtr MemoryStore::load(std::string_view key, TimePoint now, LoadDone done) {
  std::shared_ptr<const Session> session;
  {
    Shard& shard = shardFor(key);
    std::lock_guard lock(shard.mutex);
    Entry* entry = findLiveLocked(shard, key, now);
    if (entry != nullptr) {
      if (now - entry->session->touched >= touch_ms_.load(std::memory_order_relaxed)) {
        auto touched = std::make_shared<Session>(*entry->session);
        touched->touched = now;
        unmarkLocked(shard, *entry);
        entry->session = std::move(touched);
        markUsedLocked(shard, key, *entry);
        touch_writes_.fetch_add(1, std::memory_order_relaxed);
      }
      session = entry->session;
    }
  }
  if (session) {
    done(StoreStatus::kOk, session.get());
  } else {
    done(StoreStatus::kMissing, nullptr);
  }
  return nullptr;
}

TicketPtr MemoryStore::create(std::string_view key, const Session& session, TimePoint now,
                              Done done) {
  if (!withinDataBounds(session.data)) {
    done(StoreStatus::kRejected);
    return nullptr;
  }
  auto stored = std::make_shared<Session>(session);
  stored->created = now;
  stored->touched = now;
  const size_t evicted = evictions();
  bool room = false;
  {
    Shard& shard = shardFor(key);
    std::lock_guard lock(shard.mutex);
    if (auto old = shard.sessions.find(key); old != shard.sessions.end()) eraseLocked(shard, old);
    room = makeRoomLocked(shard, !stored->user.empty());
    if (room) {
      auto it = shard.sessions.emplace(std::string(key), Entry{stored, 0}).first;
      markUsedLocked(shard, key, it->second);
      indexUser(stored->user, key);
    }
  }
  if (!room || evictions() != evicted) reportFull(now);
  done(room ? StoreStatus::kOk : StoreStatus::kRejected);
  return nullptr;
}

TicketPtr MemoryStore::rotate(std::string_view old_key, std::string_view new_key, TimePoint now,
                              Done done) {
  if (old_key == new_key) {
    return load(old_key, now, [&done](StoreStatus status, const Session*) { done(status); });
  }
  Shard& from = shardFor(old_key);
  Shard& to = shardFor(new_key);
  StoreStatus status = StoreStatus::kMissing;
  const size_t evicted = evictions();
  {
    // Both locks at once (std::lock avoids deadlock against a reverse rotate)
    // so the session is never visible under both keys or under neither.
    std::unique_lock from_lock(from.mutex, std::defer_lock);
    std::unique_lock to_lock(to.mutex, std::defer_lock);
    if (&from == &to) {
      from_lock.lock();
    } else {
      std::lock(from_lock, to_lock);
    }
    if (Entry* entry = findLiveLocked(from, old_key, now); entry != nullptr) {
      Entry moved = *entry;
      eraseLocked(from, from.sessions.find(old_key));
      if (auto old = to.sessions.find(new_key); old != to.sessions.end()) eraseLocked(to, old);
      // A rotation is a login: it may take a logged-in session's place.
      static_cast<void>(makeRoomLocked(to, true));
      auto it = to.sessions.emplace(std::string(new_key), moved).first;
      markUsedLocked(to, new_key, it->second);
      indexUser(moved.session->user, new_key);
      status = StoreStatus::kOk;
    }
  }
  if (evictions() != evicted) reportFull(now);
  done(status);
  return nullptr;
}

TicketPtr MemoryStore::update(std::string_view key, const Update& update, TimePoint now,
                              Done done) {
  StoreStatus status = StoreStatus::kMissing;
  {
    Shard& shard = shardFor(key);
    std::lock_guard lock(shard.mutex);
    if (Entry* entry = findLiveLocked(shard, key, now); entry != nullptr) {
      auto changed = std::make_shared<Session>(*entry->session);
      for (const auto& [name, value] : update.set) changed->data[name] = value;
      for (const auto& name : update.unset) changed->data.erase(name);
      if (withinDataBounds(changed->data)) {
        entry->session = std::move(changed);
        status = StoreStatus::kOk;
      } else {
        status = StoreStatus::kRejected;
      }
    }
  }
  done(status);
  return nullptr;
}

TicketPtr MemoryStore::setIdentity(std::string_view key, std::string_view user,
                                   const std::vector<std::string>& groups, TimePoint now,
                                   Done done) {
  StoreStatus status = StoreStatus::kMissing;
  {
    Shard& shard = shardFor(key);
    std::lock_guard lock(shard.mutex);
    if (Entry* entry = findLiveLocked(shard, key, now); entry != nullptr) {
      auto changed = std::make_shared<Session>(*entry->session);
      if (changed->user != user) {
        unindexUser(changed->user, key);
        changed->user = user;
        indexUser(changed->user, key);
      }
      changed->groups = groups;
      changed->login = now;
      changed->created = now;
      changed->touched = now;
      unmarkLocked(shard, *entry);  // possibly moving to the logged-in order
      entry->session = std::move(changed);
      markUsedLocked(shard, key, *entry);
      status = StoreStatus::kOk;
    }
  }
  done(status);
  return nullptr;
}

TicketPtr MemoryStore::destroy(std::string_view key, Done done) {
  {
    Shard& shard = shardFor(key);
    std::lock_guard lock(shard.mutex);
    if (auto it = shard.sessions.find(key); it != shard.sessions.end()) eraseLocked(shard, it);
  }
  done(StoreStatus::kOk);
  return nullptr;
}

TicketPtr MemoryStore::destroyUser(std::string_view user, Done done) {
  KeySet keys;
  {
    UserShard& users = userShardFor(user);
    std::lock_guard lock(users.mutex);
    if (auto it = users.keys.find(user); it != users.keys.end()) {
      keys = std::move(it->second);
      users.keys.erase(it);
    }
  }
  // The user shard is released before any session shard is locked (lock
  // order). A key re-indexed meanwhile by a login belongs to a session that
  // logged in after this logout, so only sessions still of `user` go.
  for (const std::string& key : keys) {
    Shard& shard = shardFor(key);
    std::lock_guard lock(shard.mutex);
    auto it = shard.sessions.find(key);
    if (it != shard.sessions.end() && it->second.session->user == user) eraseLocked(shard, it);
  }
  done(StoreStatus::kOk);
  return nullptr;
}

void MemoryStore::sweep(TimePoint now) {
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    for (auto it = shard.sessions.begin(); it != shard.sessions.end();) {
      auto next = std::next(it);
      if (expired(*it->second.session, now)) eraseLocked(shard, it);
      it = next;
    }
  }
}

size_t MemoryStore::size() const {
  size_t total = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    total += shard.sessions.size();
  }
  return total;
}

}  // namespace sesame::session
