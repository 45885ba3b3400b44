#include "sesame/base/base64url.h"

#include <array>

namespace sesame {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<signed char, 256> makeDecodeTable() {
  std::array<signed char, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i)
    t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<signed char>(i);
  return t;
}
constexpr std::array<signed char, 256> kDecode = makeDecodeTable();

}  // namespace

std::string base64urlEncode(std::span<const unsigned char> bytes) {
  std::string out;
  base64urlAssign(out, bytes);
  return out;
}

void base64urlAssign(std::string& out, std::span<const unsigned char> bytes) {
  const unsigned char* data = bytes.data();
  const size_t n = bytes.size();
  // Written through a pointer into a string sized once: appending a
  // character at a time checked the capacity at each of them (a session
  // cookie's store key is encoded on every request).
  out.resize(base64urlLength(n));
  char* o = out.data();
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const unsigned v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    *o++ = kAlphabet[(v >> 18) & 63];
    *o++ = kAlphabet[(v >> 12) & 63];
    *o++ = kAlphabet[(v >> 6) & 63];
    *o++ = kAlphabet[v & 63];
  }
  if (n - i == 1) {
    *o++ = kAlphabet[data[i] >> 2];
    *o = kAlphabet[(data[i] & 3) << 4];
  } else if (n - i == 2) {
    const unsigned v = (data[i] << 8) | data[i + 1];
    *o++ = kAlphabet[v >> 10];
    *o++ = kAlphabet[(v >> 4) & 63];
    *o = kAlphabet[(v & 15) << 2];
  }
}

bool base64urlDecodeInto(std::string_view in, std::span<unsigned char> out) {
  if (in.size() != base64urlLength(out.size())) return false;
  int invalid = 0;  // negative once any character is outside the alphabet
  const auto sextet = [&](size_t i) {
    const int d = kDecode[static_cast<unsigned char>(in[i])];
    invalid |= d;
    return static_cast<unsigned>(d) & 63;
  };
  size_t i = 0;
  size_t o = 0;
  for (; i + 4 <= in.size(); i += 4) {
    const unsigned v =
        (sextet(i) << 18) | (sextet(i + 1) << 12) | (sextet(i + 2) << 6) | sextet(i + 3);
    out[o++] = static_cast<unsigned char>(v >> 16);
    out[o++] = static_cast<unsigned char>(v >> 8);
    out[o++] = static_cast<unsigned char>(v);
  }
  // Unused low bits set in the last character would give a second spelling
  // of the same bytes.
  unsigned unused = 0;
  if (in.size() - i == 2) {
    const unsigned v = (sextet(i) << 6) | sextet(i + 1);
    out[o] = static_cast<unsigned char>(v >> 4);
    unused = v & 15;
  } else if (in.size() - i == 3) {
    const unsigned v = (sextet(i) << 12) | (sextet(i + 1) << 6) | sextet(i + 2);
    out[o] = static_cast<unsigned char>(v >> 10);
    out[o + 1] = static_cast<unsigned char>(v >> 2);
    unused = v & 3;
  }
  return invalid >= 0 && unused == 0;
}

std::optional<std::string> base64urlDecode(std::string_view in) {
  // Lengths 4k+1 encode nothing; every other length encodes exactly this many bytes.
  const size_t n = in.size() * 6 / 8;
  if (base64urlLength(n) != in.size()) return std::nullopt;
  std::string out(n, '\0');
  if (!base64urlDecodeInto(in, {reinterpret_cast<unsigned char*>(out.data()), out.size()}))
    return std::nullopt;
  return out;
}

}  // namespace sesame
