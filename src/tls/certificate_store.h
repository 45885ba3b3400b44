// Certificate chains and keys read once per configuration, with the SNI
// name table that picks one of them for a client's server name.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sesame/base/c_handle.h"
#include "sesame/tls/settings.h"

namespace sesame::tls {

struct LoadedCertificate {
  std::string cert_path;
  std::string key_path;
  X509Ptr leaf;
  std::vector<X509Ptr> chain;      // intermediates, in file order
  EvpPkeyPtr key;                  // RSA or EC
  std::vector<std::string> names;  // lower-case DNS SANs, or the CN when there is none
};

class CertificateStore {
 public:
  // Reads every certificate chain and key. Each problem is appended to
  // errors (or warnings: validity dates) as a sentence naming the file; a
  // certificate with an error is left out of the result.
  [[nodiscard]] static std::shared_ptr<const CertificateStore> load(
      const std::vector<CertificateSettings>& settings, std::vector<std::string>& errors,
      std::vector<std::string>& warnings);

  [[nodiscard]] const std::vector<LoadedCertificate>& certificates() const { return certs_; }

  // Index of the certificate for a server name: an exact name beats a
  // wildcard; `*.example.com` matches exactly one label (`a.example.com`,
  // not `example.com` nor `a.b.example.com`, RFC 6125 §6.4.3); the first
  // certificate listing a name wins; no match gives 0, the default.
  [[nodiscard]] size_t indexFor(std::string_view server_name) const;

 private:
  void addNames(size_t index);

  std::vector<LoadedCertificate> certs_;
  std::unordered_map<std::string, size_t> exact_;
  std::unordered_map<std::string, size_t> wildcard_;  // "example.com" for "*.example.com"
};

}  // namespace sesame::tls
