#include "sesame/session/redis_store.h"

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "login_text.h"
#include "redis_call.h"
#include "redis_connection.h"
#include "redis_record.h"
#include "redis_scripts.h"
#include "sesame/base/log.h"
#include "sesame/session/memory_store.h"

namespace sesame::session {

using redis::appendFields;
using redis::encodeGroups;
using redis::kDataPrefix;
using redis::parseSession;
using redis::str;
using redis::unacceptable;

namespace {

// The string elements of an array reply from `first` on.
std::vector<std::string> strings(const redisReply* reply, size_t first) {
  std::vector<std::string> out;
  for (size_t i = first; i < reply->elements; ++i) out.emplace_back(str(reply->element[i]));
  return out;
}

std::string sha1Hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha1(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    char byte[3];
    std::snprintf(byte, sizeof byte, "%02x", digest[i]);
    hex += byte;
  }
  return hex;
}

// In ScriptId order.
std::vector<redis::Script> makeScripts() {
  std::vector<redis::Script> scripts;
  for (auto [name, body] : {std::pair{"load", redis::kLoadBody},
                            {"put", redis::kPutBody},
                            {"take", redis::kTakeBody},
                            {"update", redis::kUpdateBody},
                            {"identity", redis::kIdentityBody},
                            {"destroy-if", redis::kDestroyIfBody},
                            {"failures", redis::kFailuresBody},
                            {"add-failure", redis::kAddFailureBody},
                            {"forgive-failure", redis::kForgiveFailureBody}}) {
    scripts.push_back(redis::Script{name, body, sha1Hex(body)});
  }
  return scripts;
}

class CallTicket final : public Ticket {
 public:
  explicit CallTicket(std::shared_ptr<RedisStore::Call> call) : call_(std::move(call)) {}
  ~CallTicket() override;

 private:
  std::shared_ptr<RedisStore::Call> call_;
};

}  // namespace

CallTicket::~CallTicket() {
  // Drops the callback and what it captured; the commands still complete.
  call_->done = nullptr;
  call_->load_done = nullptr;
  call_->list_done = nullptr;
  call_->count_done = nullptr;
}

RedisStore::RedisStore(event_base* loop, Clock& clock, const RedisSettings& settings,
                       const Timeouts& timeouts, size_t max_pending)
    : settings_(settings),
      timeouts_(timeouts),
      scripts_(makeScripts()),
      connection_(
          std::make_unique<redis::Connection>(loop, clock, settings_, scripts_, max_pending)) {}

RedisStore::~RedisStore() = default;

bool RedisStore::connected() const {
  return connection_->ready();
}

std::string RedisStore::sessionKey(std::string_view key) const {
  return settings_.key_prefix + "s:" + std::string(key);
}

std::string_view RedisStore::sessionKeyInPlace(std::string_view key) {
  key_buffer_.assign(settings_.key_prefix);
  key_buffer_.append("s:");
  key_buffer_.append(key);
  return key_buffer_;
}

std::string RedisStore::userKey(std::string_view user) const {
  return settings_.key_prefix + "u:" + std::string(user);
}

std::string RedisStore::handleKey(std::string_view handle) const {
  return settings_.key_prefix + "handle:" + std::string(handle);
}

std::string RedisStore::failureKey(std::string_view key) const {
  return settings_.key_prefix + "f:" + std::string(key);
}

std::string RedisStore::tagKey(std::string_view tag) const {
  return settings_.key_prefix + "tag:" + std::string(tag);
}

std::string RedisStore::claimKey(std::string_view name) const {
  return settings_.key_prefix + "claim:" + std::string(name);
}

std::shared_ptr<RedisStore::Call> RedisStore::begin(Done done, LoadDone load_done,
                                                    TicketPtr& ticket) {
  auto call = std::make_shared<Call>();
  call->done = std::move(done);
  call->load_done = std::move(load_done);
  ticket = std::make_unique<CallTicket>(call);
  ++in_flight_;
  return call;
}

