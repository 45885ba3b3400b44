#include "sesame/oidc/pkce.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>

#include "crypto_failure.h"
#include "sesame/base/base64url.h"

namespace sesame::oidc {

std::string randomToken() {
  std::array<unsigned char, kRandomBytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) cryptoFailure("RAND_bytes");
  return base64urlEncode(bytes);
}

AuthorizationSecrets newAuthorizationSecrets() {
  return {randomToken(), randomToken(), randomToken()};
}

bool isCodeVerifier(std::string_view verifier) {
  if (verifier.size() < 43 || verifier.size() > 128) return false;
  for (unsigned char c : verifier) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (!unreserved) return false;
  }
  return true;
}

std::string codeChallengeS256(std::string_view verifier) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(verifier.data(), verifier.size(), digest.data(), &length, EVP_sha256(), nullptr) !=
          1 ||
      length != 32)
    cryptoFailure("SHA-256");
  return base64urlEncode(std::span<const unsigned char>(digest.data(), length));
}

}  // namespace sesame::oidc
