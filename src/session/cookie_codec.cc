#include "sesame/session/cookie_codec.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace sesame::session {

namespace {

constexpr unsigned char kVersion = 0x01;
constexpr size_t kTagLength = 32;
constexpr size_t kBlobLength = 1 + sizeof(SessionId::bytes) + kTagLength;
static_assert(CookieCodec::kValueLength == (kBlobLength * 8 + 5) / 6);

// Labels keep the three uses of an ID (and of a secret) apart: a value
// computed for one purpose is never valid for another.
constexpr std::string_view kKeyLabel = "sesame cookie v1";
constexpr std::string_view kStoreLabel = "sesame store v1";
constexpr std::string_view kHandleLabel = "sesame handle v1";
constexpr size_t kHandleLength = 12;

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<signed char, 256> makeDecodeTable() {
  std::array<signed char, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i)
    t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<signed char>(i);
  return t;
}
constexpr std::array<signed char, 256> kDecode = makeDecodeTable();

[[noreturn]] void cryptoFailure(const char* what) {
  std::fprintf(stderr, "sesame[fatal]: %s failed; refusing to continue without working crypto\n",
               what);
  std::abort();
}

// RFC 4648 §5 without padding.
std::string base64url(const unsigned char* data, size_t n) {
  std::string out;
  out.reserve((n * 8 + 5) / 6);
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const unsigned v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (n - i == 1) {
    out += kAlphabet[data[i] >> 2];
    out += kAlphabet[(data[i] & 3) << 4];
  } else if (n - i == 2) {
    const unsigned v = (data[i] << 8) | data[i + 1];
    out += kAlphabet[v >> 10];
    out += kAlphabet[(v >> 4) & 63];
    out += kAlphabet[(v & 15) << 2];
  }
  return out;
}

// Decodes exactly kValueLength chars into `blob`. Non-canonical final
// characters (unused low bits set) are refused so that each blob has exactly
// one accepted spelling.
bool decodeValue(std::string_view value, std::array<unsigned char, kBlobLength>& blob) {
  if (value.size() != CookieCodec::kValueLength) return false;
  std::array<unsigned char, CookieCodec::kValueLength> six{};
  for (size_t i = 0; i < value.size(); ++i) {
    const signed char d = kDecode[static_cast<unsigned char>(value[i])];
    if (d < 0) return false;
    six[i] = static_cast<unsigned char>(d);
  }
  size_t o = 0;
  size_t i = 0;
  for (; i + 4 <= six.size(); i += 4) {
    const unsigned v = (six[i] << 18) | (six[i + 1] << 12) | (six[i + 2] << 6) | six[i + 3];
    blob[o++] = static_cast<unsigned char>(v >> 16);
    blob[o++] = static_cast<unsigned char>(v >> 8);
    blob[o++] = static_cast<unsigned char>(v);
  }
  static_assert(CookieCodec::kValueLength % 4 == 3, "two trailing bytes in three characters");
  if ((six[i + 2] & 3) != 0) return false;
  const unsigned v = (six[i] << 10) | (six[i + 1] << 4) | (six[i + 2] >> 2);
  blob[o++] = static_cast<unsigned char>(v >> 8);
  blob[o++] = static_cast<unsigned char>(v);
  return o == kBlobLength;
}

// A fresh HMAC-SHA256 context keyed with `key`; the key bytes are copied
// into OpenSSL, which wipes them when the context is freed.
EVP_MAC_CTX* newHmac(const unsigned char* key, size_t key_len) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) cryptoFailure("EVP_MAC_fetch(HMAC)");
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);  // the context holds its own reference
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  if (ctx == nullptr || EVP_MAC_init(ctx, key, key_len, params) != 1)
    cryptoFailure("HMAC-SHA256 init");
  return ctx;
}

// Computes the MAC on a copy so that `keyed` stays reusable and is only read.
void hmacSha256(const EVP_MAC_CTX* keyed, const unsigned char* data, size_t data_len,
                unsigned char* out) {
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_dup(keyed);
  size_t out_len = 0;
  const bool ok = ctx != nullptr && EVP_MAC_update(ctx, data, data_len) == 1 &&
                  EVP_MAC_final(ctx, out, &out_len, kTagLength) == 1 && out_len == kTagLength;
  EVP_MAC_CTX_free(ctx);
  if (!ok) cryptoFailure("HMAC-SHA256");
}

