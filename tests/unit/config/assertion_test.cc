#include <catch2/catch.hpp>

#include "oidc_keys.h"
#include "temp_config.h"

using namespace sesame;
using config::LoadResult;
using config::testing::hasError;
using config::testing::joinErrors;
using config::testing::kMinimal;
using config::testing::TempDir;
using config::testing::writeKey;
using config::testing::writeWithMode;

namespace {

// [session] is lines 10 and 11, [identity] line 12; its keys start at 13.
std::string withIdentity(std::string_view identity) {
  return std::string(kMinimal) +
         "[session]\nsecrets = [\"0123456789abcdef0123456789abcdef\"]\n[identity]\n" +
         std::string(identity);
}

constexpr std::string_view kHeader = "assertion_header = \"X-Sesame-Assertion\"\n";

}  // namespace

TEST_CASE("[identity] assertion is off by default", "[config][identity]") {
  TempDir dir;
  LoadResult r = dir.load(withIdentity(""));
  INFO(joinErrors(r));
  REQUIRE(r.config);
  const session::Assertion& a = r.config->session->assertion;
  CHECK(a.header.empty());
  CHECK(a.keys.empty());
  CHECK(a.ttl == session::Millis{60'000});
  CHECK(a.issuer == "sesame");
}

TEST_CASE("[identity] assertion keys: Ed25519 and P-256, the first signs", "[config][identity]") {
  TempDir dir;
  auto ed = config::testing::makeEd25519Key();
  auto ec = config::testing::makeEcKey("P-256");
  writeKey(dir, "keys/new.key", ed.get());
  writeKey(dir, "keys/old.key", ec.get());
  SECTION("one path") {
    LoadResult r =
        dir.load(withIdentity(std::string(kHeader) +
                              "assertion_key = \"keys/new.key\"\nassertion_ttl = "
                              "\"5m\"\nassertion_issuer = \"https://sesame.example\"\n"));
    INFO(joinErrors(r));
    REQUIRE(r.config);
    const session::Assertion& a = r.config->session->assertion;
    CHECK(a.header == "X-Sesame-Assertion");
    REQUIRE(a.keys.size() == 1);
    CHECK(a.keys[0].file == dir.path() + "/keys/new.key");
    CHECK(a.keys[0].pem == tls::testing::toPem(ed.get()));
    CHECK(a.keys[0].alg == "EdDSA");
    CHECK(a.ttl == session::Millis{300'000});
    CHECK(a.issuer == "https://sesame.example");
  }
  SECTION("an array, in order") {
    LoadResult r = dir.load(withIdentity(std::string(kHeader) +
                                         "assertion_key = [\"keys/old.key\", \"keys/new.key\"]\n"));
    INFO(joinErrors(r));
    REQUIRE(r.config);
    const session::Assertion& a = r.config->session->assertion;
    REQUIRE(a.keys.size() == 2);
    CHECK(a.keys[0].alg == "ES256");
    CHECK(a.keys[0].pem == tls::testing::toPem(ec.get()));
    CHECK(a.keys[1].alg == "EdDSA");
  }
  SECTION("the same file twice, an empty array, an empty name") {
    LoadResult r =
        dir.load(withIdentity(std::string(kHeader) +
                              "assertion_key = [\"keys/new.key\", \"keys/../keys/new.key\", "
                              "\"\"]\n"));
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "14:34", "identity.assertion_key[1]", "is listed twice"));
    CHECK(hasError(r, "14:58", "identity.assertion_key[2] is empty", "openssl genpkey"));
    r = dir.load(withIdentity(std::string(kHeader) + "assertion_key = []\n"));
    REQUIRE_FALSE(r.config);
    CHECK(hasError(r, "14:17", "must name 1 to 8 key files"));
  }
}

TEST_CASE("[identity] assertion keys of the wrong type are refused with a fix",
          "[config][identity]") {
  TempDir dir;
  auto load = [&] {
    return dir.load(withIdentity(std::string(kHeader) + "assertion_key = \"assertion.key\"\n"));
  };
  SECTION("RSA") {
    std::string file = writeKey(dir, "assertion.key", config::testing::makeRsaKey(2048).get());
    LoadResult r = load();
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "14:17",
                   "identity.assertion_key: \"" + file +
                       "\" is an RSA key of 2048 bits; use EC P-256 or Ed25519: openssl genpkey "
                       "-algorithm ed25519 -out assertion.key"));
  }
  SECTION("EC on P-384") {
    writeKey(dir, "assertion.key", config::testing::makeEcKey("P-384").get());
    LoadResult r = load();
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "14:17", "is an EC key on secp384r1; use EC P-256 or Ed25519"));
  }
  SECTION("not a key") {
    writeWithMode(dir, "assertion.key", "-----BEGIN CERTIFICATE-----\nAAAA\n");
    LoadResult r = load();
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "14:17", "holds no PEM private key"));
  }
  SECTION("encrypted") {
    writeWithMode(dir, "assertion.key",
                  config::testing::encryptedPem(config::testing::makeEd25519Key().get()));
    LoadResult r = load();
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "14:17", "is encrypted; sesame needs an unencrypted key"));
  }
  SECTION("readable by others") {
    writeKey(dir, "assertion.key", config::testing::makeEd25519Key().get(), 0644);
    LoadResult r = load();
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "14:17", "has mode 0644", "sign as sesame"));
  }
  SECTION("missing") {
    LoadResult r = load();
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "14:17", "assertion.key\" does not exist"));
  }
}

