#include "sesame/oidc/id_token.h"

#include <openssl/pem.h>

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

constexpr std::string_view kNonce = "n-0S6_WzA2Mj";

ClaimSet idClaims() {
  ClaimSet c;
  c.set("iss", quoted(kIssuer))
      .set("sub", quoted("248289761001"))
      .set("aud", quoted(kClientId))
      .set("exp", std::to_string(kNow + 300))
      .set("iat", std::to_string(kNow - 5))
      .set("nonce", quoted(kNonce))
      .set("sid", quoted("08a5019c-17e1-4977-8f42-65a12843ea02"))
      .set("email", quoted("alice@example.com"))
      .set("email_verified", "true")
      .set("preferred_username", quoted("alice"))
      .set("groups", R"(["staff","admins"])");
  return c;
}

TokenTrust trust() {
  return {.keys = &provider().keys, .issuer = kIssuer, .now = kNow, .skew = 60};
}

IdTokenExpectations expect() {
  return {.client_id = kClientId,
          .nonce = kNonce,
          .user_claim = "preferred_username",
          .groups_claim = "groups"};
}

IdTokenResult check(const std::string& token, const IdTokenExpectations& e = expect()) {
  return validateIdToken(token, trust(), e);
}

TokenError error(const std::string& token) {
  const IdTokenResult r = check(token);
  INFO(r.why);
  CHECK_FALSE(r.ok());
  CHECK_FALSE(r.why.empty());
  return r.error;
}

TEST_CASE("a valid ID token yields its claims, with each allowed algorithm", "[oidc][id_token]") {
  const std::string claims = idClaims().json();
  for (const std::string& token :
       {es256(claims),
        test::signedToken(jose::Alg::kRS256, provider().rsa.get(),
                          R"({"alg":"RS256","kid":"rsa1","typ":"JWT"})", claims),
        test::signedToken(jose::Alg::kEdDSA, provider().ed.get(), R"({"alg":"EdDSA","kid":"ed1"})",
                          claims)}) {
    const IdTokenResult r = check(token);
    INFO(r.why);
    REQUIRE(r.ok());
    CHECK(r.claims.sub == "248289761001");
    CHECK(r.claims.sid == "08a5019c-17e1-4977-8f42-65a12843ea02");
    CHECK(r.claims.email == "alice@example.com");
    CHECK(r.claims.email_verified);
    CHECK(r.claims.user == "alice");
    CHECK(r.claims.groups == std::vector<std::string>{"staff", "admins"});
    CHECK(r.expires_at == kNow + 300);
  }
}

TEST_CASE("alg none and HS256 keyed with the public key are refused before any key",
          "[oidc][id_token]") {
  const std::string claims = idClaims().json();
  const std::string none =
      base64urlEncode(std::string_view(R"({"alg":"none"})")) + "." + base64urlEncode(claims) + ".";
  CHECK(error(none) == TokenError::kAlgorithm);
  CHECK(error(base64urlEncode(std::string_view(R"({"alg":"none","kid":"rsa1"})")) + "." +
              base64urlEncode(claims) + ".c2ln") == TokenError::kAlgorithm);

  // The key-confusion attack: the RSA public key (as PEM, and as its JWK's
  // n) used as the HMAC secret, with the RSA key's kid.
  const BioPtr bio(BIO_new(BIO_s_mem()));
  REQUIRE(PEM_write_bio_PUBKEY(bio.get(), provider().rsa.get()) == 1);
  char* pem = nullptr;
  const long pem_len = BIO_get_mem_data(bio.get(), &pem);
  const std::string pem_text(pem, static_cast<size_t>(pem_len));
  for (const char* alg : {"HS256", "HS384", "HS512", "hs256", "RS512", "ES384", "Ed25519"}) {
    INFO(alg);
    const std::string header = "{\"alg\":\"" + std::string(alg) + "\",\"kid\":\"rsa1\"}";
    CHECK(error(test::hs256(header, claims, pem_text)) == TokenError::kAlgorithm);
  }
}

TEST_CASE("an allowed alg the provider does not announce is refused", "[oidc][id_token]") {
  const jose::Alg rs_only[] = {jose::Alg::kRS256};
  TokenTrust t = trust();
  t.algs = rs_only;
  const IdTokenResult r = validateIdToken(es256(idClaims().json()), t, expect());
  CHECK(r.error == TokenError::kAlgorithm);
}

