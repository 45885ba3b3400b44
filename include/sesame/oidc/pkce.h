// The one-time values of an authorization request: PKCE (RFC 7636), state and nonce.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sesame::oidc {

// Random bytes behind each value: 256 bits, as RFC 7636 §4.1 recommends for
// the code_verifier, and well over the 128 bits state and nonce need to be
// unguessable (OIDC Core §15.5.2, RFC 6749 §10.10).
inline constexpr size_t kRandomBytes = 32;

// kRandomBytes from the OpenSSL generator, base64url without padding (43
// characters, all RFC 3986 unreserved). Aborts if the generator fails: a
// predictable state or nonce would make the login forgeable.
[[nodiscard]] std::string randomToken();

// A fresh set for one authorization request; each value is used once and
// kept server-side in the pre-login session until the callback.
struct AuthorizationSecrets {
  std::string state;
  std::string nonce;
  std::string code_verifier;
};
[[nodiscard]] AuthorizationSecrets newAuthorizationSecrets();

// RFC 7636 §4.1: 43 to 128 characters from ALPHA / DIGIT / "-" / "." / "_" / "~".
[[nodiscard]] bool isCodeVerifier(std::string_view verifier);

// code_challenge for code_challenge_method=S256 (RFC 7636 §4.2):
// BASE64URL(SHA256(ASCII(code_verifier))), 43 characters.
[[nodiscard]] std::string codeChallengeS256(std::string_view verifier);

}  // namespace sesame::oidc
