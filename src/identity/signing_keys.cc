#include "sesame/identity/signing_keys.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>

#include "sesame/base/base64url.h"
#include "sesame/base/json.h"

namespace sesame::identity {
namespace {

constexpr size_t kP256Bytes = 32;  // a coordinate, r or s (RFC 7518 §3.4, §6.2.1.2)
constexpr size_t kEd25519Bytes = 32;
constexpr size_t kSignatureBytes = 64;  // ES256 R || S and Ed25519 alike
// A P-256 or Ed25519 PEM key is a few hundred bytes; a limit keeps a path
// mistyped as a log file or a certificate bundle from being parsed whole.
constexpr size_t kMaxPemBytes = 64 * 1024;

[[noreturn]] void cryptoFailure(const char* what) {
  std::fprintf(stderr,
               "sesame[fatal]: %s failed; refusing to forward an identity without a signature\n",
               what);
  std::abort();
}

// Never prompt on the terminal for a passphrase: a daemon has none to give.
int noPassphrase(char*, int, int, void*) {
  return -1;
}

// The oldest queued OpenSSL reason (the root cause), emptying the queue.
std::string takeOpenSslError() {
  unsigned long e = ERR_peek_error();
  const char* reason = e != 0 ? ERR_reason_error_string(e) : nullptr;
  std::string out = reason != nullptr ? reason : "unknown error";
  ERR_clear_error();
  return out;
}

constexpr std::string_view kUseInstead =
    "; assertion keys must be EC P-256 (ES256) or Ed25519 (EdDSA), for example from "
    "`openssl genpkey -algorithm ed25519`";

struct Parsed {
  EvpPkeyPtr key;
  std::string error;
};

Parsed parsePem(const KeyText& text) {
  Parsed out;
  if (text.pem.size() > kMaxPemBytes) {
    out.error = text.name + ": larger than 64 KiB; is this the right file?";
    return out;
  }
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(text.pem.data(), static_cast<int>(text.pem.size())));
  if (bio) out.key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, nullptr));
  if (out.key) {
    ERR_clear_error();
    return out;
  }
  // OpenSSL 3's decoders report "unsupported" for text with no key at all,
  // so tell the operator's likely mistakes apart from the text itself.
  if (text.pem.find("ENCRYPTED") != std::string::npos) {
    out.error = text.name +
                ": private key is encrypted; sesame needs an unencrypted key "
                "(protect it with file permissions)";
  } else if (text.pem.find("PRIVATE KEY-----") == std::string::npos) {
    out.error = text.name +
                ": no PEM private key found (expected \"-----BEGIN PRIVATE KEY-----\"; "
                "a public key or a certificate cannot sign)";
  } else {
    out.error = text.name + ": malformed private key: " + takeOpenSslError();
  }
  ERR_clear_error();
  return out;
}

std::string bignumBytes(const EVP_PKEY* key, const char* param) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, param, &raw) != 1) cryptoFailure("EVP_PKEY_get_bn_param");
  const BignumPtr bn(raw);
  std::string out(kP256Bytes, '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), kP256Bytes) < 0)
    cryptoFailure("BN_bn2binpad(P-256 coordinate)");
  return out;
}

// Public JWK members in the order the JWKS shows them; the thumbprint sorts
// its own copy.
struct PublicJwk {
  Algorithm algorithm;
  std::string kty, crv, x, y;  // y: EC only
};

std::optional<PublicJwk> publicJwk(const KeyText& text, const EVP_PKEY* key, std::string& error) {
  const int type = EVP_PKEY_get_base_id(key);
  if (type == EVP_PKEY_ED25519) {
    std::array<unsigned char, kEd25519Bytes> raw{};
    size_t len = raw.size();
    if (EVP_PKEY_get_raw_public_key(key, raw.data(), &len) != 1 || len != raw.size())
      cryptoFailure("EVP_PKEY_get_raw_public_key(Ed25519)");
    return PublicJwk{Algorithm::kEdDsa, "OKP", "Ed25519", base64urlEncode(raw), ""};
  }
  if (type == EVP_PKEY_EC) {
    char curve[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(key, curve, sizeof curve, &len) != 1) {
      error = text.name + ": EC key with explicit curve parameters is not supported" +
              std::string(kUseInstead);
      return std::nullopt;
    }
    if (std::string_view(curve, len) != SN_X9_62_prime256v1) {
      error = text.name + ": EC curve " + std::string(curve, len) + " is not supported" +
              std::string(kUseInstead);
      return std::nullopt;
    }
    return PublicJwk{Algorithm::kEs256, "EC", "P-256",
                     base64urlEncode(bignumBytes(key, OSSL_PKEY_PARAM_EC_PUB_X)),
                     base64urlEncode(bignumBytes(key, OSSL_PKEY_PARAM_EC_PUB_Y))};
  }
  const char* name = EVP_PKEY_get0_type_name(key);
  error = text.name + ": key type " + (name != nullptr ? name : "unknown") + " is not supported" +
          std::string(kUseInstead);
  return std::nullopt;
}

