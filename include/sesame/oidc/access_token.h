// Bearer access tokens on `bearer = true` routes: the Authorization header (RFC 6750) and the JWT
// (RFC 9068).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "sesame/oidc/claims_map.h"
#include "sesame/oidc/token_error.h"

namespace sesame::oidc {

// Longest Authorization value accepted, scheme included.
inline constexpr size_t kMaxAuthorizationBytes = 8 * 1024;

// The token of an Authorization field value "Bearer <token>" (RFC 6750
// §2.1): the scheme in any case, exactly one space, then a b64token
// (1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="), at most
// kMaxAuthorizationBytes in all. nullopt for anything else (another
// scheme, no token, two spaces, a comma, trailing whitespace): the caller
// answers 401 with WWW-Authenticate: Bearer error="invalid_request".
[[nodiscard]] std::optional<std::string_view> bearerToken(std::string_view authorization);

struct AccessTokenExpectations {
  // bearer_audience: "aud" must contain at least one of these.
  std::span<const std::string> audiences{};
  std::string_view user_claim = "sub";
  std::string_view groups_claim{};
};

struct AccessTokenResult {
  TokenError error = TokenError::kMalformed;
  std::string why;  // for the log; never token content
  Claims claims;    // set when error is kNone; map with decideAccess
  [[nodiscard]] bool ok() const { return error == TokenError::kNone; }
};

// Validates a JWT access token issued by the provider (RFC 9068 §4), in
// this order: alg in trust.algs, key and signature (kMalformed,
// kAlgorithm, kUnknownKey, kSignature); "iss" exactly trust.issuer
// (kIssuer); header "typ", when present, "at+jwt" or "JWT", optionally
// with "application/", in any case (kClaims: a "logout+jwt" is no access
// token); "aud" naming at least one of expectations.audiences (kAudience:
// keep the client_id out of bearer_audience, or the provider's ID tokens
// for sesame, typed "JWT" too, would pass); exp required, nbf and iat
// when present, with the skew (kExpired, kNotYetValid, kIssuedInFuture);
// the groups claim as readClaims reads it (kClaims); "sub" a non-empty
// string of at most 255 bytes (kSubject). Any failure means 401 with
// WWW-Authenticate: Bearer error="invalid_token".
[[nodiscard]] AccessTokenResult validateAccessToken(std::string_view token, const TokenTrust& trust,
                                                    const AccessTokenExpectations& expectations);

}  // namespace sesame::oidc
