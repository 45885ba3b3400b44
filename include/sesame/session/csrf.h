// Decides whether a state-changing request may have been forged by another site (CSRF).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sesame/http/header_list.h"

namespace sesame::session {

// Normalises an origin "scheme://host[:port]" (RFC 6454 §6.2): scheme and
// host lower-cased, the default port (443 for https, 80 for http) and an
// empty port removed, leading zeros of the port dropped. Returns nullopt for
// anything else: a path, query, userinfo, other schemes, "null", bad ports
// or hosts. The configuration can use it to validate csrf_origins.
[[nodiscard]] std::optional<std::string> normalizeOrigin(std::string_view origin);

// The normalised origin of an absolute http(s) URL such as a Referer value
// (path, query and fragment dropped); nullopt when there is none.
[[nodiscard]] std::optional<std::string> originOfUrl(std::string_view url);

// Whether a request may proceed on a route with csrf = true (issue 3 §4).
// Safe methods (RFC 9110 §9.2.1: GET, HEAD, OPTIONS; case-sensitive) always
// may. For the others, in this order:
//  - Sec-Fetch-Site (any field) "cross-site": refused.
//  - Sec-Fetch-Site "same-origin" or "none" (typed URL, bookmark): allowed.
//  - Sec-Fetch-Site "same-site" is another origin of the same site, e.g. a
//    sibling subdomain, which an attacker may control (subdomain takeover);
//    like any other value it falls through to the Origin check below, which
//    allows it only if that origin is in `allowed_origins`.
//  - Origin, else the origin of Referer: allowed when it equals
//    `request_origin` or one of `allowed_origins` after normalisation;
//    refused otherwise, including "Origin: null" (sandboxed frames, opaque
//    redirects) and values that do not parse.
//  - Neither Origin nor Referer: refused if Sec-Fetch-Site was present
//    (browsers that send it always send Origin on unsafe requests), else
//    allowed: refusing would break every non-browser client (curl, API
//    callers), which carry no ambient cookie a forger could ride, while
//    browsers old enough to send neither header are rare.
// `request_origin` is the scheme and Host the request arrived with, e.g.
// "https://app.example.com:8443"; `allowed_origins` is csrf_origins.
[[nodiscard]] bool allowUnsafeRequest(std::string_view method, const http::HeaderList& headers,
                                      std::string_view request_origin,
                                      const std::vector<std::string>& allowed_origins);

// allowUnsafeRequest's answer with what decided it, for the log line of a
// refusal. The views point into `headers`: use them before it changes.
struct CsrfVerdict {
  bool allowed = true;
  // "Sec-Fetch-Site", "Origin" or "Referer"; empty when no field decided
  // (a safe method, or a request with none of the three).
  std::string_view field;
  // That field's value as received, except that a Referer is cut to its
  // "scheme://host:port" (its path and query may hold tokens; userinfo is
  // dropped too). Client-controlled: log it through log::printable.
  std::string_view value;
  // Why it was refused, a phrase that follows `field "value"` in a
  // sentence ("is not this site's origin nor in csrf_origins"); empty when
  // allowed.
  std::string_view why;
};
// GET, HEAD and OPTIONS: the methods checkUnsafeRequest lets pass
// unchecked (RFC 9110 §9.2.1 safe methods; TRACE, safe too, is checked).
[[nodiscard]] bool isSafeMethod(std::string_view method);
[[nodiscard]] CsrfVerdict checkUnsafeRequest(std::string_view method,
                                             const http::HeaderList& headers,
                                             std::string_view request_origin,
                                             const std::vector<std::string>& allowed_origins);
// The checks above whatever the method: what an upgrade request gets.
[[nodiscard]] CsrfVerdict checkCrossSite(const http::HeaderList& headers,
                                         std::string_view request_origin,
                                         const std::vector<std::string>& allowed_origins);

// Whether a protocol upgrade (a WebSocket handshake: a GET, so the rule
// above lets it pass) may proceed on a route with csrf = true: the same
// checks as for an unsafe method, whatever the method. A page on another
// site can open a WebSocket to any host, and the browser sends the session
// cookie along (SameSite=Lax does not stop it for same-site pages, and
// None never does); the upstream sees the handshake as the user's
// (cross-site WebSocket hijacking). Browsers always send Origin on a
// WebSocket handshake (RFC 6455 §4.1, step 8), so a handshake with neither
// Origin nor Referer nor Sec-Fetch-Site comes from a non-browser client and
// is allowed, as for unsafe methods.
[[nodiscard]] bool allowUpgradeRequest(const http::HeaderList& headers,
                                       std::string_view request_origin,
                                       const std::vector<std::string>& allowed_origins);

}  // namespace sesame::session
