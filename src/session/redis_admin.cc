// RedisStore's session administration (listUser, destroyHandle, trimUser,
// destroyTagged), brute-force counters and claims; the session calls are in
// redis_store.cc.
#include <hiredis/hiredis.h>

#include <algorithm>
#include <tuple>
#include <utility>

#include "login_text.h"
#include "redis_call.h"
#include "redis_connection.h"
#include "redis_record.h"
#include "redis_scripts.h"
#include "sesame/session/cookie_codec.h"
#include "sesame/session/redis_store.h"

namespace sesame::session {

using redis::kListedFields;
using redis::parseListed;
using redis::str;
using redis::unacceptable;

void RedisStore::listLive(const std::shared_ptr<Call>& call, std::string_view user, TimePoint now,
                          std::function<void(std::vector<Listed>&)> then) {
  // What the replies of one listing gather; `left` counts replies to come,
  // plus one held while the commands are issued.
  struct Gathered {
    std::string user;
    std::function<void(std::vector<Listed>&)> then;
    std::vector<Listed> live;
    std::vector<std::string> gone;
    size_t left = 1;
    bool failed = false;
  };
  auto gathered = std::make_shared<Gathered>();
  gathered->user = user;
  gathered->then = std::move(then);
  const auto replied = [this, call, gathered] {
    if (--gathered->left != 0) return;
    if (gathered->failed) return finish(call, StoreStatus::kUnavailable, nullptr);
    std::sort(gathered->live.begin(), gathered->live.end(), [](const Listed& a, const Listed& b) {
      return std::tie(a.session.login, a.session.handle, a.key) <
             std::tie(b.session.login, b.session.handle, b.key);
    });
    if (gathered->gone.empty()) return gathered->then(gathered->live);
    // Members whose session has gone (expired, or a failure between a
    // destroy's two commands) leave the set before the answer.
    std::vector<std::string> srem{"SREM", userKey(gathered->user)};
    srem.insert(srem.end(), gathered->gone.begin(), gathered->gone.end());
    connection_->command(std::move(srem), [this, call, gathered](const redisReply* r) {
      if (r == nullptr || r->type == REDIS_REPLY_ERROR) {
        if (r != nullptr) reportError("removing gone sessions from a user's set failed", r);
        return finish(call, StoreStatus::kUnavailable, nullptr);
      }
      gathered->then(gathered->live);
    });
  };
  connection_->command(
      {"SMEMBERS", userKey(user)}, [this, call, gathered, replied, now](const redisReply* r) {
        if (r == nullptr) return finish(call, StoreStatus::kUnavailable, nullptr);
        if (r->type != REDIS_REPLY_ARRAY) {
          reportError("listing a user's sessions: unexpected reply", r);
          return finish(call, StoreStatus::kUnavailable, nullptr);
        }
        for (size_t i = 0; i < r->elements; ++i) {
          if (r->element[i]->type != REDIS_REPLY_STRING) continue;
          std::string key(str(r->element[i]));
          std::vector<std::string> hmget{"HMGET", sessionKey(key)};
          hmget.insert(hmget.end(), kListedFields.begin(), kListedFields.end());
          ++gathered->left;
          connection_->command(std::move(hmget), [this, gathered, replied, key = std::move(key),
                                                  now](const redisReply* v) {
            if (v == nullptr || v->type == REDIS_REPLY_ERROR) {
              if (v != nullptr) reportError("reading a listed session failed", v);
              gathered->failed = true;
              return replied();
            }
            Session session;
            bool gone = false;
            if (!parseListed(v, session, gone)) {
              if (gone) {
                gathered->gone.push_back(key);
              } else {
                noteBadRecord(key, "fields that do not parse (times)", now);
              }
            } else if (const char* why = unacceptable(session)) {
              noteBadRecord(key, why, now);
            } else if (session.user == gathered->user &&
                       now - session.touched < timeouts_.idle.count() &&
                       now - session.created < timeouts_.absolute.count()) {
              // Another user's since (a login on that browser), or expired by
              // the caller's clock: not listed, and Redis drops it soon enough.
              gathered->live.push_back(Listed{key, std::move(session)});
            }
            replied();
          });
        }
        replied();
      });
}

TicketPtr RedisStore::listUser(std::string_view user, TimePoint now, ListDone done) {
  TicketPtr ticket;
  auto call = begin(nullptr, nullptr, ticket);
  call->list_done = std::move(done);
  if (!admitted(call)) return ticket;
  listLive(call, user, now, [this, call](std::vector<Listed>& live) {
    std::vector<SessionSummary> sessions;
    sessions.reserve(live.size());
    for (const Listed& listed : live) sessions.push_back(summaryOf(listed.session));
    finishList(call, sessions);
  });
  return ticket;
}

TicketPtr RedisStore::destroyHandle(std::string_view handle, Done done) {
  forgetAll();
  TicketPtr ticket;
  auto call = begin(std::move(done), nullptr, ticket);
  if (!CookieCodec::isHandle(handle)) {
    // Names no key sesame writes.
    connection_->defer([this, call] { finish(call, StoreStatus::kMissing, nullptr); });
    return ticket;
  }
  if (!admitted(call)) return ticket;
  connection_->command(
      {"GET", handleKey(handle)}, [this, call, handle = std::string(handle)](const redisReply* r) {
        if (r == nullptr) return finish(call, StoreStatus::kUnavailable, nullptr);
        if (r->type == REDIS_REPLY_NIL) return finish(call, StoreStatus::kMissing, nullptr);
        if (r->type != REDIS_REPLY_STRING) {
          reportError("destroyHandle: unexpected reply", r);
          return finish(call, StoreStatus::kUnavailable, nullptr);
        }
        auto batch = std::make_shared<Batch>(Batch{call});
        batch->missing_unless_destroyed = true;
        const std::string key(str(r));
        // Only while the session still has this handle.
        connection_->script(scripts_[redis::kDestroyIf], {sessionKey(key), "handle", handle}, 1,
                            destroyStep(batch, key));
        // A handle names one session ID, never another: whatever the script
        // found, this entry has nothing left to name.
        connection_->command({"DEL", handleKey(handle)}, step(batch));
      });
  return ticket;
}

TicketPtr RedisStore::trimUser(std::string_view user, size_t keep, TimePoint now, Done done) {
  forgetAll();
  TicketPtr ticket;
  auto call = begin(std::move(done), nullptr, ticket);
  if (!admitted(call)) return ticket;
  listLive(call, user, now,
           [this, call, user = std::string(user), keep](std::vector<Listed>& live) {
             if (live.size() <= keep) return finish(call, StoreStatus::kOk, nullptr);
             auto batch = std::make_shared<Batch>(Batch{call});
             ++batch->left;  // held until every command is queued
             for (size_t i = 0; i + keep < live.size(); ++i) {
               // Only the login that was listed: one that logged in again since, on
               // this or another instance, is newer than those kept.
               connection_->script(scripts_[redis::kDestroyIf],
                                   {sessionKey(live[i].key), "user", user, "login",
                                    std::to_string(live[i].session.login)},
                                   1, destroyStep(batch, live[i].key));
             }
             if (--batch->left == 0) complete(batch);
           });
  return ticket;
}

TicketPtr RedisStore::count(const std::vector<std::string>& keys, const redis::Script& script,
                            const std::vector<std::string>& args, CountDone done) {
  TicketPtr ticket;
  auto call = begin(nullptr, nullptr, ticket);
  call->count_done = std::move(done);
  if (keys.empty()) {
    connection_->defer([this, call] { finishCount(call, Failures{}); });
    return ticket;
  }
  if (!admitted(call)) return ticket;
  struct Tally {
    size_t left = 0;
    Failures highest;
    bool failed = false;
  };
  auto tally = std::make_shared<Tally>();
  tally->left = keys.size();
  for (const std::string& key : keys) {
    std::vector<std::string> argv{failureKey(key)};
    argv.insert(argv.end(), args.begin(), args.end());
    connection_->script(script, std::move(argv), 1, [this, call, tally](const redisReply* r) {
      if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
          r->element[0]->type != REDIS_REPLY_INTEGER ||
          r->element[1]->type != REDIS_REPLY_INTEGER) {
        if (r != nullptr) reportError("a brute-force counter script failed", r);
        tally->failed = true;
      } else {
        const Failures failures{r->element[0]->integer, Millis(r->element[1]->integer)};
        const Failures& highest = tally->highest;
        if (failures.count > highest.count ||
            (failures.count == highest.count && failures.retry_after > highest.retry_after)) {
          tally->highest = failures;
        }
      }
      if (--tally->left != 0) return;
      if (tally->failed) return finish(call, StoreStatus::kUnavailable, nullptr);
      finishCount(call, tally->highest);
    });
  }
  return ticket;
}