TEST_CASE("unknown kid is its own error (the caller refetches the JWKS once)", "[oidc][id_token]") {
  const std::string claims = idClaims().json();
  CHECK(error(test::signedToken(jose::Alg::kES256, provider().ec.get(),
                                R"({"alg":"ES256","kid":"rotated-2"})", claims)) ==
        TokenError::kUnknownKey);
  // A kid that exists but for another key type is not a fit either.
  CHECK(error(test::signedToken(jose::Alg::kES256, provider().ec.get(),
                                R"({"alg":"ES256","kid":"rsa1"})", claims)) ==
        TokenError::kUnknownKey);
  // No kid: the one ES256 key in the set is used.
  CHECK(
      check(test::signedToken(jose::Alg::kES256, provider().ec.get(), R"({"alg":"ES256"})", claims))
          .ok());
}

TEST_CASE("a signature by another key, or a changed payload, is refused", "[oidc][id_token]") {
  const std::string claims = idClaims().json();
  CHECK(error(test::signedToken(jose::Alg::kES256, provider().other_ec.get(),
                                R"({"alg":"ES256","kid":"ec1"})", claims)) ==
        TokenError::kSignature);
  const std::string good = es256(claims);
  const size_t dot1 = good.find('.');
  const size_t dot2 = good.find('.', dot1 + 1);
  const std::string other = base64urlEncode(idClaims().set("sub", quoted("admin")).json());
  CHECK(error(good.substr(0, dot1 + 1) + other + good.substr(dot2)) == TokenError::kSignature);
}

TEST_CASE("malformed tokens are refused as such", "[oidc][id_token]") {
  for (const std::string& bad :
       std::vector<std::string>{"", "a.b", "a.b.c.d", "....", "eyJhbGciOiJFUzI1NiJ9..",
                                std::string(kMaxIdTokenBytes + 1, 'a')}) {
    CHECK(error(bad) == TokenError::kMalformed);
  }
  CHECK(error(es256("[1,2]")) == TokenError::kMalformed);
  CHECK(error(es256(R"({"iss":"a","iss":"b"})")) == TokenError::kMalformed);
}

TEST_CASE("iss must be the configured issuer exactly", "[oidc][id_token]") {
  for (const std::string& iss :
       {quoted("https://evil.example.com/realms/main"), quoted(std::string(kIssuer) + "/"),
        quoted("HTTPS://id.example.com/realms/main"), std::string("null"), std::string("1")}) {
    INFO(iss);
    CHECK(error(es256(idClaims().set("iss", iss).json())) == TokenError::kIssuer);
  }
  CHECK(error(es256(idClaims().erase("iss").json())) == TokenError::kIssuer);
}

TEST_CASE("aud must contain the client_id; several audiences need azp", "[oidc][id_token]") {
  CHECK(error(es256(idClaims().set("aud", quoted("other-app")).json())) == TokenError::kAudience);
  CHECK(error(es256(idClaims().set("aud", R"(["other-app"])").json())) == TokenError::kAudience);
  CHECK(error(es256(idClaims().set("aud", R"(["sesame",1])").json())) == TokenError::kAudience);
  CHECK(error(es256(idClaims().erase("aud").json())) == TokenError::kAudience);
  CHECK(error(es256(idClaims().set("aud", quoted("Sesame")).json())) == TokenError::kAudience);

  CHECK(check(es256(idClaims().set("aud", R"(["sesame"])").json())).ok());
  CHECK(error(es256(idClaims().set("aud", R"(["sesame","other-app"])").json())) ==
        TokenError::kAuthorizedParty);
  CHECK(check(es256(idClaims()
                        .set("aud", R"(["sesame","other-app"])")
                        .set("azp", quoted("sesame"))
                        .json()))
            .ok());
  CHECK(error(es256(idClaims()
                        .set("aud", R"(["sesame","other-app"])")
                        .set("azp", quoted("other-app"))
                        .json())) == TokenError::kAuthorizedParty);
  // azp, when present with one audience, must still be the client_id.
  CHECK(error(es256(idClaims().set("azp", quoted("other-app")).json())) ==
        TokenError::kAuthorizedParty);
  CHECK(error(es256(idClaims().set("azp", "null").json())) == TokenError::kAuthorizedParty);
}

TEST_CASE("exp, iat and nbf with the skew", "[oidc][id_token]") {
  CHECK(check(es256(idClaims().set("exp", std::to_string(kNow - 59)).json())).ok());
  CHECK(error(es256(idClaims().set("exp", std::to_string(kNow - 60)).json())) ==
        TokenError::kExpired);
  CHECK(error(es256(idClaims().set("exp", std::to_string(kNow - 86400)).json())) ==
        TokenError::kExpired);
  CHECK(error(es256(idClaims().erase("exp").json())) == TokenError::kExpired);
  CHECK(error(es256(idClaims().set("exp", quoted("tomorrow")).json())) == TokenError::kExpired);

  CHECK(check(es256(idClaims().set("iat", std::to_string(kNow + 60)).json())).ok());
  CHECK(error(es256(idClaims().set("iat", std::to_string(kNow + 61)).json())) ==
        TokenError::kIssuedInFuture);
  CHECK(error(es256(idClaims().erase("iat").json())) == TokenError::kClaims);

  CHECK(check(es256(idClaims().set("nbf", std::to_string(kNow + 60)).json())).ok());
  CHECK(error(es256(idClaims().set("nbf", std::to_string(kNow + 61)).json())) ==
        TokenError::kNotYetValid);
  // Huge values do not overflow into acceptance.
  CHECK(error(es256(idClaims().set("exp", "-9223372036854775808").json())) == TokenError::kExpired);
  CHECK(error(es256(idClaims().set("iat", "9223372036854775807").json())) ==
        TokenError::kIssuedInFuture);
}

