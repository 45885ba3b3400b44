#include "sesame/proxy/session_gate.h"

#include "sesame/base/log.h"
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

SessionShared::SessionShared(const session::Settings& settings,
                             std::shared_ptr<session::MemoryStore> previous)
    : codec(settings.secrets) {
  if (settings.store == session::StoreKind::kMemory) {
    memory = std::move(previous);
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
}

std::optional<std::string> takeCookie(http::HeaderList& headers, std::string_view name) {
  std::optional<std::string> found;
  for (const http::Header& h : headers.fields()) {
    if (!http::equalsIgnoreCase(h.name, "Cookie")) continue;
    if (std::optional<std::string_view> value = session::findCookie(h.value, name)) {
      found = std::string(*value);
      break;
    }
  }
  if (!found) return found;
  http::HeaderList kept;
  for (const http::Header& h : headers.fields()) {
    if (!http::equalsIgnoreCase(h.name, "Cookie")) {
      kept.add(h.name, h.value);
    } else if (std::string rest = session::removeCookie(h.value, name); !rest.empty()) {
      kept.add(h.name, rest);
    }
  }
  headers = std::move(kept);
  return found;
}

SessionGate::SessionGate(const SessionContext& ctx, SessionGateOwner& owner)
    : ctx_(ctx), cookie_(&ctx.plain_cookie), owner_(owner) {}

SessionGate::~SessionGate() = default;

std::string SessionGate::sessionHandle() const {
  if (jar_ || !has_id_) return {};
  return session::CookieCodec::handle(logged_in_ ? new_id_ : id_);
}

std::string_view SessionGate::user() const {
  if (logged_in_) return *actions_.login;
  return has_user_ ? std::string_view(user_) : std::string_view();
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
    case OpKind::kUpdate:
      return;
  }
}

void SessionGate::cancel() {
  ticket_.reset();
  phase_ = Phase::kIdle;
}

template <typename Call>
void SessionGate::run(Call call) {
  store_started_ = std::chrono::steady_clock::now();
  done_ = false;
  in_call_ = true;
  session::TicketPtr ticket = call();
  in_call_ = false;
  if (done_) return resume();
  ticket_ = std::move(ticket);
}