std::array<unsigned char, 32> labelledHash(std::string_view label, const SessionId& id) {
  std::array<unsigned char, sizeof(id.bytes) + 32> in{};
  std::memcpy(in.data(), label.data(), label.size());
  std::memcpy(in.data() + label.size(), id.bytes.data(), id.bytes.size());
  std::array<unsigned char, 32> out{};
  unsigned int out_len = 0;
  if (EVP_Digest(in.data(), label.size() + id.bytes.size(), out.data(), &out_len, EVP_sha256(),
                 nullptr) != 1 ||
      out_len != out.size())
    cryptoFailure("SHA-256");
  return out;
}

}  // namespace

SessionId SessionId::random() {
  SessionId id;
  if (RAND_bytes(id.bytes.data(), static_cast<int>(id.bytes.size())) != 1)
    cryptoFailure("RAND_bytes");
  return id;
}

std::vector<std::string> CookieCodec::validateSecrets(const std::vector<std::string>& secrets) {
  std::vector<std::string> errors;
  if (secrets.empty())
    errors.push_back("no session secret is configured; at least one is required");
  for (size_t i = 0; i < secrets.size(); ++i) {
    if (secrets[i].size() >= kMinSecretLength) continue;
    errors.push_back(
        "session secret #" + std::to_string(i + 1) + " is " + std::to_string(secrets[i].size()) +
        " bytes long; each secret needs at least " + std::to_string(kMinSecretLength) + " bytes");
  }
  return errors;
}

CookieCodec::CookieCodec(const std::vector<std::string>& secrets) {
  if (!validateSecrets(secrets).empty()) {
    std::fprintf(stderr, "sesame[fatal]: CookieCodec built from unvalidated secrets\n");
    std::abort();
  }
  macs_.reserve(secrets.size());
  for (const std::string& secret : secrets) {
    // HMAC as a PRF keyed by the secret: the raw secret never signs anything,
    // and a key derived for cookies is useless for any other purpose.
    std::array<unsigned char, kTagLength> key{};
    const Mac from_secret(
        newHmac(reinterpret_cast<const unsigned char*>(secret.data()), secret.size()));
    hmacSha256(from_secret.get(), reinterpret_cast<const unsigned char*>(kKeyLabel.data()),
               kKeyLabel.size(), key.data());
    macs_.emplace_back(newHmac(key.data(), key.size()));
    OPENSSL_cleanse(key.data(), key.size());
  }
}

CookieCodec::~CookieCodec() = default;

CookieCodec::CookieCodec(const CookieCodec& other) {
  macs_.reserve(other.macs_.size());
  for (const Mac& mac : other.macs_) {
    macs_.emplace_back(EVP_MAC_CTX_dup(mac.get()));
    if (macs_.back() == nullptr) cryptoFailure("EVP_MAC_CTX_dup");
  }
}

CookieCodec::CookieCodec(CookieCodec&&) noexcept = default;

void CookieCodec::MacFree::operator()(evp_mac_ctx_st* ctx) const noexcept {
  EVP_MAC_CTX_free(ctx);
}

std::string CookieCodec::encode(const SessionId& id) const {
  std::array<unsigned char, kBlobLength> blob{};
  blob[0] = kVersion;
  std::memcpy(blob.data() + 1, id.bytes.data(), id.bytes.size());
  hmacSha256(macs_[0].get(), blob.data(), 1 + id.bytes.size(), blob.data() + 1 + id.bytes.size());
  return base64url(blob.data(), blob.size());
}

std::optional<SessionId> CookieCodec::verify(std::string_view value) const {
  std::array<unsigned char, kBlobLength> blob{};
  if (!decodeValue(value, blob) || blob[0] != kVersion) return std::nullopt;
  const unsigned char* tag = blob.data() + 1 + sizeof(SessionId::bytes);
  // Every key is tried even after a match, so the time taken does not tell
  // an attacker which secret (old or new) a cookie was signed with.
  bool ok = false;
  for (const Mac& mac : macs_) {
    std::array<unsigned char, kTagLength> expected{};
    hmacSha256(mac.get(), blob.data(), 1 + sizeof(SessionId::bytes), expected.data());
    ok |= CRYPTO_memcmp(expected.data(), tag, kTagLength) == 0;
  }
  if (!ok) return std::nullopt;
  SessionId id;
  std::memcpy(id.bytes.data(), blob.data() + 1, id.bytes.size());
  return id;
}

std::string CookieCodec::storeKey(const SessionId& id) {
  const std::array<unsigned char, 32> h = labelledHash(kStoreLabel, id);
  return base64url(h.data(), h.size());
}

std::string CookieCodec::handle(const SessionId& id) {
  const std::array<unsigned char, 32> h = labelledHash(kHandleLabel, id);
  return base64url(h.data(), kHandleLength * 6 / 8);
}

}  // namespace sesame::session
