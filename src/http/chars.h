// Character classes and small lexers shared by the HTTP parsers (RFC 9110 §5.6).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sesame::http::chars {

enum : uint8_t {
  kTchar = 1,       // token characters (RFC 9110 §5.6.2)
  kFieldChar = 2,   // field-vchar, SP, HTAB (RFC 9110 §5.5)
  kHexDigit = 4,    // HEXDIG
  kTargetChar = 8,  // what we accept in a request-target: VCHAR except '#'
  kHostChar = 16    // unreserved (RFC 3986 §2.3): what DNS names and IPv4 use
};

constexpr std::array<uint8_t, 256> makeTable() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    uint8_t f = 0;
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    const bool vchar = c >= 0x21 && c <= 0x7e;
    if (alpha || digit ||
        std::string_view("!#$%&'*+-.^_`|~").find(char(c)) != std::string_view::npos)
      f |= kTchar;
    if (vchar || c >= 0x80 || c == ' ' || c == '\t') f |= kFieldChar;
    if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) f |= kHexDigit;
    if (vchar && c != '#') f |= kTargetChar;
    if (alpha || digit || c == '-' || c == '.' || c == '_' || c == '~') f |= kHostChar;
    t[c] = f;
  }
  return t;
}

inline constexpr std::array<uint8_t, 256> kTable = makeTable();

inline bool is(char c, uint8_t cls) {
  return (kTable[static_cast<unsigned char>(c)] & cls) != 0;
}

// True when every byte of `s` is in `cls` (an empty string is vacuously true).
inline bool all(std::string_view s, uint8_t cls) {
  for (char c : s)
    if (!is(c, cls)) return false;
  return true;
}

inline bool isToken(std::string_view s) {
  return !s.empty() && all(s, kTchar);
}

inline char toLower(char c) {
  return (c >= 'A' && c <= 'Z') ? char(c + ('a' - 'A')) : c;
}

inline std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = toLower(c);
  return out;
}

inline bool isOws(char c) {
  return c == ' ' || c == '\t';
}

inline std::string_view trimOws(std::string_view s) {
  while (!s.empty() && isOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && isOws(s.back())) s.remove_suffix(1);
  return s;
}

// Walks a comma-separated list (RFC 9110 §5.6.1), yielding OWS-trimmed
// elements and skipping empty ones as the RFC requires of recipients.
class ListCursor {
 public:
  explicit ListCursor(std::string_view value) : rest_(value) {}
  bool next(std::string_view& element) {
    while (!rest_.empty()) {
      const size_t comma = rest_.find(',');
      element = trimOws(rest_.substr(0, comma));
      rest_ = comma == std::string_view::npos ? std::string_view() : rest_.substr(comma + 1);
      if (!element.empty()) return true;
    }
    return false;
  }

 private:
  std::string_view rest_;
};

}  // namespace sesame::http::chars
