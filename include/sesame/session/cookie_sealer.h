// Seals a whole Session into an encrypted, authenticated cookie value and opens it again (the
// cookie store's codec).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sesame/base/c_handle.h"
#include "sesame/session/store.h"

namespace sesame::session {

class HmacSha256;

// Pure (no I/O) and immutable after construction: one instance is shared by
// all workers, and every const method may run concurrently.
//
// Value: base64url without padding (RFC 4648 §5) of
//   version (0x02) || nonce (24 random bytes) || AES-256-GCM ciphertext || tag (16)
// with AAD = version || cookie name. Each message is encrypted under its own
// key HMAC-SHA256(master, nonce[0..12)) with IV nonce[12..24) (the
// XAES-256-GCM pattern): plain 96-bit random IVs under one key are limited to
// 2^32 seals (NIST SP 800-38D §8.3), which a busy proxy that re-seals on
// every refresh would reach within weeks, and one repeated IV would reveal
// the GHASH key. The master key of each secret is HKDF-SHA256(secret, salt
// "sesame cookie store v1"), a derivation the signed-ID codec never uses, so
// one secret never keys two algorithms.
//
// The cookie name is authenticated so that a value issued under one name
// (another application or instance sharing the secrets) is refused under
// another; renaming the cookie loses nothing that was not lost anyway, since
// browsers keep sending the old name.
//
// Plaintext (integers big-endian, no padding, one encoding per session):
//   created, login, touched: 8 bytes each, >= 0
//   user: u16 length || bytes
//   groups: u16 count || (u16 length || bytes)*
//   data: u16 count || (u8 length || key || u16 length || value)*, keys ascending
//   nonce: u8 length || bytes (0 or kNonceChars base64url characters)
//   method, address: u8 length || bytes each
//   agent: u16 length || bytes
// The session's handle is not sealed: a cookie-store session has no ID to
// name (seal() leaves it out, open() returns it empty). Version 0x01 values,
// sealed before the login details existed, end after the data; they still
// open (nonce, method, address and agent empty) so that an upgrade logs
// nobody out, and seal() writes version 0x02 only.
// No compression: it would let an attacker who controls part of the data
// learn the rest from the cookie's length.
class CookieSealer {
 public:
  // RFC 6265 §6.1: user agents keep at least 4096 bytes per cookie, counting
  // name, value and attributes; nothing larger is ever issued or accepted.
  static constexpr size_t kMaxCookieBytes = 4096;
  // The value of a session with no user, groups, data, nonce or login details.
  static constexpr size_t kMinValueBytes = 102;
  static constexpr size_t kMaxGroups = 256;
  static constexpr size_t kMaxFields = 256;
  // A session's nonce: base64url of 16 random bytes.
  static constexpr size_t kNonceChars = 22;

  // `secrets` must pass CookieCodec::validateSecrets (anything else is a
  // configuration bug and aborts): the first seals, every one opens. Only
  // keyed HMAC contexts are kept, which OpenSSL wipes when freed.
  // `max_value_bytes` bounds every value sealed or opened (capped at
  // kMaxCookieBytes); below kMinValueBytes nothing can be sealed.
  CookieSealer(const std::vector<std::string>& secrets, std::string_view cookie_name,
               size_t max_value_bytes);
  ~CookieSealer();
  CookieSealer(const CookieSealer&) = delete;
  CookieSealer& operator=(const CookieSealer&) = delete;

  // Whether the format can carry `session` at all, whatever its size: user,
  // group and data value bytes free of control characters (0x00-0x1F,
  // 0x7F; they would be sent upstream as header values), groups non-empty,
  // data keys canonical (isValidDataKey, canonicalDataKey(k) == k), at most
  // kMaxGroups groups and kMaxFields fields, times >= 0, a nonce empty or
  // kNonceChars base64url characters, method, address and agent within
  // LoginInfo's bounds and free of control characters. The handle is not
  // looked at (it is not sealed).
  [[nodiscard]] static bool canCarry(const Session& session);

  // The length of the value seal() would produce for `session` (which must
  // satisfy canCarry).
  [[nodiscard]] static size_t sealedSize(const Session& session);

  [[nodiscard]] size_t maxValueBytes() const { return max_value_bytes_; }

  // The cookie value for `session` under the first secret, with a fresh
  // nonce each call; nullopt when !canCarry(session) or the value would be
  // longer than maxValueBytes(). Never truncates.
  [[nodiscard]] std::optional<std::string> seal(const Session& session) const;

  // The session sealed in `value` by any configured secret, in either
  // version; nullopt for anything else. The length and the base64url
  // spelling (canonical, no padding) are checked before any crypto; the
  // plaintext is parsed only after its tag verified, and strictly: every
  // length within bounds, no trailing bytes, exactly what canCarry() accepts.
  [[nodiscard]] std::optional<Session> open(std::string_view value) const;

 private:
  [[nodiscard]] std::optional<std::string> decrypt(const HmacSha256& master,
                                                   const std::string& blob) const;
  // The AAD of a value of `version`.
  [[nodiscard]] std::string aad(unsigned char version) const;

  // HMAC-SHA256 under each secret's master key, only read. masters_[0] seals.
  std::vector<HmacSha256> masters_;
  EvpCipherPtr cipher_;
  std::string cookie_name_;
  size_t max_value_bytes_;
};

}  // namespace sesame::session
