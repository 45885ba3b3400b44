// Typed configuration: the only module that knows toml++. Loads one file
// into per-module structs and validates across sections.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sesame/auth/users.h"
#include "sesame/base/log.h"
#include "sesame/http/path_normalizer.h"
#include "sesame/http/request_parser.h"
#include "sesame/net/address.h"
#include "sesame/net/cidr.h"
#include "sesame/session/settings.h"
#include "sesame/tls/settings.h"

namespace sesame::config {

using Duration = std::chrono::milliseconds;

struct ServerConfig {
  unsigned workers = 1;  // 0 in the file means one per CPU; resolved here, never 0
  // The account a start as root switches to once its ports are bound and its
  // keys read; "" = none. uid and gid (its primary group) are looked up at
  // load, so `sesame -t` reports an unknown user.
  std::string user;
  uid_t uid = 0;
  gid_t gid = 0;
  // A stop waits this long for requests in flight, then closes what is
  // left. Below systemd's TimeoutStopSec (90 s by default), so that sesame
  // exits 0 on its own rather than being killed.
  std::chrono::milliseconds shutdown_timeout{30'000};
  // Protocols an Upgrade request may switch to (compared case-insensitively);
  // other offers are removed and the request goes on as plain HTTP/1.1.
  std::vector<std::string> upgrade_protocols{"websocket"};
  // Peers (load balancers, proxies) whose X-Forwarded-For, X-Forwarded-Proto,
  // X-Forwarded-Host and Forwarded are believed, and the only peers a
  // proxy_protocol listener accepts. Empty: nobody's.
  std::vector<net::Cidr> trusted_proxies;
  // %2F and %5C in a request path: refused (400) or forwarded as they are.
  http::EscapedSlashes escaped_slashes = http::EscapedSlashes::kReject;
};

struct ListenConfig {
  std::string address;  // as written, for messages
  net::Address addr;
  bool tls = false;
  bool redirect_https = false;
  // Every connection starts with a PROXY protocol v1 or v2 header (HAProxy,
  // nginx, cloud load balancers) naming the client; only from trusted_proxies.
  bool proxy_protocol = false;
};

using TlsConfig = tls::Settings;

struct UpstreamServer {
  std::string address;  // as written
  net::Address addr;
};

struct UpstreamConfig {
  std::string name;
  std::vector<UpstreamServer> servers;
  unsigned keepalive = 32;  // idle connections kept per worker (per upstream)
};

struct RouteConfig {
  std::string host;  // "" = any; exact ("app.example.com") or "*.example.com"; lower-case
  std::string path = "/";
  std::string upstream;       // name
  size_t upstream_index = 0;  // index into Config::upstreams, resolved by validation
  // auth defaults to kSession when a [session] table exists, kPublic otherwise.
  session::RoutePolicy policy;
};

struct LimitsConfig {
  http::RequestLimits head;  // header_bytes, header_count
  uint64_t body_bytes = 0;   // 0 = no limit
};

struct TimeoutsConfig {
  Duration header{10'000};
  Duration idle{60'000};
  Duration upstream_connect{3'000};
  Duration upstream_read{60'000};
  Duration tunnel_idle{300'000};  // WebSocket / Upgrade tunnels
  Duration client_send{60'000};   // a client that stops reading a response
};

struct LogConfig {
  enum class Access { kOff, kStderr, kFile };
  enum class Format { kCombined, kJson };

  Access access = Access::kOff;
  std::string access_path;  // kFile: absolute (resolved against the file's directory)
  // "FILE:LINE:COL" of log.access, so an access log that cannot be opened at
  // start is reported where it was configured.
  std::string access_origin;
  Format format = Format::kCombined;
  log::Level level = log::Level::kInfo;  // the error log's threshold
};

// [admin]: the plain-HTTP listener for /metrics, /healthz and /readyz, and
// with a token_file the session API (/sessions). The listener is set up at
// start only (a reload keeps it); the token is read again on every reload.
// What /readyz checks ([admin] ready_requires); each is required by default.
struct ReadyRequires {
  bool listeners = true;  // the public listeners accept (not starting, not draining)
  bool store = true;      // the session store answers (a Redis PING)
  bool upstreams = true;  // every [upstream.*] has a server that accepts a connect
};

struct AdminConfig {
  std::string address;  // as written, for messages
  net::Address addr;
  ReadyRequires ready;
  // The bearer token the session API requires, from token_file (its one
  // line, at least kMinAdminToken visible ASCII bytes); empty: no
  // token_file, and /sessions answers 404.
  std::string token;
  std::string token_file;  // absolute; empty without one
};

inline constexpr size_t kMinAdminToken = 32;

// [login]: sesame's own sign-in (issue 11). Requires [session].
struct LoginConfig {
  std::string users_file;                    // absolute
  std::shared_ptr<const auth::Users> users;  // read at load and at each reload
  int64_t max_failures = 5;                  // per user name and per client address ...
  Duration failure_window{15 * 60 * 1000};   // ... within this window, then 429
  std::string title = "Sign in";
  std::string page_template;  // the template file's HTML; "" = the built-in form
  std::string after_logout;   // a path or an absolute URL; "" = the login page
  // Hosts (lower-case "name" or "name:port") whose absolute URLs the login
  // page may return to: the hosts a forward-auth proxy protects.
  std::vector<std::string> forward_auth_hosts;
  bool expose_data = false;  // /.sesame/session shows the session's data fields
  unsigned hash_threads = 2;
  size_t hash_queue = 64;
};

// [oidc] or [oidc.NAME]: one OpenID Connect provider sesame signs users in
// with (issue 12). Secrets and keys are read at load and at each reload.
struct OidcProviderConfig {
  std::string name;  // "default" for a lone [oidc] table, else NAME ([a-z0-9_-]{1,27})
  // https URL without query or fragment, exactly as written: the ID token's
  // "iss" must equal it (OpenID Connect Discovery 1.0 §4.3).
  std::string issuer;
  std::string client_id;
  // Client authentication at the token endpoint: exactly one of a shared
  // secret (client_secret_basic) or a private key (private_key_jwt,
  // RFC 7523 §2.2) is set.
  std::string client_secret;       // inline or the one line of client_secret_file
  std::string client_key_pem;      // the PEM text of client_key_file
  std::string client_key_alg;      // "RS256", "ES256" or "EdDSA", from the key's type
  std::string client_key_id;       // "kid" of the client assertion; "" = none
  std::string client_secret_file;  // absolute; "" when not used
  std::string client_key_file;     // absolute; "" when not used
  std::vector<std::string> scopes{"openid", "profile", "email"};  // contains "openid"
  std::string user_claim = "sub";
  std::string groups_claim = "groups";
  std::vector<std::string> allowed_groups;         // empty: any user
  std::vector<std::string> allowed_email_domains;  // lower-case, no '@'; empty: any
  std::string ca_file;                             // absolute PEM bundle; "" = the system CA store
  bool lazy = false;     // start even when discovery fails; retry in the background
  bool refresh = false;  // refresh the access token before it expires
  Duration clock_skew{60'000};
  Duration http_timeout{10'000};
  Duration discovery_interval{3'600'000};
  std::string display_name;  // never empty: NAME, or the issuer's host for "default"
  // Where the browser lands after sign-out; never empty: as configured, else
  // [login] after_logout when that is set, else "/".
  std::string post_logout_redirect;
  // Absolute https URL ending in kOidcCallbackPath; "" = built from each
  // request's scheme and Host.
  std::string redirect_url;
  bool backchannel_logout = true;  // accept POST /.sesame/oidc/backchannel-logout
};

inline constexpr std::string_view kOidcCallbackPath = "/.sesame/oidc/callback";

struct Config {
  std::string path;  // the file it came from
  ServerConfig server;
  std::vector<ListenConfig> listeners;
  TlsConfig tls;
  std::vector<UpstreamConfig> upstreams;
  std::vector<RouteConfig> routes;
  LimitsConfig limits;
  TimeoutsConfig timeouts;
  LogConfig log;
  // Present iff the file has a [session] table ([identity] fills its
  // `identity`); every route is public without it.
  std::optional<session::Settings> session;
  std::optional<AdminConfig> admin;  // present iff the file has an [admin] table
  std::optional<LoginConfig> login;  // present iff the file has a [login] table
  // In file order; empty without [oidc]. Non-empty implies a [session] with a
  // server-side store (tokens are never put in a cookie).
  std::vector<OidcProviderConfig> oidc;
};

struct LoadOptions {
  // Look host names up with getaddrinfo (blocking). Off, a name is an error
  // and nothing touches the network: the fuzzer runs this way.
  bool resolve_names = true;
};

struct LoadResult {
  std::shared_ptr<const Config> config;  // null when errors is not empty
  std::vector<std::string> errors;       // "FILE:LINE:COL: message", every error found
};

// Reads and validates `path`. Does not touch certificates beyond checking
// that the files are readable (tls::ContextFactory does the rest).
// Never throws on bad input: every problem found becomes one entry of errors.
[[nodiscard]] LoadResult load(const std::string& path, const LoadOptions& options = {});
// Same, for text already in memory (`path` is used in messages and to
// resolve relative paths).
[[nodiscard]] LoadResult parse(std::string_view text, const std::string& path,
                               const LoadOptions& options = {});

// Longest duration accepted: 100 years keeps `now + d` far from overflow even
// in nanoseconds.
inline constexpr Duration kMaxDuration{36'500LL * 24 * 3600 * 1000};

// "250ms", "10s", "5m", "12h", "365d" -> milliseconds: decimal digits then
// one unit, nothing else (no sign, space, fraction or mixed units). "0s" is
// accepted (callers decide whether zero makes sense); nullopt if malformed
// or above kMaxDuration.
[[nodiscard]] std::optional<Duration> parseDuration(std::string_view text);

}  // namespace sesame::config
