#include "sesame/oidc/pkce.h"

#include <catch2/catch.hpp>
#include <set>

#include "sesame/base/base64url.h"

namespace sesame::oidc {
namespace {

TEST_CASE("S256 challenge matches RFC 7636 Appendix B", "[oidc][pkce]") {
  // The appendix's 32 octets, their base64url verifier and its challenge.
  const unsigned char octets[] = {116, 24,  223, 180, 151, 153, 224, 37,  79,  250, 96,
                                  125, 216, 173, 187, 186, 22,  212, 37,  77,  105, 214,
                                  191, 240, 91,  88,  5,   88,  83,  132, 141, 121};
  const std::string verifier = base64urlEncode(octets);
  CHECK(verifier == "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
  CHECK(isCodeVerifier(verifier));
  CHECK(codeChallengeS256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST_CASE("fresh secrets are 256-bit base64url verifiers, all different", "[oidc][pkce]") {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    const AuthorizationSecrets s = newAuthorizationSecrets();
    for (const std::string* v : {&s.state, &s.nonce, &s.code_verifier}) {
      CHECK(v->size() == 43);
      CHECK(isCodeVerifier(*v));
      const std::optional<std::string> bytes = base64urlDecode(*v);
      REQUIRE(bytes);
      CHECK(bytes->size() == kRandomBytes);
      CHECK(seen.insert(*v).second);
    }
  }
}

TEST_CASE("code verifier grammar: 43 to 128 unreserved characters", "[oidc][pkce]") {
  CHECK(isCodeVerifier(std::string(43, 'a')));
  CHECK(isCodeVerifier(std::string(128, '~')));
  CHECK(isCodeVerifier("ABCxyz019-._~" + std::string(30, 'Q')));
  CHECK_FALSE(isCodeVerifier(std::string(42, 'a')));
  CHECK_FALSE(isCodeVerifier(std::string(129, 'a')));
  CHECK_FALSE(isCodeVerifier(std::string(42, 'a') + "+"));
  CHECK_FALSE(isCodeVerifier(std::string(42, 'a') + "="));
  CHECK_FALSE(isCodeVerifier(std::string(42, 'a') + " "));
}

}  // namespace
}  // namespace sesame::oidc
