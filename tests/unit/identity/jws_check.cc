#include "jws_check.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <stdexcept>

#include "sesame/base/base64url.h"

namespace identity_test {
namespace {

void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test setup failed: ") + what);
}

}  // namespace

std::string pemOf(const sesame::EvpPkeyPtr& key) {
  sesame::BioPtr bio(BIO_new(BIO_s_mem()));
  require(bio && PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                          nullptr) == 1,
          "PEM_write_bio_PrivateKey");
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string generatePem(const std::string& type, const std::string& curve) {
  sesame::EvpPkeyPtr key;
  if (type == "EC") {
    key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve.c_str()));
  } else if (type == "RSA") {
    key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)));
  } else {
    key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, type.c_str()));
  }
  require(key != nullptr, "EVP_PKEY_Q_keygen");
  return pemOf(key);
}

JsonPtr parseJson(std::string_view text) {
  json_error_t error;
  return JsonPtr(json_loadb(text.data(), text.size(), JSON_REJECT_DUPLICATES, &error));
}

std::optional<DecodedJws> decodeJws(std::string_view token) {
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return std::nullopt;
  auto header = sesame::base64urlDecode(token.substr(0, dot1));
  auto payload = sesame::base64urlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  auto signature = sesame::base64urlDecode(token.substr(dot2 + 1));
  if (!header || !payload || !signature) return std::nullopt;
  DecodedJws out{std::string(token.substr(0, dot2)), parseJson(*header), parseJson(*payload),
                 std::move(*signature)};
  if (!out.header || !out.payload) return std::nullopt;
  return out;
}

std::string stringMember(const json_t* object, const char* name) {
  const json_t* v = json_object_get(object, name);
  return json_is_string(v) ? json_string_value(v) : "";
}

sesame::EvpPkeyPtr publicKeyFromJwk(const json_t* jwk) {
  const std::string kty = stringMember(jwk, "kty");
  const std::string crv = stringMember(jwk, "crv");
  auto x = sesame::base64urlDecode(stringMember(jwk, "x"));
  if (!x) return nullptr;
  if (kty == "OKP" && crv == "Ed25519") {
    return sesame::EvpPkeyPtr(EVP_PKEY_new_raw_public_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(x->data()), x->size()));
  }
  auto y = sesame::base64urlDecode(stringMember(jwk, "y"));
  if (kty != "EC" || crv != "P-256" || !y || x->size() != 32 || y->size() != 32) return nullptr;
  // SEC 1 §2.3.3 uncompressed point: 0x04 || X || Y.
  std::string point = "\x04" + *x + *y;
  char group[] = "P-256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  sesame::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, const_cast<OSSL_PARAM*>(params)) != 1)
    return nullptr;
  return sesame::EvpPkeyPtr(key);
}

bool verifyJwsSignature(const std::string& alg, const sesame::EvpPkeyPtr& key,
                        std::string_view input, std::string_view signature) {
  std::string der;
  const EVP_MD* md = nullptr;
  if (alg == "ES256") {
    if (signature.size() != 64) return false;
    // RFC 7518 §3.4 R || S back to the DER ECDSA-Sig-Value OpenSSL verifies.
    const auto* raw = reinterpret_cast<const unsigned char*>(signature.data());
    sesame::EcdsaSigPtr sig(ECDSA_SIG_new());
    sesame::BignumPtr r(BN_bin2bn(raw, 32, nullptr));
    sesame::BignumPtr s(BN_bin2bn(raw + 32, 32, nullptr));
    if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return false;
    // ECDSA_SIG_set0 took ownership of both numbers.
    (void)r.release();
    (void)s.release();
    unsigned char* out = nullptr;
    const int len = i2d_ECDSA_SIG(sig.get(), &out);
    if (len <= 0) return false;
    der.assign(reinterpret_cast<const char*>(out), static_cast<size_t>(len));
    sesame::opensslFree(out);
    signature = der;
    md = EVP_sha256();
  } else if (alg != "EdDSA") {
    return false;
  }
  sesame::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  return ctx && key && EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                          input.size()) == 1;
}

bool verifyWithJwks(std::string_view token, std::string_view jwks_json) {
  auto jws = decodeJws(token);
  JsonPtr jwks = parseJson(jwks_json);
  if (!jws || !jwks) return false;
  const std::string kid = stringMember(jws->header.get(), "kid");
  const std::string alg = stringMember(jws->header.get(), "alg");
  size_t i;
  json_t* jwk;
  json_array_foreach(json_object_get(jwks.get(), "keys"), i, jwk) {
    if (stringMember(jwk, "kid") != kid) continue;
    if (stringMember(jwk, "alg") != alg) return false;
    return verifyJwsSignature(alg, publicKeyFromJwk(jwk), jws->signing_input, jws->signature);
  }
  return false;
}

}  // namespace identity_test
