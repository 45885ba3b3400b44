#include "sesame/session/cookie_store.h"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <utility>

#include "crypto.h"
#include "login_text.h"
#include "sesame/base/base64url.h"
#include "sesame/base/log.h"
#include "sesame/session/memory_store.h"

namespace sesame::session {
namespace {

std::string freshNonce() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), bytes.size()) != 1) cryptoFailure("RAND_bytes");
  return base64urlEncode(bytes);
}
static_assert(base64urlLength(16) == CookieSealer::kNonceChars);

}  // namespace

size_t CookieStore::maxValueBytes(size_t overhead) {
  return overhead >= CookieSealer::kMaxCookieBytes ? 0 : CookieSealer::kMaxCookieBytes - overhead;
}

CookieStore::CookieStore(std::shared_ptr<const CookieSealer> sealer, Timeouts timeouts)
    : sealer_(std::move(sealer)), timeouts_(timeouts) {}

CookieStore::~CookieStore() = default;

void CookieStore::adopt(std::string_view key, std::string_view sealed_value) {
  jar_.insert_or_assign(std::string(key), std::string(sealed_value));
}

std::optional<std::string> CookieStore::sealed(std::string_view key) const {
  auto it = jar_.find(key);
  if (it == jar_.end()) return std::nullopt;
  return it->second;
}

std::optional<Session> CookieStore::openLive(std::string_view key, TimePoint now) {
  auto it = jar_.find(key);
  if (it == jar_.end()) return std::nullopt;
  std::optional<Session> session = sealer_->open(it->second);
  if (!session || now - session->touched >= timeouts_.idle.count() ||
      now - session->created >= timeouts_.absolute.count()) {
    jar_.erase(it);
    return std::nullopt;
  }
  return session;
}

StoreStatus CookieStore::store(std::string_view key, const Session& session) {
  // Sizes and counts only: a session's contents never reach the log.
  if (std::any_of(session.data.begin(), session.data.end(),
                  [](const auto& field) { return isInternalDataKey(field.first); })) {
    LOG_WARN_LIMITED(
        "cookie store: refusing to put sesame's own session fields (sign-in state, provider "
        "tokens) in a cookie; use [session] store = \"memory\" or \"redis\"");
    return StoreStatus::kRejected;
  }
  if (!withinDataBounds(session.data)) {
    LOG_WARN_LIMITED(
        "cookie store: session data exceeds %zu fields or %zu bytes (%zu fields); refusing "
        "the change: have the application store less (X-Sesame-Set)",
        MemoryStore::kMaxFields, MemoryStore::kMaxDataBytes, session.data.size());
    return StoreStatus::kRejected;
  }
  if (!CookieSealer::canCarry(session)) {
    LOG_WARN_LIMITED(
        "cookie store: session holds a control character, an empty group or a "
        "non-canonical data key; refusing the change: fix the application's X-Sesame-* "
        "headers");
    return StoreStatus::kRejected;
  }
  std::optional<std::string> value = sealer_->seal(session);
  if (!value) {
    LOG_WARN_LIMITED(
        "cookie store: session would need a %zu-byte cookie value, over the %zu bytes that "
        "4096 minus the cookie's name and attributes leave (%zu data fields); refusing the "
        "change; use store = \"memory\" or \"redis\" for large sessions",
        CookieSealer::sealedSize(session), sealer_->maxValueBytes(), session.data.size());
    return StoreStatus::kRejected;
  }
  jar_.insert_or_assign(std::string(key), std::move(*value));
  return StoreStatus::kOk;
}

TicketPtr CookieStore::load(std::string_view key, TimePoint now, LoadDone done) {
  std::optional<Session> session = openLive(key, now);
  if (session) {
    bool write = false;
    if (session->nonce.empty()) {
      // Sealed before nonces existed: the value grows by the nonce. Should
      // that not fit, the session goes on without one (the login form then
      // asks for a fresh session).
      session->nonce = freshNonce();
      write = CookieSealer::sealedSize(*session) <= sealer_->maxValueBytes();
      if (!write) session->nonce.clear();
    }
    const bool touch = now - session->touched >= timeouts_.touch_interval.count();
    if (touch) session->touched = now;
    // A refresh changes no length: it fits whenever the old value did.
    if ((write || touch) && store(key, *session) == StoreStatus::kOk && touch) ++touch_writes_;
  }
  if (session) {
    done(StoreStatus::kOk, &*session);
  } else {
    done(StoreStatus::kMissing, nullptr);
  }
  return nullptr;
}

