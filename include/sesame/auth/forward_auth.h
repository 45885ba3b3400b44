// Forward-auth and return addresses: what a front proxy (nginx auth_request,
// Traefik forwardAuth, Caddy forward_auth) says the original request was,
// and where the sign-in page may send a browser afterwards. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sesame/http/header_list.h"

namespace sesame::auth {

// The request the front proxy is asking about.
struct OriginalRequest {
  std::string method;              // "GET" when the proxy does not say
  std::string url;                 // absolute: scheme://host[:port]/path?query
  bool from_original_url = false;  // nginx's convention (X-Original-URL), not X-Forwarded-Uri
};

// From X-Original-URL (an absolute URL, as nginx's recipe sets it) and
// X-Original-Method, else X-Forwarded-Proto, X-Forwarded-Host,
// X-Forwarded-Uri and X-Forwarded-Method (Traefik, Caddy); `original_url` is the
// X-Original-URL value sesame saved before its request clean-up removed it.
// nullopt when a field is repeated, missing or malformed (control
// characters, a scheme other than http/https, a path not starting '/').
// The caller believes these only from a trusted proxy.
[[nodiscard]] std::optional<OriginalRequest> originalRequest(const http::HeaderList& headers,
                                                             std::string_view original_url);

// True when `url` is an absolute http or https URL whose authority is a
// plain host[:digits] (no userinfo, no second ':') and whose
// host (case ignored) is one of `hosts`: an entry "name" allows any port of
// that host, "name:port" that port only. No control characters, spaces or
// '\' anywhere (browsers would read "https:\\evil" as another host), and
// the path starts with '/', or is empty (a query may follow).
[[nodiscard]] bool allowedReturnUrl(std::string_view url, const std::vector<std::string>& hosts);

// Where the sign-in page sends the browser after a login: `requested` when
// it is a safe same-origin path (session::safeReturnPath) or an allowed
// absolute URL, and no longer than the form takes back
// (kMaxFormReturnToBytes), else "/".
[[nodiscard]] std::string chooseReturnTo(std::string_view requested,
                                         const std::vector<std::string>& hosts);

}  // namespace sesame::auth
