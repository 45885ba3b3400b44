// Server SSL_CTX built from tls::Settings: versions, ciphers, certificates chosen
// by SNI, ALPN http/1.1, session tickets. One context per worker.
#pragma once

#include <string>
#include <vector>

#include "sesame/base/c_handle.h"
#include "sesame/tls/settings.h"

namespace sesame::tls {

// Keys and certificates loaded once, shared read-only by every worker's
// context (X509/EVP_PKEY are reference counted by OpenSSL).
class CertificateStore;

struct ContextResult {
  SslCtxPtr ctx;                    // null on error
  std::vector<std::string> errors;  // operator-facing, naming the file
};

class ContextFactory {
 public:
  // Loads every certificate chain and key and checks each key matches its
  // certificate; errors name the file. Used by `sesame -t` and at start.
  [[nodiscard]] static std::vector<std::string> check(const Settings& cfg);

  explicit ContextFactory(const Settings& cfg);
  ~ContextFactory();
  ContextFactory(const ContextFactory&) = delete;
  ContextFactory& operator=(const ContextFactory&) = delete;

  // Errors found while loading (same as check()); make() fails if any.
  [[nodiscard]] const std::vector<std::string>& errors() const;
  // A fresh SSL_CTX with identical settings (per worker: OpenSSL 3 contends
  // on locks when threads share one). Ticket keys are shared by all
  // contexts from one factory so resumption works across workers.
  [[nodiscard]] ContextResult make() const;

 private:
  std::unique_ptr<CertificateStore> store_;
};

}  // namespace sesame::tls
