#include "sesame/proxy/own_endpoints.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "sesame/auth/form.h"
#include "sesame/auth/forward_auth.h"
#include "sesame/auth/pages.h"
#include "sesame/auth/session_json.h"
#include "sesame/base/log.h"
#include "sesame/http/header_list.h"
#include "sesame/proxy/oidc_refresh.h"
#include "sesame/session/access.h"
#include "sesame/session/cache_control.h"
#include "sesame/session/control_headers.h"

namespace sesame::proxy {
namespace {

using session::StoreStatus;

constexpr std::string_view kPrefix = "/.sesame";
constexpr std::string_view kWrongCredentials = "Wrong user name or password.";
constexpr std::string_view kHtml = "text/html; charset=utf-8";
const std::vector<std::string> kNoHosts;

void appendField(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ',';
    out += item;
  }
  return out;
}

bool isFormBody(const http::HeaderList& headers) {
  const http::Header* type = headers.find("Content-Type");
  if (type == nullptr) return false;
  std::string_view media = std::string_view(type->value).substr(0, type->value.find(';'));
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  return http::equalsIgnoreCase(media, "application/x-www-form-urlencoded");
}

}  // namespace

bool isOwnTarget(std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  return path.starts_with(kPrefix) &&
         (path.size() == kPrefix.size() || path[kPrefix.size()] == '/');
}

OwnEndpoints::OwnEndpoints(const SessionContext& ctx, SessionGate& gate, OwnEndpointsOwner& owner)
    : ctx_(ctx), gate_(gate), owner_(owner) {}

OwnEndpoints::~OwnEndpoints() = default;

void OwnEndpoints::cancel() {
  ticket_.reset();
  hash_ticket_.reset();
  fetch_.reset();
  r_.waiter.reset();
  r_.step = Step::kIdle;
}

void OwnEndpoints::start(http::RequestHead& req, const ClientView& client, std::string original_url,
                         std::string body) {
  cancel();
  // Nothing of the connection's previous request (a cookie it was given, a
  // logout) may leave with this answer: a front proxy's pooled connection
  // carries many browsers' requests.
  gate_.cancel();
  r_ = RequestState{};
  r_.req = &req;
  r_.client = client;
  r_.original_url = std::move(original_url);
  std::string_view target = req.target;
  std::string_view path = target.substr(0, target.find('?'));
  std::string_view query =
      path.size() < target.size() ? target.substr(path.size() + 1) : std::string_view();
  bool forms = true;
  if (path == "/.sesame/login") {
    r_.endpoint = Endpoint::kLogin;
  } else if (path == "/.sesame/logout") {
    r_.endpoint = Endpoint::kLogout;
  } else if (path == "/.sesame/auth") {
    r_.endpoint = Endpoint::kAuth;
    forms = false;
  } else if (path == "/.sesame/session") {
    r_.endpoint = Endpoint::kSession;
    forms = false;
  } else if (path == "/.sesame/jwks.json") {
    r_.endpoint = Endpoint::kJwks;
    forms = false;
  } else if (path == "/.sesame/oidc/callback" && !ctx_.providers.empty()) {
    r_.endpoint = Endpoint::kOidcCallback;
    // Not HEAD: a prefetch or link checker must not use up the sign-in.
    if (req.method != "GET") {
      std::string fields;
      appendField(fields, "Allow", "GET");
      return respond(405, std::move(fields));
    }
    forms = false;
  } else if (path == "/.sesame/oidc/backchannel-logout" && !ctx_.providers.empty()) {
    // Server to server: no browser, no cookie, no CSRF token; the signed
    // logout token is the whole authority (Back-Channel Logout 1.0 §2.8).
    r_.endpoint = Endpoint::kBackchannel;
    if (req.method != "POST") {
      std::string fields;
      appendField(fields, "Allow", "POST");
      return respond(405, std::move(fields));
    }
    if (!isFormBody(req.headers)) return respond(415);
    return backchannelLogout(body);
  } else {
    return respond(404);
  }
  if (r_.endpoint == Endpoint::kJwks) {
    if (req.method != "GET" && req.method != "HEAD") {
      std::string fields;
      appendField(fields, "Allow", "GET, HEAD");
      return respond(405, std::move(fields));
    }
    return answerJwks();
  }
  if (forms && ctx_.login == nullptr && ctx_.providers.empty()) return respond(404);
  bool read = req.method == "GET" || req.method == "HEAD";
  r_.post = forms && req.method == "POST";
  if (!read && !r_.post) {
    std::string fields;
    appendField(fields, "Allow", forms ? "GET, HEAD, POST" : "GET, HEAD");
    return respond(405, std::move(fields));
  }
  if (r_.post && ctx_.login == nullptr && r_.endpoint == Endpoint::kLogin) {
    // Without [login] there is no form to post: providers sign users in.
    std::string fields;
    appendField(fields, "Allow", "GET, HEAD");
    return respond(405, std::move(fields));
  }
  if (r_.post) {
    if (!isFormBody(req.headers)) return respond(415);
    std::string why;
    std::optional<auth::LoginForm> form = auth::parseLoginForm(body, &why);
    if (!form) {
      LOG_DEBUG("%s: sign-in form refused: %s", r_.client.address.c_str(), why.c_str());
      return respond(400);
    }
    r_.username = std::move(form->username);
    r_.password = std::move(form->password);
    r_.csrf = std::move(form->csrf);
    r_.return_to = std::move(form->return_to);
  } else if (r_.endpoint == Endpoint::kLogin) {
    std::vector<std::string> values = auth::formValues(query, "return_to");
    if (!values.empty()) r_.return_to = values.front();
    values = auth::formValues(query, "provider");
    if (!values.empty()) {
      r_.start_provider = providerNamed(values.front());
      if (!r_.start_provider) return respond(404);
    } else if (ctx_.login == nullptr && ctx_.providers.size() == 1) {
      // One way to sign in: no page to choose from.
      r_.start_provider = 0;
    }
  }
  r_.return_to = auth::chooseReturnTo(
      r_.return_to, ctx_.login != nullptr ? ctx_.login->forward_auth_hosts : kNoHosts);
  // A cross-site POST is refused before its token is even looked at
  // (login CSRF: signing a victim in as the attacker).
  gate_.inspect(req, client.https, client.address, r_.post);
}