TEST_CASE("[identity] assertion_ttl is between 10s and 1h", "[config][identity]") {
  TempDir dir;
  writeKey(dir, "assertion.key", config::testing::makeEd25519Key().get());
  auto ttl = [&](std::string_view value) {
    return dir.load(withIdentity(std::string(kHeader) +
                                 "assertion_key = \"assertion.key\"\nassertion_ttl = \"" +
                                 std::string(value) + "\"\n"));
  };
  for (std::string_view good : {"10s", "1h", "60m", "10000ms"}) {
    INFO(good);
    LoadResult r = ttl(good);
    INFO(joinErrors(r));
    CHECK(r.config);
  }
  for (std::string_view bad : {"9s", "9999ms", "61m", "2h"}) {
    INFO(bad);
    LoadResult r = ttl(bad);
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "15:17", "identity.assertion_ttl must be between \"10s\"", "\"1h\""));
  }
  LoadResult r = ttl("0s");
  REQUIRE_FALSE(r.config);
  CHECK(hasError(r, "15:17", "identity.assertion_ttl must be greater than zero"));
}

TEST_CASE("[identity] assertion_header and assertion_key go together", "[config][identity]") {
  TempDir dir;
  writeKey(dir, "assertion.key", config::testing::makeEd25519Key().get());
  SECTION("header without key") {
    LoadResult r = dir.load(withIdentity(kHeader));
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "13:20", "identity.assertion_header needs identity.assertion_key",
                   "openssl genpkey -algorithm ed25519"));
  }
  SECTION("key without header") {
    LoadResult r = dir.load(withIdentity("assertion_key = \"assertion.key\"\n"));
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "13:17", "identity.assertion_key needs identity.assertion_header",
                   "X-Sesame-Assertion"));
  }
  SECTION("ttl and issuer alone") {
    LoadResult r = dir.load(withIdentity("assertion_ttl = \"1m\"\nassertion_issuer = \"x\"\n"));
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "13:17", "identity.assertion_ttl only applies with"));
    CHECK(hasError(r, "14:20", "identity.assertion_issuer only applies with"));
  }
  SECTION("an empty issuer") {
    LoadResult r = dir.load(withIdentity(std::string(kHeader) +
                                         "assertion_key = \"assertion.key\"\nassertion_issuer = "
                                         "\"\"\n"));
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "15:20", "identity.assertion_issuer must be 1 to 256 bytes"));
  }
}

TEST_CASE("[identity] assertion_header may not collide with another identity header",
          "[config][identity]") {
  TempDir dir;
  writeKey(dir, "assertion.key", config::testing::makeEd25519Key().get());
  auto header = [&](std::string_view name, std::string_view more = "") {
    return dir.load(withIdentity(std::string(more) + "assertion_header = \"" + std::string(name) +
                                 "\"\nassertion_key = \"assertion.key\"\n"));
  };
  SECTION("the user header, in another spelling") {
    LoadResult r = header("x_remote_user");
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "13:20", "is the same header as identity.user_header"));
  }
  SECTION("a renamed groups header") {
    LoadResult r = header("X-Groups", "groups_header = \"X-Groups\"\n");
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "14:20", "is the same header as identity.groups_header"));
  }
  SECTION("under the data prefix") {
    LoadResult r = header("X-Session-Assertion");
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "13:20", "starts with identity.data_prefix \"X-Session-\""));
  }
  SECTION("a header clients send") {
    LoadResult r = header("Authorization");
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "13:20", "would remove the client's Authorization header"));
  }
  SECTION("not a header name") {
    LoadResult r = header("X Assertion");
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "13:20", "is not a header name"));
  }
}
