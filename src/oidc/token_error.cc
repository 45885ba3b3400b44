#include "sesame/oidc/token_error.h"

namespace sesame::oidc {

std::string_view tokenErrorName(TokenError error) {
  switch (error) {
    case TokenError::kNone:
      return "none";
    case TokenError::kMalformed:
      return "malformed";
    case TokenError::kAlgorithm:
      return "algorithm";
    case TokenError::kUnknownKey:
      return "unknown_key";
    case TokenError::kSignature:
      return "signature";
    case TokenError::kIssuer:
      return "issuer";
    case TokenError::kAudience:
      return "audience";
    case TokenError::kAuthorizedParty:
      return "authorized_party";
    case TokenError::kExpired:
      return "expired";
    case TokenError::kNotYetValid:
      return "not_yet_valid";
    case TokenError::kIssuedInFuture:
      return "issued_in_future";
    case TokenError::kTooOld:
      return "too_old";
    case TokenError::kNonce:
      return "nonce";
    case TokenError::kSubject:
      return "subject";
    case TokenError::kClaims:
      return "claims";
  }
  return "unknown";
}

}  // namespace sesame::oidc
