// Session IDs and the signed session cookie value: encode, verify, store key, log handle.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sesame::session {

class HmacSha256;

// 32 bytes from the OpenSSL CSPRNG: the session's bearer secret. Never log it.
struct SessionId {
  std::array<unsigned char, 32> bytes{};

  // Aborts the process when the CSPRNG fails: no session may get a guessable ID.
  [[nodiscard]] static SessionId random();

  bool operator==(const SessionId&) const = default;
};

// Signs and verifies cookie values. Pure (no I/O) and immutable after
// construction, so one instance may be shared by all workers.
//
// Cookie value: base64url without padding of
//   version (0x01) || id (32 bytes) || HMAC-SHA256(key, version || id)
// where each key is derived from one configured secret at construction.
class CookieCodec {
 public:
  // Every cookie value has exactly this length (65 bytes in base64url).
  static constexpr size_t kValueLength = 87;
  static constexpr size_t kMinSecretLength = 32;

  // Operator-facing problems with `secrets` (at least one, each at least
  // kMinSecretLength bytes). Messages name a secret by index, never by content.
  [[nodiscard]] static std::vector<std::string> validateSecrets(
      const std::vector<std::string>& secrets);

  // The first secret signs, every one verifies (rotation: put the new secret
  // first, keep the old one until the old cookies have gone). `secrets` must
  // pass validateSecrets; anything else is a configuration bug and aborts.
  // Neither the secrets nor the keys derived from them are kept: only the
  // HMAC states with each key's pads absorbed, wiped when freed.
  explicit CookieCodec(const std::vector<std::string>& secrets);
  ~CookieCodec();
  CookieCodec(const CookieCodec& other);
  CookieCodec(CookieCodec&&) noexcept;
  // No assignment: a codec is built once per configuration and then shared.
  CookieCodec& operator=(const CookieCodec&) = delete;
  CookieCodec& operator=(CookieCodec&&) = delete;

  // The cookie value for `id`, signed with the first secret (kValueLength chars).
  [[nodiscard]] std::string encode(const SessionId& id) const;

  // The ID inside `value` when its tag verifies under any configured secret;
  // nullopt for anything else (wrong length, padding, characters outside
  // base64url, non-canonical encoding, unknown version, bad tag). Anything
  // but the fixed length is refused before decoding; otherwise the cost is
  // one HMAC per secret and no allocation depends on the input, so forged
  // cookies are cheap to refuse and never reach a store.
  [[nodiscard]] std::optional<SessionId> verify(std::string_view value) const;

  // The sign-in form's anti-CSRF token for the session named by `binding`
  // (its store key; the sealed session's nonce with the cookie store):
  // base64url(HMAC(key, "sesame csrf v1" || binding)), 43 chars, signed
  // with the first secret. A token from another session, or forged without
  // the secret, does not verify.
  [[nodiscard]] std::string csrfToken(std::string_view binding) const;
  // Checked against every configured secret in constant time.
  [[nodiscard]] bool verifyCsrfToken(std::string_view binding, std::string_view token) const;

  // What stores index sessions by: base64url(SHA-256("sesame store v1" || id)),
  // 43 chars. One-way, so a leaked store dump yields no usable cookie. It does
  // not depend on the secrets: rotating them must not lose sessions.
  [[nodiscard]] static std::string storeKey(const SessionId& id);
  // The same into `out`, whose storage is reused (the request path's).
  static void storeKey(const SessionId& id, std::string& out);

  // Short non-secret name of a session for logs, headers and the admin API
  // (kHandleLength chars of base64url of SHA-256("sesame handle v1" || id));
  // reveals neither the ID nor the store key.
  static constexpr size_t kHandleLength = 12;
  [[nodiscard]] static std::string handle(const SessionId& id);
  // Whether `text` is spelled as handle() spells them (length and alphabet).
  [[nodiscard]] static bool isHandle(std::string_view text);

 private:
  // One per derived key, only read (so concurrent verify() calls from
  // several workers are safe). macs_[0] signs.
  std::vector<HmacSha256> macs_;
};

}  // namespace sesame::session
