// Compact JWS: the RFC 7515 / RFC 8037 examples, round trips for each
// algorithm, and the attacks a verifier must refuse (alg none, HS256 with
// the public key, key-type confusion, crit, embedded jwk, oversized input).
#include "sesame/jose/jws.h"

#include <openssl/hmac.h>

#include <catch2/catch.hpp>
#include <string>

#include "sesame/base/base64url.h"
#include "sesame/jose/claims.h"
#include "vectors.h"

using namespace sesame;
using namespace sesame::jose;
using namespace sesame::jose::test;

namespace {

Jwk jwk(const std::string& json) {
  std::string error;
  auto k = parseJwk(json, &error);
  INFO(error);
  REQUIRE(k);
  return std::move(*k);
}

Jws parsed(std::string_view token) {
  std::string error;
  auto jws = parseCompact(token, &error);
  INFO(error);
  REQUIRE(jws);
  return std::move(*jws);
}

// `token` with the base64url character at `i` replaced by another one.
std::string tampered(std::string_view token, size_t i) {
  std::string t(token);
  t[i] = t[i] == 'A' ? 'B' : 'A';
  return t;
}

std::string refusal(std::string_view token) {
  std::string error;
  CHECK_FALSE(parseCompact(token, &error));
  return error;
}

std::string compact(std::string_view header, std::string_view payload, std::string_view sig) {
  return base64urlEncode(header) + "." + base64urlEncode(payload) + "." + base64urlEncode(sig);
}

}  // namespace

TEST_CASE("jws: RFC 7515 A.2 RS256 example verifies; one changed byte does not", "[jose]") {
  const Jwk key = jwk(a2Jwk());
  const Jws jws = parsed(kA2Token);
  CHECK(jws.alg == Alg::kRS256);
  CHECK_FALSE(jws.kid);
  CHECK_FALSE(jws.typ);
  CHECK(jws.signing_input == "eyJhbGciOiJSUzI1NiJ9." + std::string(kA2Payload));
  std::string error;
  CHECK(verify(jws, key, &error));

  const auto claims = parseClaims(jws.payload, &error);
  REQUIRE(claims);
  CHECK(stringClaim(claims->root(), "iss") == "joe");
  CHECK(numericDate(claims->root(), "exp") == 1300819380);
  CHECK(claims->root().get("http://example.com/is_root").boolean() == true);

  const size_t payload_at = kA2Token.find('.') + 1;
  const size_t sig_at = kA2Token.rfind('.') + 1;
  for (size_t i : {payload_at + 5, sig_at + 7, size_t{3}}) {
    INFO(i);
    const auto bad = parseCompact(tampered(kA2Token, i), &error);
    if (bad) CHECK_FALSE(verify(*bad, key, &error));
  }
}

TEST_CASE("jws: RFC 7515 A.3 ES256 example verifies; one changed byte does not", "[jose]") {
  const Jwk key = jwk(a3Jwk());
  const Jws jws = parsed(kA3Token);
  CHECK(jws.alg == Alg::kES256);
  CHECK(jws.signature.size() == 64);
  std::string error;
  CHECK(verify(jws, key, &error));
  CHECK_FALSE(verify(parsed(tampered(kA3Token, kA3Token.find('.') + 9)), key, &error));
  CHECK_FALSE(verify(parsed(tampered(kA3Token, kA3Token.rfind('.') + 9)), key, &error));
  CHECK(error == "signature does not verify");
}

TEST_CASE("jws: ES256 signatures other than 64 raw bytes are refused", "[jose]") {
  const Jwk key = jwk(a3Jwk());
  Jws jws = parsed(kA3Token);
  std::string error;
  for (size_t size : {63, 65, 72}) {
    Jws copy = parsed(kA3Token);
    copy.signature.resize(size, '\0');
    CHECK_FALSE(verify(copy, key, &error));
    CHECK(error == "ES256 signature is not 64 bytes");
  }
  // The DER form OpenSSL itself speaks is not a JWS signature either.
  EvpPkeyPtr ec = generateEc();
  const auto token = sign(Alg::kES256, ec.get(), R"({"alg":"ES256"})", "{}", &error);
  REQUIRE(token);
  CHECK(base64urlDecode(token->substr(token->rfind('.') + 1))->size() == 64);
}

