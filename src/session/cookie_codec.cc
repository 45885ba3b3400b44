#include "sesame/session/cookie_codec.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "crypto.h"
#include "sesame/base/base64url.h"

namespace sesame::session {

namespace {

constexpr unsigned char kVersion = 0x01;
constexpr size_t kTagLength = kHmacSha256Length;
constexpr size_t kBlobLength = 1 + sizeof(SessionId::bytes) + kTagLength;
static_assert(CookieCodec::kValueLength == base64urlLength(kBlobLength));

// Labels keep the three uses of an ID (and of a secret) apart: a value
// computed for one purpose is never valid for another.
constexpr std::string_view kKeyLabel = "sesame cookie v1";
constexpr std::string_view kStoreLabel = "sesame store v1";
constexpr std::string_view kHandleLabel = "sesame handle v1";
constexpr std::string_view kCsrfLabel = "sesame csrf v1";

std::array<unsigned char, kTagLength> csrfTag(EVP_MAC_CTX* mac, std::string_view binding) {
  std::string in(kCsrfLabel);
  in.append(binding);
  std::array<unsigned char, kTagLength> tag{};
  hmacSha256(mac, reinterpret_cast<const unsigned char*>(in.data()), in.size(), tag.data());
  return tag;
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

std::string CookieCodec::encode(const SessionId& id) const {
  std::array<unsigned char, kBlobLength> blob{};
  blob[0] = kVersion;
  std::memcpy(blob.data() + 1, id.bytes.data(), id.bytes.size());
  hmacSha256(macs_[0].get(), blob.data(), 1 + id.bytes.size(), blob.data() + 1 + id.bytes.size());
  return base64urlEncode(blob);
}

std::optional<SessionId> CookieCodec::verify(std::string_view value) const {
  // Any length but kValueLength is refused before decoding, into a blob of
  // fixed size: no work or allocation grows with attacker input.
  std::array<unsigned char, kBlobLength> blob{};
  if (!base64urlDecodeInto(value, blob) || blob[0] != kVersion) return std::nullopt;
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

std::string CookieCodec::csrfToken(std::string_view binding) const {
  return base64urlEncode(csrfTag(macs_[0].get(), binding));
}

bool CookieCodec::verifyCsrfToken(std::string_view binding, std::string_view token) const {
  std::array<unsigned char, kTagLength> sent{};
  if (!base64urlDecodeInto(token, sent)) return false;
  bool ok = false;
  for (const Mac& mac : macs_) {
    std::array<unsigned char, kTagLength> expected = csrfTag(mac.get(), binding);
    ok |= CRYPTO_memcmp(expected.data(), sent.data(), kTagLength) == 0;
  }
  return ok;
}

std::string CookieCodec::storeKey(const SessionId& id) {
  const std::array<unsigned char, 32> h = labelledHash(kStoreLabel, id);
  return base64urlEncode(h);
}

std::string CookieCodec::handle(const SessionId& id) {
  const std::array<unsigned char, 32> h = labelledHash(kHandleLabel, id);
  return base64urlEncode(std::span(h).first(kHandleLength * 6 / 8));
}

bool CookieCodec::isHandle(std::string_view text) {
  // 12 characters spell 9 bytes exactly: no unused bits to check.
  static_assert(kHandleLength % 4 == 0);
  std::array<unsigned char, kHandleLength * 6 / 8> bytes{};
  return base64urlDecodeInto(text, bytes);
}

}  // namespace sesame::session
