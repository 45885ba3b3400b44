#include "sesame/jose/jws.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <array>
#include <utility>

#include "openssl_key.h"
#include "sesame/base/base64url.h"

namespace sesame::jose {

namespace {

constexpr size_t kEs256SignatureBytes = 64;  // RFC 7518 §3.4: r || s, 32 bytes each
constexpr int kPssSaltBytes = 32;            // RFC 7518 §3.5: the hash's size
// A header is a handful of flat members; x5c is one array deep.
constexpr size_t kMaxHeaderDepth = 8;

template <typename T>
std::optional<T> failed(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return std::nullopt;
}

bool refused(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return false;
}

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// The short reason for an alg off the allow-list, naming the two attacks by
// their fixed spellings only (the header's text is never echoed).
std::string algRefusal(std::string_view name) {
  if (name == "none") return "alg none refused (unsigned token)";
  if (name == "HS256" || name == "HS384" || name == "HS512")
    return "alg HS256/HS384/HS512 refused (HMAC is never accepted with a public key)";
  return "alg is not one of RS256, PS256, ES256, EdDSA";
}

// Digest context for `alg` over `key`, for signing or verifying.
EvpMdCtxPtr digestContext(Alg alg, EVP_PKEY* key, bool for_signing) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return nullptr;
  // Ed25519 hashes internally (PureEdDSA, RFC 8032 §5.1): no digest here.
  const EVP_MD* md = alg == Alg::kEdDSA ? nullptr : EVP_sha256();
  EVP_PKEY_CTX* pctx = nullptr;
  const int ok = for_signing ? EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, key)
                             : EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key);
  if (ok != 1) return nullptr;
  if (alg == Alg::kPS256 && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
                             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, kPssSaltBytes) <= 0 ||
                             EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) <= 0))
    return nullptr;
  return ctx;
}

// JWS's raw r||s as the DER ECDSA-Sig-Value OpenSSL verifies.
std::optional<std::string> rawToDer(std::string_view raw) {
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BignumPtr r(BN_bin2bn(bytes(raw), 32, nullptr));
  BignumPtr s(BN_bin2bn(bytes(raw) + 32, 32, nullptr));
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return std::nullopt;
  // ECDSA_SIG_set0 took both numbers.
  (void)r.release();
  (void)s.release();
  const int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return std::nullopt;
  std::string der(static_cast<size_t>(len), '\0');
  unsigned char* p = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &p) != len) return std::nullopt;
  return der;
}

// OpenSSL's DER ECDSA-Sig-Value as JWS's raw r||s, each zero-padded to 32.
std::optional<std::string> derToRaw(std::string_view der) {
  const unsigned char* p = bytes(der);
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return std::nullopt;
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(kEs256SignatureBytes, '\0');
  unsigned char* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, 32) != 32 || BN_bn2binpad(s, out + 32, 32) != 32) return std::nullopt;
  return raw;
}

}  // namespace

