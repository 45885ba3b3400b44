// Private to jose/: what kind of key an EVP_PKEY is, and the OpenSSL error queue hygiene.
#pragma once

#include <optional>

#include "sesame/jose/alg.h"

struct evp_pkey_st;

namespace sesame::jose {

// RSA moduli outside this range are refused: below, forgeable in practice
// (RFC 7518 §3.3 requires 2048); above, a hostile JWKS buys CPU time.
inline constexpr int kMinRsaBits = 2048;
inline constexpr int kMaxRsaBits = 8192;

// The KeyType of `key`; nullopt for anything else (an EC key on another
// curve, X25519, DSA...). An RSA key outside the size range is nullopt too.
std::optional<KeyType> keyTypeOf(const evp_pkey_st* key);

// Clears the thread's OpenSSL error queue when it goes out of scope: a
// refused signature or key leaves entries there, and TLS code on the same
// worker thread reads that queue (SSL_get_error) after its own calls.
class OpensslErrorScope {
 public:
  OpensslErrorScope() = default;
  OpensslErrorScope(const OpensslErrorScope&) = delete;
  OpensslErrorScope& operator=(const OpensslErrorScope&) = delete;
  ~OpensslErrorScope();
};

}  // namespace sesame::jose
