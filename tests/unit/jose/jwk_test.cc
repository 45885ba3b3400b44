// JWK and JWKS parsing (RFC 7517/7518/8037), key selection, thumbprints
// (RFC 7638) and public JWK output.
#include "sesame/jose/jwk.h"

#include <catch2/catch.hpp>
#include <string>

#include "sesame/base/base64url.h"
#include "vectors.h"

using namespace sesame;
using namespace sesame::jose;
using namespace sesame::jose::test;

namespace {

std::string refusal(const std::string& json) {
  std::string error;
  CHECK_FALSE(parseJwk(json, &error));
  return error;
}

std::string rsaJwk(EVP_PKEY* key, std::string_view extra = "") {
  BIGNUM* n = nullptr;
  EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n);
  BignumPtr owned(n);
  std::string bytes(static_cast<size_t>(BN_num_bytes(n)), '\0');
  BN_bn2bin(n, reinterpret_cast<unsigned char*>(bytes.data()));
  return R"({"kty":"RSA","e":"AQAB","n":")" + base64urlEncode(bytes) + "\"" + std::string(extra) +
         "}";
}

}  // namespace

TEST_CASE("jwk: RFC 7638 §3.1 thumbprint of the RFC 7517 RSA key", "[jose]") {
  std::string error;
  const auto key = parseJwk(R"({"kty":"RSA","n":")" + std::string(k7638N) +
                                R"(","e":"AQAB","alg":"RS256","kid":"2011-04-29"})",
                            &error);
  INFO(error);
  REQUIRE(key);
  CHECK(key->kid == "2011-04-29");
  CHECK(key->alg == Alg::kRS256);
  CHECK(key->type == KeyType::kRsa);
  CHECK(thumbprint(*key) == k7638Thumbprint);
}

TEST_CASE("jwk: RFC 8037 A.3 Ed25519 thumbprint", "[jose]") {
  const auto key = parseJwk(edJwk(), nullptr);
  REQUIRE(key);
  CHECK(key->type == KeyType::kEd25519);
  CHECK_FALSE(key->alg);
  CHECK(key->kid.empty());
  CHECK(thumbprint(*key) == kEdThumbprint);
}

TEST_CASE("jwk: public JWK output round trips and never carries private members", "[jose]") {
  EvpPkeyPtr keys[] = {generateEc(), generateEd25519(), generateRsa(2048)};
  for (EvpPkeyPtr& k : keys) {
    REQUIRE(k);
    const auto json = publicJwkJson(k.get(), "key \"1\"", std::nullopt);
    REQUIRE(json);
    INFO(*json);
    CHECK(json->find("\"d\"") == std::string::npos);
    CHECK(json->find("\"use\":\"sig\"") != std::string::npos);
    std::string error;
    const auto back = parseJwk(*json, &error);
    INFO(error);
    REQUIRE(back);
    CHECK(back->kid == "key \"1\"");
    CHECK(thumbprint(*back) == thumbprint(k.get()));
    CHECK(thumbprint(k.get()).size() == 43);
  }
  // The A.3 key written back out is the published x and y.
  const auto a3 = parseJwk(a3Jwk(), nullptr);
  REQUIRE(a3);
  CHECK(publicJwkJson(a3->key.get(), "", Alg::kES256) ==
        R"({"crv":"P-256","kty":"EC","x":")" + std::string(kA3X) + R"(","y":")" +
            std::string(kA3Y) + R"(","use":"sig","alg":"ES256"})");
  // An alg that does not fit the key, and keys of other kinds, give nothing.
  CHECK_FALSE(publicJwkJson(a3->key.get(), "", Alg::kRS256));
  EvpPkeyPtr p384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  CHECK_FALSE(publicJwkJson(p384.get(), "", std::nullopt));
  CHECK(thumbprint(p384.get()).empty());
}

TEST_CASE("jwk: keys carrying private members are refused", "[jose]") {
  const std::string ec_private = R"({"kty":"EC","crv":"P-256","x":")" + std::string(kA3X) +
                                 R"(","y":")" + std::string(kA3Y) + R"(","d":")" +
                                 std::string(kA3D) + R"("})";
  CHECK(refusal(ec_private) == "JWK carries private key material");
  CHECK(refusal(R"({"kty":"OKP","crv":"Ed25519","x":")" + std::string(kEdX) + R"(","d":")" +
                std::string(kEdD) + R"("})") == "JWK carries private key material");
  CHECK(refusal(R"({"kty":"oct","k":"c2VjcmV0"})") == "JWK carries private key material");
  CHECK(refusal(R"({"kty":"RSA","n":"AQAB","e":"AQAB","p":"AQAB"})") ==
        "JWK carries private key material");
  std::string error;
  CHECK_FALSE(parseJwks(R"({"keys":[)" + a2Jwk() + "," + ec_private + "]}", &error));
  CHECK(error == "JWKS key 1: JWK carries private key material");
}

