// base64url without padding (RFC 4648 §5), one spelling per byte string.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sesame {

// The number of characters `n` bytes encode to.
constexpr size_t base64urlLength(size_t n) {
  return (n * 8 + 5) / 6;
}

[[nodiscard]] std::string base64urlEncode(std::span<const unsigned char> bytes);
// The same into `out` (replacing its contents, reusing its storage).
void base64urlAssign(std::string& out, std::span<const unsigned char> bytes);
[[nodiscard]] inline std::string base64urlEncode(std::string_view bytes) {
  return base64urlEncode({reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()});
}

// Fills all of `out` when `in` is the one spelling of out.size() bytes:
// any other length is refused before a character is read, and nothing is
// allocated, so attacker-chosen input costs no more than a valid value.
// `out` is unspecified after a refusal.
[[nodiscard]] bool base64urlDecodeInto(std::string_view in, std::span<unsigned char> out);

// The bytes `in` spells; refuses a length no byte string encodes to, a
// character outside the alphabet and unused low bits set in the last
// character.
[[nodiscard]] std::optional<std::string> base64urlDecode(std::string_view in);

}  // namespace sesame