TicketPtr RedisStore::failures(const std::vector<std::string>& keys, TimePoint, CountDone done) {
  return count(keys, scripts_[redis::kFailures], {}, std::move(done));
}

TicketPtr RedisStore::addFailure(const std::vector<std::string>& keys, Millis window, TimePoint,
                                 CountDone done) {
  // PX refuses 0: a window always lasts a little.
  const int64_t ms = std::max<int64_t>(window.count(), 1);
  return count(keys, scripts_[redis::kAddFailure], {std::to_string(ms)}, std::move(done));
}

TicketPtr RedisStore::forgiveFailure(const std::vector<std::string>& keys, TimePoint,
                                     CountDone done) {
  return count(keys, scripts_[redis::kForgiveFailure], {}, std::move(done));
}

TicketPtr RedisStore::clearFailures(std::string_view key, Done done) {
  TicketPtr ticket;
  auto call = begin(std::move(done), nullptr, ticket);
  if (!admitted(call)) return ticket;
  auto batch = std::make_shared<Batch>(Batch{call});
  connection_->command({"DEL", failureKey(key)}, step(batch));
  return ticket;
}

TicketPtr RedisStore::claim(std::string_view name, Millis ttl, TimePoint, Done done) {
  TicketPtr ticket;
  auto call = begin(std::move(done), nullptr, ticket);
  if (name.empty() || name.size() > kMaxClaimNameBytes) {
    connection_->defer([this, call] { finish(call, StoreStatus::kRejected, nullptr); });
    return ticket;
  }
  if (!admitted(call)) return ticket;
  // PX refuses 0: a claim always lasts a little.
  const int64_t ms = std::max<int64_t>(ttl.count(), 1);
  connection_->command({"SET", claimKey(name), "1", "NX", "PX", std::to_string(ms)},
                       [this, call](const redisReply* r) {
                         if (r == nullptr) return finish(call, StoreStatus::kUnavailable, nullptr);
                         if (r->type == REDIS_REPLY_NIL) {
                           return finish(call, StoreStatus::kRejected, nullptr);
                         }
                         if (r->type != REDIS_REPLY_STATUS || str(r) != "OK") {
                           reportError("claim: unexpected reply", r);
                           return finish(call, StoreStatus::kUnavailable, nullptr);
                         }
                         finish(call, StoreStatus::kOk, nullptr);
                       });
  return ticket;
}