bool RedisStore::settle(const std::shared_ptr<Call>& call) {
  if (call->settled) return false;
  call->settled = true;
  --in_flight_;
  return true;
}

void RedisStore::finish(const std::shared_ptr<Call>& call, StoreStatus status,
                        const Session* session) {
  if (!settle(call)) return;
  // Moved out first: the callback may start another call, or drop its ticket.
  if (Done done = std::move(call->done)) done(status);
  if (LoadDone done = std::move(call->load_done)) done(status, session);
  if (ListDone done = std::move(call->list_done)) done(status, nullptr);
  if (CountDone done = std::move(call->count_done)) done(status, Failures{});
}

void RedisStore::finishList(const std::shared_ptr<Call>& call,
                            const std::vector<SessionSummary>& sessions) {
  if (!settle(call)) return;
  if (ListDone done = std::move(call->list_done)) done(StoreStatus::kOk, &sessions);
}

void RedisStore::finishCount(const std::shared_ptr<Call>& call, Failures failures) {
  if (!settle(call)) return;
  if (CountDone done = std::move(call->count_done)) done(StoreStatus::kOk, failures);
}

bool RedisStore::admitted(const std::shared_ptr<Call>& call) {
  if (connection_->admit()) return true;
  connection_->defer([this, call] { finish(call, StoreStatus::kUnavailable, nullptr); });
  return false;
}

std::vector<std::string> RedisStore::expiryArgs(TimePoint now) const {
  return {std::to_string(now), std::to_string(timeouts_.idle.count()),
          std::to_string(timeouts_.absolute.count())};
}

void RedisStore::badRecord(const std::shared_ptr<Call>& call, std::string_view key, const char* why,
                           TimePoint now) {
  noteBadRecord(key, why, now);
  finish(call, StoreStatus::kMissing, nullptr);
}

void RedisStore::noteBadRecord(std::string_view key, const char* why, TimePoint now) {
  // One line a minute per worker: whoever can write Redis can write many.
  if (bad_records_logged_at_ != 0 && now - bad_records_logged_at_ < kBadRecordLogInterval) {
    ++bad_records_unlogged_;
  } else {
    LOG_WARN(
        "redis %s: session hash %s holds %s, which sesame never writes; treated as no session "
        "(%zu more such reads since the last message): check what else writes to this Redis "
        "under key_prefix \"%s\"",
        settings_.address.c_str(), sessionKey(key).c_str(), why, bad_records_unlogged_,
        settings_.key_prefix.c_str());
    bad_records_logged_at_ = now;
    bad_records_unlogged_ = 0;
  }
}

void RedisStore::reportError(std::string_view what, const redisReply* reply) {
  std::string text(what);
  if (reply != nullptr && reply->type == REDIS_REPLY_ERROR) {
    text += ": " + std::string(str(reply).substr(0, 200));
  }
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  if (text == last_error_) return;
  last_error_ = text;
  LOG_WARN_LIMITED("redis %s: %s (the request fails closed)", settings_.address.c_str(),
                   text.c_str());
}

std::function<void(const redisReply*)> RedisStore::step(const std::shared_ptr<Batch>& batch) {
  ++batch->left;
  return [this, batch](const redisReply* reply) {
    if (reply == nullptr || reply->type == REDIS_REPLY_ERROR) {
      if (reply != nullptr) reportError("a session command failed", reply);
      batch->status = StoreStatus::kUnavailable;
    }
    if (--batch->left == 0) complete(batch);
  };
}

void RedisStore::complete(const std::shared_ptr<Batch>& batch) {
  StoreStatus status = batch->status;
  if (status == StoreStatus::kOk && batch->missing_unless_destroyed && batch->destroyed == 0) {
    status = StoreStatus::kMissing;
  }
  finish(batch->call, status, nullptr);
}

