// OpenID Connect at sesame's own paths: the redirect to a provider, the callback, back-channel
// logout, RP-initiated logout and the assertion keys. Part of OwnEndpoints (own_endpoints.h).
#include <openssl/crypto.h>

#include <algorithm>
#include <charconv>

#include "sesame/auth/form.h"
#include "sesame/auth/pages.h"
#include "sesame/base/log.h"
#include "sesame/jose/claims.h"
#include "sesame/jose/jws.h"
#include "sesame/oidc/authorization.h"
#include "sesame/oidc/claims_map.h"
#include "sesame/oidc/id_token.h"
#include "sesame/oidc/logout_token.h"
#include "sesame/oidc/logout_url.h"
#include "sesame/oidc/pkce.h"
#include "sesame/oidc/token_response.h"
#include "sesame/proxy/oidc_refresh.h"
#include "sesame/proxy/own_endpoints.h"
#include "sesame/session/access.h"

namespace sesame::proxy {
namespace {

using session::StoreStatus;

constexpr std::string_view kHtml = "text/html; charset=utf-8";
// A sign-in must come back from the provider within this long (issue 12: state and nonce
// expire after 10 minutes).
constexpr int64_t kFlowLifetimeMs = 10 * 60 * 1000;
// Sign-ins started in other tabs of the same browser are kept, up to this many.
constexpr size_t kMaxFlows = 4;
constexpr std::string_view kFlowPrefix = ".oidc.flow.";
// The flow's field is named by the first characters of its state (the rest of the state is
// checked against the stored copy in constant time).
constexpr size_t kFlowKeyChars = 16;

void appendField(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

std::string queryOf(std::string_view target) {
  size_t q = target.find('?');
  return q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1));
}

std::optional<std::string> oneValue(std::string_view query, std::string_view name) {
  std::vector<std::string> values = auth::formValues(query, name);
  if (values.size() != 1) return std::nullopt;
  return std::move(values.front());
}

// "created provider state nonce verifier redirect_uri return_to": every part but the last is
// free of spaces (base64url, digits, a URL sesame built); return_to is the rest.
std::string encodeFlow(const OwnEndpoints::Flow& flow) {
  return std::to_string(flow.created) + ' ' + std::to_string(flow.provider) + ' ' + flow.state +
         ' ' + flow.nonce + ' ' + flow.verifier + ' ' + flow.redirect_uri + ' ' + flow.return_to;
}

std::optional<OwnEndpoints::Flow> decodeFlow(std::string_view text) {
  std::vector<std::string_view> parts;
  for (int i = 0; i < 6; ++i) {
    size_t space = text.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    parts.push_back(text.substr(0, space));
    text.remove_prefix(space + 1);
  }
  OwnEndpoints::Flow flow;
  auto number = [](std::string_view s, auto& out) {
    return std::from_chars(s.data(), s.data() + s.size(), out).ec == std::errc();
  };
  if (!number(parts[0], flow.created) || !number(parts[1], flow.provider)) return std::nullopt;
  flow.state = parts[2];
  flow.nonce = parts[3];
  flow.verifier = parts[4];
  flow.redirect_uri = parts[5];
  flow.return_to = text;
  return flow;
}

bool sameSecret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

const std::string* dataField(const session::Session* s, const std::string& key) {
  if (s == nullptr) return nullptr;
  auto it = s->data.find(key);
  return it == s->data.end() ? nullptr : &it->second;
}

}  // namespace

std::optional<size_t> OwnEndpoints::providerNamed(std::string_view name) const {
  for (size_t i = 0; i < ctx_.providers.size(); ++i) {
    if (ctx_.providers[i]->config().name == name) return i;
  }
  return std::nullopt;
}

std::string OwnEndpoints::providerLink(size_t provider) const {
  return std::string(auth::kLoginPath) +
         "?provider=" + session::percentEncode(ctx_.providers[provider]->config().name) +
         "&return_to=" + session::percentEncode(r_.return_to);
}

