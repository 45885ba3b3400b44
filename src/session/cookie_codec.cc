#include "sesame/session/cookie_codec.h"

#include <openssl/crypto.h>
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

std::span<const unsigned char> bytesOf(std::string_view text) {
  return {reinterpret_cast<const unsigned char*>(text.data()), text.size()};
}

std::array<unsigned char, kTagLength> csrfTag(const HmacSha256& mac, std::string_view binding) {
  return mac.tag(bytesOf(kCsrfLabel), bytesOf(binding));
}

Sha256Digest labelledHash(std::string_view label, const SessionId& id) {
  return sha256(bytesOf(label), id.bytes);
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
    std::array<unsigned char, kTagLength> key = HmacSha256(bytesOf(secret)).tag(bytesOf(kKeyLabel));
    macs_.emplace_back(key);
    OPENSSL_cleanse(key.data(), key.size());
  }
}

CookieCodec::~CookieCodec() = default;

CookieCodec::CookieCodec(const CookieCodec& other) = default;

CookieCodec::CookieCodec(CookieCodec&&) noexcept = default;

std::string CookieCodec::encode(const SessionId& id) const {
  std::array<unsigned char, kBlobLength> blob{};
  blob[0] = kVersion;
  std::memcpy(blob.data() + 1, id.bytes.data(), id.bytes.size());
  const auto tag = macs_[0].tag(std::span(blob).first(1 + id.bytes.size()));
  std::memcpy(blob.data() + 1 + id.bytes.size(), tag.data(), tag.size());
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
  for (const HmacSha256& mac : macs_) {
    const auto expected = mac.tag(std::span(blob).first(1 + sizeof(SessionId::bytes)));
    ok |= CRYPTO_memcmp(expected.data(), tag, kTagLength) == 0;
  }
  if (!ok) return std::nullopt;
  SessionId id;
  std::memcpy(id.bytes.data(), blob.data() + 1, id.bytes.size());
  return id;
}

std::string CookieCodec::csrfToken(std::string_view binding) const {
  return base64urlEncode(csrfTag(macs_[0], binding));
}

bool CookieCodec::verifyCsrfToken(std::string_view binding, std::string_view token) const {
  std::array<unsigned char, kTagLength> sent{};
  if (!base64urlDecodeInto(token, sent)) return false;
  bool ok = false;
  for (const HmacSha256& mac : macs_) {
    std::array<unsigned char, kTagLength> expected = csrfTag(mac, binding);
    ok |= CRYPTO_memcmp(expected.data(), sent.data(), kTagLength) == 0;
  }
  return ok;
}

std::string CookieCodec::storeKey(const SessionId& id) {
  std::string out;
  storeKey(id, out);
  return out;
}

void CookieCodec::storeKey(const SessionId& id, std::string& out) {
  const Sha256Digest h = labelledHash(kStoreLabel, id);
  base64urlAssign(out, h);
}

std::string CookieCodec::handle(const SessionId& id) {
  const Sha256Digest h = labelledHash(kHandleLabel, id);
  return base64urlEncode(std::span(h).first(kHandleLength * 6 / 8));
}

bool CookieCodec::isHandle(std::string_view text) {
  // 12 characters spell 9 bytes exactly: no unused bits to check.
  static_assert(kHandleLength % 4 == 0);
  std::array<unsigned char, kHandleLength * 6 / 8> bytes{};
  return base64urlDecodeInto(text, bytes);
}

}  // namespace sesame::session
