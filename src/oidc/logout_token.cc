#include "sesame/oidc/logout_token.h"

#include <algorithm>

#include "sesame/jose/claims.h"
#include "sesame/jose/jws.h"
#include "sesame/oidc/claims_map.h"
#include "token_verify.h"

namespace sesame::oidc {
namespace {

LogoutTokenResult refused(TokenError error, std::string why) {
  LogoutTokenResult r;
  r.error = error;
  r.why = "logout token: " + std::move(why);
  return r;
}

bool isLogoutTyp(std::string_view typ) {
  // RFC 7515 §4.1.9: "application/" may be omitted; media types compare
  // case-insensitively.
  constexpr std::string_view kPrefix = "application/";
  std::string lower(typ);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
  std::string_view t = lower;
  if (t.substr(0, kPrefix.size()) == kPrefix) t.remove_prefix(kPrefix.size());
  return t == "logout+jwt";
}

// A string claim that identifies a session or user: absent is "", a
// present one must be a non-empty string of at most kMaxClaimBytes.
bool identifier(json::Value claims, std::string_view name, std::string* out) {
  const json::Value v = claims.get(name);
  if (!v.exists()) return true;
  const std::optional<std::string_view> s = v.string();
  if (!s || s->empty() || s->size() > kMaxClaimBytes) return false;
  *out = *s;
  return true;
}

}  // namespace

LogoutTokenResult validateLogoutToken(std::string_view token, const TokenTrust& trust,
                                      const LogoutTokenExpectations& expectations) {
  VerifiedToken v = verifySigned(token, trust, jose::kDefaultMaxJwsBytes);
  if (v.error != TokenError::kNone) return refused(v.error, v.why);
  if (v.typ && !isLogoutTyp(*v.typ))
    return refused(TokenError::kClaims, "header typ is present and not logout+jwt");
  const json::Value claims = v.claims->root();

  const std::optional<std::vector<std::string_view>> aud = jose::audiences(claims);
  if (!aud || std::find(aud->begin(), aud->end(), expectations.client_id) == aud->end())
    return refused(TokenError::kAudience, "aud does not contain the client_id");

  std::string why;
  const TokenError time =
      checkTimes(claims, trust, {.require_exp = false, .require_iat = true}, &why);
  if (time != TokenError::kNone) return refused(time, why);
  const int64_t iat = *jose::numericDate(claims, "iat");
  if (iat < trust.now - trust.skew - expectations.max_age) {
    return refused(TokenError::kTooOld,
                   "issued more than " + std::to_string(expectations.max_age) + " s ago");
  }

  // §2.6 step 5: the events member is what a logout token is; step 6: a
  // nonce means it is an ID token (or something else) passed off as one.
  const json::Value events = claims.get("events");
  if (!events.isObject()) return refused(TokenError::kClaims, "events is missing or not an object");
  if (!events.get(kBackchannelLogoutEvent).isObject())
    return refused(TokenError::kClaims, "events has no back-channel logout event object");
  if (claims.get("nonce").exists())
    return refused(TokenError::kClaims, "carries a nonce (an ID token is not a logout token)");

  LogoutTokenResult r;
  const std::optional<std::string_view> jti = jose::stringClaim(claims, "jti");
  if (!jti || jti->empty() || jti->size() > kMaxClaimBytes)
    return refused(TokenError::kClaims, "jti is missing, empty or over 255 bytes");
  r.jti = *jti;
  if (!identifier(claims, "sid", &r.sid))
    return refused(TokenError::kClaims, "sid is not a non-empty string of at most 255 bytes");
  if (!identifier(claims, "sub", &r.sub))
    return refused(TokenError::kSubject, "sub is not a non-empty string of at most 255 bytes");
  if (r.sid.empty() && r.sub.empty())
    return refused(TokenError::kSubject, "has neither sub nor sid (§2.4: one is required)");

  // Past min(iat + max_age, exp) + skew the time checks refuse the token
  // on their own; until then only the jti claim stops a replay.
  int64_t until = iat + expectations.max_age;
  if (const std::optional<int64_t> exp = jose::numericDate(claims, "exp"))
    until = std::min(until, *exp);
  r.replay_until = until + trust.skew;
  r.error = TokenError::kNone;
  return r;
}

}  // namespace sesame::oidc
