#include "sesame/http/body_decoder.h"

#include <cstdlib>
#include <cstring>

#include "chars.h"
#include "field_line.h"

namespace sesame::http {
namespace {

enum class LineScan { kLine, kNeedMore, kError };

// One CRLF-terminated framing line at the front of `input`; `bytes` counts
// the CRLF. A bare LF, or no LF within kMaxLineBytes, is an error.
LineScan frontLine(std::string_view input, std::string_view& line, size_t& bytes) {
  // An empty view may have a null data(): memchr must not see it.
  if (input.empty()) return LineScan::kNeedMore;
  const size_t window = std::min(input.size(), BodyDecoder::kMaxLineBytes);
  const void* lf = std::memchr(input.data(), '\n', window);
  if (lf == nullptr) {
    return input.size() >= BodyDecoder::kMaxLineBytes ? LineScan::kError : LineScan::kNeedMore;
  }
  bytes = static_cast<size_t>(static_cast<const char*>(lf) - input.data()) + 1;
  if (bytes < 2 || input[bytes - 2] != '\r') return LineScan::kError;
  line = input.substr(0, bytes - 2);
  return LineScan::kLine;
}

size_t tokenPrefix(std::string_view s) {
  size_t n = 0;
  while (n < s.size() && chars::is(s[n], chars::kTchar)) ++n;
  return n;
}

// Length of a quoted-string (RFC 9110 §5.6.4) at the front of `s`, or 0.
size_t quotedStringPrefix(std::string_view s) {
  for (size_t i = 1; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '"') return i + 1;
    if (c == '\\') {
      if (++i == s.size() || !chars::is(s[i], chars::kFieldChar)) return 0;
    } else if (!chars::is(c, chars::kFieldChar)) {
      return 0;
    }
  }
  return 0;
}

// *( ";" token [ "=" ( token / quoted-string ) ] ) without BWS: extensions
// carry nothing we use, and whitespace is where parsers disagree.
bool validChunkExtensions(std::string_view ext) {
  while (!ext.empty()) {
    if (ext.front() != ';') return false;
    ext.remove_prefix(1);
    const size_t name = tokenPrefix(ext);
    if (name == 0) return false;
    ext.remove_prefix(name);
    if (ext.empty() || ext.front() != '=') continue;
    ext.remove_prefix(1);
    const size_t value =
        (!ext.empty() && ext.front() == '"') ? quotedStringPrefix(ext) : tokenPrefix(ext);
    if (value == 0) return false;
    ext.remove_prefix(value);
  }
  return true;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  return chars::toLower(c) - 'a' + 10;
}

}  // namespace

BodyDecoder::BodyDecoder(BodyKind kind, uint64_t length) : kind_(kind) {
  switch (kind) {
    case BodyKind::kNone:
      state_ = State::kDone;
      break;
    case BodyKind::kLength:
      remaining_ = length;
      state_ = length == 0 ? State::kDone : State::kData;
      break;
    case BodyKind::kChunked:
      state_ = State::kSize;
      break;
    case BodyKind::kUntilClose:
      remaining_ = kUnbounded;
      state_ = State::kData;
      break;
  }
}

BodyDecoder::Result BodyDecoder::fail() {
  state_ = State::kError;
  return Result{Step::kError};
}

BodyDecoder::Result BodyDecoder::next(std::string_view input) {
  size_t pos = 0;
  for (;;) {
    const std::string_view rest = input.substr(pos);
    switch (state_) {
      case State::kDone:
        return Result{Step::kDone, pos};
      case State::kError:
        return Result{Step::kError};
      case State::kData:
        return Result{Step::kData, pos, remaining_};
      case State::kDataCrlf:
        // Exactly CRLF after chunk data: any other byte means the chunk was
        // longer than declared (a smuggling probe), so stop here.
        if (!rest.empty() && rest[0] != '\r') return fail();
        if (rest.size() < 2) return Result{Step::kNeedMore, pos};
        if (rest[1] != '\n') return fail();
        pos += 2;
        state_ = State::kSize;
        break;
      case State::kSize:
      case State::kTrailer: {
        std::string_view line;
        size_t bytes = 0;
        const LineScan scan = frontLine(rest, line, bytes);
        if (scan == LineScan::kNeedMore) return Result{Step::kNeedMore, pos};
        if (scan == LineScan::kError) return fail();
        const bool ok = state_ == State::kSize ? onSizeLine(line) : onTrailerLine(line, bytes);
        if (!ok) return fail();
        pos += bytes;
        break;
      }
    }
  }
}

bool BodyDecoder::onSizeLine(std::string_view line) {
  uint64_t size = 0;
  size_t digits = 0;
  while (digits < line.size() && chars::is(line[digits], chars::kHexDigit)) {
    // More than 16 digits would overflow uint64_t; leading zeros are no excuse.
    if (digits == 16) return false;
    size = (size << 4) | static_cast<uint64_t>(hexValue(line[digits]));
    ++digits;
  }
  if (digits == 0 || !validChunkExtensions(line.substr(digits))) return false;
  if (size == 0) {
    state_ = State::kTrailer;
  } else {
    remaining_ = size;
    state_ = State::kData;
  }
  return true;
}

bool BodyDecoder::onTrailerLine(std::string_view line, size_t line_bytes) {
  if (line.empty()) {
    state_ = State::kDone;
    return true;
  }
  trailer_bytes_ += line_bytes;
  if (trailer_bytes_ > kMaxTrailerBytes) return false;
  std::string_view name;
  std::string_view value;
  return detail::parseFieldLine(line, name, value).empty();
}

void BodyDecoder::consumed(uint64_t n) {
  if (n == 0) return;
  // Moving more than was reported would desynchronise the framing.
  if (state_ != State::kData || n > remaining_) std::abort();
  payload_ += n;
  if (kind_ == BodyKind::kUntilClose) return;
  remaining_ -= n;
  if (remaining_ == 0) state_ = kind_ == BodyKind::kChunked ? State::kDataCrlf : State::kDone;
}

}  // namespace sesame::http
