// The cookie session store: the whole session travels sealed in the client's cookie and the
// server keeps no session state.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sesame/session/cookie_sealer.h"
#include "sesame/session/store.h"

namespace sesame::session {

// A per-request "jar": the request path makes one CookieStore per request,
// adopt()s the client's cookie value under the key it uses for the request,
// runs the usual Store calls, then sends sealed(key) back in Set-Cookie when
// it differs from the adopted value (and clears the cookie when it is
// nullopt). Within the jar every Store promise holds, so the cookie store
// passes the same contract suite as the others.
//
// Every call completes before it returns (tickets are null). A jar belongs
// to one request on one worker and is not thread-safe; the sealer it uses is
// shared and is.
//
// What a client-held session cannot do, by construction:
// - destroy() and destroyUser() reach only this jar. Cookies held by other
//   browsers or devices, and any copy of a cookie, stay valid until their
//   idle or absolute timeout: "log out everywhere" and revoking a stolen
//   cookie are only possible by rotating the secrets, which ends every
//   session at once.
// - A copied cookie replays: a client may present an older value (say, from
//   before a logout or a data change) and is believed until that value's own
//   idle or absolute timeout.
// - Parallel requests of one browser each carry their own copy: when two
//   change the session, the browser keeps whichever Set-Cookie it gets last
//   and the other change is lost.
// - No server-side list: listUser, destroyHandle, trimUser and the
//   brute-force counters answer kUnavailable at once (the request path keeps
//   counters in a memory store; the admin API answers 501).
// - Nothing shared: claim, release and destroyTagged answer kUnavailable at
//   once, and so does a setIdentity with tags (no destroyTagged could ever
//   reach that session). OpenID Connect therefore needs another store.
//
// Every session carries a nonce (Session::nonce): create() and rotate() give
// it a fresh one, and load() gives one to a session sealed before nonces
// existed (re-sealing it, as a refresh does).
//
// Bounds: data as MemoryStore (withinDataBounds), and the sealed value must
// fit the sealer's maxValueBytes(). A change that would not fit is refused
// with kRejected and a warning in the log, never truncated; the session
// stays as it was. So is any internal data field (isInternalDataKey):
// sesame's own state, provider tokens among it, stays on the server.
class CookieStore final : public Store {
 public:
  // The value bytes left for a cookie whose name and attributes take
  // `overhead` bytes (setCookie(attrs, "").size()), since RFC 6265 §6.1
  // counts name, value and attributes toward 4096 bytes; 0 if none are.
  [[nodiscard]] static size_t maxValueBytes(size_t overhead);

  CookieStore(std::shared_ptr<const CookieSealer> sealer, Timeouts timeouts);
  ~CookieStore() override;
  CookieStore(const CookieStore&) = delete;
  CookieStore& operator=(const CookieStore&) = delete;

  // Puts the client's cookie value under `key`, unverified: load() opens it
  // and drops it when it does not open or has expired.
  void adopt(std::string_view key, std::string_view sealed_value);
  // The value to send for `key` now; nullopt when no session is under it.
  [[nodiscard]] std::optional<std::string> sealed(std::string_view key) const;

  [[nodiscard]] TicketPtr load(std::string_view key, TimePoint now, LoadDone done) override;
  [[nodiscard]] TicketPtr create(std::string_view key, const Session& session, TimePoint now,
                                 Done done) override;
  // Re-seals with a fresh Session::nonce (and a fresh sealing nonce), so the
  // new key's value never equals the old.
  [[nodiscard]] TicketPtr rotate(std::string_view old_key, std::string_view new_key, TimePoint now,
                                 Done done) override;
  [[nodiscard]] TicketPtr update(std::string_view key, const Update& update, TimePoint now,
                                 Done done) override;
  // Also refreshes `touched`: a login is activity. The handle is not kept
  // (no ID); address and agent are dropped when the cookie would not fit
  // with them, so that they never fail a login.
  [[nodiscard]] TicketPtr setIdentity(std::string_view key, const LoginInfo& login, TimePoint now,
                                      Done done) override;
  [[nodiscard]] TicketPtr destroy(std::string_view key, Done done) override;
  // This jar only; see above.
  [[nodiscard]] TicketPtr destroyUser(std::string_view user, Done done) override;
  // Drops expired sessions from this jar (nothing else exists to sweep).
  void sweep(TimePoint now) override;

  // kUnavailable at once: see above.
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

  // Idle-timeout refreshes written (re-sealed) by load().
  size_t touchWrites() const { return touch_writes_; }

 private:
  using Jar = std::map<std::string, std::string, std::less<>>;

  // The live session under `key`, dropping a value that does not open or
  // has expired.
  std::optional<Session> openLive(std::string_view key, TimePoint now);
  // Seals `session` under `key`; kRejected (and a warning) when it does not fit.
  StoreStatus store(std::string_view key, const Session& session);

  std::shared_ptr<const CookieSealer> sealer_;
  const Timeouts timeouts_;
  Jar jar_;
  size_t touch_writes_ = 0;
};

}  // namespace sesame::session
