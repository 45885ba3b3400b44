#include "sesame/proxy/session_gate.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include "sesame/auth/pages.h"

#include "sesame/base/log.h"
#include "sesame/oidc/access_token.h"
#include "sesame/oidc/claims_map.h"
#include "sesame/session/access.h"
#include "sesame/session/cache_control.h"
#include "sesame/session/csrf.h"
#include "sesame/session/identity_filter.h"
#include "sesame/session/memory_store.h"

namespace sesame::proxy {
namespace {

using session::StoreStatus;

// The origin the request itself names (RFC 6454 §4): the scheme the client
// used (behind a TLS-terminating load balancer, its X-Forwarded-Proto, not
// the listener's) and the Host it sent.
std::string requestOrigin(const http::RequestHead& req, bool https) {
  if (req.host.empty()) return {};
  std::string origin = (https ? "https://" : "http://") + req.host;
  return session::normalizeOrigin(origin).value_or(std::string());
}

void appendField(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

// The path without the query: queries may carry tokens or personal data,
// and logs keep the path's length bounded by the head limit anyway.
std::string pathOf(const http::RequestHead& req) {
  return req.target.substr(0, req.target.find('?'));
}

// LoginInfo::method of sesame's own sign-in form.
constexpr std::string_view kPasswordMethod = "password";
// A client's User-Agent is recorded at login for the session list; longer
// ones are cut (it is a hint for a person, not an identifier).
constexpr size_t kMaxAgentBytes = 256;

const char* statusText(StoreStatus status) {
  switch (status) {
    case StoreStatus::kOk:
      return "ok";
    case StoreStatus::kMissing:
      return "session gone";
    case StoreStatus::kUnavailable:
      return "store unavailable";
    case StoreStatus::kRejected:
      return "refused by the store's bounds (too large, or a memory store full of logged-in "
             "sessions)";
  }
  return "?";
}

}  // namespace

SessionShared::SessionShared(const session::Settings& settings, const config::LoginConfig* login,
                             const SessionShared* previous)
    : codec(settings.secrets) {
  if (settings.store == session::StoreKind::kMemory) {
    if (previous != nullptr) memory = previous->memory;
    if (memory) {
      memory->reconfigure(settings.max_sessions, settings.timeouts);
    } else {
      memory = std::make_shared<session::MemoryStore>(settings.max_sessions, settings.timeouts);
    }
  } else if (settings.store == session::StoreKind::kCookie) {
    // Sized for the longer Set-Cookie (with Secure), so a value fits on
    // every listener.
    session::CookieAttributes attrs{settings.cookie_name, true, true, settings.same_site,
                                    settings.domain};
    size_t overhead = session::setCookie(attrs, "").size();
    sealer = std::make_shared<session::CookieSealer>(settings.secrets, settings.cookie_name,
                                                     session::CookieStore::maxValueBytes(overhead));
  }
  if (login == nullptr) return;
  if (previous != nullptr && previous->hashing && previous->hash_threads == login->hash_threads &&
      previous->hash_queue == login->hash_queue) {
    hashing = previous->hashing;
  } else {
    hashing = std::make_shared<auth::HashPool>(login->hash_threads, login->hash_queue);
  }
  hash_threads = login->hash_threads;
  hash_queue = login->hash_queue;
  if (settings.store == session::StoreKind::kMemory) {
    counters = memory;
  } else if (settings.store == session::StoreKind::kCookie) {
    // Only the counters live here; it holds no session.
    counters = previous != nullptr && previous->counters
                   ? previous->counters
                   : std::make_shared<session::MemoryStore>(1, settings.timeouts);
  }
}

bool takeCookie(http::HeaderList& headers, std::string_view name, std::string* value) {
  bool found = false;
  for (const http::Header& h : headers.fields()) {
    if (!http::equalsIgnoreCase(h.name, "Cookie")) continue;
    if (std::optional<std::string_view> sent = session::findCookie(h.value, name)) {
      if (value != nullptr) value->assign(*sent);
      found = true;
      break;
    }
  }
  if (!found) return false;
  // Each Cookie field is edited in place to what session::removeCookie
  // returns (its other pieces trimmed and joined by "; "), and goes when
  // nothing is left: rebuilding the list cost allocations on every request
  // (issue 13).
  auto ows = [](char c) { return c == ' ' || c == '\t'; };
  bool emptied = false;
  for (http::Header& h : headers.mutableFields()) {
    if (!http::equalsIgnoreCase(h.name, "Cookie")) continue;
    std::string& v = h.value;
    size_t kept_end = 0;  // the kept pieces, joined, are v[0, kept_end)
    size_t pos = 0;
    for (;;) {
      const size_t semi = v.find(';', pos);
      size_t start = pos;
      size_t end = semi == std::string::npos ? v.size() : semi;
      while (start < end && ows(v[start])) ++start;
      while (end > start && ows(v[end - 1])) --end;
      const std::string_view piece(v.data() + start, end - start);
      if (!piece.empty() && !session::findCookie(piece, name)) {
        const size_t sep = kept_end == 0 ? 0 : 2;
        if (kept_end + sep > start) {
          // "a=1;b=2": the joined form is longer than what was sent, so
          // the rest is joined apart (linear, unlike inserting each "; ").
          std::string rest = session::removeCookie(std::string_view(v).substr(pos), name);
          v.resize(kept_end);
          if (kept_end != 0) v.append("; ");
          v.append(rest);
          kept_end = v.size();
          break;
        }
        // Writes only before `start`: the piece itself and all that follows
        // are still as sent.
        if (sep != 0) {
          v[kept_end] = ';';
          v[kept_end + 1] = ' ';
        }
        std::memmove(v.data() + kept_end + sep, piece.data(), piece.size());
        kept_end += sep + piece.size();
      }
      if (semi == std::string::npos) break;
      pos = semi + 1;
    }
    v.resize(kept_end);
    emptied = emptied || v.empty();
  }
  if (emptied) {
    headers.removeIf([](const http::Header& h) {
      return h.value.empty() && http::equalsIgnoreCase(h.name, "Cookie");
    });
  }
  return true;
}

SessionGate::SessionGate(const SessionContext& ctx, SessionGateOwner& owner)
    : ctx_(ctx), owner_(owner) {}

SessionGate::~SessionGate() = default;

std::string SessionGate::sessionHandle() const {
  if (r_.jar || !r_.has_id) return {};
  return session::CookieCodec::handle(r_.logged_in ? r_.new_id : r_.id);
}

std::string_view SessionGate::user() const {
  if (r_.logged_in) return *r_.actions.login;
  return r_.has_user ? std::string_view(r_.identity.user) : std::string_view();
}

void SessionGate::countLookup(SessionLookup result) {
  if (ctx_.metrics != nullptr) ctx_.metrics->onSessionLookup(result);
}

void SessionGate::countOp(OpKind kind) {
  if (ctx_.metrics == nullptr) return;
  switch (kind) {
    case OpKind::kCreate:
      return ctx_.metrics->onSessionCreated();
    case OpKind::kRotate:
      return ctx_.metrics->onSessionRotated();
    case OpKind::kDestroy:
    case OpKind::kDestroyUser:
      return ctx_.metrics->onSessionDestroyed();
    case OpKind::kIdentity:
    case OpKind::kTrim:
    case OpKind::kUpdate:
    case OpKind::kExtra:
      return;
  }
}

void SessionGate::cancel() {
  ticket_.reset();
  phase_ = Phase::kIdle;
  r_ = RequestState{};
}

template <typename Call>
void SessionGate::run(Call call) {
  r_.store_started = std::chrono::steady_clock::now();
  done_ = false;
  in_call_ = true;
  session::TicketPtr ticket = call();
  in_call_ = false;
  if (done_) return resume();
  ticket_ = std::move(ticket);
}

void SessionGate::completed(StoreStatus status) {
  if (ctx_.metrics != nullptr) {
    ctx_.metrics->onStoreCommand(std::chrono::steady_clock::now() - r_.store_started,
                                 status != StoreStatus::kUnavailable);
  }
  spent_ = std::move(ticket_);
  status_ = status;
  done_ = true;
  if (!in_call_) resume();
}

void SessionGate::resume() {
  if (phase_ == Phase::kLoad) return onLoaded(status_);
  if (phase_ == Phase::kActions) return onOpDone(status_);
}

void SessionGate::begin(http::RequestHead& req, bool https, std::string_view client) {
  ticket_.reset();
  // Everything is reset, but the strings every checked request fills keep
  // their storage (emptied): two allocations per request fewer.
  std::string key = std::move(r_.key);
  std::string sent_value = std::move(r_.sent_value);
  r_ = RequestState{};
  key.clear();
  sent_value.clear();
  r_.key = std::move(key);
  r_.sent_value = std::move(sent_value);
  r_.req = &req;
  r_.cookie = https ? &ctx_.tls_cookie : &ctx_.plain_cookie;
  r_.client = client;
  r_.https = https;
}

bool SessionGate::allowedSite() {
  const session::Settings& settings = *ctx_.settings;
  const http::RequestHead& req = *r_.req;
  // An upgrade is checked whatever its method: a WebSocket handshake is a
  // GET that hands the page a channel carrying the user's session. Other
  // safe methods pass before the request's origin is spelled out (most
  // requests are GETs; the spelling costs an allocation and a parse).
  if (!req.upgrade && session::isSafeMethod(req.method)) return true;
  const std::string self = requestOrigin(req, r_.https);
  const session::CsrfVerdict csrf =
      session::checkCrossSite(req.headers, self, settings.csrf_origins);
  if (csrf.allowed) return true;
  // Client-controlled text, bounded and escaped (an Origin can be 8 KiB of
  // anything); never a cookie.
  LOG_INFO_LIMITED("refused a cross-site %s%s %s: %.*s \"%s\" %.*s (this site: %s)",
                   log::printable(req.method, 32).c_str(), req.upgrade ? " upgrade" : "",
                   log::printable(pathOf(req), 256).c_str(), static_cast<int>(csrf.field.size()),
                   csrf.field.data(), log::printable(csrf.value, 128).c_str(),
                   static_cast<int>(csrf.why.size()), csrf.why.data(),
                   log::printable(self, 128).c_str());
  finishRequest(403);
  return false;
}

void SessionGate::checkRequest(http::RequestHead& req, const session::RoutePolicy& policy,
                               bool https, std::string_view client) {
  begin(req, https, client);
  r_.policy = &policy;
  // A bearer token is no ambient credential (no browser sends one on its
  // own), so a token request skips the cross-site check.
  if (policy.bearer && checkBearer()) return;
  if (policy.csrf && !allowedSite()) return;
  readCookie();
}

void SessionGate::inspect(http::RequestHead& req, bool https, std::string_view client, bool csrf) {
  begin(req, https, client);
  r_.inspecting = true;
  if (csrf && !allowedSite()) return;
  readCookie();
}

void SessionGate::readCookie() {
  const session::Settings& settings = *ctx_.settings;
  r_.cookie_sent = takeCookie(r_.req->headers, settings.cookie_name, &r_.sent_value);
  if (ctx_.sealer) {
    r_.jar = std::make_unique<session::CookieStore>(ctx_.sealer, settings.timeouts);
    if (!r_.cookie_sent) {
      countLookup(SessionLookup::kAbsent);
      return onLoaded(StoreStatus::kMissing);
    }
    r_.key = "client";
    r_.has_id = true;
    r_.jar->adopt(r_.key, r_.sent_value);
    return startLoad();
  }
  // A forged or stale cookie ends here, before any store is asked: floods of
  // them cost one HMAC each and no store command.
  std::optional<session::SessionId> id;
  if (r_.cookie_sent) id = ctx_.codec->verify(r_.sent_value);
  if (!id) {
    countLookup(r_.cookie_sent ? SessionLookup::kForged : SessionLookup::kAbsent);
    return onLoaded(StoreStatus::kMissing);
  }
  r_.has_id = true;
  r_.id = *id;
  session::CookieCodec::storeKey(r_.id, r_.key);
  startLoad();
}

void SessionGate::startLoad() {
  phase_ = Phase::kLoad;
  run([this] {
    return store().load(r_.key, session::wallClockNow(),
                        [this](StoreStatus status, const session::Session* session) {
                          if (session != nullptr) absorb(*session);
                          completed(r_.revoked ? StoreStatus::kMissing : status);
                        });
  });
}

void SessionGate::appendJarCookie(std::string_view key) {
  if (std::optional<std::string> value = r_.jar->sealed(key)) {
    if (*value != r_.sent_value) appendSetCookie(session::setCookie(*r_.cookie, *value));
  } else if (r_.cookie_sent) {
    appendSetCookie(session::clearCookie(*r_.cookie));
  }
}

void SessionGate::absorb(const session::Session& session) {
  const session::IdentityHeaders& ids = ctx_.settings->identity;
  http::HeaderList& headers = r_.req->headers;
  const std::vector<std::string>* groups = &session.groups;
  if (session.method.starts_with(kPasswordMethod)) {
    // The users file decides, now: a user removed from it, or whose
    // password changed since this sign-in, is logged out at the next
    // request, and a group taken away is gone at once.
    const auth::User* known =
        ctx_.login != nullptr ? ctx_.login->users->find(session.user) : nullptr;
    if (known == nullptr ||
        session.method.substr(kPasswordMethod.size()) != ":" + known->fingerprint) {
      r_.revoked = true;
      r_.identity.user = session.user;  // for the log line; has_user stays false
      return;
    }
    groups = &known->groups;
  }
  if (r_.inspecting) {
    r_.loaded = session;
    r_.loaded->groups = *groups;
  }
  r_.has_user = !session.user.empty();
  if (r_.has_user) addIdentity(session.user, *groups);
  if (session.method.starts_with("oidc:")) noteRefresh(session);
  // Data fields go to anonymous sessions too: a cart before login is the
  // reason an application writes them. sesame's own fields (provider
  // tokens, sign-in state) never do.
  for (const auto& [key, value] : session.data) {
    if (session::isInternalDataKey(key)) continue;
    headers.add(session::dataHeaderName(ids.data_prefix, key), value);
  }
}

void SessionGate::addIdentity(std::string_view user, const std::vector<std::string>& groups) {
  const session::IdentityHeaders& ids = ctx_.settings->identity;
  http::HeaderList& headers = r_.req->headers;
  r_.identity.user = user;
  r_.identity.groups = groups;
  headers.add(ids.user_header, user);
  if (!groups.empty()) {
    std::string joined;
    for (const std::string& group : groups) {
      if (!joined.empty()) joined.append(",");
      joined.append(group);
    }
    headers.add(ids.groups_header, joined);
  }
  if (ctx_.signer) {
    // One token per user and host while it stays fresh (AssertionCache):
    // signing costs tens of microseconds, a cache hit well under one.
    identity::Claims claims;
    claims.audience = r_.req->host;
    claims.user = user;
    claims.groups = groups;
    claims.now = session::wallClockNow() / 1000;
    headers.add(ctx_.settings->assertion.header, ctx_.assertions->get(ctx_.signer, user, claims));
  }
}

bool SessionGate::checkBearer() {
  const http::Header* authz = r_.req->headers.find("Authorization");
  const bool bearer = authz != nullptr && authz->value.size() >= 6 &&
                      http::equalsIgnoreCase(authz->value.substr(0, 6), "Bearer");
  if (!bearer && !r_.policy->bearer_only) return false;
  // Copied first: takeCookie edits and removes fields of the list `authz`
  // points into.
  std::string authorization = bearer ? authz->value : std::string();
  // A token request neither uses nor forwards the session cookie.
  takeCookie(r_.req->headers, ctx_.settings->cookie_name);
  if (!bearer) {
    // RFC 6750 §3.1: no credentials, no error code.
    appendField(r_.response_fields, "WWW-Authenticate", "Bearer realm=\"sesame\"");
    finishRequest(401);
    return true;
  }
  std::optional<std::string_view> token = oidc::bearerToken(authorization);
  if (!token) {
    appendField(r_.response_fields, "WWW-Authenticate",
                "Bearer realm=\"sesame\", error=\"invalid_request\"");
    finishRequest(401);
    return true;
  }
  r_.bearer = *token;
  verifyBearer();
  return true;
}

void SessionGate::verifyBearer() {
  oidc::Provider& provider = *ctx_.providers[r_.policy->provider.value_or(0)];
  const oidc::Knowledge* knowledge = provider.knowledge();
  if (knowledge == nullptr) {
    provider.discoverSoon(nullptr);
    return finishRequest(503);
  }
  const config::OidcProviderConfig& config = provider.config();
  oidc::TokenTrust trust;
  trust.keys = &knowledge->keys;
  trust.issuer = config.issuer;
  trust.now = session::wallClockNow() / 1000;
  trust.skew = std::chrono::duration_cast<std::chrono::seconds>(config.clock_skew).count();
  oidc::AccessTokenExpectations expect;
  expect.audiences = r_.policy->bearer_audience;
  expect.user_claim = config.user_claim;
  expect.groups_claim = config.groups_claim;
  oidc::AccessTokenResult checked = oidc::validateAccessToken(r_.bearer, trust, expect);
  if (checked.error == oidc::TokenError::kUnknownKey && !r_.bearer_refetched) {
    r_.bearer_refetched = true;
    r_.waiter = std::make_shared<std::function<void(bool)>>([this](bool) { verifyBearer(); });
    if (provider.refetchKeys(r_.waiter)) return;
  }
  oidc::AccessPolicy policy;
  policy.user_claim = config.user_claim;
  policy.allowed_groups = config.allowed_groups;
  policy.allowed_email_domains = config.allowed_email_domains;
  oidc::AccessDecision decision;
  if (checked.ok()) decision = oidc::decideAccess(checked.claims, policy);
  if (!checked.ok() || !decision.allowed()) {
    LOG_INFO_LIMITED("bearer token refused on %s %s from %s: %s",
                     log::printable(r_.req->method, 32).c_str(),
                     log::printable(pathOf(*r_.req), 256).c_str(), r_.client.c_str(),
                     checked.ok() ? decision.why.c_str() : checked.why.c_str());
    // RFC 6750 §3.1; the reason stays in sesame's log.
    appendField(r_.response_fields, "WWW-Authenticate",
                "Bearer realm=\"sesame\", error=\"invalid_token\"");
    return finishRequest(401);
  }
  const std::vector<std::string>& wanted = r_.policy->groups;
  if (!wanted.empty() && std::none_of(wanted.begin(), wanted.end(), [&](const std::string& g) {
        return std::find(decision.groups.begin(), decision.groups.end(), g) !=
               decision.groups.end();
      })) {
    appendField(r_.response_fields, "WWW-Authenticate",
                "Bearer realm=\"sesame\", error=\"insufficient_scope\"");
    return finishRequest(403);
  }
  r_.has_user = true;
  addIdentity(decision.user, decision.groups);
  finishRequest(0);
}

void SessionGate::onLoaded(StoreStatus status) {
  phase_ = Phase::kIdle;
  if (r_.has_id) {
    // A cookie that verified but whose session the store no longer has:
    // timed out, logged out or evicted. (The cookie store cannot tell a
    // tampered sealed cookie from an expired one; both count here.)
    countLookup(status == StoreStatus::kOk        ? SessionLookup::kValid
                : status == StoreStatus::kMissing ? SessionLookup::kExpired
                                                  : SessionLookup::kUnavailable);
  }
  if (r_.revoked) {
    LOG_INFO("session of %s ended: the user is no longer in the users file, or has a new password",
             log::printable(r_.identity.user.empty() ? std::string_view("?") : r_.identity.user, 64)
                 .c_str());
    r_.cleanup = store().destroy(r_.key, [](StoreStatus) {});
  }
  if (status == StoreStatus::kOk && r_.refresh_provider && !r_.inspecting) {
    r_.refresh = std::make_unique<OidcRefresh>(
        store(), *ctx_.providers[*r_.refresh_provider], r_.key,
        [this](OidcRefresh::Outcome outcome) { onRefreshed(outcome); });
    return r_.refresh->start();
  }
  decide(status);
}

void SessionGate::noteRefresh(const session::Session& session) {
  std::string_view name = std::string_view(session.method).substr(5);
  for (size_t i = 0; i < ctx_.providers.size(); ++i) {
    if (ctx_.providers[i]->config().name != name || !ctx_.providers[i]->config().refresh) continue;
    auto at = session.data.find(std::string(kOidcRefreshAtField));
    int64_t refresh_at = 0;
    if (at != session.data.end()) {
      std::from_chars(at->second.data(), at->second.data() + at->second.size(), refresh_at);
    }
    if (at != session.data.end() && refresh_at <= session::wallClockNow() / 1000) {
      r_.refresh_provider = i;
    }
  }
}

void SessionGate::onRefreshed(OidcRefresh::Outcome outcome) {
  if (outcome != OidcRefresh::Outcome::kEnded) return decide(StoreStatus::kOk);
  // The provider ended the sign-in: what absorb() added for the user goes.
  session::IdentityHeaders ids = ctx_.settings->identity;
  ids.assertion_header = ctx_.settings->assertion.header;
  session::stripSpoofable(r_.req->headers, ids);
  r_.has_user = false;
  r_.identity.user.clear();
  r_.identity.groups.clear();
  decide(StoreStatus::kMissing);
}

void SessionGate::decide(StoreStatus status) {
  bool found = status == StoreStatus::kOk;
  // A store that did not answer may still hold the session: keep the
  // cookie, so the session is back when the store is.
  r_.stored = found || (status == StoreStatus::kUnavailable && r_.has_id);
  r_.lookup = status;
  if (r_.inspecting) {
    if (!found) r_.loaded.reset();
    if (!found && r_.cookie_sent && status != StoreStatus::kUnavailable && !ctx_.sealer) {
      // Gone from the store: the browser may keep the cookie for a login
      // form's token, but whoever asks sees no session.
      r_.has_user = false;
    }
    return finishRequest(0);
  }
  if (status == StoreStatus::kUnavailable) {
    LOG_DEBUG("session store unavailable for %s %s", r_.req->method.c_str(),
              pathOf(*r_.req).c_str());
  }
  session::Lookup lookup{status, found ? &r_.identity : nullptr};
  bool navigation = session::isBrowserNavigation(r_.req->method, r_.req->headers);
  // A cookie whose session is gone goes; one that names a live anonymous
  // session stays (it holds the sign-ins begun in other tabs).
  bool clear = r_.cookie_sent && !found && status != StoreStatus::kUnavailable;
  switch (session::decide(*r_.policy, lookup, navigation)) {
    case session::Access::kForward:
    case session::Access::kForwardAnonymous:
      if (!r_.stored) {
        issueAnonymous();
      } else if (r_.jar) {
        appendJarCookie(r_.key);  // a touch re-sealed it
      }
      return finishRequest(0);
    case session::Access::kLoginRedirect:
      if (clear) appendSetCookie(session::clearCookie(*r_.cookie));
      appendField(r_.response_fields, "Location", loginLocation());
      // The redirect names this user's own path: no cache keeps it either.
      r_.no_store = true;
      return finishRequest(302);
    case session::Access::kUnauthorized:
      if (clear) appendSetCookie(session::clearCookie(*r_.cookie));
      // RFC 9110 §15.5.2: a 401 names the scheme that would succeed.
      appendField(r_.response_fields, "WWW-Authenticate", "Cookie realm=\"sesame\"");
      return finishRequest(401);
    case session::Access::kForbidden:
      return finishRequest(403);
    case session::Access::kUnavailable:
      return finishRequest(503);
  }
}

std::string SessionGate::loginLocation() const {
  std::string location = session::loginLocation(ctx_.settings->login_url, r_.req->target);
  // A route tied to one provider signs in there, when sign-in is sesame's own page.
  if (r_.policy->provider && *r_.policy->provider < ctx_.providers.size() &&
      ctx_.settings->login_url == auth::kLoginPath) {
    location +=
        "&provider=" + session::percentEncode(ctx_.providers[*r_.policy->provider]->config().name);
  }
  return location;
}

void SessionGate::issueAnonymous() {
  if (r_.jar) {
    // Nothing to seal until something is written; a value that did not
    // open goes.
    r_.key = "client";
    r_.has_id = true;
    r_.stored = false;
    if (r_.cookie_sent) appendSetCookie(session::clearCookie(*r_.cookie));
    return;
  }
  r_.id = session::SessionId::random();
  r_.key = session::CookieCodec::storeKey(r_.id);
  r_.has_id = true;
  // Nothing is stored until something is written: cookieless floods cost
  // the store nothing.
  r_.stored = false;
  appendSetCookie(session::setCookie(*r_.cookie, ctx_.codec->encode(r_.id)));
}

void SessionGate::appendSetCookie(std::string_view value) {
  appendField(r_.response_fields, "Set-Cookie", value);
  r_.no_store = true;
}

void SessionGate::clearResponseFields() {
  r_.response_fields.clear();
  r_.no_store = false;
}

void SessionGate::finishRequest(int status) {
  if (status != 0) {
    r_.policy = nullptr;  // no response side for sesame's own answers
    if (r_.no_store) appendField(r_.response_fields, "Cache-Control", session::kPrivateNoStore);
  }
  owner_.onRequestChecked(status, status != 0 ? std::string_view(r_.response_fields) : "");
}

SessionGate::Control SessionGate::applyControl(const http::ResponseHead& resp) {
  if (r_.policy == nullptr || !r_.policy->accept_control || !r_.has_id) return Control::kSend;
  std::vector<std::string> warnings;
  session::ControlActions actions = session::parseControlHeaders(resp.headers, {}, &warnings);
  for (const std::string& warning : warnings) {
    LOG_WARN_LIMITED("upstream control header ignored: %s (%s %s)", warning.c_str(),
                     r_.req->method.c_str(), pathOf(*r_.req).c_str());
  }
  if (actions.empty()) return Control::kSend;
  planActions(std::move(actions));
  phase_ = Phase::kActions;
  r_.applying = true;
  runNextOp();
  r_.applying = false;
  if (phase_ != Phase::kIdle) return Control::kPending;
  return r_.failed ? Control::kRefuse : Control::kSend;
}

void SessionGate::planActions(session::ControlActions actions) {
  r_.actions = std::move(actions);
  if (r_.actions.logout != session::Logout::kNone) {
    if (r_.actions.logout == session::Logout::kAllSessions && r_.has_user) {
      r_.ops.push_back({OpKind::kDestroyUser, true});
    }
    if (r_.stored) r_.ops.push_back({OpKind::kDestroy, true});
    clearResponseFields();
    appendSetCookie(session::clearCookie(*r_.cookie));
    if (r_.clear_site_data) appendField(r_.response_fields, "Clear-Site-Data", "\"cookies\"");
    return;
  }
  bool data = !r_.actions.set.empty() || !r_.actions.unset.empty();
  if (r_.actions.login) {
    // A new ID at login: whoever knew the old one (fixation) holds nothing.
    if (r_.has_user && r_.identity.user != *r_.actions.login) {
      // Another user logs in on this browser: the data is the previous
      // user's (a cart, a draft, a flag the application set for them) and
      // must not be inherited, so that session ends and a fresh one starts.
      // Anonymous data (a cart before login) and a repeated login of the
      // same user keep theirs through the rotation below.
      r_.ops.push_back({OpKind::kDestroy, true});
      r_.ops.push_back({OpKind::kCreate, true});
    } else {
      r_.ops.push_back({r_.stored ? OpKind::kRotate : OpKind::kCreate, true});
    }
    r_.ops.push_back({OpKind::kIdentity, true});
    // Beyond max_per_user the oldest logins end, this one stays (the newest).
    if (ctx_.settings->max_per_user != 0 && !r_.jar) r_.ops.push_back({OpKind::kTrim, false});
    if (data) r_.ops.push_back({OpKind::kUpdate, false});
    if (!r_.extra.set.empty() || !r_.extra.unset.empty()) r_.ops.push_back({OpKind::kExtra, true});
    if (r_.jar) {
      r_.new_key = "login";  // the cookie follows in finishActions
      return;
    }
    r_.new_id = session::SessionId::random();
    r_.new_key = session::CookieCodec::storeKey(r_.new_id);
    clearResponseFields();
    appendSetCookie(session::setCookie(*r_.cookie, ctx_.codec->encode(r_.new_id)));
    return;
  }
  r_.new_key = r_.key;
  if (r_.stored) {
    r_.ops.push_back({OpKind::kUpdate, false});
  } else if (!r_.actions.set.empty()) {
    r_.ops.push_back({OpKind::kCreate, false});
  }
}

std::string SessionGate::csrfBinding(bool create) {
  if (r_.jar) {
    if (r_.loaded && !r_.loaded->nonce.empty()) return r_.loaded->nonce;
    if (!create) return {};
    // Cookie-store sessions have no ID: a fresh anonymous one carries a
    // random nonce (sealed by the jar) for the token to bind to.
    session::Session fresh;
    r_.key = "client";
    r_.has_id = true;
    StoreStatus status = StoreStatus::kUnavailable;
    r_.cleanup = r_.jar->create(r_.key, fresh, session::wallClockNow(),
                                [&status](StoreStatus s) { status = s; });
    if (status != StoreStatus::kOk) return {};
    // The jar seals a nonce of its own: the token binds to what the cookie holds.
    r_.cleanup = r_.jar->load(r_.key, session::wallClockNow(),
                              [this](StoreStatus, const session::Session* sealed) {
                                if (sealed != nullptr) r_.loaded = *sealed;
                              });
    if (!r_.loaded || r_.loaded->nonce.empty()) return {};
    r_.stored = true;
    appendJarCookie(r_.key);
    return r_.loaded->nonce;
  }
  if (r_.has_id) return r_.key;
  if (!create) return {};
  issueAnonymous();
  return r_.key;
}

void SessionGate::login(const session::LoginInfo& login, session::Update extra) {
  session::ControlActions actions;
  actions.login = login.user;
  actions.groups = login.groups;
  r_.login_method = login.method;
  r_.login_tags = login.tags;
  r_.extra = std::move(extra);
  planActions(std::move(actions));
  phase_ = Phase::kActions;
  runNextOp();
}

void SessionGate::saveData(session::Update update) {
  r_.extra = std::move(update);
  r_.new_key = r_.key;
  r_.ops.push_back({r_.stored ? OpKind::kExtra : OpKind::kCreate, true});
  phase_ = Phase::kActions;
  runNextOp();
}

void SessionGate::logout(bool clear_site_data) {
  r_.clear_site_data = clear_site_data;
  session::ControlActions actions;
  actions.logout = session::Logout::kSession;
  planActions(std::move(actions));
  phase_ = Phase::kActions;
  runNextOp();
}

session::TicketPtr SessionGate::startOp(const Op& op, session::Store::Done done) {
  session::Store& store = this->store();
  switch (op.kind) {
    case OpKind::kCreate: {
      session::Session fresh;
      if (r_.actions.login) {
        // Created logged in, so that a bounded store counts it as a user's
        // from the start; the data follows in its own update, after the
        // identity (a refused update must not fail the login).
        fresh.user = *r_.actions.login;
        fresh.groups = r_.actions.groups;
      } else {
        for (const session::DataField& field : r_.actions.set) fresh.data[field.key] = field.value;
        for (const auto& [key, value] : r_.extra.set) fresh.data[key] = value;
      }
      return store.create(r_.new_key, fresh, session::wallClockNow(), std::move(done));
    }
    case OpKind::kRotate:
      return store.rotate(r_.key, r_.new_key, session::wallClockNow(), std::move(done));
    case OpKind::kIdentity: {
      session::LoginInfo info;
      info.user = *r_.actions.login;
      info.groups = r_.actions.groups;
      info.method = r_.login_method;
      info.tags = r_.login_tags;
      if (!r_.jar) info.handle = session::CookieCodec::handle(r_.new_id);
      info.address = r_.client;
      if (const http::Header* agent = r_.req->headers.find("User-Agent")) {
        info.agent = agent->value.substr(0, kMaxAgentBytes);
      }
      return store.setIdentity(r_.new_key, info, session::wallClockNow(), std::move(done));
    }
    case OpKind::kTrim:
      return store.trimUser(*r_.actions.login, ctx_.settings->max_per_user, session::wallClockNow(),
                            std::move(done));
    case OpKind::kUpdate: {
      session::Update update;
      for (const session::DataField& field : r_.actions.set) {
        update.set.emplace_back(field.key, field.value);
      }
      update.unset = r_.actions.unset;
      return store.update(r_.new_key, update, session::wallClockNow(), std::move(done));
    }
    case OpKind::kExtra:
      return store.update(r_.new_key, r_.extra, session::wallClockNow(), std::move(done));
    case OpKind::kDestroy:
      return store.destroy(r_.key, std::move(done));
    case OpKind::kDestroyUser:
      return store.destroyUser(r_.identity.user, std::move(done));
  }
  return nullptr;
}

void SessionGate::runNextOp() {
  if (r_.failed || r_.next_op == r_.ops.size()) return finishActions();
  Op op = r_.ops[r_.next_op];
  run([this, op] { return startOp(op, [this](StoreStatus status) { completed(status); }); });
}

void SessionGate::onOpDone(StoreStatus status) {
  Op op = r_.ops[r_.next_op++];
  if (status == StoreStatus::kOk) {
    countOp(op.kind);
    return runNextOp();
  }
  if (op.kind == OpKind::kRotate && status == StoreStatus::kMissing) {
    // The session expired between the request and the login: start afresh.
    r_.ops.insert(r_.ops.begin() + static_cast<std::ptrdiff_t>(r_.next_op),
                  Op{OpKind::kCreate, true});
  } else if (op.required) {
    LOG_WARN_LIMITED(
        "session store failed a %s (%s); answering 503 (%s %s): see the store's own messages "
        "(redis ADDRESS: ...) for the cause",
        r_.actions.login                              ? "login"
        : r_.actions.logout != session::Logout::kNone ? "logout"
                                                      : "sign-in step",
        statusText(status), r_.req->method.c_str(), pathOf(*r_.req).c_str());
    r_.failed = true;
  } else if (op.kind == OpKind::kTrim) {
    LOG_WARN_LIMITED("session.max_per_user not applied to a login: %s: see the store's messages",
                     statusText(status));
  } else {
    LOG_WARN_LIMITED(
        "session data from the upstream not saved: %s (%s %s): see the store's messages",
        statusText(status), r_.req->method.c_str(), pathOf(*r_.req).c_str());
  }
  runNextOp();
}

void SessionGate::finishActions() {
  phase_ = Phase::kIdle;
  r_.logged_in = !r_.failed && r_.actions.login.has_value();
  if (r_.failed) {
    clearResponseFields();
  } else if (r_.jar && r_.actions.logout == session::Logout::kNone) {
    clearResponseFields();
    appendJarCookie(r_.new_key);
  }
  if (r_.applying) return;
  owner_.onResponseApplied(!r_.failed);
}

}  // namespace sesame::proxy
