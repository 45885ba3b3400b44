// Compact JWS (RFC 7515 §7.1): parsing with an algorithm allow-list, verification and signing.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "sesame/base/json_reader.h"
#include "sesame/jose/alg.h"
#include "sesame/jose/jwk.h"

namespace sesame::jose {

inline constexpr size_t kDefaultMaxJwsBytes = 16 * 1024;

// A compact JWS split and its header checked; the signature is NOT yet
// verified and the payload NOT yet parsed (parse it with
// jose::parseClaims after verify succeeds, never before).
struct Jws {
  Alg alg = Alg::kRS256;
  std::optional<std::string> kid;  // header "kid" when present (a string)
  std::optional<std::string> typ;  // header "typ" when present (a string)
  json::Document header;           // the protected header, a JSON object
  std::string payload;             // base64url-decoded payload bytes
  std::string signing_input;       // ASCII(BASE64URL(header) '.' BASE64URL(payload))
  std::string signature;           // decoded signature bytes
};

// Splits `token` into exactly three base64url parts (no padding, strict
// alphabet) and checks the header: a JSON object without duplicate members
// whose "alg" is on the allow-list ("none", HS256 and the rest are refused
// here, before any key is looked up); "crit" is refused (we understand no
// extension, RFC 7515 §4.1.11); an embedded "jwk" is refused (a token must
// not bring its own key); "jku", "x5u", "x5c" are never followed; "kid" and
// "typ", when present, must be strings. Tokens over max_bytes are refused
// before decoding. `error` (may be null) gets a short reason, never token text.
[[nodiscard]] std::optional<Jws> parseCompact(std::string_view token, std::string* error,
                                              size_t max_bytes = kDefaultMaxJwsBytes);

// Checks the signature of `jws` with `key`. Refused: a key whose type does
// not fit jws.alg, a key whose own "alg" differs from jws.alg, an RSA key
// under 2048 bits, an ES256 signature that is not exactly 64 bytes (raw r||s,
// RFC 7518 §3.4), and any signature that does not verify. PS256 uses
// MGF1-SHA256 with a 32-byte salt (RFC 7518 §3.5).
[[nodiscard]] bool verify(const Jws& jws, const Jwk& key, std::string* error);

// Signs and returns the compact serialisation
// BASE64URL(header_json).BASE64URL(payload_json).BASE64URL(signature).
// The caller writes header_json, and it must carry "alg" = algName(alg);
// sign refuses a key whose type does not fit alg. ES256 signatures are the
// raw 64-byte r||s; Ed25519 is deterministic. nullopt on a key/alg mismatch
// or an OpenSSL failure, with `error` (may be null) saying which.
[[nodiscard]] std::optional<std::string> sign(Alg alg, evp_pkey_st* key,
                                              std::string_view header_json,
                                              std::string_view payload_json, std::string* error);

}  // namespace sesame::jose