void OwnEndpoints::onChecked(int status) {
  if (status != 0) return respond(status);
  afterInspect();
}

void OwnEndpoints::afterInspect() {
  switch (r_.endpoint) {
    case Endpoint::kSession:
      return answerSession();
    case Endpoint::kAuth:
      return answerAuth();
    case Endpoint::kOidcCallback:
      return oidcCallback();
    case Endpoint::kBackchannel:
    case Endpoint::kJwks:
      return;
    case Endpoint::kLogin:
      if (r_.start_provider) return startOidc(*r_.start_provider);
      if (!r_.post) return showLoginForm(200, {});
      if (!tokenValid()) return respond(403);
      return checkFailures();
    case Endpoint::kLogout:
      if (!r_.post) return showLogoutForm();
      if (!tokenValid()) return respond(403);
      rememberOidcSession();
      // Clear-Site-Data would also clear a provider on the same site
      // (sso.example.com beside app.example.com) before its own sign-out.
      return gate_.logout(!rpLogout());
  }
}

void OwnEndpoints::answerSession() {
  if (gate_.lookupStatus() == StoreStatus::kUnavailable) return respond(503);
  std::string fields;
  appendField(fields, "Cache-Control", "no-store");
  respond(200, std::move(fields), "application/json",
          auth::renderSessionJson(gate_.session(), ctx_.settings->timeouts,
                                  ctx_.login != nullptr && ctx_.login->expose_data));
}

void OwnEndpoints::answerAuth() {
  if (gate_.lookupStatus() == StoreStatus::kUnavailable) return respond(503);
  const session::Session* s = gate_.session();
  std::string fields;
  appendField(fields, "Cache-Control", "no-store");
  if (s != nullptr && !s->user.empty()) {
    // The rule comes from the auth request's own query, which the front
    // proxy's operator wrote, never from X-Forwarded-Uri (a client's word).
    std::string_view target = r_.req->target;
    size_t q = target.find('?');
    std::vector<std::string> wanted = auth::formValues(
        q == std::string_view::npos ? std::string_view() : target.substr(q + 1), "group");
    if (!wanted.empty() && std::none_of(wanted.begin(), wanted.end(), [&](const std::string& g) {
          return std::find(s->groups.begin(), s->groups.end(), g) != s->groups.end();
        })) {
      return respond(403, std::move(fields));
    }
    const session::IdentityHeaders& ids = ctx_.settings->identity;
    appendField(fields, ids.user_header, s->user);
    if (!s->groups.empty()) appendField(fields, ids.groups_header, joined(s->groups));
    for (const auto& [key, value] : s->data) {
      // The front proxy copies these to the application: never sesame's own.
      if (session::isInternalDataKey(key)) continue;
      appendField(fields, session::dataHeaderName(ids.data_prefix, key), value);
    }
    return respond(200, std::move(fields));
  }
  // A person in a browser is sent to the sign-in page and back; only for
  // the hosts the operator listed, so this is no open redirect. Traefik and
  // Caddy pass a 302 on to the browser; nginx's auth_request accepts only
  // 2xx, 401 and 403, so its recipe takes the Location of the 401 instead
  // (auth_request_set, error_page 401).
  if (ctx_.login != nullptr && r_.client.trusted_peer) {
    std::optional<auth::OriginalRequest> original =
        auth::originalRequest(r_.req->headers, r_.original_url);
    if (original && session::isBrowserNavigation(original->method, r_.req->headers) &&
        auth::allowedReturnUrl(original->url, ctx_.login->forward_auth_hosts)) {
      // The form itself, whatever login_url says: it is the page that
      // accepts an absolute return address.
      appendField(
          fields, "Location",
          std::string(auth::kLoginPath) + "?return_to=" + session::percentEncode(original->url));
      if (!original->from_original_url) return respond(302, std::move(fields));
    }
  }
  appendField(fields, "WWW-Authenticate", "Cookie realm=\"sesame\"");
  respond(401, std::move(fields));
}

