// Session settings as configured: the session module's typed slice of the
// configuration ([session], [identity] and each route's policy).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sesame/net/address.h"
#include "sesame/session/identity_filter.h"
#include "sesame/session/store.h"

namespace sesame::session {

enum class StoreKind { kMemory, kRedis, kCookie };

// [redis]: where the Redis store connects and how.
struct RedisSettings {
  std::string address = "127.0.0.1:6379";  // as written: "host:port" or "unix:/path", for messages
  net::Address addr;                       // IPv4, IPv6 or AF_UNIX (sockaddr_un)
  std::string username;                    // ACL user; empty: AUTH with the password only
  std::string password;                    // from `password` or `password_file`; empty: no AUTH
  int64_t database = 0;                    // SELECT; 0 sends none
  std::string key_prefix = "sesame:";      // may be empty
  Millis connect_timeout{1000};            // TCP connect plus AUTH, SELECT and SCRIPT LOAD
  Millis command_timeout{250};             // each command's deadline
  // How long a worker may answer with a session it loaded without asking
  // Redis again (0: never). Bounded staleness: another worker's or
  // instance's logout or change reaches this worker that much later.
  Millis cache{0};
  static constexpr Millis kMaxCache{10'000};
};

// "host:port" / "[v6]:port", or "unix:" and an absolute socket path shorter
// than sun_path. Host names are looked up (getaddrinfo, blocking: call at
// configuration time only) when `resolve_names`; otherwise only numeric
// hosts and "localhost" (127.0.0.1, RFC 6761 §6.3) are accepted and nothing
// touches the network. `error` (may be null) says what is wrong.
[[nodiscard]] std::optional<net::Address> parseRedisAddress(std::string_view text,
                                                            std::string* error,
                                                            bool resolve_names = false);

// One key of the signed identity assertion (issue 12 §2).
struct AssertionKey {
  std::string file;  // absolute, for messages
  std::string pem;   // the unencrypted PEM private key, as read
  std::string alg;   // JWS "alg": "ES256" (EC P-256) or "EdDSA" (Ed25519)
};

// [identity] assertion_*: a short-lived JWT about the user on each request
// forwarded from a non-public route. Off when `header` is empty; then `keys`
// is empty too, and vice versa.
struct Assertion {
  std::string header;              // a field name of its own (no identity header, no data prefix)
  std::vector<AssertionKey> keys;  // the first signs; all are published in /.sesame/jwks.json
  Millis ttl{60'000};              // 10 s to 1 h
  std::string issuer = "sesame";   // the JWT's "iss"
};

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
  size_t max_sessions = 100000;           // memory store bound, anonymous LRU evicted first
  size_t max_per_user = 0;                // a login beyond this many ends the oldest; 0 = no limit
  IdentityHeaders identity;               // [identity]
  Assertion assertion;                    // [identity] assertion_*
  RedisSettings redis;                    // [redis], used when store is kRedis
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
  // OpenID Connect (issue 12); a route using either is kRequired.
  // Index into config::Config::oidc of the provider that signs users in on
  // this route; nullopt: the sign-in page offers every provider.
  std::optional<size_t> provider;
  // Accept "Authorization: Bearer <JWT>" access tokens from `provider`
  // (resolved to the only one when there is a single provider), whose "aud"
  // must hold one of bearer_audience (never empty when bearer is set).
  bool bearer = false;
  std::vector<std::string> bearer_audience;
  bool bearer_only = false;  // bearer: the session cookie is not accepted, only a token
};

}  // namespace sesame::session