std::function<void(const redisReply*)> RedisStore::destroyStep(const std::shared_ptr<Batch>& batch,
                                                               std::string key) {
  ++batch->left;
  return [this, batch, key = std::move(key)](const redisReply* r) {
    if (r == nullptr || r->type == REDIS_REPLY_ERROR) {
      if (r != nullptr) reportError("destroying a session failed", r);
      batch->status = StoreStatus::kUnavailable;
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
               std::all_of(r->element, r->element + r->elements,
                           [](const redisReply* e) { return e->type == REDIS_REPLY_STRING; })) {
      ++batch->destroyed;
      unindex(str(r->element[0]), key, str(r->element[1]), strings(r, 2), batch);
    }
    if (--batch->left == 0) complete(batch);
  };
}

void RedisStore::indexUser(std::string_view user, std::string_view key, std::string_view handle,
                           const std::vector<std::string>& tags,
                           const std::shared_ptr<Batch>& batch) {
  const std::string absolute = std::to_string(timeouts_.absolute.count());
  connection_->command({"SADD", userKey(user), std::string(key)}, step(batch));
  connection_->command({"PEXPIRE", userKey(user), absolute}, step(batch));
  for (const std::string& tag : tags) {
    connection_->command({"SADD", tagKey(tag), std::string(key)}, step(batch));
    connection_->command({"PEXPIRE", tagKey(tag), absolute}, step(batch));
  }
  // The session lives at most `absolute` from this login, and so may its handle.
  if (!handle.empty()) {
    connection_->command({"SET", handleKey(handle), std::string(key), "PX", absolute}, step(batch));
  }
}

void RedisStore::unindex(std::string_view user, std::string_view key, std::string_view handle,
                         const std::vector<std::string>& tags,
                         const std::shared_ptr<Batch>& batch) {
  if (!user.empty()) connection_->command({"SREM", userKey(user), std::string(key)}, step(batch));
  for (const std::string& tag : tags) {
    connection_->command({"SREM", tagKey(tag), std::string(key)}, step(batch));
  }
  if (!handle.empty()) connection_->command({"DEL", handleKey(handle)}, step(batch));
}

void RedisStore::remember(std::string_view key, const Session& session, TimePoint now,
                          uint64_t generation) {
  if (settings_.cache.count() == 0 || generation != cache_generation_) return;
  if (std::any_of(session.data.begin(), session.data.end(),
                  [](const auto& field) { return isInternalDataKey(field.first); })) {
    return;
  }
  // Bounded: past kMaxCached sessions it starts again (each costs a Redis
  // read again, as with no cache).
  if (cache_.size() >= kMaxCached) cache_.clear();
  cache_.insert_or_assign(std::string(key), Cached{std::make_shared<const Session>(session), now});
}

void RedisStore::forget(std::string_view key) {
  if (settings_.cache.count() == 0) return;
  ++cache_generation_;
  if (auto it = cache_.find(key); it != cache_.end()) cache_.erase(it);
}

void RedisStore::forgetAll() {
  if (settings_.cache.count() == 0) return;
  ++cache_generation_;
  cache_.clear();
}

