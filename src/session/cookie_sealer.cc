#include "sesame/session/cookie_sealer.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "crypto.h"
#include "sesame/base/base64url.h"
#include "sesame/session/control_headers.h"
#include "sesame/session/cookie_codec.h"
#include "sesame/session/memory_store.h"

namespace sesame::session {

namespace {

constexpr unsigned char kVersion = 0x02;
constexpr unsigned char kVersionWithoutLogin = 0x01;  // opened, never sealed
constexpr size_t kNonceLength = 24;
constexpr size_t kKeyNonceLength = 12;  // nonce[0..12) picks the message key
constexpr size_t kIvLength = kNonceLength - kKeyNonceLength;
constexpr size_t kTagLength = 16;
constexpr size_t kKeyLength = 32;
constexpr size_t kOverhead = 1 + kNonceLength + kTagLength;
constexpr size_t kFixedPlaintextV1 = 3 * 8 + 3 * 2;  // times, user length, two counts
// Then the nonce, method and address lengths (u8) and the agent's (u16).
constexpr size_t kFixedPlaintext = kFixedPlaintextV1 + 3 + 2;
constexpr size_t kMaxKeyBytes = 64;
static_assert(CookieSealer::kMaxFields == MemoryStore::kMaxFields,
              "the cookie store bounds data as the memory store does");

constexpr std::string_view kSalt = "sesame cookie store v1";
constexpr std::string_view kInfo = "aes-256-gcm message keys";

static_assert(CookieSealer::kMinValueBytes == base64urlLength(kOverhead + kFixedPlaintext));
constexpr size_t kMinValueBytesV1 = base64urlLength(kOverhead + kFixedPlaintextV1);
static_assert(LoginInfo::kMaxMethodBytes <= 0xff && LoginInfo::kMaxAddressBytes <= 0xff,
              "method and address have u8 lengths");
static_assert(kKeyLength == kHmacSha256Length, "message keys are HMAC-SHA256 outputs");

bool isControl(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

bool freeOfControls(std::string_view s) {
  return std::none_of(s.begin(), s.end(),
                      [](char c) { return isControl(static_cast<unsigned char>(c)); });
}

bool isCanonicalKey(std::string_view key) {
  return isValidDataKey(key) && canonicalDataKey(key) == key;
}

bool isNonce(std::string_view nonce) {
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  return nonce.empty() || (nonce.size() == CookieSealer::kNonceChars &&
                           nonce.find_first_not_of(kAlphabet) == std::string_view::npos);
}

bool isLoginText(std::string_view text, size_t max) {
  return text.size() <= max && freeOfControls(text);
}

size_t plaintextSize(const Session& session) {
  size_t n = kFixedPlaintext + session.user.size();
  for (const std::string& group : session.groups) n += 2 + group.size();
  for (const auto& [key, value] : session.data) n += 1 + key.size() + 2 + value.size();
  return n + session.nonce.size() + session.method.size() + session.address.size() +
         session.agent.size();
}

void putU16(std::string& out, size_t v) {
  out += static_cast<char>((v >> 8) & 0xff);
  out += static_cast<char>(v & 0xff);
}

void putTime(std::string& out, TimePoint t) {
  const auto v = static_cast<uint64_t>(t);
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

std::string serialise(const Session& session) {
  std::string out;
  out.reserve(plaintextSize(session));
  putTime(out, session.created);
  putTime(out, session.login);
  putTime(out, session.touched);
  putU16(out, session.user.size());
  out += session.user;
  putU16(out, session.groups.size());
  for (const std::string& group : session.groups) {
    putU16(out, group.size());
    out += group;
  }
  putU16(out, session.data.size());
  for (const auto& [key, value] : session.data) {
    out += static_cast<char>(key.size());
    out += key;
    putU16(out, value.size());
    out += value;
  }
  for (const std::string* text : {&session.nonce, &session.method, &session.address}) {
    out += static_cast<char>(text->size());
    out += *text;
  }
  putU16(out, session.agent.size());
  out += session.agent;
  return out;
}

// Bounds-checked reads from the plaintext; any read past the end fails the
// whole parse.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool done() const { return in_.empty(); }
  std::optional<size_t> u8() { return number(1); }
  std::optional<size_t> u16() { return number(2); }
  std::optional<TimePoint> time() {
    const auto v = number(8);
    if (!v || *v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<TimePoint>(*v);
  }
  std::optional<std::string_view> bytes(std::optional<size_t> n) {
    if (!n || *n > in_.size()) return std::nullopt;
    std::string_view out = in_.substr(0, *n);
    in_.remove_prefix(*n);
    return out;
  }

 private:
  std::optional<uint64_t> number(size_t width) {
    if (in_.size() < width) return std::nullopt;
    uint64_t v = 0;
    for (size_t i = 0; i < width; ++i) v = (v << 8) | static_cast<unsigned char>(in_[i]);
    in_.remove_prefix(width);
    return v;
  }

  std::string_view in_;
};

// The login details of a version 0x02 plaintext, after the data.
bool parseLogin(Reader& r, Session& s) {
  const auto nonce = r.bytes(r.u8());
  const auto method = r.bytes(r.u8());
  const auto address = r.bytes(r.u8());
  const auto agent = r.bytes(r.u16());
  if (!nonce || !method || !address || !agent || !isNonce(*nonce) ||
      !isLoginText(*method, LoginInfo::kMaxMethodBytes) ||
      !isLoginText(*address, LoginInfo::kMaxAddressBytes) ||
      !isLoginText(*agent, LoginInfo::kMaxAgentBytes))
    return false;
  s.nonce = *nonce;
  s.method = *method;
  s.address = *address;
  s.agent = *agent;
  return true;
}

std::optional<Session> parse(std::string_view plaintext, unsigned char version) {
  Reader r(plaintext);
  Session s;
  const auto created = r.time();
  const auto login = r.time();
  const auto touched = r.time();
  const auto user = r.bytes(r.u16());
  if (!created || !login || !touched || !user || !freeOfControls(*user)) return std::nullopt;
  s.created = *created;
  s.login = *login;
  s.touched = *touched;
  s.user = *user;
  const auto groups = r.u16();
  if (!groups || *groups > CookieSealer::kMaxGroups) return std::nullopt;
  for (size_t i = 0; i < *groups; ++i) {
    const auto group = r.bytes(r.u16());
    if (!group || group->empty() || !freeOfControls(*group)) return std::nullopt;
    s.groups.emplace_back(*group);
  }
  const auto fields = r.u16();
  if (!fields || *fields > CookieSealer::kMaxFields) return std::nullopt;
  for (size_t i = 0; i < *fields; ++i) {
    const auto key = r.bytes(r.u8());
    const auto value = r.bytes(r.u16());
    if (!key || !value || !isCanonicalKey(*key) || !freeOfControls(*value)) return std::nullopt;
    // Strictly ascending: no duplicates and one encoding per session.
    if (!s.data.empty() && s.data.rbegin()->first >= *key) return std::nullopt;
    s.data.emplace_hint(s.data.end(), std::string(*key), std::string(*value));
  }
  if (version == kVersion && !parseLogin(r, s)) return std::nullopt;
  if (!r.done()) return std::nullopt;
  return s;
}

// HKDF-SHA256 (RFC 5869) of one secret.
std::array<unsigned char, kKeyLength> masterKey(const std::string& secret) {
  // The context holds its own reference to the algorithm.
  const EvpKdfPtr kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (kdf == nullptr) cryptoFailure("EVP_KDF_fetch(HKDF)");
  const EvpKdfCtxPtr ctx(EVP_KDF_CTX_new(kdf.get()));
  char digest[] = "SHA256";
  std::string ikm = secret;
  std::string salt(kSalt);
  std::string info(kInfo);
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, ikm.data(), ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt.data(), salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
      OSSL_PARAM_construct_end()};
  std::array<unsigned char, kKeyLength> key{};
  const bool ok = ctx != nullptr && EVP_KDF_derive(ctx.get(), key.data(), key.size(), params) == 1;
  OPENSSL_cleanse(ikm.data(), ikm.size());
  if (!ok) cryptoFailure("HKDF-SHA256");
  return key;
}

// The key of the message with this nonce; the caller wipes it.
std::array<unsigned char, kKeyLength> messageKey(const HmacSha256& master, const char* nonce) {
  static_assert(kKeyLength == kHmacSha256Length);
  return master.tag({reinterpret_cast<const unsigned char*>(nonce), kKeyNonceLength});
}

using CipherCtx = EvpCipherCtxPtr;

// A GCM context keyed for the message with `nonce`, the AAD already fed.
CipherCtx gcmFor(const EVP_CIPHER* cipher, const HmacSha256& master, const char* nonce,
                 const std::string& aad, bool encrypt) {
  std::array<unsigned char, kKeyLength> key = messageKey(master, nonce);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  const auto* iv = reinterpret_cast<const unsigned char*>(nonce + kKeyNonceLength);
  const bool ok =
      ctx != nullptr &&
      EVP_CipherInit_ex2(ctx.get(), cipher, key.data(), iv, encrypt ? 1 : 0, nullptr) == 1 &&
      EVP_CipherUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                       static_cast<int>(aad.size())) == 1;
  OPENSSL_cleanse(key.data(), key.size());
  if (!ok) cryptoFailure("AES-256-GCM init");
  return ctx;
}

}  // namespace

CookieSealer::CookieSealer(const std::vector<std::string>& secrets, std::string_view cookie_name,
                           size_t max_value_bytes)
    : cipher_(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr)),
      cookie_name_(cookie_name),
      max_value_bytes_(std::min(max_value_bytes, kMaxCookieBytes)) {
  if (!CookieCodec::validateSecrets(secrets).empty()) {
    std::fprintf(stderr, "sesame[fatal]: CookieSealer built from unvalidated secrets\n");
    std::abort();
  }
  if (cipher_ == nullptr) cryptoFailure("EVP_CIPHER_fetch(AES-256-GCM)");
  static_assert(kIvLength == 12, "GCM's default IV length");
  masters_.reserve(secrets.size());
  for (const std::string& secret : secrets) {
    std::array<unsigned char, kKeyLength> key = masterKey(secret);
    masters_.emplace_back(key);
    OPENSSL_cleanse(key.data(), key.size());
  }
}