std::string OwnEndpoints::selfUrl(std::string_view path) const {
  return (r_.client.https ? "https://" : "http://") + r_.req->host + std::string(path);
}

void OwnEndpoints::oidcMessage(int status, std::string_view message, bool retry_link) {
  std::string href;
  if (retry_link) {
    href = std::string(auth::kLoginPath) + "?return_to=" + session::percentEncode(r_.return_to);
  }
  respond(status, pageFields(), kHtml,
          auth::renderMessagePage("Sign in", message, href, "Sign in again"));
}

bool OwnEndpoints::awaitKeys(size_t provider, void (OwnEndpoints::*then)()) {
  if (r_.keys_refetched) return false;
  r_.keys_refetched = true;
  r_.waiter = std::make_shared<std::function<void(bool)>>([this, then](bool) { (this->*then)(); });
  return ctx_.providers[provider]->refetchKeys(r_.waiter);
}

void OwnEndpoints::startOidc(size_t index) {
  oidc::Provider& provider = *ctx_.providers[index];
  const oidc::Knowledge* knowledge = provider.knowledge();
  if (knowledge == nullptr) {
    provider.discoverSoon(nullptr);
    std::string fields = pageFields();
    appendField(fields, "Retry-After", "10");
    return respond(
        503, std::move(fields), kHtml,
        auth::renderMessagePage(
            "Sign in", "The identity provider cannot be reached yet; try again soon.", {}, {}));
  }
  if (gate_.csrfBinding(true).empty()) return respond(503);
  const config::OidcProviderConfig& config = provider.config();
  oidc::AuthorizationSecrets secrets = oidc::newAuthorizationSecrets();
  Flow& flow = r_.flow;
  flow.created = session::wallClockNow();
  flow.provider = index;
  flow.state = std::move(secrets.state);
  flow.nonce = std::move(secrets.nonce);
  flow.verifier = std::move(secrets.code_verifier);
  flow.redirect_uri =
      config.redirect_url.empty() ? selfUrl(config::kOidcCallbackPath) : config.redirect_url;
  flow.return_to = r_.return_to;
  session::Update update;
  // Sign-ins begun in other tabs stay (each tab's callback finds its own), the stale and the
  // oldest beyond kMaxFlows go: a browser cannot grow its session without bound.
  std::vector<std::pair<int64_t, std::string>> kept;
  if (const session::Session* s = gate_.session()) {
    for (const auto& [key, value] : s->data) {
      if (!key.starts_with(kFlowPrefix)) continue;
      std::optional<Flow> other = decodeFlow(value);
      if (!other || flow.created - other->created > kFlowLifetimeMs) {
        update.unset.push_back(key);
      } else {
        kept.emplace_back(other->created, key);
      }
    }
  }
  std::sort(kept.begin(), kept.end());
  for (size_t i = 0; i + kMaxFlows <= kept.size(); ++i) update.unset.push_back(kept[i].second);
  update.set.emplace_back(std::string(kFlowPrefix) + flow.state.substr(0, kFlowKeyChars),
                          encodeFlow(flow));
  gate_.saveData(std::move(update));
}

void OwnEndpoints::oidcRedirected() {
  const oidc::Provider& provider = *ctx_.providers[r_.flow.provider];
  const config::OidcProviderConfig& config = provider.config();
  std::string challenge = oidc::codeChallengeS256(r_.flow.verifier);
  oidc::AuthorizationRequest request;
  request.authorization_endpoint = provider.knowledge()->metadata.authorization_endpoint;
  request.client_id = config.client_id;
  request.redirect_uri = r_.flow.redirect_uri;
  request.scopes = config.scopes;
  request.state = r_.flow.state;
  request.nonce = r_.flow.nonce;
  request.code_challenge = challenge;
  std::string fields;
  appendField(fields, "Location", oidc::authorizationUrl(request));
  appendField(fields, "Cache-Control", "no-store");
  appendField(fields, "Referrer-Policy", "no-referrer");
  respond(302, std::move(fields));
}

