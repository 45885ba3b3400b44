#include "memory_handshake.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <string_view>

namespace sesame::tls::testing {
namespace {

// Handshake messages take a few round trips; this bounds a stuck exchange.
constexpr int kMaxRounds = 32;

std::string drainErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += out.empty() ? buf : std::string("; ") + buf;
  }
  return out;
}

bool wouldBlock(SSL* ssl, int rc) {
  int err = SSL_get_error(ssl, rc);
  return err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE;
}

bool configureClient(SSL_CTX* ctx, const ClientOptions& options) {
  SSL_CTX_set_min_proto_version(ctx, options.min_version);
  SSL_CTX_set_max_proto_version(ctx, options.max_version);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  if (options.min_version < TLS1_2_VERSION) {
    // OpenSSL 3 refuses TLS 1.0/1.1 (SHA-1 signatures) above level 0.
    SSL_CTX_set_security_level(ctx, 0);
    if (SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0") != 1) return false;
  }
  if (!options.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, options.ciphers.c_str()) != 1) {
    return false;
  }
  if (!options.alpn.empty()) {
    std::string wire;
    for (const std::string& proto : options.alpn) {
      wire += static_cast<char>(proto.size());
      wire += proto;
    }
    // Returns 0 on success, unlike most of OpenSSL.
    if (SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned>(wire.size())) != 0) {
      return false;
    }
  }
  return true;
}

std::string peerCommonName(X509* peer) {
  if (peer == nullptr) return "";
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
  return cn;
}

// One record each way: proves the connection carries data, and makes the
// client read the TLS 1.3 NewSessionTicket messages sent after the handshake.
bool exchangeData(SSL* client, SSL* server, std::string& error) {
  char buf[16] = {};
  if (SSL_write(client, "ping", 4) != 4 || SSL_read(server, buf, sizeof buf) != 4 ||
      std::string_view(buf, 4) != "ping") {
    error = "client->server data failed: " + drainErrors();
    return false;
  }
  if (SSL_write(server, "pong", 4) != 4 || SSL_read(client, buf, sizeof buf) != 4 ||
      std::string_view(buf, 4) != "pong") {
    error = "server->client data failed: " + drainErrors();
    return false;
  }
  return true;
}

}  // namespace

HandshakeResult handshake(SSL_CTX* server_ctx, const ClientOptions& options) {
  HandshakeResult result;
  ERR_clear_error();
  SslCtxPtr client_ctx(SSL_CTX_new(TLS_client_method()));
  if (!client_ctx || !configureClient(client_ctx.get(), options)) {
    result.error = "client setup: " + drainErrors();
    return result;
  }
  SslPtr client(SSL_new(client_ctx.get()));
  SslPtr server(SSL_new(server_ctx));
  BIO* client_io = nullptr;
  BIO* server_io = nullptr;
  if (!client || !server || BIO_new_bio_pair(&client_io, 0, &server_io, 0) != 1) {
    result.error = "setup: " + drainErrors();
    return result;
  }
  // Each SSL takes ownership of its end of the pair.
  SSL_set_bio(client.get(), client_io, client_io);
  SSL_set_bio(server.get(), server_io, server_io);
  if (!options.server_name.empty()) {
    SSL_set_tlsext_host_name(client.get(), options.server_name.c_str());
  }
  if (options.session != nullptr) SSL_set_session(client.get(), options.session);
  SSL_set_connect_state(client.get());
  SSL_set_accept_state(server.get());

  for (int round = 0; round < kMaxRounds; ++round) {
    int rc = SSL_do_handshake(client.get());
    if (rc != 1 && !wouldBlock(client.get(), rc)) {
      result.error = "client: " + drainErrors();
      return result;
    }
    int rs = SSL_do_handshake(server.get());
    if (rs != 1 && !wouldBlock(server.get(), rs)) {
      result.error = "server: " + drainErrors();
      return result;
    }
    if (rc == 1 && rs == 1) {
      result.ok = exchangeData(client.get(), server.get(), result.error);
      break;
    }
  }
  if (!result.ok) {
    if (result.error.empty()) result.error = "handshake did not finish";
    return result;
  }
  result.version = SSL_version(client.get());
  result.cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(client.get()));
  const unsigned char* alpn = nullptr;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(client.get(), &alpn, &alpn_len);
  if (alpn_len > 0) result.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
  result.peer_cn = peerCommonName(SSL_get0_peer_certificate(client.get()));
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(client.get());
  result.peer_chain_length = chain != nullptr ? sk_X509_num(chain) : 0;
  result.reused = SSL_session_reused(client.get()) == 1;
  result.session.reset(SSL_get1_session(client.get()));
  // SSL_free() without a close_notify marks the session not resumable
  // (a truncated connection may have been attacked), on both sides.
  SSL_shutdown(client.get());
  SSL_shutdown(server.get());
  return result;
}

}  // namespace sesame::tls::testing