std::string OwnEndpoints::pageFields() const {
  std::string form_action = "'self'";
  if (ctx_.login != nullptr) {
    // After a forward-auth sign-in the form's redirect goes to the
    // protected host, which browsers check against form-action too.
    for (const std::string& host : ctx_.login->forward_auth_hosts) {
      form_action += " " + host + (host.find(':') == std::string::npos ? ":*" : "");
    }
  }
  // The sign-out form's 303 may lead to a provider's end_session_endpoint,
  // and browsers check form-action along a form's redirects too.
  for (const oidc::Provider* provider : ctx_.providers) {
    const oidc::Knowledge* knowledge = provider->knowledge();
    if (knowledge == nullptr || knowledge->metadata.end_session_endpoint.empty()) continue;
    std::string_view url = knowledge->metadata.end_session_endpoint;
    size_t end = url.find('/', url.find("//") + 2);
    form_action += " " + std::string(url.substr(0, end));
  }
  std::string fields;
  appendField(fields, "Content-Security-Policy",
              "default-src 'none'; style-src 'unsafe-inline'; form-action " + form_action +
                  "; frame-ancestors 'none'");
  appendField(fields, "X-Frame-Options", "DENY");
  appendField(fields, "X-Content-Type-Options", "nosniff");
  appendField(fields, "Referrer-Policy", "no-referrer");
  appendField(fields, "Cache-Control", "no-store");
  return fields;
}

void OwnEndpoints::showLoginForm(int status, std::string_view error) {
  std::string binding = gate_.csrfBinding(true);
  if (binding.empty()) return respond(503);
  std::string token = ctx_.codec->csrfToken(binding);
  std::vector<std::string> hrefs;
  std::vector<auth::ProviderLink> links;
  for (size_t i = 0; i < ctx_.providers.size(); ++i) hrefs.push_back(providerLink(i));
  for (size_t i = 0; i < ctx_.providers.size(); ++i) {
    links.push_back({hrefs[i], ctx_.providers[i]->config().display_name});
  }
  auth::LoginPage page{
      title(), error, token, r_.return_to, r_.username, links, ctx_.login != nullptr};
  respond(status, pageFields(), kHtml,
          auth::renderLoginPage(ctx_.login != nullptr ? ctx_.login->page_template : "", page));
}

void OwnEndpoints::showLogoutForm() {
  std::string binding = gate_.csrfBinding(true);
  if (binding.empty()) return respond(503);
  respond(200, pageFields(), kHtml,
          auth::renderLogoutPage(title(), ctx_.codec->csrfToken(binding)));
}

bool OwnEndpoints::rpLogout() const {
  if (!r_.logout_provider) return false;
  const oidc::Knowledge* knowledge = ctx_.providers[*r_.logout_provider]->knowledge();
  return knowledge != nullptr && !knowledge->metadata.end_session_endpoint.empty();
}

std::string_view OwnEndpoints::title() const {
  return ctx_.login != nullptr ? std::string_view(ctx_.login->title) : "Sign in";
}

void OwnEndpoints::rememberOidcSession() {
  const session::Session* s = gate_.session();
  if (s == nullptr || !s->method.starts_with("oidc:")) return;
  r_.logout_provider = providerNamed(std::string_view(s->method).substr(5));
  if (auto it = s->data.find(std::string(kOidcIdTokenField)); it != s->data.end()) {
    r_.id_token = it->second;
  }
}