TicketPtr RedisStore::load(std::string_view key, TimePoint now, LoadDone done) {
  if (auto it = cache_.find(key); it != cache_.end()) {
    const Cached& cached = it->second;
    const Session& s = *cached.session;
    // Judged against `now` like a read from Redis: a session whose idle
    // or absolute timeout passed is asked for again (and deleted there),
    // and one due for its idle-timeout refresh is read (and touched) there.
    if (now >= cached.fetched && now - cached.fetched < settings_.cache.count() &&
        now - s.touched < timeouts_.touch_interval.count() &&
        now - s.touched < timeouts_.idle.count() && now - s.created < timeouts_.absolute.count()) {
      // The callback may reach forget() (a login rotates the key).
      const std::shared_ptr<const Session> keep = cached.session;
      done(StoreStatus::kOk, keep.get());
      return nullptr;
    }
    cache_.erase(it);
  }
  TicketPtr ticket;
  auto call = begin(nullptr, std::move(done), ticket);
  if (!admitted(call)) return ticket;
  const uint64_t generation = cache_generation_;
  connection_->command({"HGETALL", sessionKeyInPlace(key)}, [this, call, key = std::string(key),
                                                             now, generation](const redisReply* r) {
    if (r == nullptr) return finish(call, StoreStatus::kUnavailable, nullptr);
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 0) {
      return finish(call, StoreStatus::kMissing, nullptr);
    }
    if (r->type != REDIS_REPLY_ARRAY) {
      reportError("load: unexpected reply", r);
      return finish(call, StoreStatus::kUnavailable, nullptr);
    }
    Session session;
    // A hash that does not parse (say, without its times) is the
    // script's to judge, and to delete.
    bool parsed = parseSession(r, session);
    if (parsed) {
      if (const char* why = unacceptable(session)) {
        return badRecord(call, key, why, now);
      }
    }
    bool fresh = parsed && now - session.touched < timeouts_.touch_interval.count() &&
                 now - session.touched < timeouts_.idle.count() &&
                 now - session.created < timeouts_.absolute.count();
    if (fresh) {
      remember(key, session, now, generation);
      return finish(call, StoreStatus::kOk, &session);
    }
    loadScripted(call, key, now, generation);
  });
  return ticket;
}

void RedisStore::loadScripted(const std::shared_ptr<Call>& call, std::string_view key,
                              TimePoint now, uint64_t generation) {
  std::vector<std::string> args = expiryArgs(now);
  args.insert(args.begin(), sessionKey(key));
  args.push_back(std::to_string(timeouts_.touch_interval.count()));
  connection_->script(scripts_[redis::kLoad], std::move(args), 1,
                      [this, call, key = std::string(key), now, generation](const redisReply* r) {
                        if (r == nullptr) return finish(call, StoreStatus::kUnavailable, nullptr);
                        if (r->type == REDIS_REPLY_INTEGER)
                          return finish(call, StoreStatus::kMissing, nullptr);
                        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
                            r->element[0]->type != REDIS_REPLY_INTEGER) {
                          reportError("load: unexpected reply", r);
                          return finish(call, StoreStatus::kUnavailable, nullptr);
                        }
                        Session session;
                        if (!parseSession(r->element[1], session)) {
                          return badRecord(call, key,
                                           "fields that do not parse (user, groups or times)", now);
                        }
                        if (const char* why = unacceptable(session))
                          return badRecord(call, key, why, now);
                        if (r->element[0]->integer == 1) ++touch_writes_;
                        remember(key, session, now, generation);
                        finish(call, StoreStatus::kOk, &session);
                      });
}

TicketPtr RedisStore::create(std::string_view key, const Session& session, TimePoint now,
                             Done done) {
  forget(key);
  TicketPtr ticket;
  auto call = begin(std::move(done), nullptr, ticket);
  // What load() would refuse to read back is not written (sesame's own
  // sessions always pass; see unacceptable()).
  if (unacceptable(session) != nullptr) {
    connection_->defer([this, call] { finish(call, StoreStatus::kRejected, nullptr); });
    return ticket;
  }
  if (!admitted(call)) return ticket;
  Session stored = session;
  stored.created = now;
  stored.touched = now;
  stored.nonce.clear();  // the cookie store's alone
  stored.tags.clear();   // a login records them
  std::vector<std::string> args{
      sessionKey(key), std::to_string(std::min(timeouts_.idle, timeouts_.absolute).count())};
  appendFields(args, stored);
  auto batch = std::make_shared<Batch>(Batch{call});
  connection_->script(scripts_[redis::kPut], std::move(args), 1, step(batch));
  if (!stored.user.empty()) indexUser(stored.user, key, stored.handle, {}, batch);
  return ticket;
}

TicketPtr RedisStore::rotate(std::string_view old_key, std::string_view new_key, TimePoint now,
                             Done done) {
  forget(old_key);
  forget(new_key);
  TicketPtr ticket;
  auto call = begin(std::move(done), nullptr, ticket);
  if (!admitted(call)) return ticket;
  std::vector<std::string> args = expiryArgs(now);
  args.insert(args.begin(), sessionKey(old_key));
  connection_->script(scripts_[redis::kTake], std::move(args), 1,
                      [this, call, from = std::string(old_key), to = std::string(new_key),
                       now](const redisReply* r) { onTaken(call, from, to, now, r); });
  return ticket;
}

