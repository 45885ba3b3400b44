// Handshakes against contexts from ContextFactory: versions, ciphers, ALPN,
// key types and chains, each over an in-memory BIO pair.
#include <openssl/ssl.h>

#include <catch2/catch.hpp>
#include <thread>

#include "memory_handshake.h"
#include "sesame/tls/context.h"
#include "test_certs.h"

using namespace sesame::tls;
using namespace sesame::tls::testing;

namespace {

struct Certs {
  TempDir dir;
  CertFiles ecdsa = makeCertificateFiles(
      dir, "ecdsa", {.common_name = "ecdsa.test", .dns_names = {"ecdsa.test"}});
  CertFiles rsa = makeCertificateFiles(
      dir, "rsa",
      {.common_name = "rsa.test", .dns_names = {"rsa.test"}, .key_type = KeyType::kRsa2048});
};

// Key generation is the slow part; every test in this file shares one set.
const Certs& certs() {
  static const Certs instance;
  return instance;
}

Settings settingsFor(const CertFiles& files) {
  Settings settings;
  settings.certificates.push_back({files.cert, files.key});
  return settings;
}

std::unique_ptr<ServerContext> contextFor(const Settings& settings) {
  ContextFactory factory(settings);
  for (const std::string& e : factory.errors()) INFO(e);
  REQUIRE(factory.errors().empty());
  ContextResult result = factory.make();
  REQUIRE(result.errors.empty());
  REQUIRE(result.context != nullptr);
  return std::move(result.context);
}

ClientOptions onlyVersion(int version) {
  ClientOptions options;
  options.min_version = version;
  options.max_version = version;
  return options;
}

}  // namespace

TEST_CASE("tls: TLS 1.2 and 1.3 handshakes succeed with ECDSA and RSA", "[tls]") {
  const auto& [name, files, kx] = GENERATE(table<const char*, CertFiles, const char*>(
      {{"ecdsa", certs().ecdsa, "ECDHE-ECDSA-"}, {"rsa", certs().rsa, "ECDHE-RSA-"}}));
  INFO(name);
  auto server = contextFor(settingsFor(files));

  HandshakeResult tls13 = handshake(server->defaultCtx());
  INFO(tls13.error);
  REQUIRE(tls13.ok);
  CHECK(tls13.version == TLS1_3_VERSION);
  CHECK(tls13.peer_cn == std::string(name) + ".test");

  HandshakeResult tls12 = handshake(server->defaultCtx(), onlyVersion(TLS1_2_VERSION));
  INFO(tls12.error);
  REQUIRE(tls12.ok);
  CHECK(tls12.version == TLS1_2_VERSION);
  CHECK(tls12.cipher.starts_with(kx));
}

TEST_CASE("tls: versions below the minimum are refused", "[tls]") {
  SECTION("a TLS 1.1 client gets no handshake") {
    auto server = contextFor(settingsFor(certs().ecdsa));
    ClientOptions options;
    options.min_version = TLS1_1_VERSION;
    options.max_version = TLS1_1_VERSION;
    HandshakeResult result = handshake(server->defaultCtx(), options);
    CHECK_FALSE(result.ok);
    CHECK_THAT(result.error, Catch::Contains("server") && Catch::Contains("unsupported protocol"));
  }
  SECTION("min_version 1.3 refuses a TLS 1.2-only client and accepts TLS 1.3") {
    Settings settings = settingsFor(certs().ecdsa);
    settings.min_version = "1.3";
    auto server = contextFor(settings);
    HandshakeResult tls12 = handshake(server->defaultCtx(), onlyVersion(TLS1_2_VERSION));
    CHECK_FALSE(tls12.ok);
    CHECK_THAT(tls12.error, Catch::Contains("unsupported protocol"));
    HandshakeResult tls13 = handshake(server->defaultCtx(), onlyVersion(TLS1_3_VERSION));
    CHECK(tls13.ok);
  }
}

TEST_CASE("tls: ALPN selects http/1.1 and never fails the handshake", "[tls]") {
  auto server = contextFor(settingsFor(certs().ecdsa));
  ClientOptions options;
  SECTION("h2 and http/1.1 offered: http/1.1") {
    options.alpn = {"h2", "http/1.1"};
    HandshakeResult result = handshake(server->defaultCtx(), options);
    REQUIRE(result.ok);
    CHECK(result.alpn == "http/1.1");
  }
  SECTION("only h2 offered: connects without ALPN") {
    options.alpn = {"h2"};
    HandshakeResult result = handshake(server->defaultCtx(), options);
    INFO(result.error);
    REQUIRE(result.ok);
    CHECK(result.alpn.empty());
  }
  SECTION("only h2 offered over TLS 1.2: connects without ALPN") {
    options = onlyVersion(TLS1_2_VERSION);
    options.alpn = {"h2"};
    HandshakeResult result = handshake(server->defaultCtx(), options);
    INFO(result.error);
    REQUIRE(result.ok);
    CHECK(result.alpn.empty());
  }
  SECTION("no ALPN offered") {
    HandshakeResult result = handshake(server->defaultCtx(), options);
    REQUIRE(result.ok);
    CHECK(result.alpn.empty());
  }
}