void OwnEndpoints::oidcCallback() {
  if (gate_.lookupStatus() == StoreStatus::kUnavailable) return respond(503);
  std::string query = queryOf(r_.req->target);
  std::optional<std::string> state = oneValue(query, "state");
  const session::Session* s = gate_.session();
  const std::string* stored =
      state && state->size() >= kFlowKeyChars
          ? dataField(s, std::string(kFlowPrefix) + state->substr(0, kFlowKeyChars))
          : nullptr;
  std::optional<Flow> flow = stored != nullptr ? decodeFlow(*stored) : std::nullopt;
  if (!flow || !sameSecret(flow->state, *state) || flow->provider >= ctx_.providers.size() ||
      session::wallClockNow() - flow->created > kFlowLifetimeMs) {
    LOG_INFO_LIMITED(
        "oidc callback from %s refused: %s", r_.client.address.c_str(),
        !state ? "no state" : "unknown, expired or foreign state (started in another browser?)");
    return oidcMessage(400,
                       "This sign-in has expired or was started in another browser. Please sign "
                       "in again.",
                       true);
  }
  r_.flow = std::move(*flow);
  r_.return_to = r_.flow.return_to;
  const config::OidcProviderConfig& config = ctx_.providers[r_.flow.provider]->config();
  if (std::optional<std::string> error = oneValue(query, "error")) {
    LOG_INFO("oidc provider \"%s\" did not sign in a user from %s: %s", config.name.c_str(),
             r_.client.address.c_str(), log::printable(*error, 64).c_str());
    return oidcMessage(403, "The identity provider did not sign you in.", true);
  }
  // RFC 9207: a provider that names itself in the callback must name itself (mix-up attacks).
  if (std::optional<std::string> iss = oneValue(query, "iss"); iss && *iss != config.issuer) {
    LOG_WARN_LIMITED("oidc callback from %s refused: iss is not provider \"%s\"'s issuer",
                     r_.client.address.c_str(), config.name.c_str());
    return oidcMessage(400, "The sign-in came back from the wrong identity provider.", true);
  }
  std::optional<std::string> code = oneValue(query, "code");
  if (!code || code->empty()) return oidcMessage(400, "The sign-in came back incomplete.", true);
  r_.code = std::move(*code);
  exchangeCode();
}

void OwnEndpoints::onStateClaimed(StoreStatus status) {
  if (status == StoreStatus::kRejected) {
    LOG_INFO_LIMITED("oidc callback from %s refused: its state was used before",
                     r_.client.address.c_str());
    return oidcMessage(400, "This sign-in was already used. Please sign in again.", true);
  }
  if (status != StoreStatus::kOk) return respond(503);
  gate_.login(r_.login, std::move(r_.login_extra));
}

void OwnEndpoints::exchangeCode() {
  oidc::Provider& provider = *ctx_.providers[r_.flow.provider];
  const oidc::Knowledge* knowledge = provider.knowledge();
  if (knowledge == nullptr) return respond(503);
  std::string error;
  std::optional<oidc::TokenRequest> request = oidc::codeExchangeRequest(
      provider.credentials(), knowledge->metadata.token_endpoint, r_.code, r_.flow.redirect_uri,
      r_.flow.verifier, session::wallClockNow() / 1000, &error);
  r_.code.clear();
  if (!request) {
    LOG_ERROR("oidc provider \"%s\": cannot make the token request: %s",
              provider.config().name.c_str(), error.c_str());
    return respond(500);
  }
  outbound::Request out = tokenPost(knowledge->metadata.token_endpoint, std::move(*request));
  fetch_ = provider.client().fetch(std::move(out),
                                   [this](outbound::Result result) { onTokens(result); });
}