std::optional<Jws> parseCompact(std::string_view token, std::string* error, size_t max_bytes) {
  if (token.size() > max_bytes)
    return failed<Jws>(error, "token longer than " + std::to_string(max_bytes) + " bytes");
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return failed<Jws>(error, "token is not three base64url parts separated by dots");

  const auto header_text = base64urlDecode(token.substr(0, dot1));
  if (!header_text) return failed<Jws>(error, "token header is not base64url");
  std::string why;
  auto header =
      json::parse(*header_text, {.max_bytes = max_bytes, .max_depth = kMaxHeaderDepth}, &why);
  if (!header) return failed<Jws>(error, "token header: " + why);
  const json::Value h = header->root();
  if (!h.isObject()) return failed<Jws>(error, "token header is not a JSON object");

  const auto alg_name = h.get("alg").string();
  if (!alg_name) return failed<Jws>(error, "token header has no alg string");
  const auto alg = algFromName(*alg_name);
  if (!alg) return failed<Jws>(error, algRefusal(*alg_name));
  // RFC 7515 §4.1.11: a recipient must refuse extensions it does not
  // understand, and we understand none.
  if (h.get("crit").exists()) return failed<Jws>(error, "token header has crit (unsupported)");
  // A key carried by the token itself proves nothing about who signed it.
  if (h.get("jwk").exists()) return failed<Jws>(error, "token header embeds a jwk (refused)");
  const json::Value kid = h.get("kid");
  if (kid.exists() && !kid.isString()) return failed<Jws>(error, "token kid is not a string");
  const json::Value typ = h.get("typ");
  if (typ.exists() && !typ.isString()) return failed<Jws>(error, "token typ is not a string");

  auto payload = base64urlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!payload) return failed<Jws>(error, "token payload is not base64url");
  auto signature = base64urlDecode(token.substr(dot2 + 1));
  if (!signature) return failed<Jws>(error, "token signature is not base64url");
  if (signature->empty()) return failed<Jws>(error, "token signature is empty");

  return Jws{
      .alg = *alg,
      .kid = kid.exists() ? std::optional<std::string>(*kid.string()) : std::nullopt,
      .typ = typ.exists() ? std::optional<std::string>(*typ.string()) : std::nullopt,
      .header = std::move(*header),
      .payload = std::move(*payload),
      .signing_input = std::string(token.substr(0, dot2)),
      .signature = std::move(*signature),
  };
}

bool verify(const Jws& jws, const Jwk& key, std::string* error) {
  const OpensslErrorScope scope;
  // The algorithm comes from the token, so the key decides whether it may
  // be used for it: never an RSA key for ES256, never a key pinned to RS256
  // for PS256.
  if (key.type != keyTypeFor(jws.alg))
    return refused(error, "key type does not fit the token's alg");
  if (key.alg && *key.alg != jws.alg) return refused(error, "key alg differs from the token's");
  if (keyTypeOf(key.key.get()) != key.type)
    return refused(error, "key is not a usable " + std::string(algName(jws.alg)) + " key");

  std::string der;
  std::string_view signature = jws.signature;
  if (jws.alg == Alg::kES256) {
    if (signature.size() != kEs256SignatureBytes)
      return refused(error, "ES256 signature is not 64 bytes");
    auto converted = rawToDer(signature);
    if (!converted) return refused(error, "ES256 signature could not be converted");
    der = std::move(*converted);
    signature = der;
  }
  const EvpMdCtxPtr ctx = digestContext(jws.alg, key.key.get(), false);
  if (!ctx) return refused(error, "signature verification could not start");
  if (EVP_DigestVerify(ctx.get(), bytes(signature), signature.size(), bytes(jws.signing_input),
                       jws.signing_input.size()) != 1)
    return refused(error, "signature does not verify");
  return true;
}

std::optional<std::string> sign(Alg alg, evp_pkey_st* key, std::string_view header_json,
                                std::string_view payload_json, std::string* error) {
  const OpensslErrorScope scope;
  if (keyTypeOf(key) != keyTypeFor(alg))
    return failed<std::string>(error, "signing key does not fit " + std::string(algName(alg)));
  std::string why;
  const auto header = json::parse(header_json, &why);
  if (!header || header->root().get("alg").string() != algName(alg))
    return failed<std::string>(error, "JWS header must be a JSON object with \"alg\":\"" +
                                          std::string(algName(alg)) + "\"");

  std::string out = base64urlEncode(header_json);
  out += '.';
  out += base64urlEncode(payload_json);
  const EvpMdCtxPtr ctx = digestContext(alg, key, true);
  size_t len = 0;
  if (!ctx || EVP_DigestSign(ctx.get(), nullptr, &len, bytes(out), out.size()) != 1)
    return failed<std::string>(error, "signing could not start");
  std::string signature(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                     bytes(out), out.size()) != 1)
    return failed<std::string>(error, "signing failed");
  signature.resize(len);
  if (alg == Alg::kES256) {
    auto raw = derToRaw(signature);
    if (!raw) return failed<std::string>(error, "ES256 signature could not be converted");
    signature = std::move(*raw);
  }
  out += '.';
  out += base64urlEncode(signature);
  return out;
}

}  // namespace sesame::jose
