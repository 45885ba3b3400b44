#include "sesame/proxy/oidc_refresh.h"

#include <charconv>

#include "sesame/base/log.h"
#include "sesame/oidc/id_token.h"
#include "sesame/oidc/token_response.h"

namespace sesame::proxy {
namespace {

using session::StoreStatus;

std::optional<std::string_view> field(const session::Session& s, std::string_view key) {
  auto it = s.data.find(std::string(key));
  if (it == s.data.end()) return std::nullopt;
  return it->second;
}

}  // namespace

int64_t refreshTime(int64_t now, int64_t expires_in) {
  return now + expires_in - expires_in / 4;
}

outbound::Request tokenPost(std::string_view token_endpoint, oidc::TokenRequest request) {
  outbound::Request out;
  out.method = "POST";
  out.url = token_endpoint;
  if (!request.authorization.empty()) {
    out.headers.push_back({"Authorization", std::move(request.authorization)});
  }
  out.body = std::move(request.body);
  out.content_type = "application/x-www-form-urlencoded";
  return out;
}

OidcRefresh::OidcRefresh(session::Store& store, oidc::Provider& provider, std::string key,
                         Done done)
    : store_(store),
      provider_(provider),
      key_(std::move(key)),
      lock_("oidc-refresh:" + key_),
      done_(std::move(done)) {}

OidcRefresh::~OidcRefresh() = default;

template <typename Call>
void OidcRefresh::run(Step step, Call call) {
  step_ = step;
  done_flag_ = false;
  in_call_ = true;
  session::TicketPtr ticket = call();
  in_call_ = false;
  if (done_flag_) return resume();
  ticket_ = std::move(ticket);
}

void OidcRefresh::completed(StoreStatus status) {
  spent_ = std::move(ticket_);
  status_ = status;
  done_flag_ = true;
  if (!in_call_) resume();
}

void OidcRefresh::resume() {
  switch (step_) {
    case Step::kClaim:
      return onClaimed(status_);
    case Step::kLoad:
      return onLoaded(status_);
    case Step::kUpdate:
      return finish(status_ == StoreStatus::kOk ? Outcome::kFresh : Outcome::kSkipped);
    case Step::kDestroy:
      return finish(Outcome::kEnded);
  }
}

void OidcRefresh::start() {
  // The lock outlives every step of one refresh (two provider round trips at most), so a
  // second refresher never uses a refresh token the provider is rotating right now.
  auto ttl = std::chrono::duration_cast<session::Millis>(2 * provider_.config().http_timeout +
                                                         std::chrono::seconds(5));
  run(Step::kClaim, [&] {
    return store_.claim(lock_, ttl, session::wallClockNow(),
                        [this](StoreStatus status) { completed(status); });
  });
}

void OidcRefresh::onClaimed(StoreStatus status) {
  if (status != StoreStatus::kOk) return finish(Outcome::kSkipped);
  locked_ = true;
  // Read again under the lock: the request that held it before may have stored new tokens
  // after this request loaded the session, and the old refresh token is then spent.
  run(Step::kLoad, [&] {
    return store_.load(key_, session::wallClockNow(),
                       [this](StoreStatus s, const session::Session* session) {
                         if (session != nullptr) loaded_ = *session;
                         completed(s);
                       });
  });
}

void OidcRefresh::onLoaded(StoreStatus status) {
  if (status != StoreStatus::kOk || !loaded_) return finish(Outcome::kSkipped);
  int64_t now = session::wallClockNow() / 1000;
  int64_t refresh_at = 0;
  if (std::optional<std::string_view> at = field(*loaded_, kOidcRefreshAtField)) {
    std::from_chars(at->data(), at->data() + at->size(), refresh_at);
  }
  if (refresh_at > now) return finish(Outcome::kFresh);
  std::optional<std::string_view> refresh_token = field(*loaded_, kOidcRefreshTokenField);
  const oidc::Knowledge* knowledge = provider_.knowledge();
  if (!refresh_token || knowledge == nullptr) return finish(Outcome::kSkipped);
  sub_ = std::string(field(*loaded_, kOidcSubField).value_or(""));
  std::string error;
  std::optional<oidc::TokenRequest> request = oidc::refreshRequest(
      provider_.credentials(), knowledge->metadata.token_endpoint, *refresh_token, {}, now, &error);
  if (!request) {
    LOG_ERROR("oidc provider \"%s\": cannot make the refresh request: %s",
              provider_.config().name.c_str(), error.c_str());
    return finish(Outcome::kSkipped);
  }
  outbound::Request out = tokenPost(knowledge->metadata.token_endpoint, std::move(*request));
  fetch_ = provider_.client().fetch(std::move(out),
                                    [this](outbound::Result result) { onTokens(result); });
}

void OidcRefresh::onTokens(const outbound::Result& result) {
  const config::OidcProviderConfig& config = provider_.config();
  if (!result.ok) {
    LOG_WARN_LIMITED("oidc provider \"%s\": refresh: %s; the session goes on", config.name.c_str(),
                     result.error.c_str());
    return finish(Outcome::kSkipped);
  }
  status_code_ = result.status;
  body_ = result.body;
  checkIdToken();
}

void OidcRefresh::checkIdToken() {
  const config::OidcProviderConfig& config = provider_.config();
  oidc::TokenResponse response =
      oidc::parseTokenResponse(status_code_, body_, oidc::Grant::kRefreshToken);
  if (response.outcome == oidc::TokenOutcome::kRefused) {
    LOG_INFO("oidc provider \"%s\" refused a session's refresh (%s): the session ends",
             config.name.c_str(), response.why.c_str());
    return run(Step::kDestroy,
               [&] { return store_.destroy(key_, [this](StoreStatus s) { completed(s); }); });
  }
  if (response.outcome != oidc::TokenOutcome::kOk) {
    LOG_WARN_LIMITED("oidc provider \"%s\": refresh answer unusable: %s; the session goes on",
                     config.name.c_str(), response.why.c_str());
    return finish(Outcome::kSkipped);
  }
  int64_t now = session::wallClockNow() / 1000;
  if (!response.tokens.id_token.empty()) {
    // OIDC Core §12.2: a new ID token must be about the same user.
    const oidc::Knowledge* knowledge = provider_.knowledge();
    oidc::TokenTrust trust;
    trust.keys = &knowledge->keys;
    trust.issuer = config.issuer;
    trust.algs = knowledge->metadata.id_token_algs;
    trust.now = now;
    trust.skew = std::chrono::duration_cast<std::chrono::seconds>(config.clock_skew).count();
    oidc::IdTokenExpectations expect;
    expect.client_id = config.client_id;
    expect.sub = sub_;
    expect.user_claim = config.user_claim;
    expect.groups_claim = config.groups_claim;
    oidc::IdTokenResult checked = oidc::validateIdToken(response.tokens.id_token, trust, expect);
    if (checked.error == oidc::TokenError::kUnknownKey && !keys_refetched) {
      keys_refetched = true;
      waiter_ = std::make_shared<std::function<void(bool)>>([this](bool) { checkIdToken(); });
      if (provider_.refetchKeys(waiter_)) return;
    }
    if (!checked.ok()) {
      LOG_WARN("oidc provider \"%s\": refreshed ID token refused (%s): the session ends",
               config.name.c_str(), checked.why.c_str());
      return run(Step::kDestroy,
                 [&] { return store_.destroy(key_, [this](StoreStatus s) { completed(s); }); });
    }
  }
  session::Update update;
  update.set.emplace_back(kOidcAccessTokenField, response.tokens.access_token);
  if (!response.tokens.refresh_token.empty()) {
    update.set.emplace_back(kOidcRefreshTokenField, response.tokens.refresh_token);
  }
  if (!response.tokens.id_token.empty()) {
    update.set.emplace_back(kOidcIdTokenField, response.tokens.id_token);
  }
  if (response.tokens.expires_in) {
    update.set.emplace_back(kOidcRefreshAtField,
                            std::to_string(refreshTime(now, *response.tokens.expires_in)));
  } else {
    update.unset.emplace_back(kOidcRefreshAtField);
  }
  run(Step::kUpdate, [&] {
    return store_.update(key_, update, session::wallClockNow(),
                         [this](StoreStatus s) { completed(s); });
  });
}

void OidcRefresh::finish(Outcome outcome) {
  if (locked_) {
    locked_ = false;
    release_ = store_.release(lock_, [](StoreStatus) {});
  }
  Done done = std::move(done_);
  if (done) done(outcome);
}

}  // namespace sesame::proxy