void OwnEndpoints::onTokens(const outbound::Result& result) {
  const config::OidcProviderConfig& config = ctx_.providers[r_.flow.provider]->config();
  if (!result.ok) {
    LOG_WARN_LIMITED("oidc provider \"%s\": token endpoint: %s", config.name.c_str(),
                     result.error.c_str());
    return oidcMessage(502, "The identity provider did not answer. Please try again.", true);
  }
  r_.tokens_status = result.status;
  r_.tokens_body = result.body;
  checkIdToken();
}

void OwnEndpoints::checkIdToken() {
  oidc::Provider& provider = *ctx_.providers[r_.flow.provider];
  const config::OidcProviderConfig& config = provider.config();
  oidc::TokenResponse response =
      oidc::parseTokenResponse(r_.tokens_status, r_.tokens_body, oidc::Grant::kAuthorizationCode);
  if (response.outcome != oidc::TokenOutcome::kOk) {
    LOG_WARN_LIMITED("oidc provider \"%s\": sign-in from %s failed at the token endpoint: %s",
                     config.name.c_str(), r_.client.address.c_str(), response.why.c_str());
    return oidcMessage(response.outcome == oidc::TokenOutcome::kRefused ? 400 : 502,
                       "The identity provider refused the sign-in. Please try again.", true);
  }
  const oidc::Knowledge* knowledge = provider.knowledge();
  oidc::TokenTrust trust;
  trust.keys = &knowledge->keys;
  trust.issuer = config.issuer;
  trust.algs = knowledge->metadata.id_token_algs;
  trust.now = session::wallClockNow() / 1000;
  trust.skew = std::chrono::duration_cast<std::chrono::seconds>(config.clock_skew).count();
  oidc::IdTokenExpectations expect;
  expect.client_id = config.client_id;
  expect.nonce = r_.flow.nonce;
  expect.user_claim = config.user_claim;
  expect.groups_claim = config.groups_claim;
  oidc::IdTokenResult checked = oidc::validateIdToken(response.tokens.id_token, trust, expect);
  if (checked.error == oidc::TokenError::kUnknownKey &&
      awaitKeys(r_.flow.provider, &OwnEndpoints::checkIdToken)) {
    return;
  }
  if (!checked.ok()) {
    LOG_WARN_LIMITED("oidc provider \"%s\": ID token refused for a sign-in from %s: %s",
                     config.name.c_str(), r_.client.address.c_str(), checked.why.c_str());
    return oidcMessage(403, "The identity provider's answer was not valid.", true);
  }
  oidc::AccessPolicy policy;
  policy.user_claim = config.user_claim;
  policy.allowed_groups = config.allowed_groups;
  policy.allowed_email_domains = config.allowed_email_domains;
  oidc::AccessDecision decision = oidc::decideAccess(checked.claims, policy);
  if (!decision.allowed()) {
    LOG_INFO("oidc sign-in through \"%s\" refused by policy for a user from %s: %s",
             config.name.c_str(), r_.client.address.c_str(), decision.why.c_str());
    if (ctx_.metrics != nullptr) ctx_.metrics->onLogin(LoginOutcome::kFailure);
    return oidcMessage(403,
                       "You signed in, but this site does not admit your account. Ask its "
                       "administrator for access.",
                       false);
  }
  r_.username = decision.user;
  if (decision.left_out != 0) {
    LOG_INFO_LIMITED(
        "oidc sign-in through \"%s\": %zu of the user's groups left out (not forwardable: a "
        "space, a comma, non-ASCII or over 64 bytes; or beyond 64 groups)",
        config.name.c_str(), decision.left_out);
  }
  session::LoginInfo& info = r_.login;
  info.user = std::move(decision.user);
  info.groups = std::move(decision.groups);
  info.method = "oidc:" + config.name;
  info.tags.push_back("oidc-sub:" + config.name + ":" + checked.claims.sub);
  if (!checked.claims.sid.empty()) {
    info.tags.push_back("oidc-sid:" + config.name + ":" + checked.claims.sid);
  }
  session::Update& extra = r_.login_extra;
  extra.set.emplace_back(kOidcProviderField, config.name);
  extra.set.emplace_back(kOidcSubField, checked.claims.sub);
  extra.set.emplace_back(kOidcIdTokenField, response.tokens.id_token);
  extra.set.emplace_back(kOidcAccessTokenField, response.tokens.access_token);
  if (!response.tokens.refresh_token.empty()) {
    extra.set.emplace_back(kOidcRefreshTokenField, response.tokens.refresh_token);
    if (config.refresh && response.tokens.expires_in) {
      extra.set.emplace_back(kOidcRefreshAtField,
                             std::to_string(refreshTime(trust.now, *response.tokens.expires_in)));
    }
  } else if (config.refresh) {
    LOG_WARN_LIMITED(
        "oidc provider \"%s\" gave no refresh token: refresh = true cannot keep this session's "
        "access token fresh (ask for the offline_access scope, or set refresh = false)",
        config.name.c_str());
  }
  // This sign-in's flow ends, and so does whatever an earlier sign-in of the
  // session stored and this one does not; sign-ins begun in other tabs stay
  // (each may still finish, and they expire on their own).
  if (const session::Session* s = gate_.session()) {
    for (const auto& entry : s->data) {
      const bool written = std::any_of(extra.set.begin(), extra.set.end(),
                                       [&](const auto& f) { return f.first == entry.first; });
      const bool other_flow =
          entry.first.starts_with(kFlowPrefix) &&
          entry.first != std::string(kFlowPrefix) + r_.flow.state.substr(0, kFlowKeyChars);
      if (session::isInternalDataKey(entry.first) && !written && !other_flow) {
        extra.unset.push_back(entry.first);
      }
    }
  }
  // One use, claimed once the provider has vouched for this answer: junk
  // callbacks cost no store entry, and a state replayed (a reloaded or copied
  // callback URL, a second exchange racing the first) is refused on every
  // instance sharing the store.
  run(Step::kClaim, [this] {
    ticket_ =
        ctx_.store->claim("oidc-state:" + r_.flow.state, std::chrono::milliseconds(kFlowLifetimeMs),
                          session::wallClockNow(), [this](StoreStatus status) {
                            r_.status = status;
                            completed();
                          });
  });
}