TicketPtr RedisStore::release(std::string_view name, Done done) {
  TicketPtr ticket;
  auto call = begin(std::move(done), nullptr, ticket);
  if (name.empty() || name.size() > kMaxClaimNameBytes) {
    // Names no claim: claim() refuses such names.
    connection_->defer([this, call] { finish(call, StoreStatus::kOk, nullptr); });
    return ticket;
  }
  if (!admitted(call)) return ticket;
  auto batch = std::make_shared<Batch>(Batch{call});
  connection_->command({"DEL", claimKey(name)}, step(batch));
  return ticket;
}

TicketPtr RedisStore::destroyTagged(std::string_view tag, Done done) {
  forgetAll();
  TicketPtr ticket;
  auto call = begin(std::move(done), nullptr, ticket);
  if (tag.empty() || tag.size() > LoginInfo::kMaxTagBytes) {
    // No login records such a tag.
    connection_->defer([this, call] { finish(call, StoreStatus::kOk, nullptr); });
    return ticket;
  }
  if (!admitted(call)) return ticket;
  connection_->command(
      {"SMEMBERS", tagKey(tag)}, [this, call, tag = std::string(tag)](const redisReply* r) {
        if (r == nullptr) return finish(call, StoreStatus::kUnavailable, nullptr);
        if (r->type != REDIS_REPLY_ARRAY) {
          reportError("destroyTagged: unexpected reply", r);
          return finish(call, StoreStatus::kUnavailable, nullptr);
        }
        if (r->elements == 0) return finish(call, StoreStatus::kOk, nullptr);
        auto batch = std::make_shared<Batch>(Batch{call});
        // Only while the session still carries the tag (a session that
        // logged in again without it, here or on another instance, stays).
        // Then SREM of the members read, not DEL of the set: a login
        // tagged meanwhile keeps its entry (as destroyUser does).
        const std::string field = std::string(redis::kTagPrefix) + tag;
        std::vector<std::string> srem{"SREM", tagKey(tag)};
        for (size_t i = 0; i < r->elements; ++i) {
          const redisReply* member = r->element[i];
          if (member->type != REDIS_REPLY_STRING) continue;
          connection_->script(scripts_[redis::kDestroyIf],
                              {sessionKey(str(member)), field, std::string(redis::kTagValue)}, 1,
                              destroyStep(batch, std::string(str(member))));
          srem.emplace_back(str(member));
        }
        connection_->command(std::move(srem), step(batch));
      });
  return ticket;
}

}  // namespace sesame::session
