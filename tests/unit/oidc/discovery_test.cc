#include "sesame/oidc/discovery.h"

#include <catch2/catch.hpp>

#include "test_provider.h"

namespace sesame::oidc {
namespace {

using test::ClaimSet;
using test::kIssuer;
using test::quoted;

// Shaped after a Keycloak realm's document.
ClaimSet metadata() {
  ClaimSet m;
  const std::string base(kIssuer);
  m.set("issuer", quoted(base))
      .set("authorization_endpoint", quoted(base + "/protocol/openid-connect/auth"))
      .set("token_endpoint", quoted(base + "/protocol/openid-connect/token"))
      .set("jwks_uri", quoted(base + "/protocol/openid-connect/certs"))
      .set("userinfo_endpoint", quoted(base + "/protocol/openid-connect/userinfo"))
      .set("end_session_endpoint", quoted(base + "/protocol/openid-connect/logout"))
      .set("revocation_endpoint", quoted(base + "/protocol/openid-connect/revoke"))
      .set("response_types_supported", R"(["code","none","id_token","code id_token"])")
      .set("subject_types_supported", R"(["public","pairwise"])")
      .set(
          "id_token_signing_alg_values_supported",
          R"(["PS384","ES384","RS384","HS256","HS512","ES256","RS256","HS384","ES512","PS256","PS512","RS512","EdDSA","none"])")
      .set(
          "token_endpoint_auth_methods_supported",
          R"(["private_key_jwt","client_secret_basic","client_secret_post","tls_client_auth","client_secret_jwt"])")
      .set("code_challenge_methods_supported", R"(["plain","S256"])")
      .set("backchannel_logout_supported", "true")
      .set("backchannel_logout_session_supported", "true")
      .set("mtls_endpoint_aliases", R"({"token_endpoint":"https://x/token"})");
  return m;
}

ProviderMetadata parsed(const ClaimSet& m) {
  std::string error;
  const std::optional<ProviderMetadata> p = parseProviderMetadata(m.json(), kIssuer, &error);
  INFO(error);
  REQUIRE(p);
  return *p;
}

std::string refused(const ClaimSet& m) {
  std::string error;
  CHECK_FALSE(parseProviderMetadata(m.json(), kIssuer, &error));
  CHECK_FALSE(error.empty());
  return error;
}

TEST_CASE("a full provider document is read", "[oidc][discovery]") {
  const ProviderMetadata p = parsed(metadata());
  CHECK(p.issuer == kIssuer);
  CHECK(p.authorization_endpoint == std::string(kIssuer) + "/protocol/openid-connect/auth");
  CHECK(p.token_endpoint == std::string(kIssuer) + "/protocol/openid-connect/token");
  CHECK(p.jwks_uri == std::string(kIssuer) + "/protocol/openid-connect/certs");
  CHECK(p.userinfo_endpoint == std::string(kIssuer) + "/protocol/openid-connect/userinfo");
  CHECK(p.end_session_endpoint == std::string(kIssuer) + "/protocol/openid-connect/logout");
  CHECK(p.revocation_endpoint == std::string(kIssuer) + "/protocol/openid-connect/revoke");
  // HS*, none and the *384/*512 algorithms never make it through.
  CHECK(p.id_token_algs == std::vector<jose::Alg>{jose::Alg::kRS256, jose::Alg::kPS256,
                                                  jose::Alg::kES256, jose::Alg::kEdDSA});
  CHECK(p.token_endpoint_auth_methods.size() == 5);
  CHECK(p.backchannel_logout_supported);
  CHECK(p.backchannel_logout_session_supported);
}

TEST_CASE("the minimal document: optional members absent", "[oidc][discovery]") {
  ClaimSet m = metadata();
  for (const char* name :
       {"userinfo_endpoint", "end_session_endpoint", "revocation_endpoint",
        "response_types_supported", "id_token_signing_alg_values_supported",
        "token_endpoint_auth_methods_supported", "code_challenge_methods_supported",
        "backchannel_logout_supported", "backchannel_logout_session_supported"})
    m.erase(name);
  const ProviderMetadata p = parsed(m);
  CHECK(p.end_session_endpoint.empty());
  CHECK(p.id_token_algs == std::vector<jose::Alg>{jose::Alg::kRS256});
  CHECK(p.token_endpoint_auth_methods.empty());
  CHECK_FALSE(p.backchannel_logout_supported);
}

TEST_CASE("the issuer must be the configured one exactly; the message names both",
          "[oidc][discovery]") {
  for (const std::string& other :
       {std::string(kIssuer) + "/", std::string("https://ID.example.com/realms/main"),
        std::string("https://evil.example.com/realms/main"), std::string("")}) {
    const std::string error = refused(metadata().set("issuer", quoted(other)));
    CHECK(error.find("\"" + other + "\"") != std::string::npos);
    CHECK(error.find("\"" + std::string(kIssuer) + "\"") != std::string::npos);
  }
  CHECK(refused(metadata().erase("issuer")).find("issuer is missing") != std::string::npos);
  CHECK(refused(metadata().set("issuer", "1")).find("issuer is not a string") != std::string::npos);
}

TEST_CASE("a provider without S256 PKCE is refused", "[oidc][discovery]") {
  CHECK(refused(metadata().set("code_challenge_methods_supported", R"(["plain"])")).find("S256") !=
        std::string::npos);
  refused(metadata().set("code_challenge_methods_supported", "[]"));
  refused(metadata().set("code_challenge_methods_supported", R"("S256")"));
}

TEST_CASE("no allowed signing algorithm, no code flow: refused", "[oidc][discovery]") {
  CHECK(refused(metadata().set("id_token_signing_alg_values_supported", R"(["HS256","none"])"))
            .find("RS256, PS256, ES256, EdDSA") != std::string::npos);
  refused(metadata().set("id_token_signing_alg_values_supported", "[]"));
  refused(metadata().set("id_token_signing_alg_values_supported", R"(["rs256"])"));
  refused(metadata().set("response_types_supported", R"(["id_token","token id_token"])"));
}

TEST_CASE("required endpoints must be present and https", "[oidc][discovery]") {
  for (const char* name : {"authorization_endpoint", "token_endpoint", "jwks_uri"}) {
    INFO(name);
    CHECK(refused(metadata().erase(name)).find(std::string(name) + " is missing") !=
          std::string::npos);
    for (const char* bad :
         {"http://id.example.com/x", "https://", "https:///path", "https://id.example.com/x#f",
          "https://id.example.com/a b", "ftp://id.example.com", "https://user@evil.example/x",
          "//id.example.com/x", "https://:443/x"}) {
      INFO(bad);
      CHECK(refused(metadata().set(name, quoted(bad))).find(name) != std::string::npos);
    }
    refused(metadata().set(name, "null"));
  }
  refused(metadata().set("end_session_endpoint", quoted("http://id.example.com/logout")));
  refused(metadata().set("userinfo_endpoint", "{}"));
  refused(metadata().set("authorization_endpoint",
                         quoted("https://id.example.com/" + std::string(kMaxEndpointBytes, 'a'))));
  CHECK(parsed(metadata().set("authorization_endpoint",
                              quoted("https://login.example.com:8443/t/authorize?p=B2C")))
            .authorization_endpoint == "https://login.example.com:8443/t/authorize?p=B2C");
}

TEST_CASE("members of the wrong type and documents that are not objects", "[oidc][discovery]") {
  refused(metadata().set("token_endpoint_auth_methods_supported", R"(["a",1])"));
  refused(metadata().set("backchannel_logout_supported", quoted("true")));
  for (const char* doc : {"", "[]", "null", "{", R"({"issuer":"a","issuer":"a"})"}) {
    std::string error;
    CHECK_FALSE(parseProviderMetadata(doc, kIssuer, &error));
    CHECK_FALSE(error.empty());
  }
}

TEST_CASE("messages quote provider text printably and bounded", "[oidc][discovery]") {
  const std::string error =
      refused(metadata().set("issuer", quoted("https://x\n" + std::string(5000, 'y'))));
  CHECK(error.find('\n') == std::string::npos);
  CHECK(error.size() < 700);
}

}  // namespace
}  // namespace sesame::oidc
