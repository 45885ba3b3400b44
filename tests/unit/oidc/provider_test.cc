#include "sesame/oidc/provider.h"

#include <openssl/evp.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <string>

#include "../outbound/test_server.h"
#include "sesame/jose/jwk.h"

namespace sesame::oidc {
namespace {

using outbound::testing::Loop;
using outbound::testing::Pki;
using outbound::testing::Reply;
using outbound::testing::TestServer;

// A provider on 127.0.0.1 serving discovery and a JWKS, counting what it is asked.
struct FakeProvider {
  explicit FakeProvider(std::string issuer_suffix = "")
      : key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")),
        suffix(std::move(issuer_suffix)),
        server(pki.serverContext(),
               [this](const std::string& request, int) { return answer(request); }) {
    REQUIRE(key);
    config.name = "corp";
    config.issuer = issuer();
    config.client_id = "sesame";
    config.client_secret = "secret";
    config.ca_file = pki.ca_file;
    config.http_timeout = std::chrono::seconds(2);
  }

  std::string issuer() const { return "https://127.0.0.1:" + std::to_string(server.port()); }

  Reply answer(const std::string& request) {
    if (request.starts_with("GET /.well-known/openid-configuration ")) {
      ++discoveries;
      std::string base = issuer();
      return {outbound::testing::okResponse(
          R"({"issuer":")" + base + suffix + R"(","authorization_endpoint":")" + base +
          R"(/auth","token_endpoint":")" + base + R"(/token","jwks_uri":")" + base +
          R"(/jwks","end_session_endpoint":")" + base +
          R"(/logout","id_token_signing_alg_values_supported":["ES256"]})")};
    }
    if (request.starts_with("GET /jwks ")) {
      ++jwks;
      return {outbound::testing::okResponse(
          R"({"keys":[)" + *jose::publicJwkJson(key.get(), "k1", jose::Alg::kES256) + "]}")};
    }
    return {"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"};
  }

  Pki pki;
  EvpPkeyPtr key;
  std::string suffix;
  std::atomic<int> discoveries{0};
  std::atomic<int> jwks{0};
  TestServer server;
  config::OidcProviderConfig config;
};

TEST_CASE("discoverNow reads the metadata and the keys", "[oidc][provider]") {
  FakeProvider idp;
  std::string error;
  KnowledgePtr known = discoverNow(idp.config, &error);
  INFO(error);
  REQUIRE(known);
  CHECK(known->metadata.issuer == idp.issuer());
  CHECK(known->metadata.token_endpoint == idp.issuer() + "/token");
  CHECK(known->metadata.end_session_endpoint == idp.issuer() + "/logout");
  REQUIRE(known->keys.keys.size() == 1);
  CHECK(known->keys.keys[0].kid == "k1");
  CHECK(known->client_auth == ClientAuth::kClientSecretBasic);
  CHECK(idp.discoveries == 1);
  CHECK(idp.jwks == 1);
}

TEST_CASE("discoverNow names the provider and what failed", "[oidc][provider]") {
  SECTION("another issuer in the document") {
    FakeProvider idp("/evil");
    std::string error;
    CHECK_FALSE(discoverNow(idp.config, &error));
    CHECK(error.starts_with("oidc provider \"corp\" (" + idp.issuer() + "): discovery document"));
    CHECK(idp.jwks == 0);
  }
  SECTION("nothing listens") {
    config::OidcProviderConfig config;
    config.name = "down";
    config.issuer = "https://127.0.0.1:" + std::to_string(outbound::testing::closedPort());
    config.http_timeout = std::chrono::seconds(2);
    std::string error;
    CHECK_FALSE(discoverNow(config, &error));
    CHECK(error.starts_with("oidc provider \"down\""));
    CHECK(error.find("discovery") != std::string::npos);
  }
  SECTION("a CA that does not vouch for it") {
    FakeProvider idp;
    Pki other;
    idp.config.ca_file = other.ca_file;
    std::string error;
    CHECK_FALSE(discoverNow(idp.config, &error));
    CHECK(error.find("certificate verify failed") != std::string::npos);
  }
}

TEST_CASE("a lazy provider is discovered in the background and tells its waiters",
          "[oidc][provider]") {
  FakeProvider idp;
  Loop loop;
  Provider provider(loop.base(), loop.mailbox(), idp.config, nullptr);
  CHECK(provider.knowledge() == nullptr);
  bool told = false;
  bool changed = false;
  auto waiter = std::make_shared<std::function<void(bool)>>([&](bool c) {
    told = true;
    changed = c;
  });
  provider.discoverSoon(waiter);
  REQUIRE(loop.runUntil([&] { return told; }));
  CHECK(changed);
  REQUIRE(provider.knowledge() != nullptr);
  CHECK(provider.knowledge()->keys.keys.size() == 1);
  CHECK(idp.discoveries == 1);
}

TEST_CASE("an unknown kid re-reads the keys at most every 10 s", "[oidc][provider]") {
  FakeProvider idp;
  std::string error;
  KnowledgePtr known = discoverNow(idp.config, &error);
  REQUIRE(known);
  Loop loop;
  Provider provider(loop.base(), loop.mailbox(), idp.config, known);
  auto waiter = std::make_shared<std::function<void(bool)>>([](bool) {});
  // The keys were read a moment ago: a flood of made-up kids fetches nothing.
  for (int i = 0; i < 100; ++i) CHECK_FALSE(provider.refetchKeys(waiter));
  loop.runFor(std::chrono::milliseconds(100));
  CHECK(idp.jwks == 1);
}

TEST_CASE("a dropped waiter is not called", "[oidc][provider]") {
  FakeProvider idp;
  Loop loop;
  Provider provider(loop.base(), loop.mailbox(), idp.config, nullptr);
  bool called = false;
  auto waiter = std::make_shared<std::function<void(bool)>>([&](bool) { called = true; });
  provider.discoverSoon(waiter);
  waiter.reset();
  REQUIRE(loop.runUntil([&] { return provider.knowledge() != nullptr; }));
  CHECK_FALSE(called);
}

}  // namespace
}  // namespace sesame::oidc