TEST_CASE("jws: RFC 8037 A.4 Ed25519 signature reproduced byte for byte and verified", "[jose]") {
  const auto d = base64urlDecode(kEdD);
  REQUIRE(d);
  EvpPkeyPtr priv(EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(d->data()), d->size()));
  REQUIRE(priv);
  std::string error;
  const auto token =
      sign(Alg::kEdDSA, priv.get(), R"({"alg":"EdDSA"})", "Example of Ed25519 signing", &error);
  REQUIRE(token);
  CHECK(*token == kEdToken);

  const Jwk key = jwk(edJwk());
  CHECK(verify(parsed(kEdToken), key, &error));
  CHECK(parsed(kEdToken).payload == "Example of Ed25519 signing");
  CHECK_FALSE(verify(parsed(tampered(kEdToken, kEdToken.rfind('.') + 4)), key, &error));
  CHECK_FALSE(verify(parsed(tampered(kEdToken, kEdToken.find('.') + 4)), key, &error));
}

TEST_CASE("jws: sign and verify round trips for every algorithm", "[jose]") {
  struct Case {
    Alg alg;
    EvpPkeyPtr key;
  };
  Case cases[] = {{Alg::kRS256, generateRsa(2048)},
                  {Alg::kPS256, generateRsa(2048)},
                  {Alg::kES256, generateEc()},
                  {Alg::kEdDSA, generateEd25519()}};
  for (Case& c : cases) {
    INFO(algName(c.alg));
    REQUIRE(c.key);
    const std::string header =
        R"({"alg":")" + std::string(algName(c.alg)) + R"(","kid":"k1","typ":"JWT"})";
    std::string error;
    const auto token = sign(c.alg, c.key.get(), header, R"({"sub":"alice"})", &error);
    INFO(error);
    REQUIRE(token);
    const auto public_json = publicJwkJson(c.key.get(), "k1", c.alg);
    REQUIRE(public_json);
    const Jwk key = jwk(*public_json);
    CHECK(key.alg == c.alg);
    const Jws jws = parsed(*token);
    CHECK(jws.kid == "k1");
    CHECK(jws.typ == "JWT");
    CHECK(jws.payload == R"({"sub":"alice"})");
    CHECK(verify(jws, key, &error));
  }
}

TEST_CASE("jws: PS256 and RS256 signatures do not cross-verify", "[jose]") {
  EvpPkeyPtr rsa = generateRsa(2048);
  REQUIRE(rsa);
  std::string error;
  const auto ps = sign(Alg::kPS256, rsa.get(), R"({"alg":"PS256"})", "{}", &error);
  const auto rs = sign(Alg::kRS256, rsa.get(), R"({"alg":"RS256"})", "{}", &error);
  REQUIRE(ps);
  REQUIRE(rs);
  const Jwk key = jwk(*publicJwkJson(rsa.get(), "", std::nullopt));
  Jws as_rs = parsed(*ps);
  as_rs.alg = Alg::kRS256;
  CHECK_FALSE(verify(as_rs, key, &error));
  Jws as_ps = parsed(*rs);
  as_ps.alg = Alg::kPS256;
  CHECK_FALSE(verify(as_ps, key, &error));
  // PSS is randomised: two signatures of the same input differ, both verify.
  const auto ps2 = sign(Alg::kPS256, rsa.get(), R"({"alg":"PS256"})", "{}", &error);
  REQUIRE(ps2);
  CHECK(*ps2 != *ps);
  CHECK(verify(parsed(*ps2), key, &error));
}

