#include <catch2/catch.hpp>

#include "sesame/auth/form.h"
#include "sesame/jose/claims.h"
#include "sesame/oidc/authorization.h"
#include "test_provider.h"

namespace sesame::oidc {
namespace {

using test::kNow;
using test::provider;

constexpr std::string_view kTokenEndpoint = "https://id.example.com/token";

std::string only(const std::string& body, std::string_view name) {
  const std::vector<std::string> values = auth::formValues(body, name);
  REQUIRE(values.size() == 1);
  return values[0];
}

TokenRequest exchange(const ClientCredentials& client) {
  std::string error;
  const std::optional<TokenRequest> r =
      codeExchangeRequest(client, kTokenEndpoint, "SplxlOBeZQQYbYS6WxSbIA",
                          "https://app.example.com/.sesame/oidc/callback",
                          "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", kNow, &error);
  INFO(error);
  REQUIRE(r);
  return *r;
}

TEST_CASE("code exchange with client_secret_basic (RFC 6749 §2.3.1, §4.1.3)",
          "[oidc][token_request]") {
  const TokenRequest r = exchange({.method = ClientAuth::kClientSecretBasic,
                                   .client_id = "s6BhdRkqt3",
                                   .client_secret = "7Fjfp0ZBr1KtDRbnfVdmIw"});
  CHECK(r.body ==
        "grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA&redirect_uri=https%3A%2F%2Fapp."
        "example.com%2F.sesame%2Foidc%2Fcallback&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_"
        "wW1gFWFOEjXk");
  // RFC 6749 §4.1.3's example credentials.
  CHECK(r.authorization == "Basic czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3");
  CHECK(r.body.find("client_secret") == std::string::npos);
}

TEST_CASE("client_secret_basic form-encodes id and secret first", "[oidc][token_request]") {
  const TokenRequest r = exchange(
      {.method = ClientAuth::kClientSecretBasic, .client_id = "a:b", .client_secret = "p@ss w:rd"});
  // base64("a%3Ab:p%40ss%20w%3Ard")
  CHECK(r.authorization == "Basic YSUzQWI6cCU0MHNzJTIwdyUzQXJk");
}

TEST_CASE("code exchange with client_secret_post", "[oidc][token_request]") {
  const TokenRequest r = exchange(
      {.method = ClientAuth::kClientSecretPost, .client_id = "sesame", .client_secret = "s&=+e"});
  CHECK(r.authorization.empty());
  CHECK(only(r.body, "client_id") == "sesame");
  CHECK(only(r.body, "client_secret") == "s&=+e");
  CHECK(only(r.body, "code") == "SplxlOBeZQQYbYS6WxSbIA");
}

TEST_CASE("code exchange with private_key_jwt (RFC 7523)", "[oidc][token_request]") {
  for (const auto& [alg, key, kid] : {std::tuple{jose::Alg::kES256, provider().ec.get(), "ec1"},
                                      std::tuple{jose::Alg::kRS256, provider().rsa.get(), "rsa1"},
                                      std::tuple{jose::Alg::kEdDSA, provider().ed.get(), "ed1"}}) {
    const TokenRequest r = exchange({.method = ClientAuth::kPrivateKeyJwt,
                                     .client_id = "sesame",
                                     .private_key = key,
                                     .key_alg = alg,
                                     .key_id = kid});
    CHECK(r.authorization.empty());
    CHECK(only(r.body, "client_id") == "sesame");
    CHECK(only(r.body, "client_assertion_type") ==
          "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    const std::string assertion = only(r.body, "client_assertion");
    std::string error;
    const std::optional<jose::Jws> jws = jose::parseCompact(assertion, &error);
    INFO(error);
    REQUIRE(jws);
    CHECK(jws->alg == alg);
    CHECK(jws->kid == kid);
    const jose::Jwk* jwk = provider().keys.find(std::string(kid), alg);
    REQUIRE(jwk);
    CHECK(jose::verify(*jws, *jwk, &error));
    const std::optional<json::Document> claims = jose::parseClaims(jws->payload, &error);
    REQUIRE(claims);
    const json::Value c = claims->root();
    CHECK(c.get("iss").string() == "sesame");
    CHECK(c.get("sub").string() == "sesame");
    CHECK(c.get("aud").string() == kTokenEndpoint);
    CHECK(c.get("iat").integer() == kNow);
    CHECK(c.get("exp").integer() == kNow + 60);
    CHECK(c.get("jti").string()->size() == 43);
  }
  // Two assertions never share a jti.
  const ClientCredentials client{.method = ClientAuth::kPrivateKeyJwt,
                                 .client_id = "sesame",
                                 .private_key = provider().ec.get(),
                                 .key_alg = jose::Alg::kES256};
  CHECK(only(exchange(client).body, "client_assertion") !=
        only(exchange(client).body, "client_assertion"));
}

TEST_CASE("private_key_jwt with a key that does not fit the alg fails", "[oidc][token_request]") {
  std::string error;
  CHECK_FALSE(codeExchangeRequest({.method = ClientAuth::kPrivateKeyJwt,
                                   .client_id = "sesame",
                                   .private_key = provider().rsa.get(),
                                   .key_alg = jose::Alg::kES256},
                                  kTokenEndpoint, "c", "https://x/cb", "v", kNow, &error));
  CHECK(error.find("private_key_jwt") != std::string::npos);
}

TEST_CASE("refresh request (RFC 6749 §6)", "[oidc][token_request]") {
  std::string error;
  const std::optional<TokenRequest> r = refreshRequest(
      {.method = ClientAuth::kClientSecretPost, .client_id = "sesame", .client_secret = "s"},
      kTokenEndpoint, "tGzv3JOkF0XG5Qx2TlKWIA", "openid email", kNow, &error);
  REQUIRE(r);
  CHECK(r->body ==
        "grant_type=refresh_token&refresh_token=tGzv3JOkF0XG5Qx2TlKWIA&scope=openid%20email&client_"
        "id=sesame&client_secret=s");
  const std::optional<TokenRequest> no_scope = refreshRequest(
      {.method = ClientAuth::kClientSecretBasic, .client_id = "a", .client_secret = "b"},
      kTokenEndpoint, "rt", "", kNow, &error);
  REQUIRE(no_scope);
  CHECK(no_scope->body == "grant_type=refresh_token&refresh_token=rt");
  CHECK(no_scope->authorization == "Basic YTpi");
}

TEST_CASE("client authentication method choice", "[oidc][token_request]") {
  std::string error;
  const std::vector<std::string> none;
  const std::vector<std::string> all = {"client_secret_post", "private_key_jwt",
                                        "client_secret_basic"};
  const std::vector<std::string> post = {"client_secret_post", "tls_client_auth"};
  const std::vector<std::string> jwt_only = {"private_key_jwt"};
  CHECK(chooseClientAuth(none, false, &error) == ClientAuth::kClientSecretBasic);
  CHECK(chooseClientAuth(all, false, &error) == ClientAuth::kClientSecretBasic);
  CHECK(chooseClientAuth(post, false, &error) == ClientAuth::kClientSecretPost);
  CHECK(chooseClientAuth(none, true, &error) == ClientAuth::kPrivateKeyJwt);
  CHECK(chooseClientAuth(all, true, &error) == ClientAuth::kPrivateKeyJwt);
  CHECK_FALSE(chooseClientAuth(jwt_only, false, &error));
  CHECK(error.find("it offers: private_key_jwt") != std::string::npos);
  CHECK_FALSE(chooseClientAuth(post, true, &error));
  CHECK(error.find("client_secret_post, tls_client_auth") != std::string::npos);
  CHECK(clientAuthName(ClientAuth::kClientSecretBasic) == "client_secret_basic");
}

}  // namespace
}  // namespace sesame::oidc