CookieSealer::~CookieSealer() = default;

bool CookieSealer::canCarry(const Session& session) {
  if (session.created < 0 || session.login < 0 || session.touched < 0) return false;
  if (session.groups.size() > kMaxGroups || session.data.size() > kMaxFields) return false;
  // Sizes beyond the length fields cannot fit a cookie anyway.
  if (session.user.size() > 0xffff || !freeOfControls(session.user)) return false;
  for (const std::string& group : session.groups) {
    if (group.empty() || group.size() > 0xffff || !freeOfControls(group)) return false;
  }
  for (const auto& [key, value] : session.data) {
    if (key.size() > kMaxKeyBytes || !isCanonicalKey(key)) return false;
    if (value.size() > 0xffff || !freeOfControls(value)) return false;
  }
  return isNonce(session.nonce) && isLoginText(session.method, LoginInfo::kMaxMethodBytes) &&
         isLoginText(session.address, LoginInfo::kMaxAddressBytes) &&
         isLoginText(session.agent, LoginInfo::kMaxAgentBytes);
}

std::string CookieSealer::aad(unsigned char version) const {
  return static_cast<char>(version) + cookie_name_;
}

size_t CookieSealer::sealedSize(const Session& session) {
  return base64urlLength(kOverhead + plaintextSize(session));
}

