#include "sesame/tls/context.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "certificate_store.h"
#include "openssl_error.h"

namespace sesame::tls {
namespace {

// Mozilla server-side TLS guidelines 5.7, "intermediate". The DHE suites
// stay because SSL_CTX_set_dh_auto() picks RFC 7919-sized groups matching
// the certificate's strength; TLS 1.3 keeps OpenSSL's default suites, which
// are the same three that profile lists.
constexpr const char* kIntermediateCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
constexpr const char* kGroups = "X25519:prime256v1:secp384r1";

// Per worker. Only TLS 1.2 uses the stateful cache (TLS 1.3 resumes from
// tickets), and a session id resumes only on the worker that issued it, so
// a modest cache suffices; tickets carry resumption across workers.
constexpr long kSessionCacheSize = 2048;
constexpr long kSessionTimeoutSeconds = 2 * 60 * 60;
constexpr unsigned char kSessionIdContext[] = "sesame";

constexpr std::string_view kHttp11 = "http/1.1";

int onAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
           unsigned int inlen, void*) {
  // RFC 7301 §3.1: a list of length-prefixed protocol names.
  for (unsigned int i = 0; i < inlen;) {
    unsigned int len = in[i];
    if (len == 0 || len > inlen - i - 1) break;
    if (std::string_view(reinterpret_cast<const char*>(in + i + 1), len) == kHttp11) {
      *out = in + i + 1;
      *outlen = static_cast<unsigned char>(len);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  // RFC 7301 §3.2 allows a fatal no_application_protocol alert here, but a
  // client offering only h2 is better served by HTTP/1.1 without ALPN than
  // by a failed handshake.
  return SSL_TLSEXT_ERR_NOACK;
}

int onServerName(SSL* ssl, int* alert, void* arg) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return SSL_TLSEXT_ERR_NOACK;
  SSL_CTX* ctx = static_cast<const ServerContext*>(arg)->contextFor(name);
  if (ctx != SSL_get_SSL_CTX(ssl) && SSL_set_SSL_CTX(ssl, ctx) == nullptr) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  return SSL_TLSEXT_ERR_OK;
}

int parseMinVersion(const std::string& version) {
  if (version == "1.2") return TLS1_2_VERSION;
  if (version == "1.3") return TLS1_3_VERSION;
  return 0;
}

// Everything but the certificate, identical in every context so that a
// connection moved by SNI keeps the same behaviour.
bool configure(SSL_CTX* ctx, const Settings& settings, const std::array<unsigned char, 80>& keys,
               std::vector<std::string>& errors) {
  size_t errors_before = errors.size();
  SSL_CTX_set_min_proto_version(ctx, parseMinVersion(settings.min_version));
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  // CRIME (compression); renegotiation is a CPU DoS lever and was the
  // vector of CVE-2009-3555. OpenSSL 3.0 has no SSL_OP_NO_CLIENT_RENEGOTIATION:
  // client renegotiation is off unless SSL_OP_ALLOW_CLIENT_RENEGOTIATION is set.
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_clear_options(ctx, SSL_OP_ALLOW_CLIENT_RENEGOTIATION);
  // Intermediate: every listed cipher is strong, so the client's choice
  // (e.g. ChaCha20 on phones without AES hardware) wins.
  SSL_CTX_clear_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  // RELEASE_BUFFERS frees the 16 KiB read/write buffers of idle keep-alive
  // connections. A non-blocking writer (bufferevent_openssl, net::Stream)
  // retries SSL_write from an evbuffer whose pulled-up address may have
  // moved, and accepts partial writes.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_ENABLE_PARTIAL_WRITE);
  // Read whole socket buffers, not one record header and then its body:
  // strace counted about ten read() calls per new connection without it.
  SSL_CTX_set_read_ahead(ctx, 1);

  std::string ciphers = settings.ciphers.empty() ? kIntermediateCiphers : settings.ciphers;
  if (SSL_CTX_set_cipher_list(ctx, ciphers.c_str()) != 1) {
    errors.push_back("tls.ciphers \"" + ciphers + "\": no usable TLS 1.2 cipher in the list (" +
                     takeOpenSslError("unknown error") + ")");
  }
  if (!settings.ciphersuites.empty() &&
      SSL_CTX_set_ciphersuites(ctx, settings.ciphersuites.c_str()) != 1) {
    errors.push_back("tls.ciphersuites \"" + settings.ciphersuites +
                     "\": no usable TLS 1.3 cipher suite in the list (" +
                     takeOpenSslError("unknown error") + ")");
  }
  if (SSL_CTX_set1_groups_list(ctx, kGroups) != 1 || SSL_CTX_set_dh_auto(ctx, 1) != 1) {
    errors.push_back("tls: cannot set key exchange groups: " + takeOpenSslError("unknown error"));
  }

  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  SSL_CTX_sess_set_cache_size(ctx, kSessionCacheSize);
  SSL_CTX_set_timeout(ctx, kSessionTimeoutSeconds);
  SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof kSessionIdContext - 1);
  // The macro takes void*; OpenSSL copies the keys and keeps no pointer.
  if (SSL_CTX_set_tlsext_ticket_keys(ctx, const_cast<unsigned char*>(keys.data()), keys.size()) !=
      1) {
    errors.push_back("tls: cannot install session ticket keys: " +
                     takeOpenSslError("unknown error"));
  }
  SSL_CTX_set_alpn_select_cb(ctx, onAlpn, nullptr);
  return errors.size() == errors_before;
}

bool useCertificate(SSL_CTX* ctx, const LoadedCertificate& cert, std::vector<std::string>& errors) {
  // Each call takes its own reference: the loaded objects are shared, never
  // copied or read from disk again.
  if (SSL_CTX_use_certificate(ctx, cert.leaf.get()) != 1) {
    errors.push_back(cert.cert_path +
                     ": certificate rejected: " + takeOpenSslError("unknown error"));
    return false;
  }
  for (const X509Ptr& ca : cert.chain) {
    if (SSL_CTX_add1_chain_cert(ctx, ca.get()) != 1) {
      errors.push_back(cert.cert_path +
                       ": chain certificate rejected: " + takeOpenSslError("unknown error"));
      return false;
    }
  }
  if (SSL_CTX_use_PrivateKey(ctx, cert.key.get()) != 1) {
    errors.push_back(cert.key_path +
                     ": private key rejected: " + takeOpenSslError("unknown error"));
    return false;
  }
  return true;
}

}  // namespace

