// HTTPS client for sesame's own requests to identity providers (discovery, JWKS, token
// endpoint): runs on one event loop without ever blocking it, verifies certificates and host
// names, bounds every exchange in time and size, and keeps connections alive per origin.
//
// Transport: libevent's bufferevent_openssl, not net::Stream. net::Stream has no client side
// of TLS, and these requests are rare (a few per sign-in, one JWKS fetch per key rotation), so
// the syscalls net::Stream saves on the proxy path do not matter here.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sesame/base/c_handle.h"
#include "sesame/http/header_list.h"
#include "sesame/net/address.h"

namespace sesame {
class LoopMailbox;
}

namespace sesame::outbound {

using Millis = std::chrono::milliseconds;

struct Request {
  // A token; "GET" and "POST" in practice. Only GET is retried (see Client::fetch).
  std::string method = "GET";
  // Parsed by parseUrl() (url.h): absolute https, no userinfo, no fragment. It appears in error
  // messages: secrets go in the body or a header, never in the URL.
  std::string url;
  // Extra fields, sent in this order. Refused (the fetch fails): a name that is not a token, a
  // value with CR, LF, NUL or another control byte but HTAB, and the fields the client sets
  // itself: Host, Content-Length, Transfer-Encoding, Connection, Keep-Alive, Proxy-Connection,
  // TE, Trailer, Upgrade, Expect, Accept-Encoding, User-Agent, Content-Type.
  std::vector<http::Header> headers;
  std::string body;
  // Sent as Content-Type when not empty (e.g. "application/x-www-form-urlencoded").
  std::string content_type;
};

struct Result {
  // True when a complete, well-formed response arrived, whatever its status: the caller
  // decides what a 400 from a token endpoint means. False: `error` says why, for an operator.
  bool ok = false;
  // E.g. `connect to id.example.com:443 (93.184.216.34): timed out after 5s`,
  // `connect to id.example.com:443 (93.184.216.34): TLS: certificate verify failed: hostname
  // mismatch`, `GET https://id.example.com/jwks: response body over 1048576 bytes`. Never
  // contains request or response bodies.
  std::string error;
  int status = 0;
  http::HeaderList headers;  // as received, interim (1xx) responses skipped
  std::string body;          // decoded from Content-Length, chunked or until-close framing
};

// What a name lookup found: addresses in the resolver's order (port 0), or an error sentence.
struct LookupResult {
  std::vector<net::Address> addresses;
  std::string error;
};
// Resolves a host name (never an IP literal). Runs on a short-lived thread of its own, never on
// the loop, so it may block; it must be safe to call from any thread.
using Lookup = std::function<LookupResult(const std::string& host)>;
// getaddrinfo(3), IPv4 and IPv6. A name with no address is an error.
[[nodiscard]] LookupResult lookupSystem(const std::string& host);

struct Options {
  // PEM bundle of trusted CAs; "" = the system store (SSL_CTX_set_default_verify_paths).
  std::string ca_file;
  // TCP connect and TLS handshake, per address tried.
  Millis connect_timeout{5000};
  // The whole exchange, from fetch() to the last body byte (lookup and every connect included).
  Millis request_timeout{10000};
  size_t max_body = 1 << 20;
  size_t max_head = 64 << 10;
  size_t max_idle_per_origin = 4;
  // An idle pooled connection closes after this long (the provider closes its own sooner or
  // later; this keeps sesame from holding sockets for providers it rarely calls).
  Millis idle_timeout{60000};
  // Accepts http:// URLs. For tests only: nothing sesame sends to a provider (client secrets,
  // authorization codes, refresh tokens) may cross the network in the clear.
  bool allow_plain_http = false;
  // Tests replace it to count lookups or to slow them down.
  Lookup lookup = lookupSystem;
};

// Results of name lookups are cached this long per Client.
inline constexpr std::chrono::seconds kLookupCacheTtl{60};

namespace detail {
class Core;
}

// A fetch in flight. Destroying it cancels the fetch: its callback never runs, and its
// connection (if any) is closed. Safe to destroy from inside any callback of the Client,
// including the fetch's own, and after the Client itself is gone.
class Fetch {
 public:
  ~Fetch();
  Fetch(const Fetch&) = delete;
  Fetch& operator=(const Fetch&) = delete;

 private:
  friend class detail::Core;
  Fetch(std::weak_ptr<detail::Core> core, uint64_t id) : core_(std::move(core)), id_(id) {}

  std::weak_ptr<detail::Core> core_;
  uint64_t id_;
};
using FetchHandle = std::unique_ptr<Fetch>;

using Callback = std::function<void(Result)>;

// Lives on ONE event_base (a worker's loop, or a temporary loop at start-up) and is used only
// from that loop's thread; it must be destroyed before the event_base and before the mailbox is
// closed. Pending callbacks never run after the Client is destroyed.
class Client {
 public:
  // `mailbox` belongs to the same loop: name-lookup results come back through it. Builds one
  // SSL_CTX: TLS 1.2 or later, peer verification against `options.ca_file` or the system store.
  Client(event_base* base, std::shared_ptr<LoopMailbox> mailbox, Options options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Empty when the client can fetch; else why not (an unreadable CA file, named), and every
  // fetch fails with this error. Check it at start-up to report the configuration mistake.
  [[nodiscard]] const std::string& setupError() const;

  // Starts an exchange; `done` runs exactly once, later, from the loop (never inside fetch()),
  // unless the handle is destroyed first. Per origin (scheme, host, port) an idle connection is
  // reused; when a reused connection fails before any response byte (the server closed it
  // meanwhile), a GET is retried once on a fresh connection. Other methods are never retried:
  // the server may have acted on them (an authorization code is single-use).
  [[nodiscard]] FetchHandle fetch(Request request, Callback done);

  // Pooled idle connections, all origins (for tests and metrics).
  [[nodiscard]] size_t idleConnections() const;

 private:
  std::shared_ptr<detail::Core> core_;
};

}  // namespace sesame::outbound