void OwnEndpoints::backchannelLogout(std::string_view body) {
  std::optional<std::string> token = oneValue(body, "logout_token");
  if (!token) return respond(400);
  // The issuer named in the (not yet verified) token only picks whose keys check it.
  std::optional<jose::Jws> jws = jose::parseCompact(*token, nullptr);
  std::optional<json::Document> claims =
      jws ? jose::parseClaims(jws->payload, nullptr) : std::nullopt;
  std::optional<std::string_view> iss =
      claims ? jose::stringClaim(claims->root(), "iss") : std::nullopt;
  // Two clients of one issuer are told apart by the audience (checked
  // again, with the signature, by the validation that follows).
  std::optional<std::vector<std::string_view>> audiences =
      claims ? jose::audiences(claims->root()) : std::nullopt;
  for (size_t i = 0; iss && i < ctx_.providers.size(); ++i) {
    const config::OidcProviderConfig& config = ctx_.providers[i]->config();
    if (config.issuer != *iss || !config.backchannel_logout) continue;
    r_.flow.provider = i;
    if (audiences &&
        std::find(audiences->begin(), audiences->end(), config.client_id) != audiences->end()) {
      break;
    }
  }
  if (!iss || ctx_.providers[r_.flow.provider]->config().issuer != *iss ||
      !ctx_.providers[r_.flow.provider]->config().backchannel_logout) {
    LOG_WARN_LIMITED("back-channel logout from %s refused: not a token of a configured provider",
                     r_.client.address.c_str());
    return respond(400);
  }
  r_.logout_token = std::move(*token);
  checkLogoutToken();
}

