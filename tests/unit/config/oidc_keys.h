// Test support for config/: private keys made with the OpenSSL API and
// written with the mode a credential needs (0600).
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <stdexcept>
#include <string>

#include "../tls/test_certs.h"
#include "sesame/base/c_handle.h"
#include "temp_config.h"

namespace sesame::config::testing {

inline EvpPkeyPtr makeRsaKey(size_t bits) {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits));
  if (!key) throw std::runtime_error("RSA keygen failed");
  return key;
}

inline EvpPkeyPtr makeEcKey(const char* curve) {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
  if (!key) throw std::runtime_error("EC keygen failed");
  return key;
}

inline EvpPkeyPtr makeEd25519Key() {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) throw std::runtime_error("Ed25519 keygen failed");
  return key;
}

// Writes `text` to `name` in `dir` with `mode` and returns its path.
inline std::string writeWithMode(const TempDir& dir, const std::string& name, std::string_view text,
                                 mode_t mode = 0600) {
  std::string file = dir.write(name, text);
  ::chmod(file.c_str(), mode);
  return file;
}

// The PEM of `key` encrypted with a passphrase, as `openssl genpkey -aes256` writes it.
inline std::string encryptedPem(evp_pkey_st* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  static char passphrase[] = "passphrase";
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, EVP_aes_256_cbc(),
                                       reinterpret_cast<unsigned char*>(passphrase),
                                       sizeof passphrase - 1, nullptr, nullptr) != 1) {
    throw std::runtime_error("encrypted PEM failed");
  }
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

inline std::string writeKey(const TempDir& dir, const std::string& name, evp_pkey_st* key,
                            mode_t mode = 0600) {
  return writeWithMode(dir, name, tls::testing::toPem(key), mode);
}

}  // namespace sesame::config::testing