ServerContext::ServerContext(std::shared_ptr<const CertificateStore> store)
    : store_(std::move(store)) {}

ServerContext::~ServerContext() = default;

ssl_ctx_st* ServerContext::contextFor(std::string_view server_name) const {
  return ctxs_[store_->indexFor(server_name)].get();
}

ContextFactory::ContextFactory(const Settings& settings) : settings_(settings) {
  if (parseMinVersion(settings.min_version) == 0) {
    errors_.push_back("tls.min_version \"" + settings.min_version +
                      "\" is not supported; use \"1.2\" or \"1.3\"");
  }
  if (settings.certificates.empty()) {
    errors_.push_back("tls: no certificate configured; TLS listeners need at least one");
  }
  store_ = CertificateStore::load(settings.certificates, errors_, warnings_);
  if (RAND_bytes(ticket_keys_.data(), static_cast<int>(ticket_keys_.size())) != 1) {
    errors_.push_back("tls: cannot generate session ticket keys: " +
                      takeOpenSslError("random generator failed"));
  }
  // Building one set now turns cipher lists and certificates that OpenSSL
  // refuses (e.g. an RSA key under 2048 bits at security level 2) into
  // errors for `sesame -t`, rather than failures in the workers.
  if (errors_.empty()) errors_ = make().errors;
}

ContextFactory::~ContextFactory() {
  OPENSSL_cleanse(ticket_keys_.data(), ticket_keys_.size());
}

std::vector<std::string> ContextFactory::check(const Settings& settings) {
  return ContextFactory(settings).errors();
}

size_t ContextFactory::certificateFor(std::string_view server_name) const {
  return store_->indexFor(server_name);
}

ContextResult ContextFactory::make() const {
  ContextResult result;
  if (!errors_.empty()) {
    result.errors = errors_;
    return result;
  }
  std::unique_ptr<ServerContext> server(new ServerContext(store_));
  for (const LoadedCertificate& cert : store_->certificates()) {
    SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) {
      result.errors.push_back("tls: cannot create a context: " + takeOpenSslError("out of memory"));
      return result;
    }
    if (!configure(ctx.get(), settings_, ticket_keys_, result.errors) ||
        !useCertificate(ctx.get(), cert, result.errors)) {
      return result;
    }
    server->ctxs_.push_back(std::move(ctx));
  }
  SSL_CTX_set_tlsext_servername_callback(server->defaultCtx(), onServerName);
  SSL_CTX_set_tlsext_servername_arg(server->defaultCtx(), server.get());
  result.context = std::move(server);
  return result;
}

}  // namespace sesame::tls
