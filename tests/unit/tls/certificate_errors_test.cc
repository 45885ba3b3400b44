// Operator-facing errors and warnings from ContextFactory: each names the
// file or setting and says what is wrong.
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <catch2/catch.hpp>

#include "memory_handshake.h"
#include "sesame/tls/context.h"
#include "test_certs.h"

using namespace sesame::tls;
using namespace sesame::tls::testing;
using Catch::Contains;

namespace {

struct Certs {
  TempDir dir;
  CertFiles good = makeCertificateFiles(dir, "good", {.common_name = "good.test"});
  CertFiles other = makeCertificateFiles(dir, "other", {.common_name = "other.test"});
};

const Certs& certs() {
  static const Certs instance;
  return instance;
}

Settings settingsFor(const std::string& cert, const std::string& key) {
  Settings settings;
  settings.certificates.push_back({cert, key});
  return settings;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

}  // namespace

TEST_CASE("tls: a missing file is reported with its path and the system error", "[tls]") {
  const Certs& c = certs();
  SECTION("certificate") {
    std::string missing = c.dir.file("missing.pem");
    auto errors = ContextFactory::check(settingsFor(missing, c.good.key));
    REQUIRE(errors.size() == 1);
    CHECK(errors[0] == missing + ": cannot read certificate: No such file or directory");
  }
  SECTION("key") {
    std::string missing = c.dir.file("missing.key");
    auto errors = ContextFactory::check(settingsFor(c.good.cert, missing));
    REQUIRE(errors.size() == 1);
    CHECK(errors[0] == missing + ": cannot read private key: No such file or directory");
  }
}

TEST_CASE("tls: garbled PEM files are reported with their path", "[tls]") {
  const Certs& c = certs();
  SECTION("certificate that is not PEM") {
    std::string garbage = c.dir.write("garbage.pem", "this is not a certificate\n");
    auto errors = ContextFactory::check(settingsFor(garbage, c.good.key));
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Contains(garbage + ": no PEM certificate found"));
  }
  SECTION("certificate with a corrupt body") {
    std::string corrupt = c.dir.write(
        "corrupt.pem", "-----BEGIN CERTIFICATE-----\nAAAA!!!!\n-----END CERTIFICATE-----\n");
    auto errors = ContextFactory::check(settingsFor(corrupt, c.good.key));
    REQUIRE(errors.size() == 1);
    CHECK(errors[0] == corrupt + ": malformed certificate: bad base64 decode");
  }
  SECTION("key that is not PEM") {
    std::string garbage = c.dir.write("garbage.key", "\x01\x02 binary junk");
    auto errors = ContextFactory::check(settingsFor(c.good.cert, garbage));
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Contains(garbage + ": no PEM private key found"));
  }
  SECTION("key with a corrupt body") {
    std::string corrupt = c.dir.write(
        "corrupt.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    auto errors = ContextFactory::check(settingsFor(c.good.cert, corrupt));
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Contains(corrupt + ": malformed private key: "));
  }
  SECTION("a certificate given as the key") {
    auto errors = ContextFactory::check(settingsFor(c.good.cert, c.good.cert));
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Contains(c.good.cert + ": no PEM private key found"));
  }
  SECTION("a malformed chain certificate after a good leaf") {
    std::string pem = toPem(makeCertificate({.common_name = "leaf.test"}).cert.get());
    std::string chain = c.dir.write(
        "bad-chain.pem", pem + "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    auto errors = ContextFactory::check(settingsFor(chain, c.good.key));
    REQUIRE_FALSE(errors.empty());
    CHECK_THAT(errors[0], Contains(chain + ": certificate 2 in the chain is malformed"));
  }
}

TEST_CASE("tls: a key that does not match its certificate names both files", "[tls]") {
  const Certs& c = certs();
  ContextFactory factory(settingsFor(c.good.cert, c.other.key));
  REQUIRE(factory.errors().size() == 1);
  CHECK(factory.errors()[0] ==
        c.other.key + ": private key does not match certificate " + c.good.cert);
  ContextResult result = factory.make();
  CHECK(result.context == nullptr);
  CHECK(result.errors == factory.errors());
}

