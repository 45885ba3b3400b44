#include "sesame/oidc/authorization.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "sesame/auth/form.h"
#include "sesame/oidc/logout_url.h"

namespace sesame::oidc {
namespace {

std::string query(const std::string& url) {
  return url.substr(url.find('?') + 1);
}

std::string only(const std::string& q, std::string_view name) {
  const std::vector<std::string> values = auth::formValues(q, name);
  REQUIRE(values.size() == 1);
  return values[0];
}

TEST_CASE("authorization URL carries every parameter of OIDC Core 3.1.2.1 and PKCE",
          "[oidc][authorization]") {
  const std::vector<std::string> scopes = {"openid", "profile", "email"};
  const std::string url = authorizationUrl({
      .authorization_endpoint = "https://id.example.com/auth",
      .client_id = "sesame app",
      .redirect_uri = "https://app.example.com/.sesame/oidc/callback",
      .scopes = scopes,
      .state = "st-_8",
      .nonce = "n0nce",
      .code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
  });
  CHECK(url ==
        "https://id.example.com/auth?response_type=code&client_id=sesame%20app&redirect_uri="
        "https%3A%2F%2Fapp.example.com%2F.sesame%2Foidc%2Fcallback&scope=openid%20profile%"
        "20email&state=st-_8&nonce=n0nce&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-"
        "cM&code_challenge_method=S256");
  const std::string q = query(url);
  CHECK(only(q, "scope") == "openid profile email");
  CHECK(only(q, "client_id") == "sesame app");
  CHECK(only(q, "redirect_uri") == "https://app.example.com/.sesame/oidc/callback");
}

TEST_CASE("authorization URL keeps the endpoint's own query and encodes hostile values",
          "[oidc][authorization]") {
  const std::vector<std::string> scopes = {"openid"};
  const std::string url = authorizationUrl({
      .authorization_endpoint = "https://login.example.com/authorize?p=B2C_1_signin",
      .client_id = "a&b=c#d",
      .redirect_uri = "https://x/cb",
      .scopes = scopes,
      .state = "s",
      .nonce = "n",
      .code_challenge = "c",
  });
  CHECK(url.rfind("https://login.example.com/authorize?p=B2C_1_signin&response_type=code&", 0) ==
        0);
  CHECK(url.find('#') == std::string::npos);
  const std::string q = query(url);
  CHECK(only(q, "p") == "B2C_1_signin");
  CHECK(only(q, "client_id") == "a&b=c#d");
  CHECK(auth::formValues(q, "b").empty());
}

TEST_CASE("end-session URL: RP-Initiated Logout 1.0 §2 parameters, empty ones left out",
          "[oidc][logout_url]") {
  CHECK(endSessionUrl({.end_session_endpoint = "https://id.example.com/logout",
                       .id_token_hint = "eyJ.a.b",
                       .post_logout_redirect_uri = "https://app.example.com/bye?x=1",
                       .client_id = "sesame",
                       .state = "s1"}) ==
        "https://id.example.com/logout?id_token_hint=eyJ.a.b&post_logout_redirect_uri=https%3A%"
        "2F%2Fapp.example.com%2Fbye%3Fx%3D1&client_id=sesame&state=s1");
  CHECK(endSessionUrl({.end_session_endpoint = "https://id.example.com/logout?tenant=t",
                       .client_id = "sesame"}) ==
        "https://id.example.com/logout?tenant=t&client_id=sesame");
  CHECK(endSessionUrl({.end_session_endpoint = "https://id.example.com/logout"}) ==
        "https://id.example.com/logout");
}

}  // namespace
}  // namespace sesame::oidc
