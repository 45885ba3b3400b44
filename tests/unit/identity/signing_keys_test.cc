// SigningKeys: RFC 7638 and RFC 8037 vectors, the JWKS document, ES256
// signatures in JWS form, and the keys refused with the reason.
#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <set>
#include <string>
#include <vector>

#include "jws_check.h"
#include "sesame/base/base64url.h"
#include "sesame/identity/signing_keys.h"

using identity_test::generatePem;
using identity_test::JsonPtr;
using identity_test::parseJson;
using identity_test::stringMember;
using sesame::identity::Algorithm;
using sesame::identity::JwkMember;
using sesame::identity::KeyText;
using sesame::identity::SigningKeys;

namespace {

// RFC 8037 A.1: the Ed25519 private key d and its public x.
constexpr std::string_view kRfc8037D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
constexpr std::string_view kRfc8037X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

std::string rfc8037Pem() {
  auto d = sesame::base64urlDecode(kRfc8037D);
  REQUIRE(d);
  sesame::EvpPkeyPtr key(EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(d->data()), d->size()));
  REQUIRE(key);
  return identity_test::pemOf(key);
}

SigningKeys loadOk(std::vector<KeyText> texts) {
  auto result = SigningKeys::load(texts);
  INFO(result.error);
  REQUIRE(result.keys);
  CHECK(result.error.empty());
  return std::move(*result.keys);
}

std::string loadError(const std::string& pem, const std::string& name = "keys/bad.pem") {
  const std::vector<KeyText> texts = {{name, pem}};
  auto result = SigningKeys::load(texts);
  CHECK_FALSE(result.keys);
  return result.error;
}

}  // namespace