TEST_CASE("jws: HS256 keyed with the RSA public key is refused before any key is used", "[jose]") {
  EvpPkeyPtr rsa = generateRsa(2048);
  REQUIRE(rsa);
  const std::string pem = publicPem(rsa.get());
  REQUIRE(pem.find("BEGIN PUBLIC KEY") != std::string::npos);
  const std::string input =
      base64urlEncode(R"({"alg":"HS256","typ":"JWT"})") + "." + base64urlEncode(R"({"sub":"x"})");
  unsigned char mac[32];
  unsigned int mac_len = 0;
  REQUIRE(HMAC(EVP_sha256(), pem.data(), static_cast<int>(pem.size()),
               reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_len));
  const std::string token = input + "." + base64urlEncode(std::span(mac, mac_len));
  CHECK(refusal(token).find("HS256") != std::string::npos);
}

TEST_CASE("jws: alg none with an empty signature is refused", "[jose]") {
  const std::string token =
      base64urlEncode(R"({"alg":"none"})") + "." + std::string(kA2Payload) + ".";
  CHECK(refusal(token) == "alg none refused (unsigned token)");
  // Nor with some signature bytes, nor spelled otherwise.
  CHECK(refusal(compact(R"({"alg":"none"})", "{}", "x")).find("none") != std::string::npos);
  CHECK(refusal(compact(R"({"alg":"None"})", "{}", "x")) ==
        "alg is not one of RS256, PS256, ES256, EdDSA");
  CHECK(refusal(compact(R"({"alg":"RS512"})", "{}", "x")) ==
        "alg is not one of RS256, PS256, ES256, EdDSA");
  CHECK(refusal(compact(R"({"alg":"ES256K"})", "{}", "x")) ==
        "alg is not one of RS256, PS256, ES256, EdDSA");
  CHECK(refusal(compact(R"({"typ":"JWT"})", "{}", "x")) == "token header has no alg string");
  CHECK(refusal(compact(R"({"alg":["RS256"]})", "{}", "x")) == "token header has no alg string");
}

TEST_CASE("jws: a key of the wrong type or pinned to another alg is refused", "[jose]") {
  std::string error;
  // RS256 token, EC key.
  CHECK_FALSE(verify(parsed(kA2Token), jwk(a3Jwk()), &error));
  CHECK(error == "key type does not fit the token's alg");
  // ES256 token, RSA key; EdDSA token, EC key.
  CHECK_FALSE(verify(parsed(kA3Token), jwk(a2Jwk()), &error));
  CHECK_FALSE(verify(parsed(kEdToken), jwk(a3Jwk()), &error));
  // The right RSA key, but published for PS256 only.
  Jwk pinned = jwk(a2Jwk());
  pinned.alg = Alg::kPS256;
  CHECK_FALSE(verify(parsed(kA2Token), pinned, &error));
  CHECK(error == "key alg differs from the token's");
  // A Jwk whose type field lies about its EVP_PKEY.
  Jwk lying = jwk(a3Jwk());
  lying.type = KeyType::kRsa;
  CHECK_FALSE(verify(parsed(kA2Token), lying, &error));
}

TEST_CASE("jws: a 1024-bit RSA key never verifies, even a valid signature", "[jose]") {
  EvpPkeyPtr small = generateRsa(1024);
  REQUIRE(small);
  std::string error;
  // Nothing signs with it either.
  CHECK_FALSE(sign(Alg::kRS256, small.get(), R"({"alg":"RS256"})", "{}", &error));
  // A hand-made signature with the small key, checked against a Jwk built around it.
  const std::string input = base64urlEncode(R"({"alg":"RS256"})") + "." + base64urlEncode("{}");
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  REQUIRE(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, small.get()) == 1);
  unsigned char sig[128];
  size_t len = sizeof(sig);
  REQUIRE(EVP_DigestSign(ctx.get(), sig, &len, reinterpret_cast<const unsigned char*>(input.data()),
                         input.size()) == 1);
  Jwk key;
  key.type = KeyType::kRsa;
  key.key = std::move(small);
  CHECK_FALSE(verify(parsed(input + "." + base64urlEncode(std::span(sig, len))), key, &error));
  CHECK(error == "key is not a usable RS256 key");
}

