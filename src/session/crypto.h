// Private to session/: HMAC-SHA256 and SHA-256 for the cookie codec and sealer; crypto failure
// aborts.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <span>

namespace sesame::session {

constexpr size_t kHmacSha256Length = 32;
using Sha256Digest = std::array<unsigned char, 32>;

// Aborts: a session must never be issued or accepted without working crypto.
[[noreturn]] void cryptoFailure(const char* what);

// SHA-256 of the concatenation a || b, computed on the stack.
[[nodiscard]] Sha256Digest sha256(std::span<const unsigned char> a,
                                  std::span<const unsigned char> b = {});

// HMAC-SHA256 (RFC 2104) under one key, with the key's inner and outer
// blocks absorbed once at construction (RFC 2104 §4's precomputation). A
// tag then costs the message's SHA-256 plus one compression, on the stack:
// no allocation and no lock. Every request's cookie check computes one,
// and the EVP_MAC_CTX_dup it replaced cost 14 allocations and a lock on
// OpenSSL's algorithm store per tag (measured with callgrind).
// Immutable after construction: one key serves all workers at once. Only
// the two absorbed states are kept, never the key, and they are wiped when
// the key is destroyed.
class HmacSha256 {
 public:
  explicit HmacSha256(std::span<const unsigned char> key);
  ~HmacSha256();
  HmacSha256(const HmacSha256& other);
  HmacSha256(HmacSha256&&) noexcept;
  HmacSha256& operator=(const HmacSha256&) = delete;
  HmacSha256& operator=(HmacSha256&&) = delete;

  // The tag of the concatenation a || b.
  [[nodiscard]] std::array<unsigned char, kHmacSha256Length> tag(
      std::span<const unsigned char> a, std::span<const unsigned char> b = {}) const;

 private:
  struct Pads;
  std::unique_ptr<Pads> pads_;
};

}  // namespace sesame::session