bool OwnEndpoints::tokenValid() {
  std::string binding = gate_.csrfBinding(false);
  bool ok = !binding.empty() && ctx_.codec->verifyCsrfToken(binding, r_.csrf);
  if (!ok) {
    LOG_INFO_LIMITED("refused a sign-in form from %s: missing or wrong CSRF token (%s)",
                     r_.client.address.c_str(),
                     binding.empty() ? "no session cookie: cookies blocked, or the form is stale"
                                     : "the form was not served to this browser's session");
  }
  return ok;
}

std::vector<std::string> OwnEndpoints::failureKeys() const {
  return {"u:" + r_.username, addressKey()};
}

std::string OwnEndpoints::addressKey() const {
  in6_addr v6{};
  if (inet_pton(AF_INET6, r_.client.address.c_str(), &v6) != 1 || IN6_IS_ADDR_V4MAPPED(&v6)) {
    return "a:" + r_.client.address;
  }
  std::memset(v6.s6_addr + 8, 0, 8);
  char text[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, &v6, text, sizeof text);
  return std::string("a:") + text + "/64";
}

void OwnEndpoints::completed() {
  spent_ = std::move(ticket_);
  spent_hash_ = std::move(hash_ticket_);
  done_ = true;
  if (!in_call_) resume();
}

void OwnEndpoints::resume() {
  Step step = r_.step;
  r_.step = Step::kIdle;
  switch (step) {
    case Step::kCount:
      return onCounted(r_.status, r_.failures);
    case Step::kHash:
      return onHashed(r_.match);
    case Step::kClaim:
      return r_.endpoint == Endpoint::kBackchannel ? onLogoutClaimed(r_.status)
                                                   : onStateClaimed(r_.status);
    case Step::kDestroy:
      if (r_.status != StoreStatus::kOk) {
        // The provider retries a logout that failed: its jti must not read
        // as a replay then.
        r_.cleanup = ctx_.store->release(r_.jti, [](StoreStatus) {});
        return respond(503);
      }
      LOG_INFO("back-channel logout: sessions of %s ended", r_.tag.c_str());
      return respond(200, "Cache-Control: no-store\r\n");
    case Step::kIdle:
      return;
  }
}

void OwnEndpoints::checkFailures() {
  if (r_.username.empty() || r_.password.empty()) {
    r_.password.clear();
    return showLoginForm(401, kWrongCredentials);
  }
  // The attempt counts before its password is checked: parallel guesses
  // cannot all read the same old count and pass the limit together, and
  // one address never has more than max_failures checks waiting. A right
  // password takes its attempt back (loggedIn).
  run(Step::kCount, [this] {
    ticket_ = ctx_.counters->addFailure(failureKeys(), ctx_.login->failure_window,
                                        session::wallClockNow(),
                                        [this](StoreStatus status, session::Failures failures) {
                                          r_.status = status;
                                          r_.failures = failures;
                                          completed();
                                        });
  });
}

void OwnEndpoints::onCounted(StoreStatus status, session::Failures failures) {
  if (status != StoreStatus::kOk) {
    // Without its counters the brute-force limit cannot hold: fail closed.
    LOG_WARN_LIMITED("sign-in refused (503): the failure counters are unavailable (%s)",
                     status == StoreStatus::kUnavailable ? "store unavailable" : "store error");
    if (ctx_.metrics != nullptr) ctx_.metrics->onLogin(LoginOutcome::kUnavailable);
    r_.password.clear();
    return respond(503);
  }
  if (failures.count > ctx_.login->max_failures) {
    int64_t seconds = std::max<int64_t>(1, (failures.retry_after.count() + 999) / 1000);
    LOG_WARN_LIMITED(
        "sign-in locked for user %s from %s: %lld attempts within login.failure_window",
        log::printable(r_.username, 64).c_str(), r_.client.address.c_str(),
        static_cast<long long>(failures.count));
    if (ctx_.metrics != nullptr) ctx_.metrics->onLogin(LoginOutcome::kLocked);
    std::string fields;
    appendField(fields, "Retry-After", std::to_string(seconds));
    appendField(fields, "Cache-Control", "no-store");
    r_.password.clear();
    return respond(429, std::move(fields));
  }
  r_.failures = failures;
  const auth::User* user = ctx_.login->users->find(r_.username);
  // An unknown name is checked against a real hash of the file's usual
  // kind and cost, so its answer takes as long as a wrong password's.
  std::string hash = user != nullptr ? user->hash : ctx_.login->users->dummyHash();
  run(Step::kHash, [this, known = user != nullptr, hash = std::move(hash)]() mutable {
    hash_ticket_ = ctx_.hashing->verify(std::move(r_.password), std::move(hash), ctx_.mailbox,
                                        [this, known](bool match) {
                                          r_.match = match && known;
                                          completed();
                                        });
    r_.password.clear();
    if (!hash_ticket_) {
      r_.step = Step::kIdle;
      LOG_WARN_LIMITED(
          "sign-in refused (503): every password-hashing thread is busy and "
          "login.hash_queue checks wait; raise login.hash_threads or hash_queue");
      if (ctx_.metrics != nullptr) ctx_.metrics->onLogin(LoginOutcome::kBusy);
      forgive();
      std::string fields;
      appendField(fields, "Retry-After", "1");
      respond(503, std::move(fields));
    }
  });
}

