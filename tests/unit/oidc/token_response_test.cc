#include "sesame/oidc/token_response.h"

#include <catch2/catch.hpp>

namespace sesame::oidc {
namespace {

TokenResponse ok(std::string_view body, Grant grant = Grant::kAuthorizationCode) {
  TokenResponse r = parseTokenResponse(200, body, grant);
  INFO(r.why);
  REQUIRE(r.outcome == TokenOutcome::kOk);
  return r;
}

std::string malformed(int status, std::string_view body, Grant grant = Grant::kAuthorizationCode) {
  const TokenResponse r = parseTokenResponse(status, body, grant);
  CHECK(r.outcome == TokenOutcome::kMalformed);
  CHECK_FALSE(r.why.empty());
  return r.why;
}

TEST_CASE("a successful code exchange (RFC 6749 §5.1, OIDC Core §3.1.3.3)",
          "[oidc][token_response]") {
  const TokenResponse r = ok(R"({"access_token":"SlAV32hkKG","token_type":"Bearer",
    "refresh_token":"8xLOxBtZp8","expires_in":3600,"id_token":"eyJhbGciOiJSUzI1NiIsImtpZCI6IjFlOWdkazcifQ.e30.c2ln",
    "scope":"openid email","not-before-policy":0})");
  CHECK(r.tokens.access_token == "SlAV32hkKG");
  CHECK(r.tokens.refresh_token == "8xLOxBtZp8");
  CHECK(r.tokens.id_token.rfind("eyJhbGci", 0) == 0);
  CHECK(r.tokens.expires_in == 3600);
  CHECK(r.tokens.scope == "openid email");
  CHECK(ok(R"({"access_token":"a","token_type":"bearer","id_token":"x"})").tokens.expires_in ==
        std::nullopt);
  CHECK(ok(R"({"access_token":"a","token_type":"BEARER","id_token":"x","expires_in":"3599"})")
            .tokens.expires_in == 3599);
}

TEST_CASE("a refresh may come without id_token or refresh_token", "[oidc][token_response]") {
  const TokenResponse r =
      ok(R"({"access_token":"new","token_type":"Bearer","expires_in":300})", Grant::kRefreshToken);
  CHECK(r.tokens.id_token.empty());
  CHECK(r.tokens.refresh_token.empty());
  CHECK(malformed(200, R"({"access_token":"new","token_type":"Bearer"})")
            .find("id_token is missing") != std::string::npos);
}

TEST_CASE("malformed success answers", "[oidc][token_response]") {
  for (const char* body :
       {R"({"token_type":"Bearer","id_token":"x"})",
        R"({"access_token":"","token_type":"Bearer","id_token":"x"})",
        R"({"access_token":1,"token_type":"Bearer","id_token":"x"})",
        R"({"access_token":"a","id_token":"x"})",
        R"({"access_token":"a","token_type":"DPoP","id_token":"x"})",
        R"({"access_token":"a","token_type":"mac","id_token":"x"})",
        R"({"access_token":"a","token_type":"Bearer","id_token":null})",
        R"({"access_token":"a","token_type":"Bearer","id_token":"x","refresh_token":7})",
        R"({"access_token":"a","token_type":"Bearer","id_token":"x","expires_in":-1})",
        R"({"access_token":"a","token_type":"Bearer","id_token":"x","expires_in":1.5})",
        R"({"access_token":"a","token_type":"Bearer","id_token":"x","expires_in":"-5"})",
        R"({"access_token":"a","token_type":"Bearer","id_token":"x","expires_in":"12a"})",
        R"({"access_token":"a","token_type":"Bearer","id_token":"x","expires_in":99999999999})",
        R"({"access_token":"a","access_token":"b","token_type":"Bearer","id_token":"x"})",
        R"(["access_token"])", "", "not json", "{"}) {
    INFO(body);
    malformed(200, body);
  }
  const std::string huge = R"({"access_token":")" + std::string(kMaxTokenBytes + 1, 'a') +
                           R"(","token_type":"Bearer","id_token":"x"})";
  malformed(200, huge);
}

TEST_CASE("refusals (RFC 6749 §5.2) keep the code and a sanitised description",
          "[oidc][token_response]") {
  const TokenResponse r = parseTokenResponse(
      400, R"({"error":"invalid_grant","error_description":"Code not valid\r\nX: \u00e9 \u0001"})",
      Grant::kRefreshToken);
  REQUIRE(r.outcome == TokenOutcome::kRefused);
  CHECK(r.error_code == "invalid_grant");
  CHECK(r.error_description == "Code not valid??X: ?? ?");
  CHECK(r.why.find("invalid_grant") != std::string::npos);
  CHECK(r.why.find('\n') == std::string::npos);

  const TokenResponse c = parseTokenResponse(
      401, R"({"error":"invalid_client","error_description":")" + std::string(500, 'd') + "\"}",
      Grant::kAuthorizationCode);
  REQUIRE(c.outcome == TokenOutcome::kRefused);
  CHECK(c.error_description.size() == kMaxErrorDescriptionBytes);

  malformed(400, R"({"error_description":"no code"})");
  malformed(400, R"({"error":5})");
  malformed(400, "<html>Bad Request</html>");
  malformed(500, R"({"error":"server_error"})");
  malformed(302, "");
}

TEST_CASE("reasons never quote token values", "[oidc][token_response]") {
  const std::string why =
      malformed(200, R"({"access_token":"SECRET-AT","token_type":"SECRET-TT-DPoP","id_token":"x",
        "refresh_token":"SECRET-RT"})");
  CHECK(why.find("SECRET-AT") == std::string::npos);
  CHECK(why.find("SECRET-RT") == std::string::npos);
}

}  // namespace
}  // namespace sesame::oidc
