// Test helpers: a self-removing temporary directory, and keys and X.509
// certificates made with the OpenSSL API (no openssl CLI, no fixtures on disk).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sesame/base/c_handle.h"

namespace sesame::tls::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::string file(std::string_view name) const;
  // Writes contents to path()/name and returns that path.
  std::string write(std::string_view name, std::string_view contents) const;

 private:
  std::string path_;
};

// kRsa1024 is too weak for OpenSSL's default security level: for error tests.
enum class KeyType { kRsa2048, kEcdsaP256, kRsa1024 };

struct CertOptions {
  std::string common_name = "localhost";
  std::vector<std::string> dns_names{};  // subjectAltName DNS entries; none = no SAN extension
  KeyType key_type = KeyType::kEcdsaP256;
  long not_before_days = -1;  // relative to now
  long not_after_days = 365;
  bool is_ca = false;
};

struct KeyPair {
  EvpPkeyPtr key;
  X509Ptr cert;
};

[[nodiscard]] EvpPkeyPtr makeKey(KeyType type);
// A new key and a certificate for it, self-signed unless an issuer is given.
[[nodiscard]] KeyPair makeCertificate(const CertOptions& options, const KeyPair* issuer = nullptr);

[[nodiscard]] std::string toPem(x509_st* cert);
[[nodiscard]] std::string toPem(evp_pkey_st* key);

struct CertFiles {
  std::string cert;  // DIR/NAME.pem: the certificate, then each chain certificate
  std::string key;   // DIR/NAME.key: the unencrypted private key
};

CertFiles writeFiles(const TempDir& dir, std::string_view name, const KeyPair& pair,
                     const std::vector<const KeyPair*>& chain = {});
// makeCertificate() then writeFiles(), for the common self-signed case.
CertFiles makeCertificateFiles(const TempDir& dir, std::string_view name,
                               const CertOptions& options);

}  // namespace sesame::tls::testing