std::optional<std::string> CookieSealer::seal(const Session& session) const {
  if (!canCarry(session) || sealedSize(session) > max_value_bytes_) return std::nullopt;
  const std::string plaintext = serialise(session);
  std::string blob(kOverhead + plaintext.size(), '\0');
  blob[0] = static_cast<char>(kVersion);
  char* nonce = blob.data() + 1;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce), kNonceLength) != 1)
    cryptoFailure("RAND_bytes");
  CipherCtx ctx = gcmFor(cipher_.get(), masters_[0], nonce, aad(kVersion), true);
  auto* out = reinterpret_cast<unsigned char*>(nonce + kNonceLength);
  int len = 0;
  int final_len = 0;
  if (EVP_EncryptUpdate(ctx.get(), out, &len,
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      static_cast<size_t>(len) != plaintext.size() ||
      EVP_EncryptFinal_ex(ctx.get(), out + len, &final_len) != 1 || final_len != 0 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagLength, out + len) != 1)
    cryptoFailure("AES-256-GCM seal");
  return base64urlEncode(blob);
}

std::optional<std::string> CookieSealer::decrypt(const HmacSha256& master,
                                                 const std::string& blob) const {
  const char* nonce = blob.data() + 1;
  const size_t ciphertext_len = blob.size() - kOverhead;
  const auto* ciphertext = reinterpret_cast<const unsigned char*>(nonce + kNonceLength);
  std::array<unsigned char, kTagLength> tag{};
  std::memcpy(tag.data(), ciphertext + ciphertext_len, kTagLength);
  CipherCtx ctx =
      gcmFor(cipher_.get(), master, nonce, aad(static_cast<unsigned char>(blob[0])), false);
  std::string plaintext(ciphertext_len, '\0');
  int len = 0;
  int final_len = 0;
  std::array<unsigned char, kTagLength> no_output{};  // GCM's final writes nothing
  if (EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plaintext.data()), &len,
                        ciphertext, static_cast<int>(ciphertext_len)) != 1 ||
      static_cast<size_t>(len) != ciphertext_len ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagLength, tag.data()) != 1)
    cryptoFailure("AES-256-GCM open");
  // The tag is compared in constant time inside OpenSSL; nothing of the
  // unauthenticated plaintext leaves this function.
  if (EVP_DecryptFinal_ex(ctx.get(), no_output.data(), &final_len) != 1) {
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    return std::nullopt;
  }
  return plaintext;
}

std::optional<Session> CookieSealer::open(std::string_view value) const {
  if (value.size() < kMinValueBytesV1 || value.size() > max_value_bytes_) return std::nullopt;
  const std::optional<std::string> blob = base64urlDecode(value);
  if (!blob) return std::nullopt;
  const auto version = static_cast<unsigned char>((*blob)[0]);
  const size_t fixed = version == kVersion ? kFixedPlaintext : kFixedPlaintextV1;
  if ((version != kVersion && version != kVersionWithoutLogin) || blob->size() < kOverhead + fixed)
    return std::nullopt;
  for (const HmacSha256& master : masters_) {
    if (std::optional<std::string> plaintext = decrypt(master, *blob)) {
      return parse(*plaintext, version);
    }
  }
  return std::nullopt;
}

}  // namespace sesame::session