void SessionGate::completed(StoreStatus status) {
  if (ctx_.metrics != nullptr) {
    ctx_.metrics->onStoreCommand(std::chrono::steady_clock::now() - store_started_,
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

void SessionGate::checkRequest(http::RequestHead& req, const session::RoutePolicy& policy,
                               bool https) {
  cookie_ = https ? &ctx_.tls_cookie : &ctx_.plain_cookie;
  ticket_.reset();
  req_ = &req;
  policy_ = &policy;
  cookie_sent_ = has_id_ = stored_ = has_user_ = no_store_ = logged_in_ = false;
  user_.clear();
  groups_.clear();
  response_fields_.clear();
  sent_value_.clear();
  jar_.reset();
  const session::Settings& settings = *ctx_.settings;
  if (policy.csrf) {
    const std::string self = requestOrigin(req, https);
    // An upgrade is checked whatever its method: a WebSocket handshake is a
    // GET that hands the page a channel carrying the user's session.
    const session::CsrfVerdict csrf =
        req.upgrade
            ? session::checkCrossSite(req.headers, self, settings.csrf_origins)
            : session::checkUnsafeRequest(req.method, req.headers, self, settings.csrf_origins);
    if (!csrf.allowed) {
      // Client-controlled text, bounded and escaped (an Origin can be 8 KiB
      // of anything); never a cookie.
      LOG_INFO_LIMITED("refused a cross-site %s%s %s: %.*s \"%s\" %.*s (this site: %s)",
                       log::printable(req.method, 32).c_str(), req.upgrade ? " upgrade" : "",
                       log::printable(pathOf(req), 256).c_str(),
                       static_cast<int>(csrf.field.size()), csrf.field.data(),
                       log::printable(csrf.value, 128).c_str(), static_cast<int>(csrf.why.size()),
                       csrf.why.data(), log::printable(self, 128).c_str());
      return finishRequest(403);
    }
  }
  std::optional<std::string> value = takeCookie(req.headers, settings.cookie_name);
  cookie_sent_ = value.has_value();
  if (ctx_.sealer) {
    jar_ = std::make_unique<session::CookieStore>(ctx_.sealer, settings.timeouts);
    if (!value) {
      countLookup(SessionLookup::kAbsent);
      return onLoaded(StoreStatus::kMissing);
    }
    sent_value_ = std::move(*value);
    key_ = "client";
    has_id_ = true;
    jar_->adopt(key_, sent_value_);
    return startLoad();
  }
  // A forged or stale cookie ends here, before any store is asked: floods of
  // them cost one HMAC each and no store command.
  std::optional<session::SessionId> id;
  if (value) id = ctx_.codec->verify(*value);
  if (!id) {
    countLookup(value ? SessionLookup::kForged : SessionLookup::kAbsent);
    return onLoaded(StoreStatus::kMissing);
  }
  has_id_ = true;
  id_ = *id;
  key_ = session::CookieCodec::storeKey(id_);
  startLoad();
}

void SessionGate::startLoad() {
  phase_ = Phase::kLoad;
  run([this] {
    return store().load(key_, session::wallClockNow(),
                        [this](StoreStatus status, const session::Session* session) {
                          if (session != nullptr) absorb(*session);
                          completed(status);
                        });
  });
}

void SessionGate::appendJarCookie(std::string_view key) {
  if (std::optional<std::string> value = jar_->sealed(key)) {
    if (*value != sent_value_) appendSetCookie(session::setCookie(*cookie_, *value));
  } else if (cookie_sent_) {
    appendSetCookie(session::clearCookie(*cookie_));
  }
}

void SessionGate::absorb(const session::Session& session) {
  const session::IdentityHeaders& ids = ctx_.settings->identity;
  http::HeaderList& headers = req_->headers;
  has_user_ = !session.user.empty();
  if (has_user_) {
    user_ = session.user;
    groups_ = session.groups;
    headers.add(ids.user_header, session.user);
    if (!session.groups.empty()) {
      std::string joined;
      for (const std::string& group : session.groups) {
        if (!joined.empty()) joined.append(",");
        joined.append(group);
      }
      headers.add(ids.groups_header, joined);
    }
  }
  // Data fields go to anonymous sessions too: a cart before login is the
  // reason an application writes them.
  for (const auto& [key, value] : session.data) {
    headers.add(session::dataHeaderName(ids.data_prefix, key), value);
  }
}

void SessionGate::onLoaded(StoreStatus status) {
  phase_ = Phase::kIdle;
  if (has_id_) {
    // A cookie that verified but whose session the store no longer has:
    // timed out, logged out or evicted. (The cookie store cannot tell a
    // tampered sealed cookie from an expired one; both count here.)
    countLookup(status == StoreStatus::kOk        ? SessionLookup::kValid
                : status == StoreStatus::kMissing ? SessionLookup::kExpired
                                                  : SessionLookup::kUnavailable);
  }
  bool found = status == StoreStatus::kOk;
  // A store that did not answer may still hold the session: keep the
  // cookie, so the session is back when the store is.
  stored_ = found || (status == StoreStatus::kUnavailable && has_id_);
  if (status == StoreStatus::kUnavailable) {
    LOG_DEBUG("session store unavailable for %s %s", req_->method.c_str(), pathOf(*req_).c_str());
  }
  session::Session view;
  view.user = user_;
  view.groups = groups_;
  session::Lookup lookup{status, found ? &view : nullptr};
  bool navigation = session::isBrowserNavigation(req_->method, req_->headers);
  bool clear = cookie_sent_ && status != StoreStatus::kUnavailable;
  switch (session::decide(*policy_, lookup, navigation)) {
    case session::Access::kForward:
    case session::Access::kForwardAnonymous:
      if (!stored_) {
        issueAnonymous();
      } else if (jar_) {
        appendJarCookie(key_);  // a touch re-sealed it
      }
      return finishRequest(0);
    case session::Access::kLoginRedirect:
      if (clear) appendSetCookie(session::clearCookie(*cookie_));
      appendField(response_fields_, "Location",
                  session::loginLocation(ctx_.settings->login_url, req_->target));
      // The redirect names this user's own path: no cache keeps it either.
      no_store_ = true;
      return finishRequest(302);
    case session::Access::kUnauthorized:
      if (clear) appendSetCookie(session::clearCookie(*cookie_));
      // RFC 9110 §15.5.2: a 401 names the scheme that would succeed.
      appendField(response_fields_, "WWW-Authenticate", "Cookie realm=\"sesame\"");
      return finishRequest(401);
    case session::Access::kForbidden:
      return finishRequest(403);
    case session::Access::kUnavailable:
      return finishRequest(503);
  }
}

void SessionGate::issueAnonymous() {
  if (jar_) {
    // Nothing to seal until something is written; a value that did not
    // open goes.
    key_ = "client";
    has_id_ = true;
    stored_ = false;
    if (cookie_sent_) appendSetCookie(session::clearCookie(*cookie_));
    return;
  }
  id_ = session::SessionId::random();
  key_ = session::CookieCodec::storeKey(id_);
  has_id_ = true;
  // Nothing is stored until something is written: cookieless floods cost
  // the store nothing.
  stored_ = false;
  appendSetCookie(session::setCookie(*cookie_, ctx_.codec->encode(id_)));
}

void SessionGate::appendSetCookie(std::string_view value) {
  appendField(response_fields_, "Set-Cookie", value);
  no_store_ = true;
}

void SessionGate::clearResponseFields() {
  response_fields_.clear();
  no_store_ = false;
}

void SessionGate::finishRequest(int status) {
  if (status != 0) {
    policy_ = nullptr;  // no response side for sesame's own answers
    if (no_store_) appendField(response_fields_, "Cache-Control", session::kPrivateNoStore);
  }
  owner_.onRequestChecked(status, status != 0 ? std::string_view(response_fields_) : "");
}

SessionGate::Control SessionGate::applyControl(const http::ResponseHead& resp) {
  if (policy_ == nullptr || !policy_->accept_control || !has_id_) return Control::kSend;
  std::vector<std::string> warnings;
  session::ControlActions actions = session::parseControlHeaders(resp.headers, {}, &warnings);
  for (const std::string& warning : warnings) {
    LOG_WARN_LIMITED("upstream control header ignored: %s (%s %s)", warning.c_str(),
                     req_->method.c_str(), pathOf(*req_).c_str());
  }
  if (actions.empty()) return Control::kSend;
  planActions(std::move(actions));
  phase_ = Phase::kActions;
  failed_ = false;
  applying_ = true;
  runNextOp();
  applying_ = false;
  if (phase_ != Phase::kIdle) return Control::kPending;
  return failed_ ? Control::kRefuse : Control::kSend;
}

void SessionGate::planActions(session::ControlActions actions) {
  actions_ = std::move(actions);
  ops_.clear();
  next_op_ = 0;
  if (actions_.logout != session::Logout::kNone) {
    if (actions_.logout == session::Logout::kAllSessions && has_user_) {
      ops_.push_back({OpKind::kDestroyUser, true});
    }
    if (stored_) ops_.push_back({OpKind::kDestroy, true});
    clearResponseFields();
    appendSetCookie(session::clearCookie(*cookie_));
    appendField(response_fields_, "Clear-Site-Data", "\"cookies\"");
    return;
  }
  bool data = !actions_.set.empty() || !actions_.unset.empty();
  if (actions_.login) {
    // A new ID at login: whoever knew the old one (fixation) holds nothing.
    if (has_user_ && user_ != *actions_.login) {
      // Another user logs in on this browser: the data is the previous
      // user's (a cart, a draft, a flag the application set for them) and
      // must not be inherited, so that session ends and a fresh one starts.
      // Anonymous data (a cart before login) and a repeated login of the
      // same user keep theirs through the rotation below.
      ops_.push_back({OpKind::kDestroy, true});
      ops_.push_back({OpKind::kCreate, true});
    } else {
      ops_.push_back({stored_ ? OpKind::kRotate : OpKind::kCreate, true});
    }
    ops_.push_back({OpKind::kIdentity, true});
    if (data) ops_.push_back({OpKind::kUpdate, false});
    if (jar_) {
      new_key_ = "login";  // the cookie follows in finishActions
      return;
    }
    new_id_ = session::SessionId::random();
    new_key_ = session::CookieCodec::storeKey(new_id_);
    clearResponseFields();
    appendSetCookie(session::setCookie(*cookie_, ctx_.codec->encode(new_id_)));
    return;
  }
  new_key_ = key_;
  if (stored_) {
    ops_.push_back({OpKind::kUpdate, false});
  } else if (!actions_.set.empty()) {
    ops_.push_back({OpKind::kCreate, false});
  }
}

session::TicketPtr SessionGate::startOp(const Op& op, session::Store::Done done) {
  session::Store& store = this->store();
  switch (op.kind) {
    case OpKind::kCreate: {
      session::Session fresh;
      if (actions_.login) {
        // Created logged in, so that a bounded store counts it as a user's
        // from the start; the data follows in its own update, after the
        // identity (a refused update must not fail the login).
        fresh.user = *actions_.login;
        fresh.groups = actions_.groups;
      } else {
        for (const session::DataField& field : actions_.set) fresh.data[field.key] = field.value;
      }
      return store.create(new_key_, fresh, session::wallClockNow(), std::move(done));
    }
    case OpKind::kRotate:
      return store.rotate(key_, new_key_, session::wallClockNow(), std::move(done));
    case OpKind::kIdentity:
      return store.setIdentity(new_key_, *actions_.login, actions_.groups, session::wallClockNow(),
                               std::move(done));
    case OpKind::kUpdate: {
      session::Update update;
      for (const session::DataField& field : actions_.set) {
        update.set.emplace_back(field.key, field.value);
      }
      update.unset = actions_.unset;
      return store.update(new_key_, update, session::wallClockNow(), std::move(done));
    }
    case OpKind::kDestroy:
      return store.destroy(key_, std::move(done));
    case OpKind::kDestroyUser:
      return store.destroyUser(user_, std::move(done));
  }
  return nullptr;
}

void SessionGate::runNextOp() {
  if (failed_ || next_op_ == ops_.size()) return finishActions();
  Op op = ops_[next_op_];
  run([this, op] { return startOp(op, [this](StoreStatus status) { completed(status); }); });
}

void SessionGate::onOpDone(StoreStatus status) {
  Op op = ops_[next_op_++];
  if (status == StoreStatus::kOk) {
    countOp(op.kind);
    return runNextOp();
  }
  if (op.kind == OpKind::kRotate && status == StoreStatus::kMissing) {
    // The session expired between the request and the login: start afresh.
    ops_.insert(ops_.begin() + static_cast<std::ptrdiff_t>(next_op_), Op{OpKind::kCreate, true});
  } else if (op.required) {
    LOG_WARN_LIMITED(
        "session store failed a %s (%s); answering 503 (%s %s): see the store's own messages "
        "(redis ADDRESS: ...) for the cause",
        actions_.login ? "login" : "logout", statusText(status), req_->method.c_str(),
        pathOf(*req_).c_str());
    failed_ = true;
  } else {
    LOG_WARN_LIMITED(
        "session data from the upstream not saved: %s (%s %s): see the store's messages",
        statusText(status), req_->method.c_str(), pathOf(*req_).c_str());
  }
  runNextOp();
}

void SessionGate::finishActions() {
  phase_ = Phase::kIdle;
  logged_in_ = !failed_ && actions_.login.has_value();
  if (failed_) {
    clearResponseFields();
  } else if (jar_ && actions_.logout == session::Logout::kNone) {
    clearResponseFields();
    appendJarCookie(new_key_);
  }
  if (applying_) return;
  owner_.onResponseApplied(!failed_);
}

}  // namespace sesame::proxy