TEST_CASE("jws: header rules (crit, jwk, duplicates, kid and typ types, jku ignored)", "[jose]") {
  CHECK(refusal(compact(R"({"alg":"RS256","crit":["exp"],"exp":1})", "{}", "x")) ==
        "token header has crit (unsupported)");
  CHECK(refusal(compact(R"({"alg":"ES256","jwk":{"kty":"EC"}})", "{}", "x")) ==
        "token header embeds a jwk (refused)");
  CHECK(refusal(compact(R"({"alg":"RS256","alg":"none"})", "{}", "x")).find("duplicate") !=
        std::string::npos);
  CHECK(refusal(compact(R"({"alg":"none","alg":"RS256"})", "{}", "x")).find("duplicate") !=
        std::string::npos);
  CHECK(refusal(compact(R"({"alg":"RS256","kid":7})", "{}", "x")) == "token kid is not a string");
  CHECK(refusal(compact(R"({"alg":"RS256","typ":null})", "{}", "x")) ==
        "token typ is not a string");
  CHECK(refusal(compact(R"(["alg","RS256"])", "{}", "x")) == "token header is not a JSON object");
  // jku/x5u are never fetched; their presence alone does not refuse.
  const Jws jws = parsed(compact(R"({"alg":"RS256","jku":"https://evil/","kid":""})", "{}", "x"));
  CHECK(jws.kid == "");
  CHECK(jws.header.root().get("jku").string() == "https://evil/");
}

TEST_CASE("jws: shape and size of the compact form", "[jose]") {
  const std::string ok = compact(R"({"alg":"RS256"})", "{}", "sig");
  CHECK(parseCompact(ok, nullptr));
  CHECK(refusal(ok.substr(0, ok.rfind('.'))) ==
        "token is not three base64url parts separated by dots");
  CHECK(refusal(ok + ".x") == "token is not three base64url parts separated by dots");
  CHECK(refusal(ok + "=") == "token signature is not base64url");
  CHECK(refusal("=" + ok) == "token header is not base64url");
  CHECK(refusal(compact(R"({"alg":"RS256"})", "{}", "")) == "token signature is empty");
  CHECK(refusal("") == "token is not three base64url parts separated by dots");
  CHECK(refusal("..") == "token header: truncated JSON at byte 0");

  const std::string big = compact(R"({"alg":"RS256"})", std::string(13000, 'p'), "sig");
  REQUIRE(big.size() > kDefaultMaxJwsBytes);
  CHECK(refusal(big) == "token longer than 16384 bytes");
  std::string error;
  CHECK(parseCompact(big, &error, big.size()));
  CHECK_FALSE(parseCompact(ok, &error, ok.size() - 1));
  // A deeply nested header is refused by the reader's bound.
  const std::string deep =
      R"({"alg":"RS256","x":)" + std::string(20, '[') + std::string(20, ']') + "}";
  CHECK(refusal(compact(deep, "{}", "x")).find("nested deeper") != std::string::npos);
}

TEST_CASE("jws: sign refuses a header that does not name its alg, and a mismatched key", "[jose]") {
  EvpPkeyPtr ec = generateEc();
  std::string error;
  CHECK_FALSE(sign(Alg::kES256, ec.get(), R"({"alg":"RS256"})", "{}", &error));
  CHECK_FALSE(sign(Alg::kES256, ec.get(), R"({"typ":"JWT"})", "{}", &error));
  CHECK_FALSE(sign(Alg::kES256, ec.get(), "not json", "{}", &error));
  CHECK_FALSE(sign(Alg::kEdDSA, ec.get(), R"({"alg":"EdDSA"})", "{}", &error));
  CHECK(error == "signing key does not fit EdDSA");
  EvpPkeyPtr p384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  CHECK_FALSE(sign(Alg::kES256, p384.get(), R"({"alg":"ES256"})", "{}", &error));
}
