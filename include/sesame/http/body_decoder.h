// Message body framing (RFC 9112 §6, §7.1): a pure state machine that tells
// the connection which buffered bytes are framing and which are payload, so
// payload can be moved between buffers without copying and never buffered whole.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sesame::http {

enum class BodyKind {
  kNone,        // no body (GET without framing, 204, 304, HEAD response...)
  kLength,      // Content-Length
  kChunked,     // Transfer-Encoding: chunked
  kUntilClose,  // response delimited by connection close (RFC 9112 §6.3 rule 8)
};

class BodyDecoder {
 public:
  enum class Step {
    kData,      // skip `framing` bytes, then the next `data` bytes are payload
    kNeedMore,  // skip `framing` bytes, then wait for more input
    kDone,      // skip `framing` bytes; the body (and any trailer section) is complete
    kError,     // malformed framing: answer 400 (request) or 502 (response)
  };
  struct Result {
    Step step;
    size_t framing = 0;  // bytes at the front of the input that are framing
    uint64_t data = 0;   // for kData: payload bytes that follow the framing
                         // (may exceed what is buffered; move what is there
                         // and report it with consumed())
  };

  BodyDecoder() = default;
  BodyDecoder(BodyKind kind, uint64_t length);

  // `input` is the start of the unconsumed buffered bytes (it may hold only
  // part of them, but at least min(buffered, kMaxLineBytes): a framing line
  // longer than kMaxLineBytes, CRLF included, is an error). The caller drops
  // the reported `framing` bytes before calling again; next() has already
  // moved past them. Never reports data beyond the current chunk or
  // Content-Length; kUntilClose always reports kData with data = kUnbounded.
  // kData is reported even when no payload byte is buffered yet: the caller
  // then waits for input. kNeedMore with framing > 0 made progress: drop the
  // framing and call again before waiting. After kError, every call is
  // kError. Chunked framing (RFC 9112 §7.1) is strict: chunk-size is 1 to
  // 16 HEXDIG, extensions are `;token[=token|quoted-string]` with no
  // whitespace anywhere, lines end in CRLF only, chunk data must be followed
  // by exactly CRLF, and trailer fields are validated like header fields,
  // bounded by kMaxTrailerBytes and discarded.
  [[nodiscard]] Result next(std::string_view input);
  // The connection moved `n` payload bytes (n <= the last Result::data).
  void consumed(uint64_t n);

  [[nodiscard]] BodyKind kind() const { return kind_; }
  [[nodiscard]] bool done() const { return state_ == State::kDone; }
  // Total payload bytes seen so far (for body_bytes limits).
  [[nodiscard]] uint64_t payloadBytes() const { return payload_; }

  // A chunk-size line, extension included, or one trailer field line.
  static constexpr size_t kMaxLineBytes = 4096;
  // Trailer section as a whole; trailers are discarded, never forwarded.
  static constexpr size_t kMaxTrailerBytes = 16384;
  // Result::data for kUntilClose: the body ends only when the peer closes.
  static constexpr uint64_t kUnbounded = UINT64_MAX;

 private:
  enum class State { kSize, kData, kDataCrlf, kTrailer, kDone, kError };

  Result fail();
  bool onSizeLine(std::string_view line);
  bool onTrailerLine(std::string_view line, size_t line_bytes);

  BodyKind kind_ = BodyKind::kNone;
  State state_ = State::kDone;
  uint64_t remaining_ = 0;
  uint64_t payload_ = 0;
  size_t trailer_bytes_ = 0;
};

}  // namespace sesame::http
