// libFuzzer target: the cookie store's sealed values. Arbitrary client bytes
// go to CookieSealer::open; the same bytes, sealed as a plaintext of either
// version by an independent implementation of the documented format, reach
// the strict plaintext parser, which forged values never can.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "fuzz_body.h"
#include "sesame/base/c_handle.h"
#include "sesame/session/cookie_sealer.h"

using sesame::EvpCipherCtxPtr;
using sesame::EvpPkeyCtxPtr;
using sesame::fuzz::check;
using sesame::session::CookieSealer;
using sesame::session::Session;

namespace {

// The corpus's valid values were sealed with this secret and name.
const std::string kSecret = "sesame fuzz secret: not for production use";
constexpr std::string_view kName = "__Host-sesame";
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

const CookieSealer& sealer() {
  static const CookieSealer s({kSecret}, kName, CookieSealer::kMaxCookieBytes);
  return s;
}

bool same(const Session& a, const Session& b) {
  return a.user == b.user && a.groups == b.groups && a.data == b.data && a.created == b.created &&
         a.login == b.login && a.touched == b.touched && a.nonce == b.nonce &&
         a.method == b.method && a.handle == b.handle && a.address == b.address &&
         a.agent == b.agent;
}

// What version 2 appends to a version 1 plaintext for a session without a
// nonce or login details: three empty u8 strings and an empty u16 one.
constexpr std::string_view kNoLogin{"\0\0\0\0\0", 5};

std::string b64(std::string_view in) {
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = ((acc << 8) | c) & 0xffff;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  return out;
}

std::string unb64(std::string_view in) {
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    acc = ((acc << 6) | static_cast<unsigned>(std::string_view(kAlphabet).find(c))) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

// The message key for `nonce` per the header: HMAC-SHA256 under
// HKDF-SHA256(secret, salt "sesame cookie store v1", info "aes-256-gcm
// message keys") of the nonce's first 12 bytes.
std::array<unsigned char, 32> messageKey(std::string_view nonce) {
  static const std::array<unsigned char, 32> master = [] {
    std::array<unsigned char, 32> key{};
    size_t len = key.size();
    const EvpPkeyCtxPtr owned(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr));
    EVP_PKEY_CTX* ctx = owned.get();
    const std::string salt = "sesame cookie store v1";
    const std::string info = "aes-256-gcm message keys";
    check(ctx != nullptr && EVP_PKEY_derive_init(ctx) == 1 &&
          EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) == 1 &&
          EVP_PKEY_CTX_set1_hkdf_salt(ctx, reinterpret_cast<const unsigned char*>(salt.data()),
                                      static_cast<int>(salt.size())) == 1 &&
          EVP_PKEY_CTX_set1_hkdf_key(ctx, reinterpret_cast<const unsigned char*>(kSecret.data()),
                                     static_cast<int>(kSecret.size())) == 1 &&
          EVP_PKEY_CTX_add1_hkdf_info(ctx, reinterpret_cast<const unsigned char*>(info.data()),
                                      static_cast<int>(info.size())) == 1 &&
          EVP_PKEY_derive(ctx, key.data(), &len) == 1);
    return key;
  }();
  std::array<unsigned char, 32> key{};
  unsigned len = 0;
  check(HMAC(EVP_sha256(), master.data(), static_cast<int>(master.size()),
             reinterpret_cast<const unsigned char*>(nonce.data()), 12, key.data(),
             &len) != nullptr);
  return key;
}

// AES-256-GCM over `in` with the documented key, IV and AAD (`version`
// and the cookie name); encrypting appends the tag, decrypting checks and
// strips it (nullopt on mismatch).
std::optional<std::string> gcm(char version, std::string_view nonce, std::string_view in,
                               bool encrypt) {
  const auto key = messageKey(nonce);
  const std::string aad = version + std::string(kName);
  if (!encrypt && in.size() < 16) return std::nullopt;
  const size_t n = encrypt ? in.size() : in.size() - 16;
  std::string out(n, '\0');
  std::string tag = encrypt ? std::string(16, '\0') : std::string(in.substr(n));
  const EvpCipherCtxPtr owned(EVP_CIPHER_CTX_new());
  EVP_CIPHER_CTX* ctx = owned.get();
  int len = 0;
  unsigned char none[16];
  check(ctx != nullptr &&
        EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.data(),
                          reinterpret_cast<const unsigned char*>(nonce.data() + 12),
                          encrypt ? 1 : 0) == 1 &&
        EVP_CipherUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                         static_cast<int>(aad.size())) == 1 &&
        EVP_CipherUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &len,
                         reinterpret_cast<const unsigned char*>(in.data()),
                         static_cast<int>(n)) == 1);
  if (!encrypt) check(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag.data()) == 1);
  const bool ok = EVP_CipherFinal_ex(ctx, none, &len) == 1;
  if (encrypt) check(ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag.data()) == 1);
  if (!ok) return std::nullopt;
  return encrypt ? out + tag : out;
}

std::string specSeal(char version, std::string_view plaintext) {
  const std::string nonce(24, '\x5a');  // fixed: fuzzing wants determinism
  return b64(version + nonce + gcm(version, nonce, plaintext, true).value());
}

struct Opened {
  char version;
  std::string plaintext;
};

std::optional<Opened> specOpen(std::string_view value) {
  const std::string blob = unb64(value);
  if (blob.size() < 41 || (blob[0] != '\x01' && blob[0] != '\x02')) return std::nullopt;
  std::optional<std::string> plaintext =
      gcm(blob[0], std::string_view(blob).substr(1, 24), std::string_view(blob).substr(25), false);
  if (!plaintext) return std::nullopt;
  return Opened{blob[0], std::move(*plaintext)};
}

// What every session that opened must satisfy: sealing it again gives a
// version 2 value that opens to the same session, and whose plaintext is
// the opened one byte for byte (one encoding per session), a version 1
// plaintext followed by empty login details.
void checkOpened(const Session& session, size_t value_size, const Opened& opened) {
  check(CookieSealer::canCarry(session));
  const bool current = opened.version == '\x02';
  check(!current || CookieSealer::sealedSize(session) == value_size);
  const std::optional<std::string> again = sealer().seal(session);
  check(again.has_value() && again->size() == CookieSealer::sealedSize(session));
  const std::optional<Session> reopened = sealer().open(*again);
  check(reopened.has_value() && same(*reopened, session));
  const std::optional<Opened> resealed = specOpen(*again);
  check(resealed.has_value() && resealed->version == '\x02');
  check(resealed->plaintext ==
        (current ? opened.plaintext : opened.plaintext + std::string(kNoLogin)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  // As a client's cookie value.
  if (const std::optional<Session> session = sealer().open(input)) {
    check(size <= CookieSealer::kMaxCookieBytes);
    const std::optional<Opened> opened = specOpen(input);
    check(opened.has_value());
    check(opened->version == '\x01' || size >= CookieSealer::kMinValueBytes);
    checkOpened(*session, size, *opened);
  }

  // As an authenticated plaintext, of either version.
  if (size <= 3000) {
    for (const char version : {'\x01', '\x02'}) {
      const std::string value = specSeal(version, input);
      if (const std::optional<Session> session = sealer().open(value))
        checkOpened(*session, value.size(), Opened{version, std::string(input)});
    }
  }
  return 0;
}
