#include "sesame/jose/jwk.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <bit>
#include <utility>

#include "openssl_key.h"
#include "sesame/base/base64url.h"
#include "sesame/base/json.h"
#include "sesame/base/json_reader.h"

namespace sesame::jose {

namespace {

enum class Outcome { kKey, kSkip, kRefuse };

Outcome refuse(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return Outcome::kRefuse;
}

// RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2 ("d"); "k" is a symmetric
// key (§6.4), which has no business in a published key set either.
constexpr std::string_view kPrivateMembers[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};

EvpPkeyPtr fromPublicData(const char* type, OSSL_PARAM* params) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) != 1)
    return nullptr;
  return EvpPkeyPtr(raw);
}

// Big-endian bytes with leading zeros removed, in the machine's order,
// which is what OSSL_PARAM_construct_BN expects.
std::string nativeUnsigned(std::string big_endian) {
  const size_t first = big_endian.find_first_not_of('\0');
  big_endian.erase(0, first == std::string::npos ? big_endian.size() : first);
  if constexpr (std::endian::native == std::endian::little)
    std::reverse(big_endian.begin(), big_endian.end());
  return big_endian;
}

Outcome readRsa(json::Value v, Jwk* out, std::string* error) {
  const auto n_text = v.get("n").string();
  const auto e_text = v.get("e").string();
  if (!n_text || !e_text) return refuse(error, "RSA JWK needs string members n and e");
  auto n = base64urlDecode(*n_text);
  auto e = base64urlDecode(*e_text);
  if (!n || !e) return refuse(error, "RSA JWK n or e is not base64url");
  std::string n_native = nativeUnsigned(std::move(*n));
  std::string e_native = nativeUnsigned(std::move(*e));
  // Sized before OpenSSL sees it: the modulus bound is also a CPU bound.
  const size_t max_bytes = kMaxRsaBits / 8;
  if (n_native.size() * 8 < static_cast<size_t>(kMinRsaBits) - 7 || n_native.size() > max_bytes)
    return refuse(error, "RSA JWK modulus is not between 2048 and 8192 bits");
  if (e_native.empty() || e_native.size() > 8) return refuse(error, "RSA JWK exponent is invalid");
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_RSA_N,
                              reinterpret_cast<unsigned char*>(n_native.data()), n_native.size()),
      OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_RSA_E,
                              reinterpret_cast<unsigned char*>(e_native.data()), e_native.size()),
      OSSL_PARAM_construct_end()};
  out->key = fromPublicData("RSA", params);
  if (!out->key) return refuse(error, "RSA JWK is not a valid public key");
  if (keyTypeOf(out->key.get()) != KeyType::kRsa)
    return refuse(error, "RSA JWK modulus is not between 2048 and 8192 bits");
  out->type = KeyType::kRsa;
  return Outcome::kKey;
}

Outcome readEc(json::Value v, Jwk* out, std::string* error) {
  if (v.get("crv").string() != "P-256") return Outcome::kSkip;
  const auto x = v.get("x").string();
  const auto y = v.get("y").string();
  if (!x || !y) return refuse(error, "EC JWK needs string members x and y");
  // RFC 7518 §6.2.1.2: x and y are the full 32 bytes each.
  std::array<unsigned char, 65> point{};
  point[0] = 0x04;  // uncompressed (SEC 1 §2.3.3)
  if (!base64urlDecodeInto(*x, std::span(point).subspan(1, 32)) ||
      !base64urlDecodeInto(*y, std::span(point).subspan(33, 32)))
    return refuse(error, "EC JWK x or y is not 32 bytes of base64url");
  char group[] = "prime256v1";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  out->key = fromPublicData("EC", params);
  // A point off the curve is the invalid-curve attack's raw material; the
  // import refuses it, and the explicit check says so independently of
  // the OpenSSL version.
  bool valid = static_cast<bool>(out->key);
  if (valid) {
    EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, out->key.get(), nullptr));
    valid = check && EVP_PKEY_public_check(check.get()) == 1;
  }
  if (!valid) return refuse(error, "EC JWK is not a point on P-256");
  out->type = KeyType::kEcP256;
  return Outcome::kKey;
}