TEST_CASE("jwk: RSA moduli under 2048 bits are refused", "[jose]") {
  EvpPkeyPtr small = generateRsa(1024);
  REQUIRE(small);
  CHECK(refusal(rsaJwk(small.get())) == "RSA JWK modulus is not between 2048 and 8192 bits");
  // 2047 bits: 256 bytes with the top bit clear.
  auto n = base64urlDecode(kA2N);
  REQUIRE(n);
  (*n)[0] = 0x7f;
  CHECK(refusal(R"({"kty":"RSA","e":"AQAB","n":")" + base64urlEncode(*n) + "\"}") ==
        "RSA JWK modulus is not between 2048 and 8192 bits");
  // A leading zero byte does not count towards the size, but is accepted.
  n = base64urlDecode(kA2N);
  CHECK(parseJwk(
      R"({"kty":"RSA","e":"AQAB","n":")" + base64urlEncode(std::string(1, '\0') + *n) + "\"}",
      nullptr));
  CHECK(refusal(R"({"kty":"RSA","e":"","n":")" + std::string(kA2N) + "\"}") ==
        "RSA JWK exponent is invalid");
  CHECK(refusal(R"({"kty":"RSA","e":"AQAB"})") == "RSA JWK needs string members n and e");
}

TEST_CASE("jwk: EC points not on P-256, and wrong sizes, are refused", "[jose]") {
  auto y = base64urlDecode(kA3Y);
  REQUIRE(y);
  (*y)[31] ^= 1;
  CHECK(refusal(R"({"kty":"EC","crv":"P-256","x":")" + std::string(kA3X) + R"(","y":")" +
                base64urlEncode(*y) + "\"}") == "EC JWK is not a point on P-256");
  // The point at infinity has no affine encoding; all zeros is off the curve.
  const std::string zero = base64urlEncode(std::string(32, '\0'));
  CHECK(refusal(R"({"kty":"EC","crv":"P-256","x":")" + zero + R"(","y":")" + zero + "\"}") ==
        "EC JWK is not a point on P-256");
  // x without its leading zero byte, or padded to 33 bytes.
  const auto x = base64urlDecode(kA3X);
  CHECK(refusal(R"({"kty":"EC","crv":"P-256","x":")" + base64urlEncode(x->substr(1)) +
                R"(","y":")" + std::string(kA3Y) + "\"}") ==
        "EC JWK x or y is not 32 bytes of base64url");
  CHECK(refusal(R"({"kty":"EC","crv":"P-256","x":")" + base64urlEncode(std::string(1, '\0') + *x) +
                R"(","y":")" + std::string(kA3Y) + "\"}") ==
        "EC JWK x or y is not 32 bytes of base64url");
  CHECK(refusal(R"({"kty":"OKP","crv":"Ed25519","x":"AAAA"})") ==
        "Ed25519 JWK x is not 32 bytes of base64url");
}

TEST_CASE("jwk: a JWKS skips keys of other kinds and uses", "[jose]") {
  const std::string jwks = R"({"keys":[
    {"kty":"EC","crv":"P-384","x":"AAAA","y":"AAAA"},
    {"kty":"OKP","crv":"X25519","x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"},
    {"kty":"RSA","use":"enc","n":")" +
                           std::string(kA2N) + R"(","e":"AQAB"},
    {"kty":"RSA","alg":"RSA-OAEP","n":")" +
                           std::string(kA2N) + R"(","e":"AQAB"},
    {"kty":"RSA","alg":"RS384","n":")" +
                           std::string(kA2N) + R"(","e":"AQAB"},
    {"kty":"PQC","x":"AAAA"},
    {"kty":"RSA","use":"sig","kid":"r1","alg":"RS256","n":")" +
                           std::string(kA2N) +
                           R"(","e":"AQAB"},
    {"kty":"EC","crv":"P-256","kid":"e1","x":")" +
                           std::string(kA3X) + R"(","y":")" + std::string(kA3Y) + R"("}
  ], "other": true})";
  std::string error;
  const auto set = parseJwks(jwks, &error);
  INFO(error);
  REQUIRE(set);
  CHECK(set->keys.size() == 2);
  CHECK(set->skipped == 6);
  CHECK(set->keys[0].kid == "r1");
  CHECK(set->keys[1].type == KeyType::kEcP256);
}

