#include "sesame/oidc/logout_token.h"

#include <catch2/catch.hpp>

#include "test_provider.h"

namespace sesame::oidc {
namespace {

using test::ClaimSet;
using test::es256;
using test::kClientId;
using test::kIssuer;
using test::kNow;
using test::provider;
using test::quoted;

constexpr std::string_view kEvents = R"({"http://schemas.openid.net/event/backchannel-logout":{}})";

// Back-Channel Logout 1.0 §2.4's example, with our issuer and times.
ClaimSet logoutClaims() {
  ClaimSet c;
  c.set("iss", quoted(kIssuer))
      .set("sub", quoted("248289761001"))
      .set("aud", quoted(kClientId))
      .set("iat", std::to_string(kNow - 2))
      .set("exp", std::to_string(kNow + 118))
      .set("jti", quoted("bWJq"))
      .set("sid", quoted("08a5019c-17e1-4977-8f42-65a12843ea02"))
      .set("events", std::string(kEvents));
  return c;
}

constexpr std::string_view kTyp = R"(,"typ":"logout+jwt")";

LogoutTokenResult check(const std::string& token) {
  return validateLogoutToken(token,
                             {.keys = &provider().keys, .issuer = kIssuer, .now = kNow, .skew = 60},
                             {.client_id = kClientId, .max_age = 600});
}

TokenError error(const std::string& token) {
  const LogoutTokenResult r = check(token);
  INFO(r.why);
  CHECK_FALSE(r.ok());
  return r.error;
}

TEST_CASE("a valid logout token yields sid, sub, jti and the replay window",
          "[oidc][logout_token]") {
  const LogoutTokenResult r = check(es256(logoutClaims().json(), kTyp));
  INFO(r.why);
  REQUIRE(r.ok());
  CHECK(r.sid == "08a5019c-17e1-4977-8f42-65a12843ea02");
  CHECK(r.sub == "248289761001");
  CHECK(r.jti == "bWJq");
  CHECK(r.replay_until == kNow + 118 + 60);  // exp comes before iat + max_age

  // Without exp, iat + max_age bounds the window.
  const LogoutTokenResult no_exp = check(es256(logoutClaims().erase("exp").json()));
  REQUIRE(no_exp.ok());
  CHECK(no_exp.replay_until == kNow - 2 + 600 + 60);
  // A far-future exp does not stretch it.
  CHECK(check(es256(logoutClaims().set("exp", "99999999999").json())).replay_until ==
        kNow - 2 + 600 + 60);
}

TEST_CASE("typ absent or logout+jwt; anything else refused", "[oidc][logout_token]") {
  CHECK(check(es256(logoutClaims().json())).ok());
  CHECK(check(es256(logoutClaims().json(), R"(,"typ":"application/Logout+JWT")")).ok());
  CHECK(error(es256(logoutClaims().json(), R"(,"typ":"JWT")")) == TokenError::kClaims);
  CHECK(error(es256(logoutClaims().json(), R"(,"typ":"at+jwt")")) == TokenError::kClaims);
}

TEST_CASE("sub or sid: either one suffices, neither is refused", "[oidc][logout_token]") {
  const LogoutTokenResult sid_only = check(es256(logoutClaims().erase("sub").json()));
  REQUIRE(sid_only.ok());
  CHECK(sid_only.sub.empty());
  const LogoutTokenResult sub_only = check(es256(logoutClaims().erase("sid").json()));
  REQUIRE(sub_only.ok());
  CHECK(sub_only.sid.empty());
  CHECK(error(es256(logoutClaims().erase("sub").erase("sid").json())) == TokenError::kSubject);
  CHECK(error(es256(logoutClaims().erase("sid").set("sub", quoted("")).json())) ==
        TokenError::kSubject);
  CHECK(error(es256(logoutClaims().set("sid", "7").json())) == TokenError::kClaims);
}

TEST_CASE("a nonce means it is not a logout token", "[oidc][logout_token]") {
  CHECK(error(es256(logoutClaims().set("nonce", quoted("n-0S6_WzA2Mj")).json())) ==
        TokenError::kClaims);
  CHECK(error(es256(logoutClaims().set("nonce", "null").json())) == TokenError::kClaims);
}

TEST_CASE("events must hold the back-channel logout event object", "[oidc][logout_token]") {
  CHECK(error(es256(logoutClaims().erase("events").json())) == TokenError::kClaims);
  for (const char* wrong :
       {R"({})", R"([])", R"("http://schemas.openid.net/event/backchannel-logout")",
        R"({"http://schemas.openid.net/event/backchannel-logout":true})",
        R"({"http://schemas.openid.net/event/backchannel-logout/":{}})",
        R"({"https://schemas.openid.net/secevent/risc/event-type/account-disabled":{}})"}) {
    INFO(wrong);
    CHECK(error(es256(logoutClaims().set("events", wrong).json())) == TokenError::kClaims);
  }
  // Other events beside it are fine.
  CHECK(
      check(
          es256(logoutClaims()
                    .set("events",
                         R"({"urn:x":{},"http://schemas.openid.net/event/backchannel-logout":{}})")
                    .json()))
          .ok());
}

TEST_CASE("iss, aud, jti and times", "[oidc][logout_token]") {
  CHECK(error(es256(logoutClaims().set("iss", quoted("https://evil.example.com")).json())) ==
        TokenError::kIssuer);
  CHECK(error(es256(logoutClaims().set("aud", quoted("other-app")).json())) ==
        TokenError::kAudience);
  CHECK(check(es256(logoutClaims().set("aud", R"(["other-app","sesame"])").json())).ok());
  CHECK(error(es256(logoutClaims().erase("jti").json())) == TokenError::kClaims);
  CHECK(error(es256(logoutClaims().set("jti", quoted("")).json())) == TokenError::kClaims);
  CHECK(error(es256(logoutClaims().erase("iat").json())) == TokenError::kClaims);
  CHECK(error(es256(logoutClaims().set("iat", std::to_string(kNow + 61)).json())) ==
        TokenError::kIssuedInFuture);
  CHECK(check(es256(logoutClaims().set("iat", std::to_string(kNow - 660)).json())).ok());
  CHECK(error(es256(logoutClaims().set("iat", std::to_string(kNow - 661)).json())) ==
        TokenError::kTooOld);
  CHECK(error(es256(logoutClaims().set("exp", std::to_string(kNow - 61)).json())) ==
        TokenError::kExpired);
}

TEST_CASE("an ID token is not accepted as a logout token", "[oidc][logout_token]") {
  ClaimSet id;
  id.set("iss", quoted(kIssuer))
      .set("sub", quoted("248289761001"))
      .set("aud", quoted(kClientId))
      .set("iat", std::to_string(kNow))
      .set("exp", std::to_string(kNow + 300))
      .set("nonce", quoted("n"));
  CHECK(error(es256(id.json())) == TokenError::kClaims);
}

TEST_CASE("logout tokens are refused on alg none and unknown kid", "[oidc][logout_token]") {
  const std::string claims = logoutClaims().json();
  CHECK(error(base64urlEncode(std::string_view(R"({"alg":"none"})")) + "." +
              base64urlEncode(claims) + ".") == TokenError::kAlgorithm);
  CHECK(error(test::signedToken(jose::Alg::kES256, provider().ec.get(),
                                R"({"alg":"ES256","kid":"nope"})", claims)) ==
        TokenError::kUnknownKey);
}

}  // namespace
}  // namespace sesame::oidc
