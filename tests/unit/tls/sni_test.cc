// SNI: the servername callback moves a connection to the context whose
// certificate serves the requested name (RFC 6066 §3, RFC 6125 §6.4.3).
#include <openssl/ssl.h>

#include <catch2/catch.hpp>

#include "memory_handshake.h"
#include "sesame/tls/context.h"
#include "test_certs.h"

using namespace sesame::tls;
using namespace sesame::tls::testing;

namespace {

// The wildcard is listed before the exact name so that "exact beats
// wildcard" cannot pass by configuration order; key types are mixed so a
// switch also changes the key type.
struct Sites {
  TempDir dir;
  CertFiles fallback = makeCertificateFiles(
      dir, "default", {.common_name = "default", .dns_names = {"default.test"}});
  CertFiles wildcard = makeCertificateFiles(
      dir, "wildcard",
      {.common_name = "wildcard", .dns_names = {"*.example.com"}, .key_type = KeyType::kRsa2048});
  CertFiles app = makeCertificateFiles(
      dir, "app", {.common_name = "app", .dns_names = {"app.example.com", "www.app.test"}});
  CertFiles legacy = makeCertificateFiles(dir, "legacy", {.common_name = "Legacy.Test"});

  Settings settings() const {
    Settings s;
    s.certificates = {{fallback.cert, fallback.key},
                      {wildcard.cert, wildcard.key},
                      {app.cert, app.key},
                      {legacy.cert, legacy.key}};
    return s;
  }
};

const Sites& sites() {
  static const Sites instance;
  return instance;
}

std::string servedCn(const ServerContext& server, const std::string& name,
                     int version = TLS1_3_VERSION) {
  ClientOptions options;
  options.server_name = name;
  options.min_version = version;
  options.max_version = version;
  HandshakeResult result = handshake(server.defaultCtx(), options);
  INFO(result.error);
  REQUIRE(result.ok);
  return result.peer_cn;
}

}  // namespace

TEST_CASE("tls: SNI picks exact, then wildcard, then the default certificate", "[tls]") {
  ContextFactory factory(sites().settings());
  REQUIRE(factory.errors().empty());
  auto server = factory.make().context;
  REQUIRE(server != nullptr);
  int version = GENERATE(TLS1_2_VERSION, TLS1_3_VERSION);
  INFO("version " << std::hex << version);

  CHECK(servedCn(*server, "", version) == "default");
  CHECK(servedCn(*server, "default.test", version) == "default");
  CHECK(servedCn(*server, "app.example.com", version) == "app");
  CHECK(servedCn(*server, "APP.Example.COM", version) == "app");
  CHECK(servedCn(*server, "www.app.test", version) == "app");
  CHECK(servedCn(*server, "foo.example.com", version) == "wildcard");
  CHECK(servedCn(*server, "Foo.EXAMPLE.com", version) == "wildcard");
  CHECK(servedCn(*server, "example.com", version) == "default");
  CHECK(servedCn(*server, "a.b.example.com", version) == "default");
  CHECK(servedCn(*server, "legacy.test", version) == "Legacy.Test");
  CHECK(servedCn(*server, "unknown.test", version) == "default");
}

TEST_CASE("tls: certificateFor and contextFor follow the same rules", "[tls]") {
  ContextFactory factory(sites().settings());
  REQUIRE(factory.errors().empty());
  CHECK(factory.certificateFor("app.example.com") == 2);
  CHECK(factory.certificateFor("x.example.com") == 1);
  CHECK(factory.certificateFor("example.com") == 0);
  CHECK(factory.certificateFor(".example.com") == 0);
  CHECK(factory.certificateFor("LEGACY.TEST") == 3);
  CHECK(factory.certificateFor("") == 0);
  auto server = factory.make().context;
  REQUIRE(server != nullptr);
  CHECK(server->contextFor("nothing.test") == server->defaultCtx());
  CHECK(server->contextFor("app.example.com") != server->defaultCtx());
  CHECK(server->contextFor("app.example.com") != server->contextFor("x.example.com"));
}

TEST_CASE("tls: a connection moved by SNI keeps ALPN and resumes on another worker", "[tls]") {
  ContextFactory factory(sites().settings());
  auto worker1 = factory.make().context;
  auto worker2 = factory.make().context;
  REQUIRE(worker1 != nullptr);
  REQUIRE(worker2 != nullptr);
  int version = GENERATE(TLS1_2_VERSION, TLS1_3_VERSION);
  INFO("version " << std::hex << version);
  ClientOptions options;
  options.min_version = version;
  options.max_version = version;
  options.server_name = "foo.example.com";
  options.alpn = {"h2", "http/1.1"};
  HandshakeResult first = handshake(worker1->defaultCtx(), options);
  INFO(first.error);
  REQUIRE(first.ok);
  CHECK(first.peer_cn == "wildcard");
  CHECK(first.alpn == "http/1.1");

  options.session = first.session.get();
  HandshakeResult second = handshake(worker2->defaultCtx(), options);
  INFO(second.error);
  REQUIRE(second.ok);
  CHECK(second.reused);
  CHECK(second.alpn == "http/1.1");
}
