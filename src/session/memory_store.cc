#include "sesame/session/memory_store.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "login_text.h"
#include "sesame/base/log.h"

namespace sesame::session {
namespace {

constexpr TimePoint kFullLogInterval = 60'000;

}  // namespace

bool withinDataBounds(const std::map<std::string, std::string>& data) {
  size_t fields = 0;
  size_t bytes = 0;
  size_t internal_fields = 0;
  size_t internal_bytes = 0;
  for (const auto& [name, value] : data) {
    const bool internal = isInternalDataKey(name);
    ++(internal ? internal_fields : fields);
    (internal ? internal_bytes : bytes) += name.size() + value.size();
  }
  return fields <= MemoryStore::kMaxFields && bytes <= MemoryStore::kMaxDataBytes &&
         internal_fields <= MemoryStore::kMaxInternalFields &&
         internal_bytes <= MemoryStore::kMaxInternalBytes;
}

MemoryStore::MemoryStore(size_t max_sessions, Timeouts timeouts, size_t shards,
                         size_t max_failure_keys, size_t max_claims)
    : shards_(shards),
      user_shards_(shards),
      handle_shards_(shards),
      tag_shards_(shards),
      max_failure_keys_(max_failure_keys),
      max_claims_(max_claims) {
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

void MemoryStore::indexHandle(const Session& session, std::string_view key) {
  if (session.user.empty() || session.handle.empty()) return;
  HandleShard& shard = handleShardFor(session.handle);
  std::lock_guard lock(shard.mutex);
  shard.keys.insert_or_assign(session.handle, std::string(key));
}

void MemoryStore::unindexHandle(const Session& session, std::string_view key) {
  if (session.user.empty() || session.handle.empty()) return;
  HandleShard& shard = handleShardFor(session.handle);
  std::lock_guard lock(shard.mutex);
  // Only while it still names this session's key.
  auto it = shard.keys.find(session.handle);
  if (it != shard.keys.end() && it->second == key) shard.keys.erase(it);
}

void MemoryStore::indexTags(const Session& session, std::string_view key) {
  if (session.user.empty()) return;
  for (const std::string& tag : session.tags) {
    TagShard& shard = tagShardFor(tag);
    std::lock_guard lock(shard.mutex);
    auto it = shard.keys.find(tag);
    if (it == shard.keys.end()) it = shard.keys.emplace(tag, KeySet{}).first;
    it->second.emplace(key);
  }
}

void MemoryStore::unindexTags(const Session& session, std::string_view key) {
  if (session.user.empty()) return;
  for (const std::string& tag : session.tags) {
    TagShard& shard = tagShardFor(tag);
    std::lock_guard lock(shard.mutex);
    auto it = shard.keys.find(tag);
    if (it == shard.keys.end()) continue;
    if (auto k = it->second.find(key); k != it->second.end()) it->second.erase(k);
    if (it->second.empty()) shard.keys.erase(it);
  }
}

void MemoryStore::markUsedLocked(Shard& shard, std::string_view key, Entry& entry) {
  entry.used = next_use_.fetch_add(1, std::memory_order_relaxed);
  lruOf(shard, *entry.session).emplace(entry.used, std::string(key));
}

void MemoryStore::eraseLocked(Shard& shard, SessionMap::iterator it) {
  unindexUser(it->second.session->user, it->first);
  unindexHandle(*it->second.session, it->first);
  unindexTags(*it->second.session, it->first);
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
  stored->nonce.clear();  // the cookie store's alone
  stored->tags.clear();   // a login records them
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
      indexHandle(*stored, key);
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
      if (!moved.session->handle.empty()) {
        // The handle named the old ID; the login that follows records the new one.
        auto unnamed = std::make_shared<Session>(*moved.session);
        unnamed->handle.clear();
        moved.session = std::move(unnamed);
      }
      if (auto old = to.sessions.find(new_key); old != to.sessions.end()) eraseLocked(to, old);
      // A rotation is a login: it may take a logged-in session's place.
      static_cast<void>(makeRoomLocked(to, true));
      auto it = to.sessions.emplace(std::string(new_key), moved).first;
      markUsedLocked(to, new_key, it->second);
      indexUser(moved.session->user, new_key);
      indexTags(*moved.session, new_key);
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

TicketPtr MemoryStore::setIdentity(std::string_view key, const LoginInfo& login, TimePoint now,
                                   Done done) {
  if (!tagsWithinBounds(login.tags)) {
    done(StoreStatus::kRejected);
    return nullptr;
  }
  StoreStatus status = StoreStatus::kMissing;
  {
    Shard& shard = shardFor(key);
    std::lock_guard lock(shard.mutex);
    if (Entry* entry = findLiveLocked(shard, key, now); entry != nullptr) {
      auto changed = std::make_shared<Session>(*entry->session);
      unindexHandle(*changed, key);
      unindexTags(*changed, key);
      if (changed->user != login.user) {
        unindexUser(changed->user, key);
        indexUser(login.user, key);
      }
      recordLogin(*changed, login);
      indexHandle(*changed, key);
      indexTags(*changed, key);
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
  {
    std::lock_guard lock(failure_table_.mutex);
    auto& windows = failure_table_.windows;
    while (!windows.empty() && windows.begin()->first <= now) {
      eraseCounterLocked(failure_table_.counters.find(windows.begin()->second));
    }
  }
  std::lock_guard lock(claim_table_.mutex);
  sweepClaimsLocked(now);
}

std::vector<MemoryStore::Listed> MemoryStore::listLive(std::string_view user, TimePoint now) {
  KeySet keys;
  {
    UserShard& users = userShardFor(user);
    std::lock_guard lock(users.mutex);
    if (auto it = users.keys.find(user); it != users.keys.end()) keys = it->second;
  }
  // The user shard is released before any session shard is locked (lock
  // order); a session that changed user meanwhile is skipped.
  std::vector<Listed> listed;
  for (const std::string& key : keys) {
    Shard& shard = shardFor(key);
    std::lock_guard lock(shard.mutex);
    const Entry* entry = findLiveLocked(shard, key, now);
    if (entry != nullptr && entry->session->user == user) {
      listed.push_back(Listed{key, summaryOf(*entry->session)});
    }
  }
  std::sort(listed.begin(), listed.end(), [](const Listed& a, const Listed& b) {
    return std::tie(a.summary.login, a.summary.handle, a.key) <
           std::tie(b.summary.login, b.summary.handle, b.key);
  });
  return listed;
}

TicketPtr MemoryStore::listUser(std::string_view user, TimePoint now, ListDone done) {
  std::vector<SessionSummary> sessions;
  for (Listed& listed : listLive(user, now)) sessions.push_back(std::move(listed.summary));
  done(StoreStatus::kOk, &sessions);
  return nullptr;
}

TicketPtr MemoryStore::destroyHandle(std::string_view handle, Done done) {
  std::string key;
  {
    HandleShard& handles = handleShardFor(handle);
    std::lock_guard lock(handles.mutex);
    if (auto it = handles.keys.find(handle); it != handles.keys.end()) key = it->second;
  }
  StoreStatus status = StoreStatus::kMissing;
  if (!key.empty()) {
    // Released first (lock order); checked again under the session's lock.
    Shard& shard = shardFor(key);
    std::lock_guard lock(shard.mutex);
    auto it = shard.sessions.find(key);
    if (it != shard.sessions.end() && it->second.session->handle == handle &&
        !it->second.session->user.empty()) {
      eraseLocked(shard, it);
      status = StoreStatus::kOk;
    }
  }
  done(status);
  return nullptr;
}

TicketPtr MemoryStore::trimUser(std::string_view user, size_t keep, TimePoint now, Done done) {
  std::vector<Listed> listed = listLive(user, now);
  const size_t excess = listed.size() > keep ? listed.size() - keep : 0;
  for (size_t i = 0; i < excess; ++i) {
    const Listed& oldest = listed[i];
    Shard& shard = shardFor(oldest.key);
    std::lock_guard lock(shard.mutex);
    // Only the login that was listed: a session that logged in again since
    // is newer than the ones kept.
    auto it = shard.sessions.find(oldest.key);
    if (it != shard.sessions.end() && it->second.session->user == user &&
        it->second.session->login == oldest.summary.login) {
      eraseLocked(shard, it);
    }
  }
  done(StoreStatus::kOk);
  return nullptr;
}

MemoryStore::Counter* MemoryStore::liveCounterLocked(std::string_view key, TimePoint now) {
  auto it = failure_table_.counters.find(key);
  if (it == failure_table_.counters.end()) return nullptr;
  if (it->second.ends <= now) {
    eraseCounterLocked(it);
    return nullptr;
  }
  return &it->second;
}

void MemoryStore::eraseCounterLocked(decltype(FailureTable::counters)::iterator it) {
  failure_table_.windows.erase(it->second.at);
  failure_table_.counters.erase(it);
}

Failures MemoryStore::highestLocked(const std::vector<std::string>& keys, TimePoint now) {
  Failures highest;
  for (const std::string& key : keys) {
    const Counter* counter = liveCounterLocked(key, now);
    if (counter == nullptr) continue;
    const Millis rest(counter->ends - now);
    if (counter->count > highest.count ||
        (counter->count == highest.count && rest > highest.retry_after)) {
      highest = Failures{counter->count, rest};
    }
  }
  return highest;
}

TicketPtr MemoryStore::failures(const std::vector<std::string>& keys, TimePoint now,
                                CountDone done) {
  Failures highest;
  {
    std::lock_guard lock(failure_table_.mutex);
    highest = highestLocked(keys, now);
  }
  done(StoreStatus::kOk, highest);
  return nullptr;
}

TicketPtr MemoryStore::addFailure(const std::vector<std::string>& keys, Millis window,
                                  TimePoint now, CountDone done) {
  Failures highest;
  size_t evicted = 0;
  {
    std::lock_guard lock(failure_table_.mutex);
    auto& counters = failure_table_.counters;
    auto& windows = failure_table_.windows;
    for (const std::string& key : keys) {
      if (Counter* counter = liveCounterLocked(key, now); counter != nullptr) {
        ++counter->count;
        continue;
      }
      // Ended windows first, then the one that ends first.
      while (counters.size() >= max_failure_keys_ && !windows.empty()) {
        if (windows.begin()->first > now) ++evicted;
        eraseCounterLocked(counters.find(windows.begin()->second));
      }
      const TimePoint ends = now + window.count();
      auto it = counters.emplace(key, Counter{1, ends, {}}).first;
      it->second.at = windows.emplace(ends, it->first);
    }
    highest = highestLocked(keys, now);
  }
  if (evicted != 0) {
    failure_evictions_.fetch_add(evicted, std::memory_order_relaxed);
    LOG_WARN_LIMITED(
        "memory session store: the brute-force counter table is full (%zu keys); dropped the "
        "%zu window(s) ending first (%zu so far): many user names or client addresses are "
        "failing to log in, which looks like a distributed password-guessing attack",
        max_failure_keys_, evicted, failureEvictions());
  }
  done(StoreStatus::kOk, highest);
  return nullptr;
}

TicketPtr MemoryStore::forgiveFailure(const std::vector<std::string>& keys, TimePoint now,
                                      CountDone done) {
  Failures highest;
  {
    std::lock_guard lock(failure_table_.mutex);
    for (const std::string& key : keys) {
      Counter* counter = liveCounterLocked(key, now);
      if (counter == nullptr) continue;
      if (--counter->count == 0) eraseCounterLocked(failure_table_.counters.find(key));
    }
    highest = highestLocked(keys, now);
  }
  done(StoreStatus::kOk, highest);
  return nullptr;
}

TicketPtr MemoryStore::clearFailures(std::string_view key, Done done) {
  {
    std::lock_guard lock(failure_table_.mutex);
    auto it = failure_table_.counters.find(key);
    if (it != failure_table_.counters.end()) eraseCounterLocked(it);
  }
  done(StoreStatus::kOk);
  return nullptr;
}

void MemoryStore::sweepClaimsLocked(TimePoint now) {
  auto& ends = claim_table_.ends;
  while (!ends.empty() && ends.begin()->first <= now) {
    claim_table_.names.erase(claim_table_.names.find(ends.begin()->second));
    ends.erase(ends.begin());
  }
}

TicketPtr MemoryStore::claim(std::string_view name, Millis ttl, TimePoint now, Done done) {
  if (name.empty() || name.size() > kMaxClaimNameBytes) {
    done(StoreStatus::kRejected);
    return nullptr;
  }
  StoreStatus status = StoreStatus::kOk;
  {
    std::lock_guard lock(claim_table_.mutex);
    auto& names = claim_table_.names;
    auto it = names.find(name);
    if (it != names.end() && it->second->first > now) {
      status = StoreStatus::kRejected;
    } else {
      if (it != names.end()) {
        claim_table_.ends.erase(it->second);
        names.erase(it);
      }
      if (names.size() >= max_claims_) sweepClaimsLocked(now);
      if (names.size() >= max_claims_) {
        status = StoreStatus::kUnavailable;
      } else {
        it = names.emplace(std::string(name), claim_table_.ends.end()).first;
        it->second = claim_table_.ends.emplace(now + std::max<int64_t>(ttl.count(), 1), it->first);
      }
    }
  }
  if (status == StoreStatus::kUnavailable) {
    claims_refused_.fetch_add(1, std::memory_order_relaxed);
    TimePoint last = claims_full_logged_at_.load(std::memory_order_relaxed);
    if ((last == 0 || now - last >= kFullLogInterval) &&
        claims_full_logged_at_.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
      LOG_WARN(
          "memory session store: the claim table is full (%zu live claims: refresh locks, "
          "logout token IDs, OIDC states); %zu claims refused so far, so those sign-ins, "
          "refreshes or logouts fail until claims end (logged at most once a minute)",
          max_claims_, claimsRefused());
    }
  }
  done(status);
  return nullptr;
}

TicketPtr MemoryStore::release(std::string_view name, Done done) {
  {
    std::lock_guard lock(claim_table_.mutex);
    if (auto it = claim_table_.names.find(name); it != claim_table_.names.end()) {
      claim_table_.ends.erase(it->second);
      claim_table_.names.erase(it);
    }
  }
  done(StoreStatus::kOk);
  return nullptr;
}

TicketPtr MemoryStore::destroyTagged(std::string_view tag, Done done) {
  KeySet keys;
  {
    TagShard& tags = tagShardFor(tag);
    std::lock_guard lock(tags.mutex);
    if (auto it = tags.keys.find(tag); it != tags.keys.end()) keys = it->second;
  }
  // The tag shard is released before any session shard is locked (lock
  // order); a session that logged in again since without the tag stays.
  for (const std::string& key : keys) {
    Shard& shard = shardFor(key);
    std::lock_guard lock(shard.mutex);
    auto it = shard.sessions.find(key);
    if (it == shard.sessions.end()) continue;
    const Session& session = *it->second.session;
    if (!session.user.empty() &&
        std::binary_search(session.tags.begin(), session.tags.end(), tag)) {
      eraseLocked(shard, it);
    }
  }
  done(StoreStatus::kOk);
  return nullptr;
}

size_t MemoryStore::claims() const {
  std::lock_guard lock(claim_table_.mutex);
  return claim_table_.names.size();
}

size_t MemoryStore::failureKeys() const {
  std::lock_guard lock(failure_table_.mutex);
  return failure_table_.counters.size();
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