TEST_CASE("tls: the intermediate cipher profile is the default", "[tls]") {
  auto server = contextFor(settingsFor(certs().ecdsa));
  ClientOptions options = onlyVersion(TLS1_2_VERSION);
  SECTION("a CBC-only client is refused") {
    options.ciphers = "ECDHE-ECDSA-AES128-SHA";
    HandshakeResult result = handshake(server->defaultCtx(), options);
    CHECK_FALSE(result.ok);
    CHECK_THAT(result.error, Catch::Contains("no shared cipher"));
  }
  SECTION("the client's preference wins (no server cipher preference)") {
    options.ciphers = "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256";
    HandshakeResult result = handshake(server->defaultCtx(), options);
    REQUIRE(result.ok);
    CHECK(result.cipher == "ECDHE-ECDSA-CHACHA20-POLY1305");
  }
  SECTION("DHE works with an RSA certificate (automatic DH parameters)") {
    auto rsa_server = contextFor(settingsFor(certs().rsa));
    options.ciphers = "DHE-RSA-AES128-GCM-SHA256";
    HandshakeResult result = handshake(rsa_server->defaultCtx(), options);
    INFO(result.error);
    REQUIRE(result.ok);
    CHECK(result.cipher == "DHE-RSA-AES128-GCM-SHA256");
  }
}

TEST_CASE("tls: configured cipher lists replace the defaults", "[tls]") {
  Settings settings = settingsFor(certs().ecdsa);
  settings.ciphers = "ECDHE-ECDSA-AES256-GCM-SHA384";
  settings.ciphersuites = "TLS_CHACHA20_POLY1305_SHA256";
  auto server = contextFor(settings);
  HandshakeResult tls12 = handshake(server->defaultCtx(), onlyVersion(TLS1_2_VERSION));
  REQUIRE(tls12.ok);
  CHECK(tls12.cipher == "ECDHE-ECDSA-AES256-GCM-SHA384");
  HandshakeResult tls13 = handshake(server->defaultCtx(), onlyVersion(TLS1_3_VERSION));
  REQUIRE(tls13.ok);
  CHECK(tls13.cipher == "TLS_CHACHA20_POLY1305_SHA256");
}

TEST_CASE("tls: context options suit a proxy behind bufferevent_openssl", "[tls]") {
  auto server = contextFor(settingsFor(certs().ecdsa));
  SSL_CTX* ctx = server->defaultCtx();
  uint64_t options = SSL_CTX_get_options(ctx);
  CHECK((options & SSL_OP_NO_COMPRESSION) != 0);
  CHECK((options & SSL_OP_NO_RENEGOTIATION) != 0);
  CHECK((options & SSL_OP_CIPHER_SERVER_PREFERENCE) == 0);
  CHECK((options & SSL_OP_NO_TICKET) == 0);
  long mode = SSL_CTX_get_mode(ctx);
  CHECK((mode & SSL_MODE_RELEASE_BUFFERS) != 0);
  CHECK((mode & SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER) != 0);
  CHECK((mode & SSL_MODE_ENABLE_PARTIAL_WRITE) != 0);
  CHECK(SSL_CTX_get_max_proto_version(ctx) == TLS1_3_VERSION);
  CHECK(SSL_CTX_get_min_proto_version(ctx) == TLS1_2_VERSION);
}

TEST_CASE("tls: a certificate chain file sends the intermediates", "[tls]") {
  TempDir dir;
  CertOptions ca_options;
  ca_options.common_name = "Test CA";
  ca_options.is_ca = true;
  KeyPair ca = makeCertificate(ca_options);
  KeyPair leaf =
      makeCertificate({.common_name = "chained.test", .dns_names = {"chained.test"}}, &ca);
  CertFiles files = writeFiles(dir, "chained", leaf, {&ca});
  auto server = contextFor(settingsFor(files));
  HandshakeResult result = handshake(server->defaultCtx());
  REQUIRE(result.ok);
  CHECK(result.peer_cn == "chained.test");
  CHECK(result.peer_chain_length == 2);
}

TEST_CASE("tls: each make() gives independent contexts that outlive the factory", "[tls]") {
  std::unique_ptr<ServerContext> first;
  std::unique_ptr<ServerContext> second;
  {
    ContextFactory factory(settingsFor(certs().rsa));
    first = factory.make().context;
    second = factory.make().context;
  }
  REQUIRE(first != nullptr);
  REQUIRE(second != nullptr);
  CHECK(first->defaultCtx() != second->defaultCtx());
  CHECK(handshake(first->defaultCtx()).ok);
  CHECK(handshake(second->defaultCtx()).ok);
}

TEST_CASE("tls: workers may call make() concurrently and handshake in parallel", "[tls]") {
  ContextFactory factory(settingsFor(certs().rsa));
  REQUIRE(factory.errors().empty());
  constexpr int kWorkers = 4;
  std::vector<int> handshakes_ok(kWorkers, 0);
  std::vector<std::thread> workers;
  for (int i = 0; i < kWorkers; ++i) {
    workers.emplace_back([&factory, &handshakes_ok, i] {
      auto server = factory.make().context;
      for (int n = 0; server != nullptr && n < 5; ++n) {
        handshakes_ok[i] += handshake(server->defaultCtx()).ok ? 1 : 0;
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  CHECK(handshakes_ok == std::vector<int>(kWorkers, 5));
}