TEST_CASE("identity: RFC 7638 §3.1 thumbprint of the example RSA key", "[identity]") {
  // Members in the RFC's own order, not sorted: the function sorts them.
  const JwkMember members[] = {
      {"kty", "RSA"},
      {"n",
       "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
       "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
       "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
       "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"},
      {"e", "AQAB"},
  };
  CHECK(sesame::identity::jwkThumbprint(members) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

TEST_CASE("identity: RFC 8037 Ed25519 key: JWK x, A.3 thumbprint as kid, A.4 signature",
          "[identity]") {
  const SigningKeys keys = loadOk({{"rfc8037.pem", rfc8037Pem()}});
  const SigningKeys::Key& key = keys.signingKey();
  CHECK(key.algorithm == Algorithm::kEdDsa);
  CHECK(key.kid == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
  JsonPtr jwk = parseJson(key.public_jwk);
  REQUIRE(jwk);
  CHECK(stringMember(jwk.get(), "x") == kRfc8037X);
  // Ed25519 is deterministic (RFC 8032 §5.1.6): the RFC's exact signing
  // input gives its signature byte for byte.
  const std::string signature =
      keys.signature("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc");
  CHECK(sesame::base64urlEncode(signature) ==
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg");
}

TEST_CASE("identity: the JWKS publishes every key's public members only", "[identity]") {
  const SigningKeys keys =
      loadOk({{"ec.pem", generatePem("EC", "P-256")}, {"ed.pem", generatePem("ED25519")}});
  REQUIRE(keys.keys().size() == 2);
  CHECK(keys.keys()[0].algorithm == Algorithm::kEs256);
  CHECK(keys.keys()[1].algorithm == Algorithm::kEdDsa);
  CHECK(keys.signingKey().kid == keys.keys()[0].kid);

  JsonPtr jwks = parseJson(keys.jwksJson());
  REQUIRE(jwks);
  CHECK(json_object_size(jwks.get()) == 1);
  const json_t* list = json_object_get(jwks.get(), "keys");
  REQUIRE(json_array_size(list) == 2);

  const json_t* ec = json_array_get(list, 0);
  std::set<std::string> members;
  const char* name;
  json_t* value;
  json_object_foreach(const_cast<json_t*>(ec), name, value) {
    members.insert(name);
    CHECK(json_is_string(value));
  }
  CHECK(members == std::set<std::string>{"kty", "crv", "x", "y", "kid", "use", "alg"});
  CHECK(stringMember(ec, "kty") == "EC");
  CHECK(stringMember(ec, "crv") == "P-256");
  CHECK(stringMember(ec, "use") == "sig");
  CHECK(stringMember(ec, "alg") == "ES256");
  CHECK(stringMember(ec, "kid") == keys.keys()[0].kid);
  CHECK(sesame::base64urlDecode(stringMember(ec, "x"))->size() == 32);
  CHECK(sesame::base64urlDecode(stringMember(ec, "y"))->size() == 32);
  // The kid is the RFC 7638 thumbprint of exactly these public members.
  const std::string x = stringMember(ec, "x");
  const std::string y = stringMember(ec, "y");
  const JwkMember ec_members[] = {{"kty", "EC"}, {"crv", "P-256"}, {"x", x}, {"y", y}};
  CHECK(sesame::identity::jwkThumbprint(ec_members) == keys.keys()[0].kid);

  const json_t* ed = json_array_get(list, 1);
  members.clear();
  json_object_foreach(const_cast<json_t*>(ed), name, value) members.insert(name);
  CHECK(members == std::set<std::string>{"kty", "crv", "x", "kid", "use", "alg"});
  CHECK(stringMember(ed, "kty") == "OKP");
  CHECK(stringMember(ed, "crv") == "Ed25519");
  CHECK(stringMember(ed, "alg") == "EdDSA");
  CHECK(stringMember(ed, "kid") == keys.keys()[1].kid);
  CHECK(keys.jwksJson().find("\"d\"") == std::string::npos);
}

TEST_CASE("identity: ES256 signatures are R || S, zero-padded, and verify", "[identity]") {
  const SigningKeys keys = loadOk({{"ec.pem", generatePem("EC", "P-256")}});
  JsonPtr jwk = parseJson(keys.signingKey().public_jwk);
  REQUIRE(jwk);
  const sesame::EvpPkeyPtr pub = identity_test::publicKeyFromJwk(jwk.get());
  REQUIRE(pub);
  // About 1 in 128 signatures has an R or S below 2^248, whose first byte
  // must then be zero (DER drops it): 2,000 signatures miss that case with
  // probability e^-15.6, and every one must verify after the conversion
  // back to DER.
  int padded = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::string input = "header.payload-" + std::to_string(i);
    const std::string sig = keys.signature(input);
    REQUIRE(sig.size() == 64);
    if (sig[0] == '\0' || sig[32] == '\0') ++padded;
    REQUIRE(identity_test::verifyJwsSignature("ES256", pub, input, sig));
    REQUIRE_FALSE(identity_test::verifyJwsSignature("ES256", pub, input + "x", sig));
  }
  CHECK(padded > 0);
}

TEST_CASE("identity: keys that cannot sign assertions are refused with the reason", "[identity]") {
  SECTION("RSA") {
    const std::string error = loadError(generatePem("RSA"));
    CHECK(error.find("keys/bad.pem: key type RSA is not supported") == 0);
    CHECK(error.find("EC P-256 (ES256) or Ed25519 (EdDSA)") != std::string::npos);
  }
  SECTION("another curve") {
    CHECK(loadError(generatePem("EC", "P-384")).find("keys/bad.pem: EC curve secp384r1 is not") ==
          0);
  }
  SECTION("Ed448") {
    CHECK(loadError(generatePem("ED448")).find("keys/bad.pem: key type ED448 is not supported") ==
          0);
  }
  SECTION("a file far bigger than a key") {
    CHECK(loadError(generatePem("ED25519") + std::string(70'000, '#'))
              .find("keys/bad.pem: larger than 64 KiB") == 0);
  }
  SECTION("no key in the text") {
    CHECK(loadError("hello").find("keys/bad.pem: no PEM private key found") == 0);
  }
  SECTION("a public key") {
    sesame::EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    sesame::BioPtr bio(BIO_new(BIO_s_mem()));
    REQUIRE(PEM_write_bio_PUBKEY(bio.get(), key.get()) == 1);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    CHECK(loadError(std::string(data, static_cast<size_t>(len)))
              .find("keys/bad.pem: no PEM private key found") == 0);
  }
  SECTION("an encrypted key") {
    sesame::EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    sesame::BioPtr bio(BIO_new(BIO_s_mem()));
    const unsigned char pass[] = "secret";
    REQUIRE(PEM_write_bio_PKCS8PrivateKey(bio.get(), key.get(), EVP_aes_256_cbc(),
                                          reinterpret_cast<const char*>(pass), 6, nullptr,
                                          nullptr) == 1);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    CHECK(loadError(std::string(data, static_cast<size_t>(len)))
              .find("keys/bad.pem: private key is encrypted") == 0);
  }
  SECTION("a damaged key") {
    std::string pem = generatePem("ED25519");
    pem[pem.find('\n') + 5] ^= 1;
    CHECK(loadError(pem).find("keys/bad.pem: ") == 0);
  }
  SECTION("no key at all") {
    auto result = SigningKeys::load({});
    CHECK_FALSE(result.keys);
    CHECK(result.error.find("no assertion key given") == 0);
  }
  SECTION("the same key twice") {
    const std::string pem = generatePem("EC", "P-256");
    const std::vector<KeyText> texts = {{"a.pem", pem}, {"b.pem", pem}};
    auto result = SigningKeys::load(texts);
    CHECK_FALSE(result.keys);
    CHECK(result.error.find("b.pem: the same key as a.pem") == 0);
  }
  SECTION("one bad key among good ones refuses the list") {
    const std::vector<KeyText> texts = {{"good.pem", generatePem("ED25519")},
                                        {"rsa.pem", generatePem("RSA")}};
    auto result = SigningKeys::load(texts);
    CHECK_FALSE(result.keys);
    CHECK(result.error.find("rsa.pem: key type RSA") == 0);
  }
}

TEST_CASE("identity: SEC 1 \"EC PRIVATE KEY\" PEM is accepted too", "[identity]") {
  sesame::EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  sesame::BioPtr bio(BIO_new(BIO_s_mem()));
  REQUIRE(PEM_write_bio_PrivateKey_traditional(bio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                               nullptr) == 1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  const std::string pem(data, static_cast<size_t>(len));
  REQUIRE(pem.find("BEGIN EC PRIVATE KEY") != std::string::npos);
  CHECK(loadOk({{"sec1.pem", pem}}).signingKey().algorithm == Algorithm::kEs256);
}
