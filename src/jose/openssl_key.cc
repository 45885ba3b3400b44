#include "openssl_key.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <string_view>

namespace sesame::jose {

std::optional<KeyType> keyTypeOf(const evp_pkey_st* key) {
  if (key == nullptr) return std::nullopt;
  if (EVP_PKEY_is_a(key, "RSA")) {
    const int bits = EVP_PKEY_get_bits(key);
    if (bits < kMinRsaBits || bits > kMaxRsaBits) return std::nullopt;
    return KeyType::kRsa;
  }
  if (EVP_PKEY_is_a(key, "ED25519")) return KeyType::kEd25519;
  if (EVP_PKEY_is_a(key, "EC")) {
    char name[64];
    size_t len = 0;
    if (EVP_PKEY_get_group_name(key, name, sizeof(name), &len) != 1) return std::nullopt;
    const std::string_view group(name, len);
    if (group == "prime256v1" || group == "P-256") return KeyType::kEcP256;
  }
  return std::nullopt;
}

OpensslErrorScope::~OpensslErrorScope() {
  ERR_clear_error();
}

}  // namespace sesame::jose