void RedisStore::onTaken(const std::shared_ptr<Call>& call, const std::string& old_key,
                         const std::string& new_key, TimePoint now, const redisReply* reply) {
  if (reply == nullptr) return finish(call, StoreStatus::kUnavailable, nullptr);
  if (reply->type == REDIS_REPLY_INTEGER) return finish(call, StoreStatus::kMissing, nullptr);
  if (reply->type != REDIS_REPLY_ARRAY) {
    reportError("rotate: unexpected reply", reply);
    return finish(call, StoreStatus::kUnavailable, nullptr);
  }
  // Taken (deleted) already: a bad hash is not carried to the new key.
  Session session;
  if (!parseSession(reply, session)) {
    return badRecord(call, old_key, "fields that do not parse (user, groups or times)", now);
  }
  if (const char* why = unacceptable(session)) return badRecord(call, old_key, why, now);
  // The handle named the old ID; the login that follows records the new one.
  const std::string old_handle = std::exchange(session.handle, std::string());
  // Written even when the ticket was dropped meanwhile: the old key is gone.
  const TimePoint ends = std::min(session.touched + timeouts_.idle.count(),
                                  session.created + timeouts_.absolute.count());
  std::vector<std::string> args{sessionKey(new_key),
                                std::to_string(std::max<TimePoint>(ends - now, 1))};
  appendFields(args, session);
  auto batch = std::make_shared<Batch>(Batch{call});
  connection_->script(scripts_[redis::kPut], std::move(args), 1, step(batch));
  if (!session.user.empty()) indexUser(session.user, new_key, "", session.tags, batch);
  unindex(session.user, old_key, old_handle, session.tags, batch);
}

TicketPtr RedisStore::update(std::string_view key, const Update& update, TimePoint now, Done done) {
  forget(key);
  TicketPtr ticket;
  auto call = begin(std::move(done), nullptr, ticket);
  if (!admitted(call)) return ticket;
  std::vector<std::string> args = expiryArgs(now);
  args.insert(args.begin(), sessionKey(key));
  args.push_back(std::to_string(MemoryStore::kMaxFields));
  args.push_back(std::to_string(MemoryStore::kMaxDataBytes));
  args.push_back(std::to_string(MemoryStore::kMaxInternalFields));
  args.push_back(std::to_string(MemoryStore::kMaxInternalBytes));
  args.push_back(std::to_string(update.set.size()));
  for (const auto& [name, value] : update.set) {
    args.push_back(std::string(kDataPrefix) + name);
    args.push_back(value);
  }
  for (const std::string& name : update.unset) args.push_back(std::string(kDataPrefix) + name);
  connection_->script(scripts_[redis::kUpdate], std::move(args), 1,
                      [this, call](const redisReply* r) {
                        if (r == nullptr) return finish(call, StoreStatus::kUnavailable, nullptr);
                        if (r->type != REDIS_REPLY_INTEGER) {
                          reportError("update: unexpected reply", r);
                          return finish(call, StoreStatus::kUnavailable, nullptr);
                        }
                        finish(call,
                               r->integer == 1   ? StoreStatus::kOk
                               : r->integer == 0 ? StoreStatus::kMissing
                                                 : StoreStatus::kRejected,
                               nullptr);
                      });
  return ticket;
}

