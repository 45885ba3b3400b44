// Test helper: a real TLS handshake between an OpenSSL client and a server
// context over an in-memory BIO pair (no sockets), with what the client saw.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "sesame/base/c_handle.h"

namespace sesame::tls::testing {

using SslSessionPtr = std::unique_ptr<SSL_SESSION, CFree<SSL_SESSION_free>>;

struct ClientOptions {
  int min_version = TLS1_2_VERSION;  // below 1.2 also lowers the client's security level
  int max_version = TLS1_3_VERSION;
  std::string server_name;         // SNI; empty sends none
  std::vector<std::string> alpn;   // offered protocols; empty sends no ALPN
  std::string ciphers;             // TLS 1.2 cipher list; empty = OpenSSL default
  SSL_SESSION* session = nullptr;  // offered for resumption (not owned)
};

struct HandshakeResult {
  bool ok = false;
  std::string error;  // which side failed and OpenSSL's reasons
  int version = 0;    // TLS1_2_VERSION, TLS1_3_VERSION
  std::string cipher;
  std::string alpn;           // selected protocol; empty when none
  std::string peer_cn;        // subject CN of the server's certificate
  int peer_chain_length = 0;  // certificates the server sent, leaf included
  bool reused = false;        // the session was resumed
  SslSessionPtr session;      // the client's session, tickets included, for resumption
};

// Handshakes a fresh client against SSL_new(server_ctx), then sends one
// application record each way so that TLS 1.3 tickets reach the client.
[[nodiscard]] HandshakeResult handshake(SSL_CTX* server_ctx, const ClientOptions& options = {});

}  // namespace sesame::tls::testing
