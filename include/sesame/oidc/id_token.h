// ID token validation (OpenID Connect Core 1.0 §3.1.3.7) after the code exchange or a refresh.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sesame/oidc/claims_map.h"
#include "sesame/oidc/token_error.h"

namespace sesame::oidc {

// ID tokens carrying many groups grow large; beyond this one is refused
// before it is decoded.
inline constexpr size_t kMaxIdTokenBytes = 64 * 1024;

struct IdTokenExpectations {
  std::string_view client_id{};
  // The nonce sent with the authorization request. On a refresh (OIDC Core
  // §12.2) pass nullopt: the nonce is then not checked.
  std::optional<std::string_view> nonce{};
  // On a refresh, the session's sub (§12.2: it MUST be the same); nullopt
  // at login.
  std::optional<std::string_view> sub{};
  std::string_view user_claim = "sub";
  std::string_view groups_claim{};  // empty: no groups read
};

struct IdTokenResult {
  TokenError error = TokenError::kMalformed;
  std::string why;         // for the log: which check failed; never token content
  Claims claims;           // set when error is kNone
  int64_t expires_at = 0;  // the token's exp, seconds since the epoch
  [[nodiscard]] bool ok() const { return error == TokenError::kNone; }
};

// Checks, in this order, refusing at the first failure:
//  - a compact JWS of at most kMaxIdTokenBytes whose alg is in trust.algs
//    (pass ProviderMetadata::id_token_algs): kMalformed, kAlgorithm;
//  - a key for (kid, alg) in trust.keys: kUnknownKey (refetch once, retry);
//  - the signature: kSignature;
//  - "iss" exactly trust.issuer: kIssuer;
//  - "aud" (a string or an array of strings) containing client_id:
//    kAudience; with several audiences "azp" required, and when present
//    "azp" must be client_id: kAuthorizedParty (§3.1.3.7 steps 4-5);
//  - exp required, nbf and iat when present, each with trust.skew:
//    kExpired, kNotYetValid, kIssuedInFuture; iat is required (§2; absent:
//    kClaims);
//  - "nonce" equal to expectations.nonce, compared in constant time:
//    kNonce;
//  - "sub" a non-empty string of at most 255 bytes (§2), equal to
//    expectations.sub when given: kSubject;
//  - the groups claim readable (readClaims): kClaims.
// at_hash is not checked: in the code flow the access token comes from the
// token endpoint over TLS, not through the browser (§3.1.3.8 makes it
// optional there).
[[nodiscard]] IdTokenResult validateIdToken(std::string_view token, const TokenTrust& trust,
                                            const IdTokenExpectations& expectations);

}  // namespace sesame::oidc