TicketPtr RedisStore::setIdentity(std::string_view key, const LoginInfo& login, TimePoint now,
                                  Done done) {
  forget(key);
  TicketPtr ticket;
  auto call = begin(std::move(done), nullptr, ticket);
  Session recorded;
  recordLogin(recorded, login);
  // What load() would refuse to read back is not written (see create()).
  if (!tagsWithinBounds(login.tags) || unacceptable(recorded) != nullptr) {
    connection_->defer([this, call] { finish(call, StoreStatus::kRejected, nullptr); });
    return ticket;
  }
  if (!admitted(call)) return ticket;
  std::vector<std::string> args = expiryArgs(now);
  args.insert(args.begin(), sessionKey(key));
  args.push_back(recorded.user);
  args.push_back(encodeGroups(recorded.groups));
  args.push_back(recorded.method);
  args.push_back(recorded.handle);
  args.push_back(recorded.address);
  args.push_back(recorded.agent);
  args.insert(args.end(), recorded.tags.begin(), recorded.tags.end());
  connection_->script(
      scripts_[redis::kIdentity], std::move(args), 1,
      [this, call, key = std::string(key), user = login.user, handle = login.handle,
       tags = recorded.tags](const redisReply* r) {
        if (r == nullptr) return finish(call, StoreStatus::kUnavailable, nullptr);
        if (r->type == REDIS_REPLY_INTEGER) return finish(call, StoreStatus::kMissing, nullptr);
        if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
            !std::all_of(r->element + 1, r->element + r->elements,
                         [](const redisReply* e) { return e->type == REDIS_REPLY_STRING; })) {
          reportError("setIdentity: unexpected reply", r);
          return finish(call, StoreStatus::kUnavailable, nullptr);
        }
        const std::string_view previous = str(r->element[1]);
        const std::string_view previous_handle = str(r->element[2]);
        // The tags of the previous login go unless this one has them too
        // (the login of another user keeps none of them).
        std::vector<std::string> retired = strings(r, 3);
        std::erase_if(retired, [&tags](const std::string& tag) {
          return std::binary_search(tags.begin(), tags.end(), tag);
        });
        auto batch = std::make_shared<Batch>(Batch{call});
        ++batch->left;  // held until every command is queued
        unindex(previous != user ? previous : "", key,
                previous_handle != handle ? previous_handle : "", retired, batch);
        if (!user.empty()) indexUser(user, key, handle, tags, batch);
        if (--batch->left == 0) complete(batch);
      });
  return ticket;
}

TicketPtr RedisStore::destroy(std::string_view key, Done done) {
  forget(key);
  TicketPtr ticket;
  auto call = begin(std::move(done), nullptr, ticket);
  if (!admitted(call)) return ticket;
  auto batch = std::make_shared<Batch>(Batch{call});
  connection_->script(scripts_[redis::kDestroyIf], {sessionKey(key)}, 1,
                      destroyStep(batch, std::string(key)));
  return ticket;
}

TicketPtr RedisStore::destroyUser(std::string_view user, Done done) {
  forgetAll();
  TicketPtr ticket;
  auto call = begin(std::move(done), nullptr, ticket);
  if (!admitted(call)) return ticket;
  connection_->command(
      {"SMEMBERS", userKey(user)}, [this, call, user = std::string(user)](const redisReply* r) {
        if (r == nullptr) return finish(call, StoreStatus::kUnavailable, nullptr);
        if (r->type != REDIS_REPLY_ARRAY) {
          reportError("destroyUser: unexpected reply", r);
          return finish(call, StoreStatus::kUnavailable, nullptr);
        }
        if (r->elements == 0) return finish(call, StoreStatus::kOk, nullptr);
        auto batch = std::make_shared<Batch>(Batch{call});
        // SREM of the members read, not DEL of the set: a login indexed
        // meanwhile keeps its entry. Members whose session is gone go too.
        std::vector<std::string> srem{"SREM", userKey(user)};
        for (size_t i = 0; i < r->elements; ++i) {
          const redisReply* member = r->element[i];
          if (member->type != REDIS_REPLY_STRING) continue;
          connection_->script(scripts_[redis::kDestroyIf], {sessionKey(str(member)), "user", user},
                              1, destroyStep(batch, std::string(str(member))));
          srem.emplace_back(str(member));
        }
        connection_->command(std::move(srem), step(batch));
      });
  return ticket;
}

}  // namespace sesame::session
