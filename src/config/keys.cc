// Private keys and CA bundles that [oidc] and [identity] name: read and
// checked at load, so `sesame -t` reports a key of the wrong type.
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "reader.h"
#include "sesame/base/c_handle.h"

namespace sesame::config {
namespace {

// A PEM key is a few KiB; more is the wrong file.
constexpr uintmax_t kMaxKeyFileBytes = 64 * 1024;
constexpr int kMinRsaBits = 2048;

// Never ask for a passphrase on the terminal: an encrypted key is an error.
int noPassphrase(char*, int, int, void*) {
  return -1;
}

bool isP256(EVP_PKEY* key) {
  char group[64] = {};
  size_t length = 0;
  if (EVP_PKEY_get_group_name(key, group, sizeof group, &length) != 1) return false;
  std::string_view name(group, length);
  return name == "prime256v1" || name == "P-256" || name == "secp256r1";
}

// "an RSA key of 1024 bits", "an EC key on secp384r1", ...: what was found,
// for the message.
std::string describe(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      return "an RSA key of " + std::to_string(EVP_PKEY_get_bits(key)) + " bits";
    case EVP_PKEY_RSA_PSS:
      return "an RSA-PSS key";
    case EVP_PKEY_EC: {
      char group[64] = {};
      size_t length = 0;
      if (EVP_PKEY_get_group_name(key, group, sizeof group, &length) != 1) return "an EC key";
      return "an EC key on " + std::string(group, length);
    }
    case EVP_PKEY_ED25519:
      return "an Ed25519 key";
    case EVP_PKEY_ED448:
      return "an Ed448 key";
    case EVP_PKEY_X25519:
      return "an X25519 key (for key exchange, not signatures)";
    case EVP_PKEY_DSA:
      return "a DSA key";
    default:
      break;
  }
  const char* name = EVP_PKEY_get0_type_name(key);
  return std::string("a key of type ") + (name != nullptr ? name : "unknown");
}

// The JWS "alg" `key` signs with for `use`; "" when it does not fit.
std::string algFor(EVP_PKEY* key, KeyUse use) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_ED25519:
      return "EdDSA";  // RFC 8037 §3.1
    case EVP_PKEY_EC:
      return isP256(key) ? "ES256" : "";
    case EVP_PKEY_RSA:
      // The assertion is verified by every request's application: a small
      // ECDSA or EdDSA signature keeps it cheap; RSA stays for providers
      // that accept nothing else (RFC 7518 §3.3: at least 2048 bits).
      return use == KeyUse::kClientAuth && EVP_PKEY_get_bits(key) >= kMinRsaBits ? "RS256" : "";
    default:
      return "";
  }
}

}  // namespace

std::optional<PemPrivateKey> readPrivateKey(Diagnostics& diag, const toml::node& at,
                                            const std::string& label, const std::string& file,
                                            KeyUse use) {
  std::optional<std::string> pem =
      readSmallFile(diag, at, label, file, "one PEM private key", kMaxKeyFileBytes);
  if (!pem) return std::nullopt;
  if (!checkNotOthers(diag, at, label, file, "the key lets its reader sign as sesame")) {
    OPENSSL_cleanse(pem->data(), pem->size());
    return std::nullopt;
  }
  const std::string where = label + ": " + quote(file);
  const std::string make =
      use == KeyUse::kAssertion
          ? "openssl genpkey -algorithm ed25519 -out assertion.key"
          : "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out client.key";
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  EvpPkeyPtr key;
  if (bio) key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, nullptr));
  ERR_clear_error();
  if (!key) {
    // OpenSSL's own reasons ("unsupported") do not help; the usual mistakes do.
    std::string why =
        pem->find("ENCRYPTED") != std::string::npos
            ? " is encrypted; sesame needs an unencrypted key (protect it with file "
              "permissions instead: openssl pkey -in KEY -out " +
                  std::string(use == KeyUse::kAssertion ? "assertion.key" : "client.key") + ")"
        : pem->find("PRIVATE KEY-----") == std::string::npos
            ? " holds no PEM private key (\"-----BEGIN PRIVATE KEY-----\"); make one with: " + make
            : " holds a private key that cannot be read (damaged PEM?); make a new one with: " +
                  make;
    OPENSSL_cleanse(pem->data(), pem->size());
    diag.error(at, where + why);
    return std::nullopt;
  }
  std::string alg = algFor(key.get(), use);
  if (alg.empty()) {
    diag.error(at,
               where + " is " + describe(key.get()) + "; use " +
                   (use == KeyUse::kAssertion ? "EC P-256 or Ed25519"
                                              : "RSA (at least 2048 bits), EC P-256 or Ed25519") +
                   ": " + make);
    OPENSSL_cleanse(pem->data(), pem->size());
    return std::nullopt;
  }
  return PemPrivateKey{std::move(*pem), std::move(alg)};
}

bool holdsCertificates(Diagnostics& diag, const toml::node& at, const std::string& label,
                       const std::string& file, const std::string& text) {
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  X509Ptr first;
  if (bio) first.reset(PEM_read_bio_X509(bio.get(), nullptr, noPassphrase, nullptr));
  ERR_clear_error();
  if (first) return true;
  diag.error(at, label + ": " + quote(file) +
                     " holds no PEM certificate (\"-----BEGIN CERTIFICATE-----\"); name the "
                     "file of the CA certificates that sign the provider's, or leave ca_file "
                     "out to use the system's");
  return false;
}

}  // namespace sesame::config
