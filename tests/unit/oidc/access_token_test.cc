#include "sesame/oidc/access_token.h"

#include <catch2/catch.hpp>

#include "test_provider.h"

namespace sesame::oidc {
namespace {

using test::ClaimSet;
using test::es256;
using test::kIssuer;
using test::kNow;
using test::provider;
using test::quoted;

const std::vector<std::string> kAudiences = {"https://api.example.com", "orders"};

// RFC 9068 §2.2's claims.
ClaimSet accessClaims() {
  ClaimSet c;
  c.set("iss", quoted(kIssuer))
      .set("sub", quoted("5ba552d67"))
      .set("aud", quoted("https://api.example.com"))
      .set("exp", std::to_string(kNow + 300))
      .set("iat", std::to_string(kNow))
      .set("jti", quoted("dbe39bf3a3ba4238a513f51d6e1691c4"))
      .set("client_id", quoted("s6BhdRkqt3"))
      .set("scope", quoted("openid profile reademail"))
      .set("preferred_username", quoted("bob"))
      .set("groups", R"(["api-users"])");
  return c;
}

AccessTokenResult check(const std::string& token) {
  return validateAccessToken(
      token, {.keys = &provider().keys, .issuer = kIssuer, .now = kNow, .skew = 60},
      {.audiences = kAudiences, .user_claim = "preferred_username", .groups_claim = "groups"});
}

TokenError error(const std::string& token) {
  const AccessTokenResult r = check(token);
  INFO(r.why);
  CHECK_FALSE(r.ok());
  return r.error;
}

TEST_CASE("a valid access token maps to user and groups", "[oidc][access_token]") {
  for (const char* typ :
       {"", R"(,"typ":"at+jwt")", R"(,"typ":"application/at+JWT")", R"(,"typ":"JWT")"}) {
    INFO(typ);
    const AccessTokenResult r = check(es256(accessClaims().json(), typ));
    INFO(r.why);
    REQUIRE(r.ok());
    CHECK(r.claims.sub == "5ba552d67");
    const AccessDecision d = decideAccess(
        r.claims, {.user_claim = "preferred_username", .allowed_groups = {"api-users"}});
    CHECK(d.allowed());
    CHECK(d.user == "bob");
  }
  CHECK(check(es256(accessClaims().set("aud", R"(["x","orders"])").json())).ok());
}

TEST_CASE("access token with the wrong audience is refused", "[oidc][access_token]") {
  for (const char* aud :
       {R"("sesame")", R"(["x","y"])", R"("https://api.example.com/")", R"([])", "null"}) {
    INFO(aud);
    CHECK(error(es256(accessClaims().set("aud", aud).json())) == TokenError::kAudience);
  }
  CHECK(error(es256(accessClaims().erase("aud").json())) == TokenError::kAudience);
}

TEST_CASE("access token: typ, iss, exp, sub", "[oidc][access_token]") {
  CHECK(error(es256(accessClaims().json(), R"(,"typ":"logout+jwt")")) == TokenError::kClaims);
  CHECK(error(es256(accessClaims().set("iss", quoted("https://other")).json())) ==
        TokenError::kIssuer);
  CHECK(error(es256(accessClaims().erase("exp").json())) == TokenError::kExpired);
  CHECK(error(es256(accessClaims().set("exp", std::to_string(kNow - 61)).json())) ==
        TokenError::kExpired);
  CHECK(error(es256(accessClaims().set("nbf", std::to_string(kNow + 61)).json())) ==
        TokenError::kNotYetValid);
  CHECK(error(es256(accessClaims().erase("sub").json())) == TokenError::kSubject);
  CHECK(error(base64urlEncode(std::string_view(R"({"alg":"none"})")) + "." +
              base64urlEncode(accessClaims().json()) + ".") == TokenError::kAlgorithm);
}

TEST_CASE("Authorization: Bearer parsing (RFC 6750 §2.1)", "[oidc][access_token]") {
  CHECK(bearerToken("Bearer mF_9.B5f-4.1JqM") == "mF_9.B5f-4.1JqM");
  CHECK(bearerToken("bearer abc") == "abc");
  CHECK(bearerToken("BEARER a+/b==") == "a+/b==");
  CHECK(bearerToken("Bearer " + std::string(kMaxAuthorizationBytes - 7, 'a')));
  for (const std::string& bad : std::vector<std::string>{
           "", "Bearer", "Bearer ", "Bearer  abc", " Bearer abc", "Bearer abc ", "Bearer\tabc",
           "Basic YWxhZGRpbjpvcGVuc2VzYW1l", "Bearerabc", "Bearer a b", "Bearer a,b", "Bearer =abc",
           "Bearer ab=c", "Bearer a\"b", "Bearer a\r\nb", "Token abc",
           "Bearer " + std::string(kMaxAuthorizationBytes - 6, 'a')}) {
    INFO(bad);
    CHECK_FALSE(bearerToken(bad));
  }
}

}  // namespace
}  // namespace sesame::oidc
