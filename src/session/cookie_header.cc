#include "sesame/session/cookie_header.h"

#include <cstddef>

namespace sesame::session {

namespace {

bool isSpace(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

struct Piece {
  std::string_view text;  // trimmed, as sent
  std::string_view name;  // empty text or no '=': not a pair
  std::string_view value;
  bool pair = false;
};

Piece splitPiece(std::string_view text) {
  Piece p;
  p.text = trim(text);
  const size_t eq = p.text.find('=');
  if (eq == std::string_view::npos) return p;
  p.name = trim(p.text.substr(0, eq));
  p.value = trim(p.text.substr(eq + 1));
  p.pair = true;
  return p;
}

// Calls `f(piece)` for each ';'-separated piece until it returns false.
// A cookie-value cannot contain ';', quoted or not (RFC 6265 §4.1.1), so
// splitting first is exact.
template <typename F>
void forEachPiece(std::string_view header, F f) {
  for (;;) {
    const size_t semi = header.find(';');
    if (!f(splitPiece(header.substr(0, semi)))) return;
    if (semi == std::string_view::npos) return;
    header.remove_prefix(semi + 1);
  }
}

// RFC 9110 §5.6.2 tchar.
bool isTchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!isTchar(c)) return false;
  return true;
}

bool startsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char a = s[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    char b = prefix[i];
    if (b >= 'A' && b <= 'Z') b = static_cast<char>(b - 'A' + 'a');
    if (a != b) return false;
  }
  return true;
}

bool isHostName(std::string_view d) {
  if (!d.empty() && d.front() == '.') d.remove_prefix(1);
  if (d.empty() || d.size() > 253) return false;
  for (char c : d) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

void appendAttributes(std::string& out, const CookieAttributes& attrs) {
  out += "; Path=/";
  if (!attrs.domain.empty()) {
    out += "; Domain=";
    out += attrs.domain;
  }
  if (attrs.secure) out += "; Secure";
  if (attrs.http_only) out += "; HttpOnly";
  if (!attrs.same_site.empty()) {
    out += "; SameSite=";
    out += attrs.same_site;
  }
}

}  // namespace

std::optional<std::string_view> findCookie(std::string_view cookie_header, std::string_view name) {
  std::optional<std::string_view> found;
  forEachPiece(cookie_header, [&](const Piece& p) {
    if (!p.pair || p.name != name) return true;
    std::string_view v = p.value;
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    found = v;
    return false;
  });
  return found;
}

std::string removeCookie(std::string_view cookie_header, std::string_view name) {
  std::string out;
  forEachPiece(cookie_header, [&](const Piece& p) {
    if (p.text.empty() || (p.pair && p.name == name)) return true;
    if (!out.empty()) out += "; ";
    out += p.text;
    return true;
  });
  return out;
}

bool setsCookie(std::string_view set_cookie, std::string_view name) {
  if (name.empty()) return false;
  for (;;) {
    const size_t comma = set_cookie.find(',');
    const std::string_view element = set_cookie.substr(0, comma);
    const Piece p = splitPiece(element.substr(0, element.find(';')));
    if (p.pair && p.name == name) return true;
    if (p.pair && p.name.empty()) {
      const Piece sent = splitPiece(p.value);
      if (sent.pair && sent.name == name) return true;
    }
    if (comma == std::string_view::npos) return false;
    set_cookie.remove_prefix(comma + 1);
  }
}

size_t removeSetCookies(http::HeaderList& headers, std::string_view name) {
  size_t planted = 0;
  for (const http::Header& h : headers.fields()) {
    if (http::equalsIgnoreCase(h.name, "Set-Cookie") && setsCookie(h.value, name)) ++planted;
  }
  if (planted == 0) return 0;
  http::HeaderList kept;
  for (const http::Header& h : headers.fields()) {
    if (!http::equalsIgnoreCase(h.name, "Set-Cookie") || !setsCookie(h.value, name)) {
      kept.add(h.name, h.value);
    }
  }
  headers = std::move(kept);
  return planted;
}

std::string setCookie(const CookieAttributes& attrs, std::string_view value) {
  std::string out;
  out.reserve(attrs.name.size() + value.size() + 64 + attrs.domain.size());
  out += attrs.name;
  out += '=';
  out += value;
  appendAttributes(out, attrs);
  return out;
}

std::string clearCookie(const CookieAttributes& attrs) {
  std::string out = attrs.name;
  out += "=; Max-Age=0";
  appendAttributes(out, attrs);
  return out;
}

std::vector<std::string> validateCookieSettings(std::string_view name, bool secure,
                                                std::string_view same_site,
                                                std::string_view domain) {
  std::vector<std::string> errors;
  const std::string quoted = "\"" + std::string(name) + "\"";
  if (!isToken(name))
    errors.push_back("cookie_name " + quoted +
                     " is not a valid cookie name (letters, digits and !#$%&'*+-.^_`|~ only)");
  if (same_site != "Lax" && same_site != "Strict" && same_site != "None")
    errors.push_back("same_site \"" + std::string(same_site) +
                     "\" is not one of \"Lax\", \"Strict\", \"None\"");
  if (same_site == "None" && !secure)
    errors.push_back("same_site = \"None\" requires secure = true: browsers drop such cookies");
  if (!domain.empty() && !isHostName(domain))
    errors.push_back("domain \"" + std::string(domain) + "\" is not a host name");
  // Browsers match the prefixes case-insensitively (RFC 6265bis §4.1.3), so
  // "__HOST-x" gets the same treatment and must meet the same rules.
  if (startsWithIgnoreCase(name, "__Host-")) {
    if (!secure) errors.push_back("cookie_name " + quoted + " requires secure = true");
    if (!domain.empty())
      errors.push_back("cookie_name " + quoted + " forbids a domain (\"__Host-\" cookies are " +
                       "host-only; RFC 6265bis §4.1.3.2)");
  } else if (startsWithIgnoreCase(name, "__Secure-") && !secure) {
    errors.push_back("cookie_name " + quoted + " requires secure = true");
  }
  return errors;
}

}  // namespace sesame::session
