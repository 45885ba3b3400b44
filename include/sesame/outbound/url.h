// The URLs sesame fetches from identity providers (discovery, JWKS, token endpoint): a strict
// parser for absolute https URLs; pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sesame::outbound {

struct Url {
  bool https = true;
  // Lower case; an IPv6 literal without its brackets.
  std::string host;
  uint16_t port = 443;
  // True for an IPv4 or IPv6 literal: no name lookup, no SNI, the certificate must name the IP.
  bool ip_literal = false;
  // Path and query as sent in the request line, never empty ("/" for "https://host").
  std::string target;

  // The Host field value: host, "[v6]" for IPv6, ":port" only when not the scheme's default.
  [[nodiscard]] std::string authority() const;
  // "https://" + authority() + target: the canonical form of the URL.
  [[nodiscard]] std::string toString() const;
};

// Parses "https://host[:port][/path][?query]". The scheme is case-insensitive; "http" only with
// `allow_plain_http` (tests). Refused, with `error` (may be null) saying why: userinfo
// ("user@host": credentials never travel in a URL, and "https://good@evil" misleads a reader),
// a fragment (never sent to a server), a missing or empty host, a host with characters no DNS
// name has, an empty label or a trailing dot, a last label that is all digits but not a valid
// dotted IPv4 address ("1.2.3", "0x7f.1", "010.0.0.1" are ambiguous across resolvers), an IPv6
// literal with a zone, a port outside 1..65535, and in path or query any byte outside RFC 3986's
// pchar, '/' and '?' (spaces, controls, non-ASCII, '\', '[' ...) or a '%' not followed by two
// hex digits. At most kMaxUrlBytes.
[[nodiscard]] std::optional<Url> parseUrl(std::string_view text, bool allow_plain_http,
                                          std::string* error);

inline constexpr size_t kMaxUrlBytes = 8192;

}  // namespace sesame::outbound
