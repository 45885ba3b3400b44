// The JWS signature algorithms sesame accepts (RFC 7518 §3, RFC 8037 §3.1) and their key types.
#pragma once

#include <optional>
#include <string_view>

namespace sesame::jose {

// The allow-list. "none", HS* (a verifier holding a public key must never
// treat it as an HMAC secret), RS384/512, ES384/512, Ed448 etc. have no
// value here, so they cannot be selected by a token.
enum class Alg { kRS256, kPS256, kES256, kEdDSA };

enum class KeyType { kRsa, kEcP256, kEd25519 };

// "RS256", "PS256", "ES256", "EdDSA".
std::string_view algName(Alg alg);
// The Alg spelled exactly `name`; nullopt for anything off the allow-list.
std::optional<Alg> algFromName(std::string_view name);
// The one key type each algorithm verifies with (RS/PS -> RSA, ES256 -> EC
// P-256, EdDSA -> Ed25519): checked before any signature work, so an RSA
// key is never used for ES256 and so on.
KeyType keyTypeFor(Alg alg);

}  // namespace sesame::jose