std::string thumbprintOf(const PublicJwk& jwk) {
  if (jwk.algorithm == Algorithm::kEdDsa) {
    const JwkMember members[] = {{"crv", jwk.crv}, {"kty", jwk.kty}, {"x", jwk.x}};
    return jwkThumbprint(members);
  }
  const JwkMember members[] = {{"crv", jwk.crv}, {"kty", jwk.kty}, {"x", jwk.x}, {"y", jwk.y}};
  return jwkThumbprint(members);
}

std::string jwkJson(const PublicJwk& jwk, const std::string& kid) {
  std::string out = "{\"kty\":" + jsonString(jwk.kty) + ",\"crv\":" + jsonString(jwk.crv) +
                    ",\"x\":" + jsonString(jwk.x);
  if (!jwk.y.empty()) out += ",\"y\":" + jsonString(jwk.y);
  out += ",\"kid\":" + jsonString(kid) +
         ",\"use\":\"sig\",\"alg\":" + jsonString(algorithmName(jwk.algorithm)) + "}";
  return out;
}

// RFC 7518 §3.4: JWS carries R || S as fixed-width big-endian integers, not
// the DER SEQUENCE OpenSSL produces; leading zero bytes are kept.
std::string rawEcdsaSignature(const unsigned char* der, size_t der_len) {
  const unsigned char* p = der;
  const EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
  if (sig == nullptr) cryptoFailure("d2i_ECDSA_SIG");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string out(kSignatureBytes, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(r, bytes, kP256Bytes) < 0 || BN_bn2binpad(s, bytes + kP256Bytes, kP256Bytes) < 0)
    cryptoFailure("BN_bn2binpad(ECDSA signature)");
  return out;
}

}  // namespace

std::string_view algorithmName(Algorithm algorithm) {
  return algorithm == Algorithm::kEs256 ? "ES256" : "EdDSA";
}

std::string jwkThumbprint(std::span<const JwkMember> members) {
  std::vector<JwkMember> sorted(members.begin(), members.end());
  std::sort(sorted.begin(), sorted.end(),
            [](const JwkMember& a, const JwkMember& b) { return a.name < b.name; });
  std::string json = "{";
  for (const JwkMember& m : sorted) {
    if (json.size() > 1) json += ',';
    json += jsonString(m.name) + ':' + jsonString(m.value);
  }
  json += '}';
  std::array<unsigned char, 32> digest{};
  unsigned int len = 0;
  if (EVP_Digest(json.data(), json.size(), digest.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != digest.size())
    cryptoFailure("SHA-256");
  return base64urlEncode(digest);
}

SigningKeys::LoadResult SigningKeys::load(std::span<const KeyText> texts) {
  LoadResult result;
  if (texts.empty()) {
    result.error = "no assertion key given: at least one EC P-256 or Ed25519 private key is needed";
    return result;
  }
  SigningKeys loaded;
  std::vector<const std::string*> names;
  for (const KeyText& text : texts) {
    Parsed parsed = parsePem(text);
    if (!parsed.key) {
      result.error = std::move(parsed.error);
      return result;
    }
    std::optional<PublicJwk> jwk = publicJwk(text, parsed.key.get(), result.error);
    if (!jwk) return result;
    std::string kid = thumbprintOf(*jwk);
    for (size_t i = 0; i < loaded.keys_.size(); ++i) {
      if (loaded.keys_[i].kid == kid) {
        result.error = text.name + ": the same key as " + *names[i] + " (kid " + kid + ")";
        return result;
      }
    }
    std::string json = jwkJson(*jwk, kid);
    loaded.keys_.push_back(
        Key{jwk->algorithm, std::move(kid), std::move(json), std::move(parsed.key)});
    names.push_back(&text.name);
  }
  loaded.jwks_json_ = "{\"keys\":[";
  for (const Key& key : loaded.keys_) {
    if (&key != &loaded.keys_.front()) loaded.jwks_json_ += ',';
    loaded.jwks_json_ += key.public_jwk;
  }
  loaded.jwks_json_ += "]}";
  result.keys = std::move(loaded);
  return result;
}

std::string SigningKeys::signature(std::string_view signing_input) const {
  const Key& key = signingKey();
  const EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  // Ed25519 hashes internally (PureEdDSA, RFC 8032 §5.1): no digest is named.
  const EVP_MD* md = key.algorithm == Algorithm::kEs256 ? EVP_sha256() : nullptr;
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key.private_key.get()) != 1)
    cryptoFailure("EVP_DigestSignInit");
  // DER ECDSA-Sig-Value for P-256 is at most 72 bytes.
  std::array<unsigned char, 80> sig{};
  size_t len = sig.size();
  const auto* input = reinterpret_cast<const unsigned char*>(signing_input.data());
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, input, signing_input.size()) != 1)
    cryptoFailure("EVP_DigestSign");
  if (key.algorithm == Algorithm::kEs256) return rawEcdsaSignature(sig.data(), len);
  if (len != kSignatureBytes) cryptoFailure("Ed25519 signature length");
  return std::string(reinterpret_cast<const char*>(sig.data()), len);
}

}  // namespace sesame::identity