void OwnEndpoints::onHashed(bool match) {
  if (match) {
    const auth::User* user = ctx_.login->users->find(r_.username);
    session::LoginInfo info;
    info.user = r_.username;
    info.groups = user != nullptr ? user->groups : std::vector<std::string>();
    // The users file's current hash is named in the session: a new
    // password, or the name given to someone else, ends it (SessionGate).
    info.method = "password:" + (user != nullptr ? user->fingerprint : std::string());
    // A password sign-in on a browser signed in through a provider before:
    // that sign-in's tokens (and its back-channel reach) end here.
    session::Update extra;
    if (const session::Session* s = gate_.session()) {
      for (const auto& entry : s->data) {
        if (session::isInternalDataKey(entry.first)) extra.unset.push_back(entry.first);
      }
    }
    // The gate fills in the handle, the address and the User-Agent.
    return gate_.login(info, std::move(extra));
  }
  if (ctx_.metrics != nullptr) ctx_.metrics->onLogin(LoginOutcome::kFailure);
  LOG_INFO("failed sign-in for user %s from %s (%lld of login.max_failures %lld)",
           log::printable(r_.username, 64).c_str(), r_.client.address.c_str(),
           static_cast<long long>(r_.failures.count),
           static_cast<long long>(ctx_.login->max_failures));
  showLoginForm(401, kWrongCredentials);
}

void OwnEndpoints::forgive() {
  r_.cleanup = ctx_.counters->forgiveFailure(failureKeys(), session::wallClockNow(),
                                             [](StoreStatus, session::Failures) {});
}

void OwnEndpoints::onApplied(bool ok) {
  if (r_.endpoint == Endpoint::kLogout) {
    if (!ok) return respond(503);
    std::string fields;
    appendField(fields, "Location", logoutLocation());
    appendField(fields, "Cache-Control", "no-store");
    return respond(303, std::move(fields));
  }
  if (r_.start_provider) return ok ? oidcRedirected() : respond(503);
  if (!ok) {
    if (ctx_.metrics != nullptr) ctx_.metrics->onLogin(LoginOutcome::kUnavailable);
    return respond(503);
  }
  loggedIn();
}

void OwnEndpoints::loggedIn() {
  LOG_INFO("signed in: user %s from %s%s%s", log::printable(r_.username, 64).c_str(),
           r_.client.address.c_str(), r_.endpoint == Endpoint::kOidcCallback ? " through " : "",
           r_.endpoint == Endpoint::kOidcCallback
               ? ctx_.providers[r_.flow.provider]->config().name.c_str()
               : "");
  if (ctx_.metrics != nullptr) ctx_.metrics->onLogin(LoginOutcome::kSuccess);
  if (r_.endpoint == Endpoint::kOidcCallback) {
    std::string fields;
    appendField(fields, "Location", r_.return_to);
    appendField(fields, "Cache-Control", "no-store");
    return respond(303, std::move(fields));
  }
  // The name's counter starts again; the address only gets this attempt
  // back (one account of the attacker's own must not reset the limit on
  // guessing others).
  r_.cleanup = ctx_.counters->clearFailures("u:" + r_.username, [](StoreStatus) {});
  r_.spare = ctx_.counters->forgiveFailure({addressKey()}, session::wallClockNow(),
                                           [](StoreStatus, session::Failures) {});
  std::string fields;
  appendField(fields, "Location", r_.return_to);
  appendField(fields, "Cache-Control", "no-store");
  respond(303, std::move(fields));
}

void OwnEndpoints::respond(int status, std::string fields, std::string_view content_type,
                           std::string body) {
  OwnResponse response;
  response.status = status;
  response.fields = std::move(fields);
  response.fields.append(gate_.responseFields());
  response.content_type = content_type;
  response.body = std::move(body);
  owner_.onOwnResponse(response);
}

}  // namespace sesame::proxy