TEST_CASE("tls: an encrypted key is refused without prompting", "[tls]") {
  const Certs& c = certs();
  TempDir dir;
  KeyPair pair = makeCertificate({.common_name = "locked.test"});
  std::unique_ptr<BIO, sesame::CFree<BIO_free>> bio(BIO_new(BIO_s_mem()));
  static char passphrase[] = "secret";
  REQUIRE(PEM_write_bio_PrivateKey(bio.get(), pair.key.get(), EVP_aes_128_cbc(), nullptr, 0,
                                   nullptr, passphrase) == 1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  std::string key = dir.write("locked.key", std::string(data, static_cast<size_t>(len)));
  std::string cert = dir.write("locked.pem", toPem(pair.cert.get()));
  auto errors = ContextFactory::check(settingsFor(cert, key));
  REQUIRE(errors.size() == 1);
  CHECK_THAT(errors[0], Contains(key + ": private key is encrypted"));
  (void)c;
}

TEST_CASE("tls: every problem is reported at once", "[tls]") {
  const Certs& c = certs();
  Settings settings;
  settings.min_version = "1.1";
  settings.certificates = {{c.dir.file("a.pem"), c.good.key}, {c.good.cert, c.other.key}};
  auto errors = ContextFactory::check(settings);
  INFO(joined(errors));
  REQUIRE(errors.size() == 3);
  CHECK(errors[0] == "tls.min_version \"1.1\" is not supported; use \"1.2\" or \"1.3\"");
  CHECK_THAT(errors[1], Contains(c.dir.file("a.pem")));
  CHECK_THAT(errors[2], Contains("does not match"));
}

TEST_CASE("tls: settings that OpenSSL refuses are errors at factory time", "[tls]") {
  const Certs& c = certs();
  Settings settings = settingsFor(c.good.cert, c.good.key);
  SECTION("cipher list with no known cipher") {
    settings.ciphers = "NOT-A-CIPHER:ALSO-BOGUS";
    auto errors = ContextFactory::check(settings);
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Contains("tls.ciphers \"NOT-A-CIPHER:ALSO-BOGUS\": no usable"));
  }
  SECTION("TLS 1.3 cipher suites with no known suite") {
    settings.ciphersuites = "TLS_BOGUS_SHA256";
    auto errors = ContextFactory::check(settings);
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Contains("tls.ciphersuites \"TLS_BOGUS_SHA256\""));
  }
  SECTION("no certificate at all") {
    settings.certificates.clear();
    auto errors = ContextFactory::check(settings);
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Contains("no certificate configured"));
  }
  SECTION("an RSA key below the security level") {
    TempDir dir;
    CertFiles weak = makeCertificateFiles(
        dir, "weak", {.common_name = "weak.test", .key_type = KeyType::kRsa1024});
    auto errors = ContextFactory::check(settingsFor(weak.cert, weak.key));
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Contains(weak.cert + ": certificate rejected: ee key too small"));
  }
}

TEST_CASE("tls: certificates outside their validity period warn but still serve", "[tls]") {
  TempDir dir;
  SECTION("expired") {
    CertFiles old = makeCertificateFiles(
        dir, "old", {.common_name = "old.test", .not_before_days = -30, .not_after_days = -1});
    ContextFactory factory(settingsFor(old.cert, old.key));
    CHECK(factory.errors().empty());
    REQUIRE(factory.warnings().size() == 1);
    CHECK_THAT(factory.warnings()[0], Contains(old.cert + ": certificate expired on "));
    auto server = factory.make().context;
    REQUIRE(server != nullptr);
    CHECK(handshake(server->defaultCtx()).ok);
  }
  SECTION("not yet valid") {
    CertFiles early = makeCertificateFiles(
        dir, "early", {.common_name = "early.test", .not_before_days = 2, .not_after_days = 30});
    ContextFactory factory(settingsFor(early.cert, early.key));
    CHECK(factory.errors().empty());
    REQUIRE(factory.warnings().size() == 1);
    CHECK_THAT(factory.warnings()[0], Contains(early.cert + ": certificate is not valid until "));
  }
  SECTION("current: no warning") {
    CHECK(ContextFactory(settingsFor(certs().good.cert, certs().good.key)).warnings().empty());
  }
}