Outcome readOkp(json::Value v, Jwk* out, std::string* error) {
  if (v.get("crv").string() != "Ed25519") return Outcome::kSkip;
  const auto x = v.get("x").string();
  std::array<unsigned char, 32> raw{};
  if (!x || !base64urlDecodeInto(*x, raw))
    return refuse(error, "Ed25519 JWK x is not 32 bytes of base64url");
  out->key.reset(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size()));
  if (!out->key) return refuse(error, "Ed25519 JWK is not a valid public key");
  out->type = KeyType::kEd25519;
  return Outcome::kKey;
}

Outcome readJwk(json::Value v, Jwk* out, std::string* error) {
  if (!v.isObject()) return refuse(error, "JWK is not a JSON object");
  for (std::string_view name : kPrivateMembers)
    if (v.get(name).exists()) return refuse(error, "JWK carries private key material");
  const auto kty = v.get("kty").string();
  if (!kty) return refuse(error, "JWK has no kty string");
  const json::Value kid = v.get("kid");
  if (kid.exists() && !kid.isString()) return refuse(error, "JWK kid is not a string");
  const json::Value use = v.get("use");
  if (use.exists() && !use.isString()) return refuse(error, "JWK use is not a string");
  if (use.exists() && use.string() != "sig") return Outcome::kSkip;
  const json::Value alg = v.get("alg");
  if (alg.exists() && !alg.isString()) return refuse(error, "JWK alg is not a string");
  if (alg.exists()) {
    out->alg = algFromName(*alg.string());
    // RSA-OAEP, HS256, ES384...: a key for something we never verify.
    if (!out->alg) return Outcome::kSkip;
  }
  Outcome outcome = Outcome::kSkip;
  if (*kty == "RSA") {
    outcome = readRsa(v, out, error);
  } else if (*kty == "EC") {
    outcome = readEc(v, out, error);
  } else if (*kty == "OKP") {
    outcome = readOkp(v, out, error);
  }
  if (outcome != Outcome::kKey) return outcome;
  if (out->alg && keyTypeFor(*out->alg) != out->type)
    return refuse(error, "JWK alg does not fit its key type");
  out->kid = kid.exists() ? std::string(*kid.string()) : std::string();
  return Outcome::kKey;
}

// The RFC 7638 §3.2 required members of a public key, sorted by name.
std::vector<std::pair<std::string_view, std::string>> requiredMembers(const evp_pkey_st* key) {
  const auto type = keyTypeOf(key);
  if (!type) return {};
  if (*type == KeyType::kEd25519) {
    std::array<unsigned char, 32> raw{};
    size_t len = raw.size();
    if (EVP_PKEY_get_raw_public_key(key, raw.data(), &len) != 1 || len != raw.size()) return {};
    return {{"crv", "Ed25519"}, {"kty", "OKP"}, {"x", base64urlEncode(raw)}};
  }
  auto bn = [key](const char* name) {
    BIGNUM* raw = nullptr;
    EVP_PKEY_get_bn_param(key, name, &raw);
    return BignumPtr(raw);
  };
  if (*type == KeyType::kRsa) {
    const BignumPtr n = bn(OSSL_PKEY_PARAM_RSA_N);
    const BignumPtr e = bn(OSSL_PKEY_PARAM_RSA_E);
    if (!n || !e) return {};
    auto bytes = [](const BIGNUM* b) {
      std::string out(static_cast<size_t>(BN_num_bytes(b)), '\0');
      BN_bn2bin(b, reinterpret_cast<unsigned char*>(out.data()));
      return base64urlEncode(out);
    };
    return {{"e", bytes(e.get())}, {"kty", "RSA"}, {"n", bytes(n.get())}};
  }
  const BignumPtr x = bn(OSSL_PKEY_PARAM_EC_PUB_X);
  const BignumPtr y = bn(OSSL_PKEY_PARAM_EC_PUB_Y);
  std::array<unsigned char, 32> xb{}, yb{};
  if (!x || !y || BN_bn2binpad(x.get(), xb.data(), 32) != 32 ||
      BN_bn2binpad(y.get(), yb.data(), 32) != 32)
    return {};
  return {{"crv", "P-256"}, {"kty", "EC"}, {"x", base64urlEncode(xb)}, {"y", base64urlEncode(yb)}};
}

