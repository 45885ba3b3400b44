// Keeps responses that carry a session cookie out of every cache, so that
// no shared cache hands one user's session to others.
#pragma once

#include <string_view>

#include "sesame/http/header_list.h"

namespace sesame::session {

// The Cache-Control value of every response that carries sesame's session
// Set-Cookie, sesame's own answers included.
inline constexpr std::string_view kPrivateNoStore = "private, no-store";

// Whether the Cache-Control fields of `headers`, taken together, hold both
// `no-store` and a bare `private` (directive names compared
// case-insensitively; `private="Set-Cookie"` does not count: it only keeps
// the named fields out of shared caches, RFC 9111 §5.2.2.7).
[[nodiscard]] bool isPrivateNoStore(const http::HeaderList& headers);

// Makes a response that carries the session Set-Cookie uncacheable:
// Cache-Control stays as the upstream sent it only when it is already
// isPrivateNoStore (the strictest it can be), otherwise every Cache-Control
// field is replaced by one `private, no-store`. Targeted cache-control
// fields (CDN-Cache-Control and every *-CDN-Cache-Control, RFC 9213; and
// Surrogate-Control) always go, since the caches that read them ignore
// Cache-Control (RFC 9213 §2.1). Other fields are untouched.
void forbidCaching(http::HeaderList& headers);

}  // namespace sesame::session
