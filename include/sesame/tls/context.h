// Server TLS contexts built from tls::Settings: versions, ciphers, certificates
// chosen by SNI, ALPN http/1.1, session tickets shared by every worker.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sesame/base/c_handle.h"
#include "sesame/tls/settings.h"

namespace sesame::tls {

// Certificate chains and keys loaded once by a ContextFactory and shared
// read-only by every context it makes (X509/EVP_PKEY are reference counted),
// plus the SNI name table. Private to src/tls.
class CertificateStore;

// One worker's server contexts: one SSL_CTX per configured certificate,
// because an SSL_CTX holds one certificate per key type. Connections call
// SSL_new(defaultCtx()); its servername callback (RFC 6066 §3) moves the
// connection to the context whose certificate serves the requested name.
// Not copyable or movable: the callback keeps a pointer to this object, so it
// must outlive every handshake started on defaultCtx(). Established
// connections hold their own references to the contexts.
class ServerContext {
 public:
  ~ServerContext();
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  // The context for SSL_new(): serves the first configured certificate and
  // switches by SNI. Owned by this object.
  [[nodiscard]] ssl_ctx_st* defaultCtx() const { return ctxs_.front().get(); }
  // The context for a client's server name (any case): exact name beats a
  // single-label wildcard; no match gives defaultCtx().
  [[nodiscard]] ssl_ctx_st* contextFor(std::string_view server_name) const;

 private:
  friend class ContextFactory;
  explicit ServerContext(std::shared_ptr<const CertificateStore> store);

  std::shared_ptr<const CertificateStore> store_;
  std::vector<SslCtxPtr> ctxs_;  // ctxs_[i] serves Settings::certificates[i]
};

struct ContextResult {
  std::unique_ptr<ServerContext> context;  // null on error
  std::vector<std::string> errors;         // operator-facing, naming the file
};

// Built once on the main thread per configuration (start, `sesame -t`,
// reload). Loads and checks every certificate and key, validates versions and
// cipher lists by building one context, and generates the session ticket keys.
// Each worker then gets its own ServerContext from make(): OpenSSL 3.0 takes
// more locks than 1.1.1 when threads share one SSL_CTX (its session cache,
// refcounts and the provider lookups), so workers never share one.
class ContextFactory {
 public:
  explicit ContextFactory(const Settings& settings);
  ~ContextFactory();
  ContextFactory(const ContextFactory&) = delete;
  ContextFactory& operator=(const ContextFactory&) = delete;

  // Same as ContextFactory(settings).errors().
  [[nodiscard]] static std::vector<std::string> check(const Settings& settings);

  // Every problem that prevents serving, as sentences naming the file or the
  // setting, e.g. `/etc/sesame/a.key: private key does not match certificate
  // /etc/sesame/a.pem`. make() fails when this is not empty.
  [[nodiscard]] const std::vector<std::string>& errors() const { return errors_; }
  // Problems worth logging that do not prevent serving (an expired or not
  // yet valid certificate).
  [[nodiscard]] const std::vector<std::string>& warnings() const { return warnings_; }

  // Index into Settings::certificates of the certificate that serves a
  // client's server name (the rules of ServerContext::contextFor()).
  [[nodiscard]] size_t certificateFor(std::string_view server_name) const;

  // A fresh set of contexts with identical settings, reusing the loaded
  // certificates and keys (no file is read again). Every context of every
  // ServerContext from one factory has the same ticket keys, so a session
  // ticket issued by one worker resumes on another. Safe to call from several
  // threads at once.
  [[nodiscard]] ContextResult make() const;

 private:
  Settings settings_;
  std::shared_ptr<const CertificateStore> store_;
  // RFC 5077 ticket keys: 16-byte name, 32-byte HMAC secret, 32-byte AES key.
  std::array<unsigned char, 80> ticket_keys_{};
  std::vector<std::string> errors_;
  std::vector<std::string> warnings_;
};

}  // namespace sesame::tls
