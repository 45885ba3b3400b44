// TLS settings as configured: the tls module's typed slice of the configuration.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace sesame::tls {

struct CertificateSettings {
  std::string cert;  // PEM chain path (absolute: relative paths resolved by config)
  std::string key;   // PEM private key path (RSA or ECDSA)
};

struct Settings {
  std::string min_version = "1.2";  // "1.2" | "1.3"
  // OpenSSL cipher lists; empty = Mozilla "intermediate" defaults.
  std::string ciphers;
  std::string ciphersuites;
  std::vector<CertificateSettings> certificates;  // first is the SNI default
  std::optional<std::chrono::milliseconds> hsts;  // Strict-Transport-Security max-age when set
};

}  // namespace sesame::tls