TEST_CASE("jwk: malformed key sets are refused as a whole", "[jose]") {
  std::string error;
  CHECK_FALSE(parseJwks("[]", &error));
  CHECK(error == "JWKS is not an object with a \"keys\" array");
  CHECK_FALSE(parseJwks(R"({"keys":{}})", &error));
  CHECK_FALSE(parseJwks(R"({"keys":[1]})", &error));
  CHECK(error == "JWKS key 0: JWK is not a JSON object");
  CHECK_FALSE(parseJwks(R"({"keys":[{"kid":"x"}]})", &error));
  CHECK(error == "JWKS key 0: JWK has no kty string");
  CHECK_FALSE(parseJwks(R"({"keys":[{"kty":"RSA","kid":1}]})", &error));
  CHECK_FALSE(parseJwks(R"({"keys":[{"kty":"EC","crv":"P-256","alg":"RS256","x":")" +
                            std::string(kA3X) + R"(","y":")" + std::string(kA3Y) + "\"}]}",
                        &error));
  CHECK(error == "JWKS key 0: JWK alg does not fit its key type");
  CHECK_FALSE(parseJwks(R"({"keys":[],"keys":[]})", &error));
  CHECK(error.find("duplicate") != std::string::npos);

  std::string many = R"({"keys":[)";
  for (size_t i = 0; i <= kMaxJwksKeys; ++i) many += std::string(i ? "," : "") + R"({"kty":"x"})";
  many += "]}";
  CHECK_FALSE(parseJwks(many, &error));
  CHECK(error == "JWKS has more than 64 keys");
  CHECK_FALSE(parseJwks(std::string(2 << 20, ' '), &error));
  CHECK(error.find("longer than") != std::string::npos);
  // An empty set is a set (a provider between rotations); find gives nothing.
  const auto empty = parseJwks(R"({"keys":[]})", &error);
  REQUIRE(empty);
  CHECK(empty->find(std::nullopt, Alg::kRS256) == nullptr);
}

TEST_CASE("jwk: find picks by kid and alg, or the only suitable key", "[jose]") {
  const std::string jwks = R"({"keys":[)" +
                           rsaJwk(generateRsa(2048).get(), R"(,"kid":"a","alg":"RS256")") + "," +
                           rsaJwk(generateRsa(2048).get(), R"(,"kid":"b")") + "," +
                           R"({"kty":"EC","crv":"P-256","kid":"e","x":")" + std::string(kA3X) +
                           R"(","y":")" + std::string(kA3Y) + "\"}]}";
  std::string error;
  const auto set = parseJwks(jwks, &error);
  INFO(error);
  REQUIRE(set);
  REQUIRE(set->keys.size() == 3);
  CHECK(set->find(std::string("a"), Alg::kRS256) == &set->keys[0]);
  CHECK(set->find(std::string("b"), Alg::kRS256) == &set->keys[1]);
  CHECK(set->find(std::string("b"), Alg::kPS256) == &set->keys[1]);
  // "a" is pinned to RS256; "e" is not an RSA key; "zz" is nobody.
  CHECK(set->find(std::string("a"), Alg::kPS256) == nullptr);
  CHECK(set->find(std::string("e"), Alg::kRS256) == nullptr);
  CHECK(set->find(std::string("zz"), Alg::kRS256) == nullptr);
  CHECK(set->find(std::string(""), Alg::kRS256) == nullptr);
  // No kid: only an unambiguous choice.
  CHECK(set->find(std::nullopt, Alg::kRS256) == nullptr);
  CHECK(set->find(std::nullopt, Alg::kPS256) == &set->keys[1]);
  CHECK(set->find(std::nullopt, Alg::kES256) == &set->keys[2]);
  CHECK(set->find(std::nullopt, Alg::kEdDSA) == nullptr);
}

TEST_CASE("jwk: a single JWK of another kind or use is named, not parsed", "[jose]") {
  CHECK(refusal(R"({"kty":"RSA","use":"enc","n":")" + std::string(kA2N) + R"(","e":"AQAB"})") ==
        "JWK is not a signature key sesame verifies (RSA, EC P-256, Ed25519)");
  CHECK(refusal("not json").find("JWK: invalid JSON") == 0);
}