TicketPtr CookieStore::create(std::string_view key, const Session& session, TimePoint now,
                              Done done) {
  Session stored = session;
  stored.created = now;
  stored.touched = now;
  stored.handle.clear();
  stored.nonce = freshNonce();
  done(store(key, stored));
  return nullptr;
}

TicketPtr CookieStore::rotate(std::string_view old_key, std::string_view new_key, TimePoint now,
                              Done done) {
  std::optional<Session> session = openLive(old_key, now);
  StoreStatus status = StoreStatus::kMissing;
  if (session) {
    jar_.erase(jar_.find(old_key));
    session->nonce = freshNonce();
    status = store(new_key, *session);
  }
  done(status);
  return nullptr;
}

TicketPtr CookieStore::update(std::string_view key, const Update& update, TimePoint now,
                              Done done) {
  std::optional<Session> session = openLive(key, now);
  StoreStatus status = StoreStatus::kMissing;
  if (session) {
    for (const auto& [name, value] : update.set) session->data[name] = value;
    for (const auto& name : update.unset) session->data.erase(name);
    status = store(key, *session);
  }
  done(status);
  return nullptr;
}

TicketPtr CookieStore::setIdentity(std::string_view key, const LoginInfo& login, TimePoint now,
                                   Done done) {
  if (!login.tags.empty()) {
    done(StoreStatus::kUnavailable);
    return nullptr;
  }
  std::optional<Session> session = openLive(key, now);
  StoreStatus status = StoreStatus::kMissing;
  if (session) {
    recordLogin(*session, login);
    session->handle.clear();
    session->login = now;
    session->created = now;
    session->touched = now;
    // Nothing reads them back from a cookie but the session itself: they
    // must not cost the login its cookie.
    if (CookieSealer::sealedSize(*session) > sealer_->maxValueBytes()) {
      session->address.clear();
      session->agent.clear();
    }
    status = store(key, *session);
  }
  done(status);
  return nullptr;
}

TicketPtr CookieStore::destroy(std::string_view key, Done done) {
  if (auto it = jar_.find(key); it != jar_.end()) jar_.erase(it);
  done(StoreStatus::kOk);
  return nullptr;
}

TicketPtr CookieStore::destroyUser(std::string_view user, Done done) {
  for (auto it = jar_.begin(); it != jar_.end();) {
    const std::optional<Session> session = sealer_->open(it->second);
    it = session && session->user == user ? jar_.erase(it) : std::next(it);
  }
  done(StoreStatus::kOk);
  return nullptr;
}

void CookieStore::sweep(TimePoint now) {
  for (auto it = jar_.begin(); it != jar_.end();) {
    auto next = std::next(it);
    openLive(it->first, now);  // drops it when it does not open or has expired
    it = next;
  }
}

TicketPtr CookieStore::listUser(std::string_view, TimePoint, ListDone done) {
  done(StoreStatus::kUnavailable, nullptr);
  return nullptr;
}

TicketPtr CookieStore::destroyHandle(std::string_view, Done done) {
  done(StoreStatus::kUnavailable);
  return nullptr;
}

TicketPtr CookieStore::trimUser(std::string_view, size_t, TimePoint, Done done) {
  done(StoreStatus::kUnavailable);
  return nullptr;
}

TicketPtr CookieStore::failures(const std::vector<std::string>&, TimePoint, CountDone done) {
  done(StoreStatus::kUnavailable, Failures{});
  return nullptr;
}

TicketPtr CookieStore::addFailure(const std::vector<std::string>&, Millis, TimePoint,
                                  CountDone done) {
  done(StoreStatus::kUnavailable, Failures{});
  return nullptr;
}

TicketPtr CookieStore::forgiveFailure(const std::vector<std::string>&, TimePoint, CountDone done) {
  done(StoreStatus::kUnavailable, Failures{});
  return nullptr;
}

TicketPtr CookieStore::clearFailures(std::string_view, Done done) {
  done(StoreStatus::kUnavailable);
  return nullptr;
}

TicketPtr CookieStore::claim(std::string_view, Millis, TimePoint, Done done) {
  done(StoreStatus::kUnavailable);
  return nullptr;
}

TicketPtr CookieStore::release(std::string_view, Done done) {
  done(StoreStatus::kUnavailable);
  return nullptr;
}

TicketPtr CookieStore::destroyTagged(std::string_view, Done done) {
  done(StoreStatus::kUnavailable);
  return nullptr;
}

}  // namespace sesame::session