std::string membersJson(const std::vector<std::pair<std::string_view, std::string>>& members) {
  std::string out = "{";
  for (const auto& [name, value] : members) {
    if (out.size() > 1) out += ',';
    out += jsonString(name);
    out += ':';
    out += jsonString(value);
  }
  return out;
}

}  // namespace

const Jwk* KeySet::find(const std::optional<std::string>& kid, Alg alg) const {
  const Jwk* only = nullptr;
  size_t suitable = 0;
  for (const Jwk& k : keys) {
    if (k.type != keyTypeFor(alg) || (k.alg && *k.alg != alg)) continue;
    if (kid) {
      if (k.kid == *kid) return &k;
    } else {
      only = &k;
      ++suitable;
    }
  }
  return suitable == 1 ? only : nullptr;
}

std::optional<KeySet> parseJwks(std::string_view json, std::string* error) {
  const OpensslErrorScope scope;
  std::string why;
  const auto doc = json::parse(json, &why);
  if (!doc) {
    if (error) *error = "JWKS: " + why;
    return std::nullopt;
  }
  const json::Value keys = doc->root().get("keys");
  if (!keys.isArray()) {
    if (error) *error = "JWKS is not an object with a \"keys\" array";
    return std::nullopt;
  }
  if (keys.size() > kMaxJwksKeys) {
    if (error) *error = "JWKS has more than " + std::to_string(kMaxJwksKeys) + " keys";
    return std::nullopt;
  }
  KeySet set;
  for (size_t i = 0; i < keys.size(); ++i) {
    Jwk jwk;
    switch (readJwk(keys.at(i), &jwk, &why)) {
      case Outcome::kKey:
        set.keys.push_back(std::move(jwk));
        break;
      case Outcome::kSkip:
        ++set.skipped;
        break;
      case Outcome::kRefuse:
        if (error) *error = "JWKS key " + std::to_string(i) + ": " + why;
        return std::nullopt;
    }
  }
  return set;
}

std::optional<Jwk> parseJwk(std::string_view json, std::string* error) {
  const OpensslErrorScope scope;
  std::string why;
  const auto doc = json::parse(json, &why);
  if (!doc) {
    if (error) *error = "JWK: " + why;
    return std::nullopt;
  }
  Jwk jwk;
  switch (readJwk(doc->root(), &jwk, &why)) {
    case Outcome::kKey:
      return jwk;
    case Outcome::kSkip:
      if (error) *error = "JWK is not a signature key sesame verifies (RSA, EC P-256, Ed25519)";
      return std::nullopt;
    case Outcome::kRefuse:
      break;
  }
  if (error) *error = why;
  return std::nullopt;
}

std::string thumbprint(const evp_pkey_st* key) {
  const OpensslErrorScope scope;
  const auto members = requiredMembers(key);
  if (members.empty()) return {};
  const std::string canonical = membersJson(members) + "}";
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  if (EVP_Digest(canonical.data(), canonical.size(), digest.data(), &len, EVP_sha256(), nullptr) !=
      1)
    return {};
  return base64urlEncode(std::span(digest.data(), len));
}

std::optional<std::string> publicJwkJson(const evp_pkey_st* key, std::string_view kid,
                                         std::optional<Alg> alg) {
  const OpensslErrorScope scope;
  if (alg && keyTypeOf(key) != keyTypeFor(*alg)) return std::nullopt;
  const auto members = requiredMembers(key);
  if (members.empty()) return std::nullopt;
  std::string out = membersJson(members) + ",\"use\":\"sig\"";
  if (!kid.empty()) out += ",\"kid\":" + jsonString(kid);
  if (alg) out += ",\"alg\":" + jsonString(algName(*alg));
  return out + "}";
}

}  // namespace sesame::jose
