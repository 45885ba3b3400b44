// IP addresses as values and CIDR blocks ("10.0.0.0/8", "::1"): parsing and
// matching, for trusted_proxies. Pure.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sesame/net/address.h"

namespace sesame::net {

// An IPv4 or IPv6 address without a port. An IPv4-mapped IPv6 address
// (::ffff:a.b.c.d, what a dual-stack socket reports for an IPv4 peer) is
// stored as the IPv4 address, so one rule matches however the peer came in.
struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4

  // inet_ntop's form: "10.0.0.1", "2001:db8::1".
  [[nodiscard]] std::string toString() const;
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// A numeric IPv4 or IPv6 literal and nothing else: no port, brackets, zone
// ("%eth0"), spaces or leading zeros (inet_pton's grammar).
[[nodiscard]] std::optional<IpAddress> parseIp(std::string_view text);
// The host part of an IPv4/IPv6 socket address; nullopt for other families.
[[nodiscard]] std::optional<IpAddress> ipOf(const Address& addr);

struct Cidr {
  IpAddress base;  // host bits zero
  unsigned prefix = 0;

  [[nodiscard]] bool contains(const IpAddress& ip) const;
  // "10.0.0.0/8"; a single address keeps its full prefix: "::1/128".
  [[nodiscard]] std::string toString() const;
};

// "10.0.0.0/8", "2001:db8::/32", or a single address ("192.0.2.7", "::1",
// meaning /32 or /128). Rejects a prefix above the family's width, a prefix
// that is not plain decimal digits, and host bits set below the prefix
// ("10.0.0.1/8" is a typo for one address or for the /8); `error` (may be
// null) says which.
[[nodiscard]] std::optional<Cidr> parseCidr(std::string_view text, std::string* error);

// True when any block of `set` contains `ip`.
[[nodiscard]] bool containsAny(const std::vector<Cidr>& set, const IpAddress& ip);

}  // namespace sesame::net