TEST_CASE("nonce must be the one this login sent", "[oidc][id_token]") {
  CHECK(error(es256(idClaims().set("nonce", quoted("n-0S6_WzA2Mk")).json())) == TokenError::kNonce);
  CHECK(error(es256(idClaims().set("nonce", quoted("n-0S6_WzA2M")).json())) == TokenError::kNonce);
  CHECK(error(es256(idClaims().set("nonce", quoted("")).json())) == TokenError::kNonce);
  CHECK(error(es256(idClaims().erase("nonce").json())) == TokenError::kNonce);
  CHECK(error(es256(idClaims().set("nonce", R"(["n-0S6_WzA2Mj"])").json())) == TokenError::kNonce);
  // On a refresh no nonce is expected.
  IdTokenExpectations refresh = expect();
  refresh.nonce.reset();
  CHECK(check(es256(idClaims().erase("nonce").json()), refresh).ok());
}

TEST_CASE("sub must be present, non-empty, at most 255 bytes, the session's on refresh",
          "[oidc][id_token]") {
  CHECK(error(es256(idClaims().erase("sub").json())) == TokenError::kSubject);
  CHECK(error(es256(idClaims().set("sub", quoted("")).json())) == TokenError::kSubject);
  CHECK(error(es256(idClaims().set("sub", "42").json())) == TokenError::kSubject);
  CHECK(error(es256(idClaims().set("sub", quoted(std::string(256, 's'))).json())) ==
        TokenError::kSubject);
  CHECK(check(es256(idClaims().set("sub", quoted(std::string(255, 's'))).json())).ok());

  IdTokenExpectations refresh = expect();
  refresh.nonce.reset();
  refresh.sub = "248289761001";
  CHECK(check(es256(idClaims().json()), refresh).ok());
  refresh.sub = "someone-else";
  CHECK(check(es256(idClaims().json()), refresh).error == TokenError::kSubject);
}

TEST_CASE("groups: a string, an array of strings, absent; anything else refused",
          "[oidc][id_token]") {
  CHECK(check(es256(idClaims().set("groups", quoted("staff")).json())).claims.groups ==
        std::vector<std::string>{"staff"});
  CHECK(check(es256(idClaims().erase("groups").json())).claims.groups.empty());
  CHECK(check(es256(idClaims().set("groups", "null").json())).claims.groups.empty());
  CHECK(check(es256(idClaims().set("groups", "[]").json())).claims.groups.empty());
  for (const char* bad : {R"(["a",1])", R"({"a":1})", "42", R"(["a\nb"])", R"([""])"}) {
    INFO(bad);
    CHECK(error(es256(idClaims().set("groups", bad).json())) == TokenError::kClaims);
  }
  std::string many = "[";
  for (size_t i = 0; i <= kMaxGroups; ++i) many += (i ? ",\"g" : "\"g") + std::to_string(i) + "\"";
  CHECK(error(es256(idClaims().set("groups", many + "]").json())) == TokenError::kClaims);
}

TEST_CASE("user claim and email_verified are read by type", "[oidc][id_token]") {
  const IdTokenResult r = check(es256(
      idClaims().set("preferred_username", "7").set("email_verified", quoted("true")).json()));
  REQUIRE(r.ok());
  CHECK_FALSE(r.claims.user);
  CHECK_FALSE(r.claims.email_verified);
  IdTokenExpectations by_email = expect();
  by_email.user_claim = "email";
  CHECK(check(es256(idClaims().json()), by_email).claims.user == "alice@example.com");
}

TEST_CASE("refusal reasons never quote the token", "[oidc][id_token]") {
  const std::string token =
      es256(idClaims().set("nonce", quoted("secret-nonce-value")).set("sub", quoted("")).json());
  const IdTokenResult r = check(token);
  CHECK(r.why.find("secret-nonce-value") == std::string::npos);
  CHECK(r.why.find(token.substr(0, 20)) == std::string::npos);
  CHECK(tokenErrorName(r.error) == "nonce");
}

}  // namespace
}  // namespace sesame::oidc
