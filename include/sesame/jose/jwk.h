// JSON Web Keys (RFC 7517) for verifying signatures: JWKS parsing, thumbprints, public JWK output.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sesame/base/c_handle.h"
#include "sesame/jose/alg.h"

namespace sesame::jose {

// One public verification key. Move-only (owns its EVP_PKEY); a KeySet is
// built once and then only read, which OpenSSL 3 allows from many threads.
struct Jwk {
  std::string kid;  // empty when the JWK has none
  KeyType type = KeyType::kRsa;
  std::optional<Alg> alg;  // the JWK's "alg", when it names one
  EvpPkeyPtr key;
};

// At most this many keys are read from a JWKS (a hostile document with
// thousands of RSA keys would otherwise cost a worker real time).
inline constexpr size_t kMaxJwksKeys = 64;

// A provider's verification keys.
struct KeySet {
  std::vector<Jwk> keys;
  // JWKs passed over: other kty/crv (X25519, P-384, oct), "use" other than
  // "sig", "alg" off the allow-list (RSA-OAEP, HS256).
  size_t skipped = 0;

  // The key to verify a token signed with `alg`: among keys whose type fits
  // `alg` and whose own "alg" (if any) equals it, the one with kid == *kid;
  // with no kid in the token, the only such key (nullptr when there are
  // none or several: guessing among keys is how a wrong key gets used).
  const Jwk* find(const std::optional<std::string>& kid, Alg alg) const;
};

// Parses a JWKS document {"keys":[...]}. Unusable keys are skipped (providers
// publish encryption keys too); refused as a whole: not JSON, not an object
// with a "keys" array, more than kMaxJwksKeys entries, or any entry that is
// malformed for its own kind or carries private members ("d", "p", "q", "dp",
// "dq", "qi", "oth", "k"): a provider that publishes private keys is broken.
[[nodiscard]] std::optional<KeySet> parseJwks(std::string_view json, std::string* error);

// Parses one JWK (a JSON object). Refuses what parseJwks skips as well as
// what it refuses; accepts "use":"sig" or no "use". Accepted keys: RSA from
// n/e with a modulus of at least 2048 bits; EC crv P-256 from x/y (32 bytes
// each, the point checked to be on the curve); OKP crv Ed25519 from x.
[[nodiscard]] std::optional<Jwk> parseJwk(std::string_view json, std::string* error);

// RFC 7638 JWK thumbprint: base64url(SHA-256 of the required members in
// lexicographic order). Empty when the key is none of the three kinds.
[[nodiscard]] std::string thumbprint(const evp_pkey_st* key);
[[nodiscard]] inline std::string thumbprint(const Jwk& jwk) {
  return thumbprint(jwk.key.get());
}

// The public JWK of `key` (RSA, EC P-256 or Ed25519) as one JSON object with
// "kty", the key members, "use":"sig", "kid" unless empty and "alg" when
// given; never a private member. nullopt for other keys and for an `alg`
// that does not fit the key.
[[nodiscard]] std::optional<std::string> publicJwkJson(const evp_pkey_st* key, std::string_view kid,
                                                       std::optional<Alg> alg);

}  // namespace sesame::jose
