#include "token_verify.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "sesame/base/base64url.h"
#include "sesame/jose/claims.h"
#include "sesame/jose/jws.h"

namespace sesame::oidc {
namespace {

VerifiedToken refused(TokenError error, std::string why) {
  VerifiedToken v;
  v.error = error;
  v.why = std::move(why);
  return v;
}

// parseCompact refuses an alg off the allow-list with the other malformed
// headers; this tells the two apart for the log and metrics by reading the
// header's "alg" again. Only the (bounded) header is decoded.
bool algOffTheList(std::string_view token) {
  const size_t dot = token.find('.');
  if (dot == std::string_view::npos) return false;
  const std::optional<std::string> header = base64urlDecode(token.substr(0, dot));
  if (!header) return false;
  const std::optional<json::Document> doc = json::parse(*header, nullptr);
  if (!doc) return false;
  const std::optional<std::string_view> alg = doc->root().get("alg").string();
  return alg && !jose::algFromName(*alg);
}

}  // namespace

VerifiedToken verifySigned(std::string_view token, const TokenTrust& trust, size_t max_bytes) {
  std::string why;
  std::optional<jose::Jws> jws = jose::parseCompact(token, &why, max_bytes);
  if (!jws) {
    if (token.size() <= max_bytes && algOffTheList(token))
      return refused(TokenError::kAlgorithm, why);
    return refused(TokenError::kMalformed, why);
  }
  if (std::find(trust.algs.begin(), trust.algs.end(), jws->alg) == trust.algs.end()) {
    return refused(TokenError::kAlgorithm, "token alg " + std::string(jose::algName(jws->alg)) +
                                               " is not one the provider announced");
  }
  const jose::Jwk* key = trust.keys->find(jws->kid, jws->alg);
  if (key == nullptr) {
    return refused(TokenError::kUnknownKey,
                   jws->kid ? "no " + std::string(jose::algName(jws->alg)) +
                                  " key in the provider's JWKS has the token's kid"
                            : "the token has no kid and the provider's JWKS has not exactly one " +
                                  std::string(jose::algName(jws->alg)) + " key");
  }
  if (!jose::verify(*jws, *key, &why)) return refused(TokenError::kSignature, "token " + why);
  std::optional<json::Document> claims = jose::parseClaims(jws->payload, &why);
  if (!claims) return refused(TokenError::kMalformed, why);
  const std::optional<std::string_view> iss = jose::stringClaim(claims->root(), "iss");
  if (!iss || *iss != trust.issuer) {
    return refused(TokenError::kIssuer,
                   iss ? "token iss is not the configured issuer" : "token has no iss string");
  }
  VerifiedToken v;
  v.error = TokenError::kNone;
  v.typ = std::move(jws->typ);
  v.claims = std::move(claims);
  return v;
}

TokenError checkTimes(json::Value claims, const TokenTrust& trust, TimeRules rules,
                      std::string* why) {
  // Only our own numbers enter arithmetic: the token's could overflow.
  const json::Value exp = claims.get("exp");
  if (exp.exists() || rules.require_exp) {
    const std::optional<int64_t> t = exp.seconds();
    if (!t) {
      *why = exp.exists() ? "token exp is not a NumericDate" : "token has no exp";
      return TokenError::kExpired;
    }
    if (*t <= trust.now - trust.skew) {
      *why = "token expired";
      return TokenError::kExpired;
    }
  }
  const json::Value nbf = claims.get("nbf");
  if (nbf.exists()) {
    const std::optional<int64_t> t = nbf.seconds();
    if (!t || *t > trust.now + trust.skew) {
      *why = t ? "token not valid yet (nbf)" : "token nbf is not a NumericDate";
      return TokenError::kNotYetValid;
    }
  }
  const json::Value iat = claims.get("iat");
  if (iat.exists() || rules.require_iat) {
    const std::optional<int64_t> t = iat.seconds();
    if (!t) {
      *why = iat.exists() ? "token iat is not a NumericDate" : "token has no iat";
      return TokenError::kClaims;
    }
    if (*t > trust.now + trust.skew) {
      *why = "token issued in the future (iat)";
      return TokenError::kIssuedInFuture;
    }
  }
  return TokenError::kNone;
}

bool constantTimeEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace sesame::oidc
