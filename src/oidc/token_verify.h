// Private to oidc/: the checks every provider-signed token shares (JWS, key, signature, iss,
// times).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "sesame/base/json_reader.h"
#include "sesame/oidc/token_error.h"

namespace sesame::oidc {

struct VerifiedToken {
  TokenError error = TokenError::kMalformed;
  std::string why;  // a sentence for the log; never token text
  std::optional<std::string> typ;
  std::optional<json::Document> claims;  // set when error is kNone
};

// Parses `token` (at most max_bytes), requires its alg in trust.algs, finds
// the key, verifies the signature, then parses the claims (only then: an
// unverified payload is never read) and checks "iss" against trust.issuer.
[[nodiscard]] VerifiedToken verifySigned(std::string_view token, const TokenTrust& trust,
                                         size_t max_bytes);

struct TimeRules {
  bool require_exp = true;
  bool require_iat = false;
};

// exp (past: kExpired), nbf (future: kNotYetValid), iat (future:
// kIssuedInFuture), each with trust.skew; a present claim that is not a
// NumericDate is refused like an absent required one. kNone when all hold.
[[nodiscard]] TokenError checkTimes(json::Value claims, const TokenTrust& trust, TimeRules rules,
                                    std::string* why);

// Whether `a` and `b` are equal, in time independent of where they differ.
[[nodiscard]] bool constantTimeEqual(std::string_view a, std::string_view b);

}  // namespace sesame::oidc
