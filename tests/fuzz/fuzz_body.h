// Shared by the HTTP fuzz targets: a deterministic RNG from the input and a
// BodyDecoder driver that plays the connection's part.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sesame/http/body_decoder.h"

namespace sesame::fuzz {

inline void check(bool ok) {
  if (!ok) __builtin_trap();
}

// xorshift64*, seeded from the input so every run of an input is identical.
class Rng {
 public:
  explicit Rng(std::string_view input) {
    for (unsigned char c : input) state_ = (state_ ^ c) * 0x100000001b3ULL;
    if (state_ == 0) state_ = 1;
  }
  uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545f4914f6cdd1dULL;
  }
  size_t below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(next() % n); }

 private:
  uint64_t state_ = 0xcbf29ce484222325ULL;
};

enum class BodyEnd { kDone, kError, kIncomplete };

struct BodyOutcome {
  BodyEnd end = BodyEnd::kIncomplete;
  std::string payload;
  size_t used = 0;  // wire bytes that belonged to the body (valid for kDone)
};

// Feeds `wire` to a fresh decoder in pieces whose sizes come from `rng`
// (max_piece 0 = all at once), dropping framing and moving payload as the
// proxy does, and checks the decoder's promises along the way.
inline BodyOutcome decodeBody(http::BodyKind kind, uint64_t length, std::string_view wire, Rng& rng,
                              size_t max_piece) {
  http::BodyDecoder d(kind, length);
  BodyOutcome out;
  std::string buf;
  size_t fed = 0;
  for (;;) {
    const size_t piece = max_piece == 0 ? wire.size() : 1 + rng.below(max_piece);
    const size_t n = std::min(piece, wire.size() - fed);
    buf.append(wire.substr(fed, n));
    fed += n;
    for (;;) {
      const http::BodyDecoder::Result r = d.next(buf);
      if (r.step == http::BodyDecoder::Step::kError) {
        check(d.next(buf).step == http::BodyDecoder::Step::kError);
        out.end = BodyEnd::kError;
        return out;
      }
      check(r.framing <= buf.size());
      buf.erase(0, r.framing);
      if (r.step == http::BodyDecoder::Step::kDone) {
        check(d.done());
        check(d.payloadBytes() == out.payload.size());
        out.end = BodyEnd::kDone;
        out.used = fed - buf.size();
        return out;
      }
      if (r.step == http::BodyDecoder::Step::kNeedMore) {
        if (r.framing > 0) continue;
        break;
      }
      check(r.data > 0);
      if (kind == http::BodyKind::kUntilClose) check(r.data == http::BodyDecoder::kUnbounded);
      const size_t m = static_cast<size_t>(std::min<uint64_t>(r.data, buf.size()));
      if (m == 0) break;
      out.payload.append(buf, 0, m);
      buf.erase(0, m);
      d.consumed(m);
    }
    if (fed == wire.size()) {
      check(kind != http::BodyKind::kLength || out.payload.size() < length);
      return out;
    }
  }
}

// Decodes `wire` at once and in pieces; both must agree byte for byte.
inline BodyOutcome checkedBody(http::BodyKind kind, uint64_t length, std::string_view wire,
                               Rng& rng) {
  BodyOutcome whole = decodeBody(kind, length, wire, rng, 0);
  BodyOutcome pieces = decodeBody(kind, length, wire, rng, 1 + rng.below(64));
  check(whole.end == pieces.end);
  check(whole.payload == pieces.payload);
  check(whole.used == pieces.used);
  if (kind == http::BodyKind::kLength && whole.end == BodyEnd::kDone)
    check(whole.payload.size() == length);
  return whole;
}

}  // namespace sesame::fuzz
