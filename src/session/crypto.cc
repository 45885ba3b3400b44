#include "crypto.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstdio>
#include <cstdlib>

namespace sesame::session {

void cryptoFailure(const char* what) {
  std::fprintf(stderr, "sesame[fatal]: %s failed; refusing to continue without working crypto\n",
               what);
  std::abort();
}

EvpMacCtxPtr newHmac(const unsigned char* key, size_t key_len) {
  // The context holds its own reference to the algorithm.
  const EvpMacPtr mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (mac == nullptr) cryptoFailure("EVP_MAC_fetch(HMAC)");
  EvpMacCtxPtr ctx(EVP_MAC_CTX_new(mac.get()));
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  if (ctx == nullptr || EVP_MAC_init(ctx.get(), key, key_len, params) != 1)
    cryptoFailure("HMAC-SHA256 init");
  return ctx;
}

void hmacSha256(const EVP_MAC_CTX* keyed, const unsigned char* data, size_t data_len,
                unsigned char* out) {
  const EvpMacCtxPtr ctx(EVP_MAC_CTX_dup(keyed));
  size_t out_len = 0;
  const bool ok = ctx != nullptr && EVP_MAC_update(ctx.get(), data, data_len) == 1 &&
                  EVP_MAC_final(ctx.get(), out, &out_len, kHmacSha256Length) == 1 &&
                  out_len == kHmacSha256Length;
  if (!ok) cryptoFailure("HMAC-SHA256");
}

}  // namespace sesame::session
