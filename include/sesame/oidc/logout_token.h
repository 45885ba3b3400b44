// Back-channel logout token validation (OpenID Connect Back-Channel Logout 1.0 §2.6).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sesame/oidc/token_error.h"

namespace sesame::oidc {

// The event member that makes a JWT a logout token (§2.4).
inline constexpr std::string_view kBackchannelLogoutEvent =
    "http://schemas.openid.net/event/backchannel-logout";

struct LogoutTokenExpectations {
  std::string_view client_id{};
  // A token whose iat is older than this is refused (§2.6 step 7 lets the
  // RP reject tokens issued too far in the past): the jti replay claim is
  // only kept this long, so an older token could be replayed otherwise.
  int64_t max_age = 600;
};

struct LogoutTokenResult {
  TokenError error = TokenError::kMalformed;
  std::string why;  // for the log; never token content
  std::string sid;  // empty when absent; at least one of sid and sub is set
  std::string sub;
  std::string jti;  // claim it in the store (one use) before acting
  // Until when the jti must stay claimed: min(iat + max_age, exp) + skew,
  // after which the time checks alone refuse the token. Always within
  // max_age + 2 * skew of now.
  int64_t replay_until = 0;
  [[nodiscard]] bool ok() const { return error == TokenError::kNone; }
};

// Checks (§2.6): signature, alg and key as for any provider token
// (trust.algs, default the whole allow-list); "iss" exactly
// trust.issuer; "aud" contains client_id (kAudience); "iat" present, not
// in the future beyond the skew, not older than max_age (kIssuedInFuture,
// kTooOld, kClaims when absent); exp and nbf when present, with the skew;
// "jti" a non-empty string; "events" an object whose
// kBackchannelLogoutEvent member is an object; no "nonce" claim (it is
// what keeps an ID token from being passed off as a logout token); "sub"
// or "sid" present as a non-empty string of at most 255 bytes; header
// "typ", when present, "logout+jwt" (case-insensitive, RFC 8725 §3.11).
// These are kClaims, except a missing or over-long sub where no sid is
// given: kSubject.
[[nodiscard]] LogoutTokenResult validateLogoutToken(std::string_view token, const TokenTrust& trust,
                                                    const LogoutTokenExpectations& expectations);

}  // namespace sesame::oidc
