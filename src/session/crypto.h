// Private to session/: HMAC-SHA256 keying for the cookie codec and sealer; crypto failure aborts.
#pragma once

#include <openssl/types.h>

#include <cstddef>

#include "sesame/base/c_handle.h"

namespace sesame::session {

constexpr size_t kHmacSha256Length = 32;

// Aborts: a session must never be issued or accepted without working crypto.
[[noreturn]] void cryptoFailure(const char* what);

// A fresh HMAC-SHA256 context keyed with `key`; the key bytes are copied
// into OpenSSL, which wipes them when the context is freed.
[[nodiscard]] EvpMacCtxPtr newHmac(const unsigned char* key, size_t key_len);

// Writes kHmacSha256Length bytes to `out`. Computes on a copy so that
// `keyed` stays reusable and is only read (one instance serves all workers).
void hmacSha256(const EVP_MAC_CTX* keyed, const unsigned char* data, size_t data_len,
                unsigned char* out);

}  // namespace sesame::session
