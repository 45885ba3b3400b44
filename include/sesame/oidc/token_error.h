// Why a provider-signed token (ID, logout or access token) was refused: one reason per check.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "sesame/jose/alg.h"
#include "sesame/jose/jwk.h"

namespace sesame::oidc {

enum class TokenError {
  kNone,
  kMalformed,  // not a compact JWS, header or claims not JSON objects, too long
  kAlgorithm,  // "none", HS256 (a public key used as an HMAC secret), any alg off the list
  // No key in the provider's JWKS fits the token's kid and alg. The
  // provider may have rotated its keys: the caller refetches the JWKS ONCE
  // (rate limited) and validates again; no other error warrants a refetch.
  kUnknownKey,
  kSignature,
  kIssuer,
  kAudience,         // aud lacks the client_id (or every bearer_audience)
  kAuthorizedParty,  // azp absent with several audiences, or not the client_id
  kExpired,          // exp absent (where required) or past, beyond the skew
  kNotYetValid,      // nbf in the future, beyond the skew
  kIssuedInFuture,   // iat in the future, beyond the skew
  kTooOld,           // a logout token's iat older than the accepted age
  kNonce,            // the ID token's nonce is not the one sent
  kSubject,          // sub absent, empty, over 255 bytes, or not the session's
  kClaims,           // another claim wrong: groups, events, jti, a logout token's nonce, typ
};

// A stable lower-case name for logs and metrics: "unknown_key", "expired".
[[nodiscard]] std::string_view tokenErrorName(TokenError error);

// The whole allow-list, for tokens whose algorithm the provider does not
// announce (logout and access tokens).
inline constexpr jose::Alg kAllAlgs[] = {jose::Alg::kRS256, jose::Alg::kPS256, jose::Alg::kES256,
                                         jose::Alg::kEdDSA};

// What every provider-signed token is checked with.
struct TokenTrust {
  const jose::KeySet* keys = nullptr;          // the provider's JWKS; must be set
  std::string_view issuer{};                   // the configured issuer; "iss" must equal it exactly
  std::span<const jose::Alg> algs = kAllAlgs;  // subset of the allow-list
  int64_t now = 0;                             // seconds since the epoch
  int64_t skew = 60;                           // tolerance in seconds, each way
};

}  // namespace sesame::oidc
