// Keeps an OpenID session's access token fresh ([oidc] refresh = true): one refresh at a time
// per session, across workers and instances sharing the store.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "sesame/oidc/provider.h"
#include "sesame/outbound/client.h"
#include "sesame/session/store.h"

namespace sesame::proxy {

// Session fields an OpenID sign-in writes (sesame's own: never forwarded, never shown).
inline constexpr std::string_view kOidcProviderField = ".oidc.provider";
inline constexpr std::string_view kOidcSubField = ".oidc.sub";
inline constexpr std::string_view kOidcIdTokenField = ".oidc.id_token";
inline constexpr std::string_view kOidcAccessTokenField = ".oidc.access_token";
inline constexpr std::string_view kOidcRefreshTokenField = ".oidc.refresh_token";
// Wall-clock seconds after which the next request refreshes: three quarters into the access
// token's life, so that requests never carry an expired one.
inline constexpr std::string_view kOidcRefreshAtField = ".oidc.refresh_at";

// When a token issued at `now` (seconds) for `expires_in` seconds is refreshed.
[[nodiscard]] int64_t refreshTime(int64_t now, int64_t expires_in);

// The POST of a token request to `token_endpoint`.
[[nodiscard]] outbound::Request tokenPost(std::string_view token_endpoint,
                                          oidc::TokenRequest request);

class OidcRefresh {
 public:
  enum class Outcome {
    kFresh,    // new tokens are stored, or another request had just stored them
    kEnded,    // the provider refused the refresh token: the session has been destroyed
    kSkipped,  // another refresh runs, or the provider or store failed: the session goes on
  };
  using Done = std::function<void(Outcome)>;

  // A refresh whose request went away keeps its lock until the lock's expiry.
  // `done` runs once (possibly inside start(), with the memory store), unless this object is
  // destroyed first; it must not destroy this object.
  OidcRefresh(session::Store& store, oidc::Provider& provider, std::string key, Done done);
  ~OidcRefresh();
  OidcRefresh(const OidcRefresh&) = delete;
  OidcRefresh& operator=(const OidcRefresh&) = delete;

  void start();

 private:
  enum class Step { kClaim, kLoad, kUpdate, kDestroy };
  template <typename Call>
  void run(Step step, Call call);
  void completed(session::StoreStatus status);
  void resume();
  void onClaimed(session::StoreStatus status);
  void onLoaded(session::StoreStatus status);
  void onTokens(const outbound::Result& result);
  void checkIdToken();
  void finish(Outcome outcome);

  session::Store& store_;
  oidc::Provider& provider_;
  std::string key_;
  std::string lock_;
  Done done_;
  Step step_ = Step::kClaim;
  bool in_call_ = false;
  bool done_flag_ = false;
  bool locked_ = false;
  session::StoreStatus status_ = session::StoreStatus::kOk;
  session::TicketPtr ticket_;
  session::TicketPtr spent_;
  session::TicketPtr release_;
  outbound::FetchHandle fetch_;
  oidc::Provider::Waiter waiter_;
  bool keys_refetched = false;
  // Read from the session under the lock.
  std::optional<session::Session> loaded_;
  std::string sub_;
  int status_code_ = 0;
  std::string body_;
  Outcome outcome_ = Outcome::kSkipped;
};

}  // namespace sesame::proxy
