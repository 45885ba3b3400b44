// Cookie and Set-Cookie header text (RFC 6265): find, remove, issue and clear the session cookie.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sesame/http/header_list.h"

namespace sesame::session {

// The value of the first `name=value` pair named `name` (case-sensitive, as
// cookie names are) in a Cookie header value, with the surrounding DQUOTEs of
// a quoted cookie-value (RFC 6265 §4.1.1) removed. Pairs are separated by
// ';' with optional whitespace (browsers and old clients do not always send
// the single SP of §4.2.1); pieces without '=' are skipped. The result
// points into `cookie_header`.
//
// Why the first: user agents list cookies with longer paths first and, for
// equal paths, older ones first (RFC 6265 §5.4 step 2), so the first is the
// most specific one the browser holds. A cookie with the same name planted
// by a sibling subdomain can still come first; the __Host- prefix
// (RFC 6265bis §4.1.3.2) is what prevents that, and the worst it can do
// otherwise is shadow the real session (a forged value fails verification).
[[nodiscard]] std::optional<std::string_view> findCookie(std::string_view cookie_header,
                                                         std::string_view name);

// `cookie_header` without any pair named `name`; every other piece is kept
// byte for byte (minus surrounding whitespace) and joined with "; ". Empty
// when nothing remains, in which case the caller drops the header.
[[nodiscard]] std::string removeCookie(std::string_view cookie_header, std::string_view name);

// Whether a browser given this Set-Cookie value would send a `name=...`
// pair back, that is, whether it plants a cookie that findCookie(name)
// reads. The name is compared exactly (cookie names are case-sensitive, so
// "__host-sesame" is another cookie than "__Host-sesame" and never read as
// it) after trimming SP and HTAB, as user agents trim it (RFC 6265 §5.2).
// Also caught: the nameless form "=name=value", which user agents store
// with an empty name and send back as "name=value" (RFC 6265bis §5.7,
// §5.8.3), and any comma-separated element of the field, in case an
// intermediary splits a folded field there. A value without '=' is sent
// back without one and read by nobody. An empty `name` (never a valid
// cookie_name) matches nothing.
[[nodiscard]] bool setsCookie(std::string_view set_cookie, std::string_view name);

// Removes every Set-Cookie field for which setsCookie(value, name) holds;
// returns how many were removed. Every other field keeps its place.
size_t removeSetCookies(http::HeaderList& headers, std::string_view name);

struct CookieAttributes {
  std::string name;
  bool secure = true;
  bool http_only = true;
  std::string same_site = "Lax";  // "Lax" | "Strict" | "None"
  std::string domain;             // empty: host-only cookie
};

// The Set-Cookie value issuing a session cookie:
// `name=value; Path=/[; Domain=d][; Secure][; HttpOnly][; SameSite=s]`.
// No Max-Age or Expires: it lives as long as the browser session, and the
// server-side timeouts decide validity. `value` must be cookie-octets (the
// codec's base64url output is).
[[nodiscard]] std::string setCookie(const CookieAttributes& attrs, std::string_view value);

// The Set-Cookie value deleting the cookie: empty value and Max-Age=0 with
// the same Path, Domain, Secure and SameSite as setCookie, because browsers
// only replace a cookie whose name, domain and path match (RFC 6265 §5.3
// step 11), and __Host-/__Secure- cookies can only be overwritten with Secure.
[[nodiscard]] std::string clearCookie(const CookieAttributes& attrs);

// Operator-facing problems with these [session] settings: the name must be
// an RFC 9110 token; same_site must be Lax, Strict or None; SameSite=None
// needs Secure (browsers drop it otherwise); "__Secure-" needs Secure and
// "__Host-" needs Secure and no Domain (RFC 6265bis §4.1.3); the domain must
// be a plain host name (it is written into Set-Cookie verbatim).
[[nodiscard]] std::vector<std::string> validateCookieSettings(std::string_view name, bool secure,
                                                              std::string_view same_site,
                                                              std::string_view domain);

}  // namespace sesame::session
