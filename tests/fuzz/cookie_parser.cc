// libFuzzer target: Cookie header parsing and removal, and session cookie
// verification, over arbitrary client bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_body.h"
#include "sesame/session/cookie_codec.h"
#include "sesame/session/cookie_header.h"

using sesame::fuzz::check;
using sesame::session::CookieCodec;
using sesame::session::findCookie;
using sesame::session::removeCookie;
using sesame::session::SessionId;
using sesame::session::setsCookie;

namespace {

const CookieCodec& codec() {
  static const CookieCodec c({std::string(32, 'k'), std::string(48, 'o')});
  return c;
}

bool isSpace(char c) {
  return c == ' ' || c == '\t';
}

// No ';'-separated piece of `header` is a pair whose trimmed name is `name`.
bool hasPairNamed(std::string_view header, std::string_view name) {
  for (;;) {
    const size_t semi = header.find(';');
    std::string_view piece = header.substr(0, semi);
    const size_t eq = piece.find('=');
    if (eq != std::string_view::npos) {
      std::string_view n = piece.substr(0, eq);
      while (!n.empty() && isSpace(n.front())) n.remove_prefix(1);
      while (!n.empty() && isSpace(n.back())) n.remove_suffix(1);
      if (n == name) return true;
    }
    if (semi == std::string_view::npos) return false;
    header.remove_prefix(semi + 1);
  }
}

void checkHeader(std::string_view header, std::string_view name) {
  const auto found = findCookie(header, name);
  if (found) {
    check(found->data() >= header.data() &&
          found->data() + found->size() <= header.data() + header.size());
    check(found->find(';') == std::string_view::npos);
  }
  check(found.has_value() == hasPairNamed(header, name));

  const std::string rest = removeCookie(header, name);
  check(rest.size() <= header.size() + header.size() / 2 + 1);
  check(!hasPairNamed(rest, name));
  check(!findCookie(rest, name).has_value());
  // Removal is idempotent and removing nothing only normalises separators.
  check(removeCookie(rest, name) == rest);
  check(rest.empty() || (!isSpace(rest.front()) && !isSpace(rest.back())));
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

// setsCookie against an oracle built on findCookie: for each comma element,
// the cookie a browser stores from its first ';' piece (name and value
// trimmed, no name when the piece starts with '='), serialised as the
// browser sends it back, must be read as `name` exactly when setsCookie says so.
void checkSetCookie(std::string_view value, std::string_view name) {
  if (name.empty()) return check(!setsCookie(value, name));
  bool planted = false;
  std::string_view rest = value;
  for (;;) {
    const size_t comma = rest.find(',');
    std::string_view element = rest.substr(0, comma);
    element = element.substr(0, element.find(';'));
    const size_t eq = element.find('=');
    if (eq != std::string_view::npos) {
      const std::string_view n = trimmed(element.substr(0, eq));
      const std::string_view v = trimmed(element.substr(eq + 1));
      const std::string sent = n.empty() ? std::string(v) : std::string(n) + "=" + std::string(v);
      if (findCookie(sent, name)) planted = true;
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  check(setsCookie(value, name) == planted);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  // The first line (if any) is the cookie name, the rest the header value;
  // the fixed session name is tried too, so plain headers are useful input.
  const size_t nl = input.find('\n');
  if (nl != std::string_view::npos) checkHeader(input.substr(nl + 1), input.substr(0, nl));
  checkHeader(input, "__Host-sesame");
  // The same bytes as an upstream's Set-Cookie value.
  if (nl != std::string_view::npos) checkSetCookie(input.substr(nl + 1), input.substr(0, nl));
  checkSetCookie(input, "__Host-sesame");

  // Forging is out of reach, so anything accepted has the one fixed length.
  if (codec().verify(input)) check(input.size() == CookieCodec::kValueLength);
  if (const auto v = findCookie(input, "__Host-sesame"))
    if (codec().verify(*v)) check(v->size() == CookieCodec::kValueLength);

  // A fresh cookie for an ID made of the input's bytes round-trips, and any
  // one-character change of it is refused: the decoding is strict, so no
  // second spelling of the same blob exists.
  SessionId sid;
  for (size_t i = 0; i < sid.bytes.size() && i < size; ++i) sid.bytes[i] = data[i];
  const std::string value = codec().encode(sid);
  const auto back = codec().verify(value);
  check(back.has_value() && *back == sid);
  if (size >= 2) {
    std::string changed = value;
    changed[data[0] % changed.size()] = static_cast<char>(data[1]);
    if (changed != value) check(!codec().verify(changed).has_value());
  }
  check(CookieCodec::storeKey(sid).size() == 43 && CookieCodec::handle(sid).size() == 12);
  return 0;
}
