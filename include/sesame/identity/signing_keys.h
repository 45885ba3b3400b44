// The keys sesame signs upstream identity assertions with, and the JWKS that publishes them.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sesame/base/c_handle.h"

namespace sesame::identity {

// The JWS algorithms an assertion key signs with: ES256 (ECDSA P-256 with
// SHA-256, RFC 7518 §3.4) and EdDSA with Ed25519 (RFC 8037 §3.1), both in
// the verifier's allow-list, both small and fast next to RSA.
enum class Algorithm { kEs256, kEdDsa };

// The "alg" header value: "ES256" or "EdDSA".
[[nodiscard]] std::string_view algorithmName(Algorithm algorithm);

// One JWK member for a thumbprint. Every required member of an RSA, EC or
// OKP key is a string (RFC 7638 §3.2, RFC 8037 §2), so only strings are taken.
struct JwkMember {
  std::string_view name;
  std::string_view value;
};

// The RFC 7638 thumbprint: base64url of SHA-256 over the JSON object of the
// key's REQUIRED members (in any order here: they are sorted by name), with
// no whitespace. The caller passes exactly the required members; values
// are escaped as JSON strings (the RFC's members never need escaping).
[[nodiscard]] std::string jwkThumbprint(std::span<const JwkMember> members);

// One private key as the configuration read it. `name` says where it came
// from (the file path) and starts every error message about it.
struct KeyText {
  std::string name;
  std::string pem;
};

// Loaded assertion keys: the first signs, every one is published, so a
// rotation adds the new key second, lets the JWKS spread, then moves it
// first and later drops the old one. Immutable after loading; the private
// keys are only ever read, and OpenSSL 3 lets several threads sign with one
// EVP_PKEY at once as long as each has its own operation context.
class SigningKeys {
 public:
  struct Key {
    Algorithm algorithm;
    std::string kid;         // RFC 7638 thumbprint of the public key
    std::string public_jwk;  // JSON object: public members, kid, "use":"sig", alg
    EvpPkeyPtr private_key;
  };

  // Loads PEM private keys (PKCS#8 "PRIVATE KEY" or SEC1 "EC PRIVATE KEY";
  // unencrypted). Refuses an empty list, text over 64 KiB, text with no
  // key, an encrypted key, any key type other than EC P-256 and Ed25519
  // (RSA, Ed448, other curves) and the same key given twice; the error
  // names the key's KeyText::name and says what to use instead. Nothing is
  // logged (key text is secret).
  struct LoadResult;
  [[nodiscard]] static LoadResult load(std::span<const KeyText> texts);

  // The signing key is keys().front().
  [[nodiscard]] const std::vector<Key>& keys() const { return keys_; }
  [[nodiscard]] const Key& signingKey() const { return keys_.front(); }

  // The JWK Set (RFC 7517 §5) of every public key, in the configured order:
  // {"keys":[{"kty":"EC","crv":"P-256","x":..,"y":..,"kid":..,"use":"sig",
  // "alg":"ES256"},{"kty":"OKP","crv":"Ed25519","x":..,...,"alg":"EdDSA"}]}.
  // Never contains a private member ("d").
  [[nodiscard]] const std::string& jwksJson() const { return jwks_json_; }

  // The JWS signature (RFC 7515 §5.1 step 5) of `signing_input` with the
  // signing key, raw bytes: for ES256 the 64-byte big-endian R || S, each
  // zero-padded to 32 bytes (RFC 7518 §3.4; OpenSSL's DER form is converted);
  // for EdDSA the 64-byte Ed25519 signature. Safe to call from several
  // threads at once: each call makes its own EVP_MD_CTX. Aborts if OpenSSL
  // cannot sign with a key it loaded (no identity is ever forwarded unsigned).
  [[nodiscard]] std::string signature(std::string_view signing_input) const;

 private:
  SigningKeys() = default;

  std::vector<Key> keys_;
  std::string jwks_json_;
};

struct SigningKeys::LoadResult {
  std::optional<SigningKeys> keys;  // empty on error
  std::string error;                // operator-facing, starts with the key's name
};

}  // namespace sesame::identity
