// Session settings as configured: the session module's typed slice of the
// configuration ([session], [identity] and each route's policy).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "sesame/session/identity_filter.h"
#include "sesame/session/store.h"

namespace sesame::session {

enum class StoreKind { kMemory, kRedis, kCookie };

struct Settings {
  StoreKind store = StoreKind::kMemory;
  std::string cookie_name = "__Host-sesame";
  std::string same_site = "Lax";     // "Lax" | "Strict" | "None"
  bool secure = true;                // forced on for TLS listeners
  std::string domain;                // empty: host-only cookie
  std::vector<std::string> secrets;  // from `secrets` or `secrets_file`; first signs
  Timeouts timeouts;                 // idle_timeout, absolute_timeout, touch_interval
  std::string login_url = "/login";
  std::vector<std::string> csrf_origins;  // normalised "scheme://host[:port]"
  size_t max_sessions = 100000;           // memory store bound, oldest evicted first
  IdentityHeaders identity;               // [identity]
};

enum class Auth {
  kPublic,    // no session work at all
  kSession,   // load a valid session if any; otherwise a new anonymous one
  kRequired,  // an authenticated session (a user) is needed
};

struct RoutePolicy {
  Auth auth = Auth::kPublic;  // "session" when a [session] table exists and the route says nothing
  std::vector<std::string> groups;  // kRequired: the user must be in one, else 403
  bool accept_control = false;      // honour X-Sesame-* response headers
  bool csrf = true;                 // refuse cross-site unsafe requests
};

}  // namespace sesame::session