void OwnEndpoints::checkLogoutToken() {
  oidc::Provider& provider = *ctx_.providers[r_.flow.provider];
  const config::OidcProviderConfig& config = provider.config();
  const oidc::Knowledge* knowledge = provider.knowledge();
  if (knowledge == nullptr) return respond(503);
  oidc::TokenTrust trust;
  trust.keys = &knowledge->keys;
  trust.issuer = config.issuer;
  trust.algs = knowledge->metadata.id_token_algs;
  trust.now = session::wallClockNow() / 1000;
  trust.skew = std::chrono::duration_cast<std::chrono::seconds>(config.clock_skew).count();
  oidc::LogoutTokenExpectations expect;
  expect.client_id = config.client_id;
  oidc::LogoutTokenResult checked = oidc::validateLogoutToken(r_.logout_token, trust, expect);
  if (checked.error == oidc::TokenError::kUnknownKey &&
      awaitKeys(r_.flow.provider, &OwnEndpoints::checkLogoutToken)) {
    return;
  }
  if (!checked.ok()) {
    LOG_WARN_LIMITED("back-channel logout from \"%s\" (%s) refused: %s", config.name.c_str(),
                     r_.client.address.c_str(), checked.why.c_str());
    return respond(400);
  }
  r_.tag = checked.sid.empty() ? "oidc-sub:" + config.name + ":" + checked.sub
                               : "oidc-sid:" + config.name + ":" + checked.sid;
  r_.jti = "oidc-jti:" + config.name + ":" + checked.jti;
  r_.jti_ttl = std::chrono::seconds(std::max<int64_t>(1, checked.replay_until - trust.now));
  run(Step::kClaim, [this] {
    ticket_ =
        ctx_.store->claim(r_.jti, r_.jti_ttl, session::wallClockNow(), [this](StoreStatus status) {
          r_.status = status;
          completed();
        });
  });
}

void OwnEndpoints::onLogoutClaimed(StoreStatus status) {
  if (status == StoreStatus::kRejected) {
    LOG_WARN_LIMITED("back-channel logout from %s refused: its jti was seen before (a replay)",
                     r_.client.address.c_str());
    return respond(400);
  }
  if (status != StoreStatus::kOk) return respond(503);
  run(Step::kDestroy, [this] {
    ticket_ = ctx_.store->destroyTagged(r_.tag, [this](StoreStatus s) {
      r_.status = s;
      completed();
    });
  });
}

void OwnEndpoints::answerJwks() {
  if (!ctx_.signer) return respond(404);
  std::string fields;
  // Keys change only with a reload; five minutes bounds how long a rotated key is missed.
  appendField(fields, "Cache-Control", "public, max-age=300");
  respond(200, std::move(fields), "application/json", ctx_.signer->keys().jwksJson());
}

std::string OwnEndpoints::logoutLocation() const {
  const std::string& after = ctx_.login != nullptr ? ctx_.login->after_logout : std::string();
  std::string fallback = after.empty() ? ctx_.settings->login_url : after;
  if (!r_.logout_provider) return fallback;
  const oidc::Provider& provider = *ctx_.providers[*r_.logout_provider];
  const oidc::Knowledge* knowledge = provider.knowledge();
  if (knowledge == nullptr || knowledge->metadata.end_session_endpoint.empty()) return fallback;
  const config::OidcProviderConfig& config = provider.config();
  std::string back = config.post_logout_redirect;
  if (back.starts_with('/')) back = selfUrl(back);
  oidc::EndSessionRequest request;
  request.end_session_endpoint = knowledge->metadata.end_session_endpoint;
  request.id_token_hint = r_.id_token;
  request.post_logout_redirect_uri = back;
  request.client_id = config.client_id;
  return oidc::endSessionUrl(request);
}

}  // namespace sesame::proxy
