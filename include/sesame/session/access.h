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

// login_url plus return_to=<target>, the target percent-encoded (RFC 3986
// §2.1) so it survives as one query parameter; login_url may already carry
// a query. Only origin-form targets are given (the request's own path and
// query), so the login page cannot be made to send users off-site.
[[nodiscard]] std::string loginLocation(std::string_view login_url, std::string_view target);

}  // namespace sesame::session
