// The token endpoint's answer (RFC 6749 §5.1 success, §5.2 error) read into tokens or a refusal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sesame::oidc {

// Largest token value kept (each is stored in the session store).
inline constexpr size_t kMaxTokenBytes = 64 * 1024;
// expires_in above this (ten years) is not a lifetime but a broken provider.
inline constexpr int64_t kMaxExpiresIn = 10LL * 366 * 24 * 3600;
// error_description is cut to this many bytes of printable ASCII.
inline constexpr size_t kMaxErrorDescriptionBytes = 200;

enum class Grant {
  kAuthorizationCode,  // the callback's exchange: an id_token is required
  kRefreshToken,       // a refresh: id_token optional (OIDC Core §12.2)
};

struct TokenSet {
  std::string access_token;
  std::string id_token;               // empty when absent (allowed on refresh only)
  std::string refresh_token;          // empty when absent
  std::string scope;                  // empty when absent (RFC 6749 §5.1: same as requested)
  std::optional<int64_t> expires_in;  // seconds, 0..kMaxExpiresIn
};

enum class TokenOutcome {
  kOk,
  // The provider answered with an RFC 6749 §5.2 error (invalid_grant:
  // code used twice, refresh token revoked...). A refused refresh ends the
  // session.
  kRefused,
  // Anything else: not JSON, a missing or malformed member, an unexpected
  // status. Not the user's fault; the login fails, a session is kept.
  kMalformed,
};

struct TokenResponse {
  TokenOutcome outcome = TokenOutcome::kMalformed;
  TokenSet tokens;  // kOk only
  // kRefused: the "error" code, printable ASCII, cut at 64 bytes.
  std::string error_code;
  // kRefused: error_description made printable ASCII, cut at
  // kMaxErrorDescriptionBytes; empty when absent.
  std::string error_description;
  // A sentence for the log: what was wrong (kMalformed) or what the
  // provider said (kRefused). Never contains a token value.
  std::string why;
};

// Reads a token endpoint answer with HTTP status `status` and body `body`.
// 200: a JSON object with access_token (non-empty string), token_type
// "Bearer" in any case (RFC 6750; a "DPoP" or "mac" token would not be
// usable by sesame as issued), id_token on kAuthorizationCode, optional
// refresh_token and scope (strings), optional expires_in (a non-negative
// integer up to kMaxExpiresIn; a string of digits is accepted as well, as
// some providers send one); token values at most kMaxTokenBytes. 400 and
// 401 (RFC 6749 §5.2) with a JSON object carrying a string "error":
// kRefused. Any other status or shape: kMalformed.
[[nodiscard]] TokenResponse parseTokenResponse(int status, std::string_view body, Grant grant);

}  // namespace sesame::oidc
