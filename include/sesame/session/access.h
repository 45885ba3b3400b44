// Access decisions for a route's policy once the session lookup is done:
// forward, send a browser to the login page, 401, 403 or 503. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sesame/http/header_list.h"
#include "sesame/session/settings.h"
#include "sesame/session/store.h"

namespace sesame::session {

enum class Access {
  kForward,           // forward, with identity when the session has a user
  kForwardAnonymous,  // forward without identity (no session, or store down on "session")
  kLoginRedirect,     // 302 to login_url with return_to (browser navigations)
  kUnauthorized,      // 401: no authenticated session, not a browser navigation
  kForbidden,         // 403: authenticated, but in none of the route's groups
  kUnavailable,       // 503: "required" route and the store did not answer
};

// What the lookup produced: the store's status (kOk with `session` set,
// kMissing when there was no valid cookie or no such session, kUnavailable).
struct Lookup {
  StoreStatus status = StoreStatus::kMissing;
  const Session* session = nullptr;
};

// The decision for a route of policy `policy` (not kPublic: public routes
// do no session work at all).
[[nodiscard]] Access decide(const RoutePolicy& policy, const Lookup& lookup,
                            bool browser_navigation);

// A GET or HEAD whose Accept lists text/html: a person in a browser, who is
// better served by the login page than by a bare 401.
[[nodiscard]] bool isBrowserNavigation(std::string_view method, const http::HeaderList& headers);

// True when `path` (a path and optional query, as a Location header or a
// link would carry it) is safe to send a browser to: a same-origin
// path-absolute reference that no browser reads as another host. It starts
// with exactly one '/': not "//evil.example" (a network-path reference,
// RFC 3986 §4.2), not "/\evil.example" (browsers read '\' as '/'), not
// their escaped forms "/%2F" and "/%5C" (any case), for a reader that
// decodes once more. No scheme ("https:", "javascript:") can come before
// that '/'. No control character, raw or escaped (%00-%1F, %7F), anywhere:
// browsers drop tabs and line breaks from URLs, so "/\t/evil.example" is
// "//evil.example", and a decoded CR LF splits a header. No '\' before the
// query. Spaces and non-ASCII bytes are allowed (loginLocation encodes
// them). The login page checks a return_to it receives with this too.
[[nodiscard]] bool safeReturnPath(std::string_view path);

// login_url plus return_to=<target>, the target percent-encoded (RFC 3986
// §2.1) so it survives as one query parameter; login_url may already carry
// a query. A target that safeReturnPath refuses becomes "/": the request's
// own target is normally a normalised path, but this function does not
// rely on its caller for that.
[[nodiscard]] std::string loginLocation(std::string_view login_url, std::string_view target);

// `text` with every byte but RFC 3986 §2.3 unreserved characters and those
// in `keep` written as %XX, so it survives as one query value.
[[nodiscard]] std::string percentEncode(std::string_view text, std::string_view keep = {});

}  // namespace sesame::session
