// The sign-in form's POST body: application/x-www-form-urlencoded decoding and its bounds.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sesame::auth {

// Bounds, in bytes: the body as received, and each field decoded.
inline constexpr size_t kMaxLoginBody = 8192;
inline constexpr size_t kMaxFormUserBytes = 256;
inline constexpr size_t kMaxFormPasswordBytes = 1024;
inline constexpr size_t kMaxFormCsrfBytes = 128;
inline constexpr size_t kMaxFormReturnToBytes = 2048;

// The fields sesame's form posts; a field the body lacks is empty.
struct LoginForm {
  std::string username;
  std::string password;
  std::string csrf;
  std::string return_to;
};

// Decodes a form body as the WHATWG URL standard's urlencoded parser does (fields split at '&',
// empty ones skipped, name and value split at the first '=', '+' is a space, %XX a byte), but
// strictly: a '%' not followed by two hex digits is refused rather than kept. Names are matched
// exactly after decoding ("username", "password", "csrf", "return_to"); other fields are ignored;
// a known field given twice is refused (which one would count is ambiguous). Refused too: a
// body over kMaxLoginBody, a username over kMaxFormUserBytes or holding a control character
// (0x00-0x1F, 0x7F), a password over kMaxFormPasswordBytes, a csrf over kMaxFormCsrfBytes, a
// return_to over kMaxFormReturnToBytes. On refusal: nullopt and `*error` says why, naming the
// field but never quoting a value.
[[nodiscard]] std::optional<LoginForm> parseLoginForm(std::string_view body, std::string* error);

// Every value of the field `name` in an urlencoded query or body, decoded
// as above; a value with a bad escape is left out.
[[nodiscard]] std::vector<std::string> formValues(std::string_view query, std::string_view name);

}  // namespace sesame::auth
