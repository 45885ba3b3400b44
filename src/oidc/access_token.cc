#include "sesame/oidc/access_token.h"

#include <algorithm>

#include "sesame/jose/claims.h"
#include "token_verify.h"

namespace sesame::oidc {
namespace {

AccessTokenResult refused(TokenError error, std::string why) {
  AccessTokenResult r;
  r.error = error;
  r.why = "access token: " + std::move(why);
  return r;
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == y; });
}

bool b64tokenChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

// RFC 9068 §2.1 "at+jwt"; plain "JWT" from providers that predate it.
bool accessTyp(std::string_view typ) {
  constexpr std::string_view kPrefix = "application/";
  if (typ.size() > kPrefix.size() && equalsIgnoreCase(typ.substr(0, kPrefix.size()), kPrefix))
    typ.remove_prefix(kPrefix.size());
  return equalsIgnoreCase(typ, "at+jwt") || equalsIgnoreCase(typ, "jwt");
}

}  // namespace

std::optional<std::string_view> bearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() > kMaxAuthorizationBytes || authorization.size() <= kScheme.size() ||
      !equalsIgnoreCase(authorization.substr(0, kScheme.size()), kScheme))
    return std::nullopt;
  const std::string_view token = authorization.substr(kScheme.size());
  size_t i = 0;
  while (i < token.size() && b64tokenChar(token[i])) ++i;
  if (i == 0) return std::nullopt;
  while (i < token.size() && token[i] == '=') ++i;
  if (i != token.size()) return std::nullopt;
  return token;
}

AccessTokenResult validateAccessToken(std::string_view token, const TokenTrust& trust,
                                      const AccessTokenExpectations& expectations) {
  VerifiedToken v = verifySigned(token, trust, kMaxAuthorizationBytes);
  if (v.error != TokenError::kNone) return refused(v.error, v.why);
  if (v.typ && !accessTyp(*v.typ))
    return refused(TokenError::kClaims, "header typ is neither at+jwt nor JWT");
  const json::Value claims = v.claims->root();
  // An ID token (it carries the sign-in's nonce) leaks through browser URLs
  // (id_token_hint) and is typed "JWT" too: it is no credential for an API.
  if (claims.get("nonce").exists())
    return refused(TokenError::kClaims, "a nonce claim: an ID token, not an access token");

  const std::optional<std::vector<std::string_view>> aud = jose::audiences(claims);
  const bool audience =
      aud && std::any_of(aud->begin(), aud->end(), [&](std::string_view a) {
        return std::find(expectations.audiences.begin(), expectations.audiences.end(), a) !=
               expectations.audiences.end();
      });
  if (!audience) return refused(TokenError::kAudience, "aud names none of bearer_audience");

  std::string why;
  const TokenError time = checkTimes(claims, trust, {.require_exp = true}, &why);
  if (time != TokenError::kNone) return refused(time, why);

  AccessTokenResult r;
  if (!readClaims(claims, expectations.user_claim, expectations.groups_claim, &r.claims, &why))
    return refused(TokenError::kClaims, why);
  if (r.claims.sub.empty() || r.claims.sub.size() > kMaxClaimBytes)
    return refused(TokenError::kSubject, "sub is missing, empty or over 255 bytes");
  r.error = TokenError::kNone;
  return r;
}

}  // namespace sesame::oidc
