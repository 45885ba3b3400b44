#include "sesame/oidc/id_token.h"

#include <algorithm>

#include "sesame/jose/claims.h"
#include "token_verify.h"

namespace sesame::oidc {
namespace {

IdTokenResult refused(TokenError error, std::string why) {
  IdTokenResult r;
  r.error = error;
  r.why = std::move(why);
  return r;
}

}  // namespace

IdTokenResult validateIdToken(std::string_view token, const TokenTrust& trust,
                              const IdTokenExpectations& expectations) {
  VerifiedToken v = verifySigned(token, trust, kMaxIdTokenBytes);
  if (v.error != TokenError::kNone) return refused(v.error, "ID token: " + v.why);
  const json::Value claims = v.claims->root();

  const std::optional<std::vector<std::string_view>> aud = jose::audiences(claims);
  if (!aud || std::find(aud->begin(), aud->end(), expectations.client_id) == aud->end())
    return refused(TokenError::kAudience, "ID token aud does not contain the client_id");
  const json::Value azp = claims.get("azp");
  if (azp.exists() && azp.string() != expectations.client_id)
    return refused(TokenError::kAuthorizedParty, "ID token azp is not the client_id");
  // §3.1.3.7 step 4: with other audiences the token was also issued for
  // someone else; azp says which party it was issued to.
  if (aud->size() > 1 && !azp.exists()) {
    return refused(TokenError::kAuthorizedParty,
                   "ID token has several audiences and no azp naming the client_id");
  }

  std::string why;
  const TokenError time =
      checkTimes(claims, trust, {.require_exp = true, .require_iat = true}, &why);
  if (time != TokenError::kNone) return refused(time, "ID token: " + why);

  if (expectations.nonce) {
    const std::optional<std::string_view> nonce = jose::stringClaim(claims, "nonce");
    if (!nonce || !constantTimeEqual(*nonce, *expectations.nonce))
      return refused(TokenError::kNonce, "ID token nonce is not the one this login sent");
  }

  IdTokenResult r;
  if (!readClaims(claims, expectations.user_claim, expectations.groups_claim, &r.claims, &why))
    return refused(TokenError::kClaims, "ID token " + why);
  if (r.claims.sub.empty() || r.claims.sub.size() > kMaxClaimBytes)
    return refused(TokenError::kSubject, "ID token sub is missing, empty or over 255 bytes");
  if (expectations.sub && r.claims.sub != *expectations.sub)
    return refused(TokenError::kSubject, "refreshed ID token names another sub than the session");
  r.expires_at = jose::numericDate(claims, "exp").value_or(0);
  r.error = TokenError::kNone;
  return r;
}

}  // namespace sesame::oidc
